//! A backend without a runtime, for engine tests (feature `mock`).
//!
//! A model blob is a tiny program, `<op>[@<ms>]`:
//! - `identity:<n>`: n inputs, n outputs, each output its input;
//! - `add`: two inputs of the same numeric type and shape, one output, their element-wise sum
//!   (FLOAT, DOUBLE, INT32, INT64);
//! - `fail`: every run fails with `ERR mock failure`;
//! - `batchsize`: one input, one FLOAT output of its shape whose every element is the dim 0 of
//!   the input the backend received (shows how requests were batched);
//! - `dropbatch`: one input, one FLOAT output of shape [1] (a model that loses the batch dim);
//! - `panic`: every run panics (a buggy backend);
//! - `thread`: one input, one STRING output of shape [1]: the name of the thread that ran it;
//! - `nap`: `thread`, after sleeping as many milliseconds as the first element of its FLOAT input.
//!
//! `@<ms>` adds that much latency to each run. A script's source lists its functions, one name per
//! line; `identity` returns its inputs, `fail` fails, `set` runs `SET keys[0] args[0]` through the
//! script host and returns nothing.

use std::sync::Arc;
use std::time::Duration;

use crate::backend::{
    Backend, BackendLoader, ModelConfig, ModelRunner, RunContext, ScriptCall, ScriptConfig,
    ScriptRunner,
};
use crate::error::{Error, Result};
use crate::model::BackendKind;
use crate::reply::Reply;
use crate::tensor::{DataType, Tensor};

/// Registers as `kind` (any of the four).
pub struct MockBackend(pub BackendKind);

/// A loader for [`MockBackend`] that ignores the library path.
pub struct MockLoader(pub BackendKind);

impl BackendLoader for MockLoader {
    fn kind(&self) -> BackendKind {
        self.0
    }

    fn default_file(&self) -> &'static str {
        "mock"
    }

    fn load(&self, _path: &std::path::Path) -> Result<Arc<dyn Backend>> {
        Ok(Arc::new(MockBackend(self.0)))
    }
}

enum Op {
    Identity,
    Add,
    Fail,
    BatchSize,
    DropBatch,
    Panic,
    Thread,
    Nap,
}

struct MockModel {
    op: Op,
    latency: Duration,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

impl Backend for MockBackend {
    fn kind(&self) -> BackendKind {
        self.0
    }

    fn info(&self, _worker_threads: usize) -> Vec<(String, String)> {
        vec![("mock_version".into(), "1".into())]
    }

    fn load_model(&self, blob: &[u8], _config: &ModelConfig) -> Result<Arc<dyn ModelRunner>> {
        let text = std::str::from_utf8(blob).map_err(|_| Error::backend("ERR mock: bad blob"))?;
        let (program, latency) = match text.split_once('@') {
            Some((p, ms)) => (
                p,
                Duration::from_millis(
                    ms.parse()
                        .map_err(|_| Error::backend("ERR mock: bad latency"))?,
                ),
            ),
            None => (text, Duration::ZERO),
        };
        let names = |prefix: &str, n: usize| (0..n).map(|i| format!("{prefix}{i}")).collect();
        let (op, n_in, n_out) = match program.split_once(':') {
            Some(("identity", n)) => {
                let n = n
                    .parse()
                    .map_err(|_| Error::backend("ERR mock: bad count"))?;
                (Op::Identity, n, n)
            }
            _ if program == "add" => (Op::Add, 2, 1),
            _ if program == "fail" => (Op::Fail, 1, 1),
            _ if program == "batchsize" => (Op::BatchSize, 1, 1),
            _ if program == "dropbatch" => (Op::DropBatch, 1, 1),
            _ if program == "panic" => (Op::Panic, 1, 1),
            _ if program == "thread" => (Op::Thread, 1, 1),
            _ if program == "nap" => (Op::Nap, 1, 1),
            _ => return Err(Error::backend("ERR mock: unknown program")),
        };
        Ok(Arc::new(MockModel {
            op,
            latency,
            inputs: names("in", n_in),
            outputs: names("out", n_out),
        }))
    }

    fn compile_script(&self, source: &str, config: &ScriptConfig) -> Result<Arc<dyn ScriptRunner>> {
        let functions: Vec<String> = source.lines().map(|l| l.trim().to_string()).collect();
        for ep in config.entry_points {
            if !functions.contains(ep) {
                return Err(Error::backend(format!(
                    "Function {ep} does not exist in the given script."
                )));
            }
        }
        Ok(Arc::new(MockScript { functions }))
    }
}

impl ModelRunner for MockModel {
    fn inputs(&self) -> &[String] {
        &self.inputs
    }

    fn outputs(&self) -> &[String] {
        &self.outputs
    }

