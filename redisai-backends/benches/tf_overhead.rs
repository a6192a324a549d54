//! The in-process serving overhead of the engine on a TF graph whose run costs almost nothing:
//! tests/fixtures/tf/mul.pb (`mul = a * b`, two FLOAT [1,2] inputs), as a ratio against a bare
//! TensorFlow session running the same graph in the same benchmark run.
//!
//! Cases (group `tf_overhead`):
//! - `bare_tf`: the graph imported and a session opened with TensorFlow's C API directly (the
//!   backend's own function table, `redisai_backends::tf_c_api`, on the same library). Per
//!   iteration: two `TF_AllocateTensor`s filled from the raw little-endian bytes,
//!   `TF_SessionRun`, the output copied into a `Vec<f32>`, the tensors deleted.
//! - `runner`: the TF backend's `ModelRunner::run` on two `Tensor`s: our conversions (one copy in,
//!   one out), no engine.
//! - `engine`: `Engine::call_blocking` of `AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c` on a
//!   `MemoryKeyspace` (after its first run the cheap model runs on the calling thread).
//! - `engine_queued`: the same with `inline_run_max_us: 0`: every run is queued to the CPU
//!   worker thread.
//!
//! TensorFlow allows any number of sessions in a process, so all cases run here (unlike
//! onnx_overhead, whose bare case needs a process of its own). At the end it prints each case's
//! median time per iteration and the ratios against `bare_tf`.
//!
//! The library is `.deps/backends/redisai_tensorflow/libtensorflow.so` (scripts/bootstrap);
//! without it the bench prints a note and measures nothing.
//!
//! Run: `cargo bench -p redisai-backends --features tf --bench tf_overhead`.

#[path = "support/engine.rs"]
mod engine;
#[path = "support/samples.rs"]
mod samples;

use std::ffi::CString;
use std::path::Path;
use std::ptr;
use std::time::Duration;

use bytes::Bytes;
use criterion::Criterion;
use engine::{decode, engine, execute, le_bytes, repo_root, runner};
use redisai_backends::loaders;
use redisai_backends::tf_c_api::{dtype, Api, TF_Output, TF_Session, TF_OK};
use redisai_core::backend::RunContext;
use redisai_core::model::BackendKind;
use redisai_core::{DataType, EngineConfig, Reply, Tensor};
use samples::{Samples, SAMPLES};

/// A session on mul.pb opened with the C API alone, and its feeds and fetch.
struct Bare {
    api: Api,
    session: *mut TF_Session,
    feeds: [TF_Output; 2],
    fetch: TF_Output,
}

impl Bare {
    fn open(library: &Path, graph_def: &[u8]) -> Bare {
        let api = Api::open(library).expect("TensorFlow opens");
        // SAFETY: the C API used as documented; the graph and session live for the bench.
        unsafe {
            let status = (api.TF_NewStatus)();
            let graph = (api.TF_NewGraph)();
            let buf = (api.TF_NewBufferFromString)(graph_def.as_ptr().cast(), graph_def.len());
            let opts = (api.TF_NewImportGraphDefOptions)();
            (api.TF_GraphImportGraphDef)(graph, buf, opts, status);
            assert_eq!((api.TF_GetCode)(status), TF_OK, "mul.pb imports");
            let op = |name: &str| {
                let c = CString::new(name).unwrap();
                let op = (api.TF_GraphOperationByName)(graph, c.as_ptr());
                assert!(!op.is_null(), "{name}");
                TF_Output { oper: op, index: 0 }
            };
            let feeds = [op("a"), op("b")];
            let fetch = op("mul");
            let sopts = (api.TF_NewSessionOptions)();
            let session = (api.TF_NewSession)(graph, sopts, status);
            assert_eq!((api.TF_GetCode)(status), TF_OK, "a session");
            (api.TF_DeleteStatus)(status);
            Bare {
                api,
                session,
                feeds,
                fetch,
            }
        }
    }

