//! What a model is made of, as far as the grammar and the keyspace know it. The runnable part is
//! a backend's business.

/// The four backends of RedisAI, numbered as the RDB encoding numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    Tf = 0,
    Tflite = 1,
    Torch = 2,
    Onnx = 3,
}

impl BackendKind {
    pub const ALL: [BackendKind; 4] = [
        BackendKind::Tf,
        BackendKind::Tflite,
        BackendKind::Torch,
        BackendKind::Onnx,
    ];

    /// `TF`, `TFLITE`, `TORCH`, `ONNX`, case-insensitively.
    pub fn parse(name: &[u8]) -> Option<BackendKind> {
        BackendKind::ALL
            .into_iter()
            .find(|b| name.eq_ignore_ascii_case(b.name().as_bytes()))
    }

    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Tf => "TF",
            BackendKind::Tflite => "TFLITE",
            BackendKind::Torch => "TORCH",
            BackendKind::Onnx => "ONNX",
        }
    }
}

/// Auto-batching options of a model (0 = off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchOptions {
    pub size: u64,
    pub min_size: u64,
    /// Milliseconds.
    pub min_timeout: u64,
}

use std::sync::Arc;

use bytes::Bytes;

use crate::backend::{ModelRunner, RunContext, ScriptHost, ScriptRunner};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::stats::{RunCost, StatsHandle};
use crate::tensor::Tensor;

/// A stored model: what AI.MODELSTORE was given (the blob byte for byte) and the backend's
/// runnable form. Shared by `Arc` between the keyspace and running requests.
pub struct Model {
    pub backend: BackendKind,
    /// As the user typed it.
    pub device: String,
    pub tag: Bytes,
    pub batch: BatchOptions,
    pub inputs: Vec<Bytes>,
    pub outputs: Vec<Bytes>,
    pub blob: Bytes,
    pub runner: Arc<dyn ModelRunner>,
    pub stats: StatsHandle,
    pub cost: RunCost,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("backend", &self.backend)
            .field("device", &self.device)
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .field("blob_len", &self.blob.len())
            .finish()
    }
}

impl Model {
    /// The blob as AI.MODELGET, RDB and AOF send it: chunks of `chunk` bytes. RedisAI makes
    /// `len / chunk + 1` chunks, so a blob of an exact multiple ends with an empty chunk [Q],
    /// which we keep: it is what its RDB files contain.
    pub fn chunks(&self, chunk: u64) -> Vec<Bytes> {
        chunk_blob(&self.blob, chunk)
    }

    /// `redisAI.model_execute(key, inputs, num_outputs)` from inside a TorchScript script:
    /// the model runs on the calling worker thread (no queue, no batching, no AI.INFO counts,
    /// as in RedisAI). The face looks the model up under its own lock first.
    pub fn execute_from_script(
        &self,
        inputs: &[Tensor],
        outputs: usize,
        host: &dyn ScriptHost,
    ) -> Result<Vec<Tensor>> {
        let refs: Vec<&Tensor> = inputs.iter().collect();
        let ctx = RunContext {
            deadline: None,
            host: Some(host),
            max_wait: None,
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.runner.run(&refs, &ctx)
        }))
        .unwrap_or_else(|_| Err(Error::backend("ERR the backend failed unexpectedly")))?;
        if result.len() < outputs {
            return Err(Error::backend(
                "ERR Model did not generate the expected number of outputs",
            ));
        }
        Ok(result)
    }

    /// The AI.MODELGET reply.
    pub fn get_reply(&self, meta: bool, blob: bool, chunk: u64) -> Reply {
        let blob_reply = || match self.chunks(chunk).as_slice() {
            [one] => Reply::Bulk(one.clone()),
            many => Reply::Array(many.iter().cloned().map(Reply::Bulk).collect()),
        };
        if !meta {
            return blob_reply();
        }
        let names = |v: &[Bytes]| Reply::Array(v.iter().cloned().map(Reply::Bulk).collect());
        let mut r = vec![
            Reply::text("backend"),
            Reply::text(self.backend.name()),
            Reply::text("device"),
            Reply::text(&self.device),
            Reply::text("tag"),
            Reply::Bulk(self.tag.clone()),
            Reply::text("batchsize"),
            Reply::Int(self.batch.size as i64),
            Reply::text("minbatchsize"),
            Reply::Int(self.batch.min_size as i64),
            Reply::text("inputs"),
            names(&self.inputs),
            Reply::text("outputs"),
            names(&self.outputs),
            Reply::text("minbatchtimeout"),
            Reply::Int(self.batch.min_timeout as i64),
        ];
        if blob {
            r.push(Reply::text("blob"));
            r.push(blob_reply());
        }
        Reply::Array(r)
    }
}

/// A model blob cut as AI.MODELGET, RDB and AOF send it: `len / chunk + 1` slices of at most
/// `chunk` bytes (a chunk size of 0 counts as 1), so an exact multiple, the empty blob included,
/// ends with an empty slice. Slices share the blob; nothing is copied. The one place that cuts.
pub fn chunk_blob(blob: &Bytes, chunk: u64) -> Vec<Bytes> {
    let chunk = usize::try_from(chunk).unwrap_or(usize::MAX).max(1);
    let n = blob.len() / chunk + 1;
    (0..n)
        .map(|i| {
            let start = i.saturating_mul(chunk).min(blob.len());
            let end = (i + 1).saturating_mul(chunk).min(blob.len());
            blob.slice(start..end)
        })
        .collect()
}

/// A stored TorchScript script.
pub struct Script {
    pub device: String,
    pub tag: Bytes,
    pub source: Bytes,
    pub entry_points: Vec<Bytes>,
    pub runner: Arc<dyn ScriptRunner>,
    pub stats: StatsHandle,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script")
            .field("device", &self.device)
            .field("entry_points", &self.entry_points)
            .finish()
    }
}

impl Script {
    /// The AI.SCRIPTGET reply.
    pub fn get_reply(&self, meta: bool, source: bool) -> Reply {
        if !meta {
            return Reply::Bulk(self.source.clone());
        }
        let mut r = vec![
            Reply::text("device"),
            Reply::text(&self.device),
            Reply::text("tag"),
            Reply::Bulk(self.tag.clone()),
            Reply::text("Entry Points"),
            Reply::Array(self.entry_points.iter().cloned().map(Reply::Bulk).collect()),
        ];
        if source {
            r.push(Reply::text("source"));
            r.push(Reply::Bulk(self.source.clone()));
        }
        Reply::Array(r)
    }
}
