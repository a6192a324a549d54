//! The TF backend against the TensorFlow that scripts/bootstrap puts in
//! `.deps/backends/redisai_tensorflow/`, with the graphs of tests/fixtures/tf/.
//!
//! Without that library every test prints a note and passes, except under `CI=true`, where a
//! missing library fails them.

#![cfg(feature = "tf")]

#[path = "support/backend.rs"]
#[macro_use]
mod backend;
#[path = "support/tensors.rs"]
mod tensors;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use redisai_core::backend::{Backend, ModelConfig, ModelRunner, RunContext};
use redisai_core::device::Device;
use redisai_core::model::{BackendKind, BatchOptions};
use redisai_core::{DataType, Error, Tensor};

use backend::{backend, repo_root};
use tensors::floats;

/// The backend these tests are about (`support/backend.rs` loads it).
const KIND: BackendKind = BackendKind::Tf;

fn config<'a>(device: Device, inputs: &'a [String], outputs: &'a [String]) -> ModelConfig<'a> {
    ModelConfig {
        device,
        device_name: if device == Device::Cpu { "CPU" } else { "GPU" },
        inputs,
        outputs,
        batch: BatchOptions::default(),
        intra_op_threads: 1,
        inter_op_threads: 1,
        execution_limit: None,
        memory_limit: None,
        restoring: false,
    }
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("tests/fixtures/tf").join(name)).expect(name)
}

fn load(
    backend: &Arc<dyn Backend>,
    name: &str,
    inputs: &[&str],
    outputs: &[&str],
) -> Result<Arc<dyn ModelRunner>, Error> {
    let (inputs, outputs) = (names(inputs), names(outputs));
    backend.load_model(&fixture(name), &config(Device::Cpu, &inputs, &outputs))
}

fn ctx(deadline: Option<Instant>) -> RunContext<'static> {
    RunContext {
        deadline,
        host: None,
        max_wait: None,
    }
}

#[test]
fn runs_a_graph_and_reports_its_version() {
    let b = backend_or_skip!();
    assert_eq!(
        b.info(1),
        vec![("TensorFlow_version".to_string(), "2.21.0".to_string())]
    );
    let m = load(&b, "mul.pb", &["a", "b"], &["mul", "c:0"]).unwrap();
    assert_eq!(m.inputs(), ["a", "b"]);
    let a = floats(vec![3], &[1.0, 2.0, 3.0]);
    let out = m.run(&[&a, &a], &ctx(None)).unwrap();
    assert_eq!(out.len(), 2);
    for t in &out {
        assert_eq!(t.shape(), [3]);
        assert_eq!(t.blob(), floats(vec![3], &[1.0, 4.0, 9.0]).blob());
    }
}

#[test]
fn every_dtype_round_trips() {
    let b = backend_or_skip!();
    let names = [
        ("float", DataType::Float),
        ("double", DataType::Double),
        ("int8", DataType::Int8),
        ("int16", DataType::Int16),
        ("int32", DataType::Int32),
        ("int64", DataType::Int64),
        ("uint8", DataType::Uint8),
        ("uint16", DataType::Uint16),
        ("bool", DataType::Bool),
        ("float16", DataType::Float16),
    ];
    for (name, dtype) in names {
        let m = load(
            &b,
            "all_dtypes.pb",
            &[&format!("in_{name}")],
            &[&format!("out_{name}")],
        )
        .unwrap();
        let data: Vec<u8> = (0..4 * dtype.size()).map(|i| (i % 2) as u8).collect();
        let t = Tensor::from_blob(dtype, vec![2, 2], Bytes::from(data)).unwrap();
        let out = m.run(&[&t], &ctx(None)).unwrap();
        assert_eq!(out[0].dtype(), dtype, "{name}");
        assert_eq!(out[0].blob(), t.blob(), "{name}");
    }
    let m = load(&b, "string_identity.pb", &["input_str"], &["c"]).unwrap();
    let s = Tensor::from_blob(
        DataType::String,
        vec![3],
        Bytes::from_static(b"\xff\0a very long string that lives on the heap\0\0"),
    )
    .unwrap();
    let out = m.run(&[&s], &ctx(None)).unwrap();
    assert_eq!(out[0].blob(), s.blob());
    // a type the graph does not take: TF's own one-line text
    let bf = Tensor::zeros(DataType::BFloat16, vec![1]).unwrap();
    let err = m.run(&[&bf], &ctx(None)).unwrap_err().to_string();
    assert!(err.contains("bfloat16") && !err.contains('\n'), "{err}");
}