    fn run(&self, a: &[u8], b: &[u8]) -> Vec<f32> {
        let api = &self.api;
        let dims = [1i64, 2];
        // SAFETY: as in `open`; every tensor is deleted once.
        unsafe {
            let input = |raw: &[u8]| {
                let t = (api.TF_AllocateTensor)(dtype::FLOAT, dims.as_ptr(), 2, raw.len());
                ptr::copy_nonoverlapping(
                    raw.as_ptr(),
                    (api.TF_TensorData)(t) as *mut u8,
                    raw.len(),
                );
                t
            };
            let inputs = [input(a), input(b)];
            let mut out = ptr::null_mut();
            let status = (api.TF_NewStatus)();
            (api.TF_SessionRun)(
                self.session,
                ptr::null(),
                self.feeds.as_ptr(),
                inputs.as_ptr(),
                2,
                &self.fetch,
                &mut out,
                1,
                ptr::null(),
                0,
                ptr::null_mut(),
                status,
            );
            assert_eq!((api.TF_GetCode)(status), TF_OK, "bare run");
            (api.TF_DeleteStatus)(status);
            let data = std::slice::from_raw_parts(
                (api.TF_TensorData)(out) as *const u8,
                (api.TF_TensorByteSize)(out),
            );
            let c = decode(data);
            (api.TF_DeleteTensor)(out);
            for t in inputs {
                (api.TF_DeleteTensor)(t);
            }
            c
        }
    }
}

fn main() {
    let backends = repo_root().join(".deps/backends");
    let library = backends.join("redisai_tensorflow/libtensorflow.so");
    if !library.exists() {
        eprintln!(
            "note: {} is missing (run scripts/bootstrap); nothing to measure",
            library.display()
        );
        return;
    }
    let model = std::fs::read(repo_root().join("tests/fixtures/tf/mul.pb")).expect("mul.pb");
    let (a_raw, b_raw, want) = (le_bytes(&[1.0, 2.0]), le_bytes(&[3.0, 4.0]), vec![3.0, 8.0]);
    let tensor = |raw: &[u8]| {
        Tensor::from_blob(DataType::Float, vec![1, 2], Bytes::copy_from_slice(raw)).unwrap()
    };
    let (a, b) = (tensor(&a_raw), tensor(&b_raw));

    loaders()
        .into_iter()
        .find(|l| l.kind() == BackendKind::Tf)
        .expect("a TF loader")
        .load(&library)
        .expect("TensorFlow loads");
    let bare = Bare::open(&library, &model);
    assert_eq!(bare.run(&a_raw, &b_raw), want);

    let setup = |inline| {
        engine(
            inline,
            &[
                "AI.MODELSTORE",
                "m",
                "TF",
                "CPU",
                "INPUTS",
                "2",
                "a",
                "b",
                "OUTPUTS",
                "1",
                "mul",
                "BLOB",
            ],
            &model,
            &a,
            &b,
        )
    };
    let (engine, mut ks) = setup(EngineConfig::default().inline_run_max_us);
    let (queued, mut queued_ks) = setup(Some(0));
    let runner = runner(&ks);
    let execute = execute();
    let ctx = RunContext {
        deadline: None,
        host: None,
        max_wait: None,
    };
    assert_eq!(decode(runner.run(&[&a, &b], &ctx).unwrap()[0].blob()), want);
    assert_eq!(
        engine.call_blocking(&execute, &mut ks, None),
        Some(Reply::OK)
    );
    assert_eq!(decode(engine.tensor_get(&ks, b"c").unwrap().blob()), want);

    let mut c = Criterion::default().configure_from_args();
    let samples: [Samples; 4] = Default::default();
    let [bare_s, runner_s, engine_s, queued_s] = &samples;
    let mut group = c.benchmark_group("tf_overhead");
    group
        .sample_size(SAMPLES)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("bare_tf", |bch| {
        bch.iter_custom(|n| bare_s.time(n, || bare.run(&a_raw, &b_raw)))
    });
    group.bench_function("runner", |bch| {
        bch.iter_custom(|n| runner_s.time(n, || runner.run(&[&a, &b], &ctx)))
    });
    group.bench_function("engine", |bch| {
        bch.iter_custom(|n| engine_s.time(n, || engine.call_blocking(&execute, &mut ks, None)))
    });
    group.bench_function("engine_queued", |bch| {
        bch.iter_custom(|n| {
            queued_s.time(n, || queued.call_blocking(&execute, &mut queued_ks, None))
        })
    });
    group.finish();
    c.final_summary();

    let names = ["bare_tf", "runner", "engine", "engine_queued"];
    let medians: Vec<(&str, Option<f64>)> = names
        .into_iter()
        .zip(samples.iter().map(Samples::median_ns))
        .collect();
    println!("\ntf_overhead: median time per iteration");
    for (name, m) in &medians {
        match m {
            Some(ns) => println!("  {name:<14} {:>9.2} µs", ns / 1000.0),
            None => println!("  {name:<14} (not measured)"),
        }
    }
    if let Some(bare) = medians[0].1 {
        for (name, m) in &medians[1..] {
            if let Some(m) = m {
                println!("  {name} / bare_tf = {:.2}", m / bare);
            }
        }
    }
}
