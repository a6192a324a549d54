//! The in-process serving overhead of the engine on a model whose run costs almost nothing:
//! tests/fixtures/onnx/mul.onnx (`c = a * b`, two FLOAT [1,2] inputs), as a ratio against a bare
//! `ort` session running the same model in the same benchmark run.
//!
//! Cases (group `onnx_overhead`):
//! - `bare_ort`: an `ort` session built straight from the model bytes, with the backend's
//!   session settings (optimization level 1, CPU EP without arena, env allocators), so ORT does
//!   the same work as in the other cases. Per iteration: f32 inputs decoded from the raw
//!   little-endian bytes, two owned `ort` tensors, `Session::run` (inputs by position), the
//!   output copied into a `Vec<f32>`.
//! - `bare_ort_default_options`: the same with a stock `Session::builder` (for reference: what
//!   the backend's session settings cost; not part of the ratios).
//! - `runner`: the ONNX backend's `ModelRunner::run` on two `Tensor`s (the runner of the model
//!   the engine holds): our conversions (inputs borrowed in place, the output copied into a
//!   `Tensor`), the session slot and the run counters, no engine.
//! - `engine`: `Engine::call_blocking` of `AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c` on a
//!   `MemoryKeyspace`: parse, prepare (keyspace lookups, `Arc` snapshots), run, store `c`. The
//!   model is cheap, so after its first run it runs on the calling thread (the engine's default
//!   `inline_run_max_us`).
//! - `engine_queued`: the same with `inline_run_max_us: 0`: every run is queued to the CPU
//!   worker thread, which wakes the caller when done.
//!
//! `ort` allows one environment per process, ever, and the backend keeps its own to itself. So
//! the bench runs the two bare cases in a child process (this same executable, same arguments,
//! `ONNX_OVERHEAD_BARE` set) that opens the same library file through `ort::init_from`, then the
//! backend cases here, where the backend's loader opens it. The child has no counting allocator
//! on its environment (the backend registers one), so its sessions allocate through ORT's own
//! CPU allocator: that difference is counted as backend overhead.
//!
//! On a machine with few cores the `engine_queued` case is bimodal: it is fastest when the caller
//! and the CPU worker share a core (they hand over by yielding), slower when they run on two (the
//! caller sleeps in `run_blocking`'s channel while the model runs, and waking it across cores
//! costs more than the model). `taskset -c 0` in front of the bench executable pins the first.
//!
//! At the end it prints each case's median time per iteration (the median of the measured
//! samples, as criterion's median estimate) and the ratios `engine / bare_ort` and
//! `runner / bare_ort`.
//!
//! The library is `.deps/backends/redisai_onnxruntime/libonnxruntime.so` (scripts/bootstrap);
//! without it the bench prints a note and measures nothing.
//!
//! Run: `cargo bench -p redisai-backends --features onnx --bench onnx_overhead`.

#[path = "support/engine.rs"]
mod engine;
#[path = "support/samples.rs"]
mod samples;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use engine::{backends_path, decode, engine, execute, le_bytes, repo_root, runner};
use ort::environment::Environment;
use ort::ep;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use redisai_backends::loaders;
use redisai_core::backend::RunContext;
use redisai_core::model::BackendKind;
use redisai_core::{DataType, EngineConfig, Reply, Tensor};
use samples::{Samples, SAMPLES};

const GROUP: &str = "onnx_overhead";
const WARM_UP: Duration = Duration::from_secs(1);
const MEASUREMENT: Duration = Duration::from_secs(3);
/// Set in the child that measures the bare cases: where it writes their medians.
const BARE_CHILD: &str = "ONNX_OVERHEAD_BARE";

/// The model and its inputs, as raw bytes, with the expected output.
struct Fixture {
    model: Vec<u8>,
    a: Vec<u8>,
    b: Vec<u8>,
    c: Vec<f32>,
}

impl Fixture {
    fn load() -> Fixture {
        let path = repo_root().join("tests/fixtures/onnx/mul.onnx");
        Fixture {
            model: std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            a: le_bytes(&[1.0, 2.0]),
            b: le_bytes(&[3.0, 4.0]),
            c: vec![3.0, 8.0],
        }
    }

    fn tensor(raw: &[u8]) -> Tensor {
        Tensor::from_blob(DataType::Float, vec![1, 2], Bytes::copy_from_slice(raw))
            .expect("a FLOAT [1,2] tensor")
    }
}

fn group(c: &mut Criterion) -> BenchmarkGroup<'_, WallTime> {
    let mut group = c.benchmark_group(GROUP);
    group
        .sample_size(SAMPLES)
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT);
    group
}

type Medians = Vec<(String, Option<f64>)>;

/// A bare session; unless `stock`, configured as the backend configures its CPU sessions.
fn bare_session(env: &Environment, model: &[u8], stock: bool) -> Session {
    let builder = Session::builder(env).expect("a session builder");
    let mut builder = if stock {
        builder
    } else {
        builder
            .with_optimization_level(GraphOptimizationLevel::Level1)
            .expect("optimization level")
            .with_execution_providers([ep::CPU::default()
                .with_arena_allocator(false)
                .build()
                .error_on_failure()])
            .expect("CPU EP")
            .with_env_allocators()
            .expect("env allocators")
    };
    builder.commit_from_memory(model).expect("mul.onnx loads")
}

