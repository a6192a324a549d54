//! AI.CONFIG
//!
//! ```text
//! AI.CONFIG LOADBACKEND <TF|TFLITE|TORCH|ONNX> <path>
//! AI.CONFIG BACKENDSPATH <path>
//! AI.CONFIG MODEL_CHUNK_SIZE <n>
//! AI.CONFIG GET <BACKENDSPATH|MODEL_CHUNK_SIZE>
//! ```

use bytes::Bytes;

use super::ArgsBuilder;
use crate::args::{eq_ignore_case, parse_strict_i64, Args};
use crate::error::{Error, Result};
use crate::model::BackendKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Config {
    LoadBackend {
        backend: BackendKind,
        path: Bytes,
    },
    BackendsPath(Bytes),
    ModelChunkSize(u64),
    /// Any name: unknown ones reply null.
    Get(Bytes),
}

impl Config {
    pub fn parse(args: &mut Args) -> Result<Config> {
        if args.argc() < 2 {
            return Err(Error::WrongArity(args.name()));
        }
        let sub = args.next().cloned().unwrap_or_default();
        if eq_ignore_case(&sub, "LOADBACKEND") {
            if args.remaining() < 2 {
                return Err(Error::WrongArity(args.name()));
            }
            let backend = args
                .next()
                .and_then(|b| BackendKind::parse(b))
                .ok_or(Error::UnsupportedBackend)?;
            let path = args.next_bytes().unwrap_or_default();
            Ok(Config::LoadBackend { backend, path })
        } else if eq_ignore_case(&sub, "BACKENDSPATH") {
            Ok(Config::BackendsPath(
                args.next_bytes().ok_or(Error::BackendsPathMissing)?,
            ))
        } else if eq_ignore_case(&sub, "MODEL_CHUNK_SIZE") {
            let v = args.next().ok_or(Error::MissingChunkSize)?;
            let n = parse_strict_i64(v)
                .filter(|&n| n > 0)
                .ok_or(Error::InvalidChunkSize)?;
            Ok(Config::ModelChunkSize(n as u64))
        } else if eq_ignore_case(&sub, "GET") {
            Ok(Config::Get(
                args.next_bytes()
                    .ok_or_else(|| Error::WrongArity(args.name()))?,
            ))
        } else {
            Err(Error::UnsupportedSubcommand)
        }
    }

    pub fn to_args(&self) -> Vec<Bytes> {
        let mut b = ArgsBuilder::new("AI.CONFIG");
        match self {
            Config::LoadBackend { backend, path } => {
                b.str("LOADBACKEND").str(backend.name()).bytes(path)
            }
            Config::BackendsPath(p) => b.str("BACKENDSPATH").bytes(p),
            Config::ModelChunkSize(n) => b.str("MODEL_CHUNK_SIZE").num(*n),
            Config::Get(name) => b.str("GET").bytes(name),
        };
        b.build()
    }
}
