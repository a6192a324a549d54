//! BACKEND_MEMORY_LIMIT with the real ONNX Runtime. A test binary of its own: the limit is the
//! process's, and would fail the other ONNX tests' allocations.

#![cfg(feature = "onnx")]

#[path = "support/backend.rs"]
#[macro_use]
mod backend;

use backend::{backend, repo_root};
use bytes::Bytes;
use redisai_core::backend::{ModelConfig, RunContext};
use redisai_core::device::Device;
use redisai_core::model::BackendKind;
use redisai_core::model::BatchOptions;

/// The backend these tests are about (`support/backend.rs` loads it).
const KIND: BackendKind = BackendKind::Onnx;
use redisai_core::{DataType, Error, Tensor};

fn config(memory_limit: Option<u64>) -> ModelConfig<'static> {
    ModelConfig {
        device: Device::Cpu,
        device_name: "CPU",
        inputs: &[],
        outputs: &[],
        batch: BatchOptions::default(),
        intra_op_threads: 0,
        inter_op_threads: 0,
        execution_limit: None,
        memory_limit,
        restoring: false,
    }
}

fn no_deadline() -> RunContext<'static> {
    RunContext {
        deadline: None,
        host: None,
        max_wait: None,
    }
}

fn run_mul(memory_limit: Option<u64>) -> Result<Vec<Tensor>, Error> {
    let backend = backend().expect("ONNX Runtime");
    let blob = std::fs::read(repo_root().join("tests/fixtures/onnx/mul.onnx")).expect("fixture");
    let model = backend.load_model(&blob, &config(memory_limit))?;
    let a = Tensor::from_blob(
        DataType::Float,
        vec![1, 2],
        Bytes::copy_from_slice(&[0, 0, 128, 63, 0, 0, 0, 64]),
    )?;
    model.run(&[&a, &a], &no_deadline())
}

#[test]
fn backend_memory_limit_fails_the_allocation_not_the_process() {
    if backend().is_none() {
        return;
    }
    // ORT allocates the run's output through the env allocator: past the limit the run fails
    // with RedisAI's text (a C++ exception ORT catches), and the process goes on.
    let text = run_mul(Some(1)).expect_err("over the limit").to_string();
    assert!(
        text.contains("Onnxruntime memory limit exceeded, memory allocation failed."),
        "{text}"
    );
    // A model whose own bytes do not fit is refused at the store, as RedisAI refused it.
    let text = run_mul(Some(64))
        .expect_err("the model is 115 bytes")
        .to_string();
    assert_eq!(
        text,
        "Exception during initialization: Onnxruntime memory limit exceeded, memory allocation failed."
    );
    // A limit the run fits in, and no limit.
    assert!(run_mul(Some(1 << 20)).is_ok());
    assert!(run_mul(None).is_ok());
}