fn bare_run(session: &mut Session, f: &Fixture) -> Vec<f32> {
    let a = ort::value::Tensor::from_array(([1usize, 2], decode(&f.a))).expect("a");
    let b = ort::value::Tensor::from_array(([1usize, 2], decode(&f.b))).expect("b");
    let outputs = session.run(ort::inputs![a, b]).expect("bare run");
    let (_, c) = outputs[0].try_extract_tensor::<f32>().expect("c is FLOAT");
    c.to_vec()
}

/// The child: ORT opened through `ort` itself, the two bare cases.
fn bench_bare(c: &mut Criterion, library: &Path, f: &Fixture) -> Medians {
    let env = ort::init_from(library)
        .expect("ONNX Runtime loads")
        .with_name("onnx_overhead")
        .with_telemetry(false)
        .build()
        .expect("the ORT environment");
    let mut bare = bare_session(&env, &f.model, false);
    let mut stock = bare_session(&env, &f.model, true);
    assert_eq!(bare_run(&mut bare, f), f.c);
    assert_eq!(bare_run(&mut stock, f), f.c);

    let samples: [Samples; 2] = Default::default();
    let [bare_s, stock_s] = &samples;
    let mut group = group(c);
    group.bench_function("bare_ort", |bch| {
        bch.iter_custom(|n| bare_s.time(n, || bare_run(&mut bare, f)))
    });
    group.bench_function("bare_ort_default_options", |bch| {
        bch.iter_custom(|n| stock_s.time(n, || bare_run(&mut stock, f)))
    });
    group.finish();
    ["bare_ort", "bare_ort_default_options"]
        .into_iter()
        .map(String::from)
        .zip(samples.iter().map(Samples::median_ns))
        .collect()
}

/// Here: ORT opened by the backend's loader, the runner and engine cases.
fn bench_backend(c: &mut Criterion, library: &Path, f: &Fixture) -> Medians {
    loaders()
        .into_iter()
        .find(|l| l.kind() == BackendKind::Onnx)
        .expect("an ONNX loader")
        .load(library)
        .expect("ONNX Runtime loads");

    // The engine finds the same file under its BACKENDSPATH (the loader returns the runtime
    // already open); the model is stored as a client would, a and b put in the keyspace.
    let (a, b) = (Fixture::tensor(&f.a), Fixture::tensor(&f.b));
    let setup = |inline| {
        engine(
            inline,
            &["AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB"],
            &f.model,
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
    let out = runner.run(&[&a, &b], &ctx).expect("runner");
    assert_eq!(decode(out[0].blob()), f.c);
    assert_eq!(
        engine.call_blocking(&execute, &mut ks, None),
        Some(Reply::OK)
    );
    let stored = engine.tensor_get(&ks, b"c").expect("c stored");
    assert_eq!(decode(stored.blob()), f.c);

    assert_eq!(
        queued.call_blocking(&execute, &mut queued_ks, None),
        Some(Reply::OK)
    );

    let samples: [Samples; 3] = Default::default();
    let [runner_s, engine_s, queued_s] = &samples;
    let mut group = group(c);
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
    ["runner", "engine", "engine_queued"]
        .into_iter()
        .map(String::from)
        .zip(samples.iter().map(Samples::median_ns))
        .collect()
}

/// Runs the bare cases in a child process and reads back their medians.
fn run_bare_child(out: &Path) -> Medians {
    let exe = std::env::current_exe().expect("the bench executable");
    let status = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(BARE_CHILD, out)
        .status()
        .expect("the bare child starts");
    assert!(status.success(), "the bare child failed: {status}");
    let text = std::fs::read_to_string(out).expect("the bare child's medians");
    let _ = std::fs::remove_file(out);
    text.lines()
        .filter_map(|l| {
            let (name, ns) = l.split_once(' ')?;
            Some((name.to_string(), ns.parse().ok()))
        })
        .collect()
}

fn main() {
    let library = backends_path().join("redisai_onnxruntime/libonnxruntime.so");
    if !library.exists() {
        eprintln!(
            "note: {} is missing (run scripts/bootstrap); nothing to measure",
            library.display()
        );
        return;
    }
    let fixture = Fixture::load();
    let mut c = Criterion::default().configure_from_args();
    if let Some(out) = std::env::var_os(BARE_CHILD) {
        let medians = bench_bare(&mut c, &library, &fixture);
        let text: String = medians
            .iter()
            .map(|(n, m)| format!("{n} {}\n", m.map_or("-".to_string(), |m| m.to_string())))
            .collect();
        std::fs::write(out, text).expect("the medians written");
        return;
    }
    let out = std::env::temp_dir().join(format!("onnx_overhead-{}.txt", std::process::id()));
    let mut medians = run_bare_child(&out);
    medians.extend(bench_backend(&mut c, &library, &fixture));
    c.final_summary();

    if medians.iter().all(|(_, m)| m.is_none()) {
        return;
    }
    let median = |name: &str| medians.iter().find(|(n, _)| n == name).and_then(|m| m.1);
    println!("\n{GROUP}: median time per iteration");
    for (name, m) in &medians {
        match m {
            Some(ns) => println!("  {name:<26} {:>9.2} µs", ns / 1000.0),
            None => println!("  {name:<26} (not measured)"),
        }
    }
    if let Some(bare) = median("bare_ort") {
        for name in [
            "engine",
            "engine_queued",
            "runner",
            "bare_ort_default_options",
        ] {
            if let Some(m) = median(name) {
                println!("  {name} / bare_ort = {:.2}", m / bare);
            }
        }
    }
    if let (Some(e), Some(r)) = (median("engine"), median("runner")) {
        println!("  engine - runner = {:.2} µs", (e - r) / 1000.0);
    }
}
