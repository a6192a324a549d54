//! What the overhead benches share: argument vectors, f32 bytes, and the engine case (a model
//! stored as a client would store it, its two FLOAT inputs `a` and `b` in the keyspace).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use redisai_core::backend::{ModelRunner, Registry};
use redisai_core::{Engine, EngineConfig, Keyspace, MemoryKeyspace, Reply, Tensor, Value};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn backends_path() -> PathBuf {
    repo_root().join(".deps/backends")
}

pub fn argv(words: &[&str]) -> Vec<Bytes> {
    words
        .iter()
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

pub fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn decode(raw: &[u8]) -> Vec<f32> {
    raw.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// An engine over every backend (the one under test already loaded by its loader, which the
/// engine's registry finds under BACKENDSPATH), with `model` stored as `m` by `store` (the
/// AI.MODELSTORE words before the blob) and `a`, `b` set.
pub fn engine(
    inline_run_max_us: Option<u64>,
    store: &[&str],
    model: &[u8],
    a: &Tensor,
    b: &Tensor,
) -> (Engine, MemoryKeyspace) {
    let mut registry = Registry::default();
    redisai_backends::register_all(&mut registry);
    let engine = Engine::new(
        EngineConfig {
            backends_path: backends_path().display().to_string(),
            inline_run_max_us,
            ..EngineConfig::default()
        },
        registry,
    );
    let mut ks = MemoryKeyspace::new();
    let mut store = argv(store);
    store.push(Bytes::copy_from_slice(model));
    assert_eq!(engine.call_blocking(&store, &mut ks, None), Some(Reply::OK));
    engine
        .tensor_set(&mut ks, Bytes::from_static(b"a"), a.clone())
        .expect("a");
    engine
        .tensor_set(&mut ks, Bytes::from_static(b"b"), b.clone())
        .expect("b");
    (engine, ks)
}

/// The runner of the model stored as `m`.
pub fn runner(ks: &MemoryKeyspace) -> Arc<dyn ModelRunner> {
    match ks.get(b"m") {
        Ok(Some(Value::Model(m))) => m.runner.clone(),
        other => panic!("model m: {other:?}"),
    }
}

/// `AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c`.
pub fn execute() -> Vec<Bytes> {
    argv(&[
        "AI.MODELEXECUTE",
        "m",
        "INPUTS",
        "2",
        "a",
        "b",
        "OUTPUTS",
        "1",
        "c",
    ])
}