#[test]
fn refuses_bad_graphs_and_names() {
    let b = backend_or_skip!();
    let err = |r: Result<Arc<dyn ModelRunner>, Error>| r.err().unwrap().to_string();
    let (a, c) = (names(&["a"]), names(&["c"]));
    let garbage = b.load_model(b"not a graph", &config(Device::Cpu, &a, &c));
    assert_eq!(err(garbage), "Invalid GraphDef");
    assert_eq!(
        err(load(&b, "mul.pb", &["mul"], &["c"])),
        "ERR Input node named \"mul\" not found in TF graph."
    );
    assert_eq!(
        err(load(&b, "mul.pb", &["a"], &["c:1"])),
        "ERR Output node named \"c:1\" not found in TF graph"
    );
    assert_eq!(
        err(load(&b, "mul.pb", &["a"], &["mul:-1"])),
        "ERR Output node named \"mul:-1\" not found in TF graph"
    );
}

#[test]
fn run_errors_are_one_line_and_deadlines_time_out() {
    let b = backend_or_skip!();
    let m = load(&b, "mul.pb", &["a", "b"], &["mul"]).unwrap();
    let a = floats(vec![2], &[1.0, 2.0]);
    let c = floats(vec![2, 2, 3], &[1.0; 12]);
    let err = m.run(&[&a, &c], &ctx(None)).unwrap_err().to_string();
    assert!(
        err.starts_with("Incompatible shapes: [2] vs. [2,2,3]"),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
    let past = Instant::now() - Duration::from_millis(1);
    assert_eq!(
        m.run(&[&a, &a], &ctx(Some(past))).unwrap_err(),
        Error::RunTimedOut
    );
    let err = m.run(&[&a], &ctx(None)).unwrap_err().to_string();
    assert_eq!(err, "ERR Expected 2 inputs but got 1");
}

#[test]
fn concurrent_runs_share_one_session() {
    let b = backend_or_skip!();
    let m = load(&b, "mlp.pb", &["x"], &["y"]).unwrap();
    let x = floats(vec![1, 16], &[0.5; 16]);
    let want = m.run(&[&x], &ctx(None)).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    let got = m.run(&[&x], &ctx(None)).unwrap();
                    assert_eq!(got[0].blob(), want[0].blob());
                }
            });
        }
    });
}

#[test]
fn gpu_without_cuda_is_refused() {
    let b = backend_or_skip!();
    let (a, mul) = (names(&["a"]), names(&["mul"]));
    let err = b
        .load_model(&fixture("mul.pb"), &config(Device::Gpu(0), &a, &mul))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "ERR GPU requested but TF couldn't find CUDA"
    );
}
#[test]
fn shapes_tensorflow_cannot_hold_are_refused_not_aborted() {
    let b = backend_or_skip!();
    let m = load(&b, "mul.pb", &["a", "b"], &["mul"]).unwrap();
    // 300 dims of 1: TF's TensorShape holds at most 254
    let deep = floats(vec![1; 300], &[1.0]);
    let err = m.run(&[&deep, &deep], &ctx(None)).unwrap_err().to_string();
    assert_eq!(err, "ERR TF tensors have at most 254 dims");
    // no element, but dims whose product overflows i64
    let wide = Tensor::from_blob(DataType::Float, vec![2, 1 << 62, 0], Bytes::new()).unwrap();
    let err = m.run(&[&wide, &wide], &ctx(None)).unwrap_err().to_string();
    assert_eq!(err, "ERR TF cannot hold a tensor of this shape");
}

#[test]
fn a_run_past_its_deadline_is_stopped() {
    let b = backend_or_skip!();
    let m = load(&b, "mlp.pb", &["x"], &["y"]).unwrap();
    // ~200 MFLOP: far longer than the 1 ms it is given
    let x = floats(vec![400_000, 16], &vec![0.5; 400_000 * 16]);
    let started = Instant::now();
    assert_eq!(m.run(&[&x], &ctx(None)).unwrap()[0].shape(), [400_000, 4]);
    let whole = started.elapsed();
    // A deadline that the run starts well before (the input's copy takes a few ms) and that
    // passes during it: TensorFlow cancels between ops and answers DEADLINE_EXCEEDED.
    let got = m.run(&[&x], &ctx(Some(Instant::now() + whole / 3)));
    assert_eq!(
        got.unwrap_err(),
        Error::RunTimedOut,
        "a whole run takes {whole:?}"
    );
    // the session is fine afterwards
    assert_eq!(m.run(&[&x], &ctx(None)).unwrap()[0].shape(), [400_000, 4]);
}