    fn run(&self, inputs: &[&Tensor], _ctx: &RunContext) -> Result<Vec<Tensor>> {
        std::thread::sleep(self.latency);
        match self.op {
            Op::Identity => Ok(inputs.iter().map(|t| (*t).clone()).collect()),
            Op::Add => add(inputs).map(|t| vec![t]),
            Op::Fail => Err(Error::backend("ERR mock failure")),
            Op::BatchSize => {
                let t = inputs
                    .first()
                    .ok_or_else(|| Error::backend("ERR no input"))?;
                let v = t.dim0() as f32;
                let data: Vec<u8> = (0..t.len()).flat_map(|_| v.to_le_bytes()).collect();
                Tensor::from_blob(DataType::Float, t.shape().to_vec(), data.into()).map(|t| vec![t])
            }
            Op::Panic => panic!("mock backend panic"),
            Op::Thread | Op::Nap => {
                if let (Op::Nap, Some(ms)) = (&self.op, inputs.first().and_then(|t| first_f32(t))) {
                    std::thread::sleep(Duration::from_secs_f32(ms.max(0.0) / 1000.0));
                }
                let mut name = std::thread::current()
                    .name()
                    .unwrap_or("")
                    .as_bytes()
                    .to_vec();
                name.push(0);
                Tensor::from_blob(DataType::String, vec![1], name.into()).map(|t| vec![t])
            }
            Op::DropBatch => {
                Tensor::from_blob(DataType::Float, vec![1], vec![0u8; 4].into()).map(|t| vec![t])
            }
        }
    }
}

fn first_f32(t: &Tensor) -> Option<f32> {
    let b = t.blob().get(..4)?;
    (t.dtype() == DataType::Float).then(|| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn add(inputs: &[&Tensor]) -> Result<Tensor> {
    let [a, b] = inputs else {
        return Err(Error::backend("ERR Expected 2 inputs"));
    };
    if a.dtype() != b.dtype() || a.shape() != b.shape() {
        return Err(Error::backend("ERR mock: add needs equal types and shapes"));
    }
    let (x, y) = (a.blob(), b.blob());
    let out: Vec<u8> = match a.dtype() {
        DataType::Float => zip_le::<4>(x, y, |p, q| {
            (f32::from_le_bytes(p) + f32::from_le_bytes(q)).to_le_bytes()
        }),
        DataType::Double => zip_le::<8>(x, y, |p, q| {
            (f64::from_le_bytes(p) + f64::from_le_bytes(q)).to_le_bytes()
        }),
        DataType::Int32 => zip_le::<4>(x, y, |p, q| {
            i32::from_le_bytes(p)
                .wrapping_add(i32::from_le_bytes(q))
                .to_le_bytes()
        }),
        DataType::Int64 => zip_le::<8>(x, y, |p, q| {
            i64::from_le_bytes(p)
                .wrapping_add(i64::from_le_bytes(q))
                .to_le_bytes()
        }),
        _ => return Err(Error::backend("ERR mock: unsupported type")),
    };
    Tensor::from_blob(a.dtype(), a.shape().to_vec(), out.into())
}

fn zip_le<const N: usize>(x: &[u8], y: &[u8], f: impl Fn([u8; N], [u8; N]) -> [u8; N]) -> Vec<u8> {
    x.chunks_exact(N)
        .zip(y.chunks_exact(N))
        .flat_map(|(p, q)| {
            let (mut a, mut b) = ([0u8; N], [0u8; N]);
            a.copy_from_slice(p);
            b.copy_from_slice(q);
            f(a, b)
        })
        .collect()
}

struct MockScript {
    functions: Vec<String>,
}

impl ScriptRunner for MockScript {
    fn run(&self, call: &ScriptCall, ctx: &RunContext) -> Result<Vec<Tensor>> {
        if !self.functions.iter().any(|f| f == call.function) {
            return Err(Error::backend(format!(
                "Function does not exist: {}",
                call.function
            )));
        }
        match call.function {
            "identity" => Ok(call.inputs.iter().map(|t| (*t).clone()).collect()),
            "set" => {
                let host = ctx
                    .host
                    .ok_or_else(|| Error::backend("ERR no script host"))?;
                let (Some(k), Some(v)) = (call.keys.first(), call.args.first()) else {
                    return Err(Error::backend("ERR set needs a key and a value"));
                };
                match host.execute(&[bytes::Bytes::from_static(b"SET"), k.clone(), v.clone()]) {
                    Reply::Error(e) => Err(Error::backend(format!(
                        "Redis command returned an error: {e}"
                    ))),
                    _ => Ok(Vec::new()),
                }
            }
            _ => Err(Error::backend("ERR mock script failure")),
        }
    }
}
