//! Load-time configuration (spec §1): the `KEY VALUE` pairs of
//! `--loadmodule redisai.so THREADS_PER_QUEUE 4 ...`, which the standalone server takes as flags
//! of the same names (`--threads-per-queue 4`). One parser for both faces.

use std::path::Path;

use crate::args::parse_strict_i64;
use crate::error::{Error, Result};
use crate::model::BackendKind;

/// Default MODEL_CHUNK_SIZE: 511 MiB, as in the C module.
pub const DEFAULT_MODEL_CHUNK_SIZE: u64 = 511 * 1024 * 1024;

/// Engine settings: the load-time configuration of the C module plus what AI.CONFIG changes.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    pub backends_path: String,
    pub model_chunk_size: u64,
    pub threads_per_queue: u64,
    /// 0 = the backend's default.
    pub intra_op_parallelism: u64,
    /// 0 = the backend's default.
    pub inter_op_parallelism: u64,
    /// Milliseconds an ONNX run may take before it is stopped (RedisAI's kill switch).
    pub model_execution_timeout: u64,
    /// MB, 0 = unlimited.
    pub backend_memory_limit: u64,
    /// A CPU model run whose recent runs took at most this many microseconds (with small
    /// inputs, no batching) runs on the submitting thread instead of a queue worker: the
    /// hand-off costs more than such a run. 0: every run goes through its queue. `None` (the
    /// default): what a hand-off to a worker and back takes on this machine, measured when the
    /// engine starts, within [`crate::exec::AUTO_INLINE_US`].
    pub inline_run_max_us: Option<u64>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            backends_path: String::new(),
            model_chunk_size: DEFAULT_MODEL_CHUNK_SIZE,
            threads_per_queue: 1,
            intra_op_parallelism: 0,
            inter_op_parallelism: 0,
            model_execution_timeout: 5000,
            backend_memory_limit: 0,
            inline_run_max_us: None,
        }
    }
}

/// What the load-time arguments asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadConfig {
    pub config: EngineConfig,
    /// Backends to load now, in argument order, with their paths as given (a relative path is
    /// resolved against BACKENDSPATH by [`crate::backend::Registry::load_from`]).
    pub backends: Vec<(BackendKind, String)>,
    /// What RedisAI logs for each accepted argument (`Setting <NAME> parameter to: <value>`).
    pub notices: Vec<String>,
}

/// The settings a load-time argument may name, with what its value must be.
pub const SETTINGS: [(&str, &str); 8] = [
    ("BACKENDSPATH", "a directory"),
    ("THREADS_PER_QUEUE", "a positive integer"),
    ("INTRA_OP_PARALLELISM", "a positive integer"),
    ("INTER_OP_PARALLELISM", "a positive integer"),
    ("MODEL_CHUNK_SIZE", "a positive integer"),
    ("MODEL_EXECUTION_TIMEOUT", "at least 1000 (milliseconds)"),
    ("BACKEND_MEMORY_LIMIT", "a positive integer (MB)"),
    // Ours: see EngineConfig::inline_run_max_us.
    ("INLINE_RUN_MAX_US", "a non-negative integer or auto"),
];

/// What the value of setting `name` must be (for a face's own error text).
pub fn requirement(name: &str) -> Option<&'static str> {
    SETTINGS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, r)| *r)
}

impl EngineConfig {
    /// Applies one setting (names case-insensitive, as RedisAI compares them). An unknown name
    /// or a value out of range changes nothing and is `ERR error processing argument: ...`.
    pub fn apply(&mut self, name: &[u8], value: &[u8]) -> Result<()> {
        let bad = || Error::LoadArgument {
            name: String::from_utf8_lossy(name).into_owned(),
            value: String::from_utf8_lossy(value).into_owned(),
        };
        let positive = || {
            parse_strict_i64(value)
                .filter(|&n| n > 0)
                .map(|n| n as u64)
                .ok_or_else(bad)
        };
        let name_is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        if name_is("BACKENDSPATH") {
            self.backends_path = std::str::from_utf8(value).map_err(|_| bad())?.to_string();
        } else if name_is("THREADS_PER_QUEUE") {
            self.threads_per_queue = positive()?;
        } else if name_is("INTRA_OP_PARALLELISM") {
            self.intra_op_parallelism = positive()?;
        } else if name_is("INTER_OP_PARALLELISM") {
            self.inter_op_parallelism = positive()?;
        } else if name_is("MODEL_CHUNK_SIZE") {
            self.model_chunk_size = positive()?;
        } else if name_is("MODEL_EXECUTION_TIMEOUT") {
            self.model_execution_timeout =
                positive().ok().filter(|&ms| ms >= 1000).ok_or_else(bad)?;
        } else if name_is("BACKEND_MEMORY_LIMIT") {
            self.backend_memory_limit = positive()?;
        } else if name_is("INLINE_RUN_MAX_US") {
            self.inline_run_max_us = if value.eq_ignore_ascii_case(b"auto") {
                None
            } else {
                Some(
                    parse_strict_i64(value)
                        .and_then(|n| u64::try_from(n).ok())
                        .ok_or_else(bad)?,
                )
            };
        } else {
            return Err(bad());
        }
        Ok(())
    }
}

/// Parses the module's load-time arguments. `defaults.backends_path` should be
/// `<directory of the module>/backends`, RedisAI's default. BACKENDSPATH applies first, so
/// backend paths given before it are resolved against it too.
pub fn parse_load_args<A: AsRef<[u8]>>(args: &[A], defaults: EngineConfig) -> Result<LoadConfig> {
    if !args.len().is_multiple_of(2) {
        return Err(Error::LoadArgumentsOdd);
    }
    let pairs: Vec<(&[u8], &[u8])> = args
        .chunks(2)
        .map(|kv| (kv[0].as_ref(), kv[1].as_ref()))
        .collect();
    let mut load = LoadConfig {
        config: defaults,
        backends: Vec::new(),
        notices: Vec::new(),
    };
    let notice = |name: &[u8], value: &[u8]| {
        format!(
            "Setting {} parameter to: {}",
            String::from_utf8_lossy(name).to_ascii_uppercase(),
            String::from_utf8_lossy(value)
        )
    };
    for (name, value) in pairs
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(b"BACKENDSPATH"))
    {
        load.config.apply(name, value)?;
        load.notices.push(notice(name, value));
    }
    for (name, value) in pairs {
        if name.eq_ignore_ascii_case(b"BACKENDSPATH") {
            continue;
        }
        if let Some(kind) = BackendKind::parse(name) {
            let path = std::str::from_utf8(value).map_err(|_| Error::LoadArgument {
                name: String::from_utf8_lossy(name).into_owned(),
                value: String::from_utf8_lossy(value).into_owned(),
            })?;
            load.backends.push((kind, path.to_string()));
        } else {
            load.config.apply(name, value)?;
        }
        load.notices.push(notice(name, value));
    }
    Ok(load)
}

/// RedisAI's default BACKENDSPATH for a module loaded from `module_path`: `backends` beside it.
pub fn default_backends_path(module_path: &Path) -> String {
    module_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("backends")
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<LoadConfig> {
        let args: Vec<&str> = line.split_whitespace().collect();
        parse_load_args(&args, EngineConfig::default())
    }

    #[test]
    fn settings_backends_and_notices() {
        let l = parse("THREADS_PER_QUEUE 4 onnx lib/ort.so BACKENDSPATH /b MODEL_EXECUTION_TIMEOUT 1000 inline_run_max_us auto").unwrap();
        assert_eq!(l.config.threads_per_queue, 4);
        assert_eq!(l.config.backends_path, "/b");
        assert_eq!(l.config.model_execution_timeout, 1000);
        assert_eq!(l.config.inline_run_max_us, None);
        assert_eq!(
            l.backends,
            vec![(BackendKind::Onnx, "lib/ort.so".to_string())]
        );
        assert_eq!(l.notices[0], "Setting BACKENDSPATH parameter to: /b");
        assert_eq!(l.notices[1], "Setting THREADS_PER_QUEUE parameter to: 4");
        let l = parse("INLINE_RUN_MAX_US 0 MODEL_CHUNK_SIZE 9").unwrap();
        assert_eq!(l.config.inline_run_max_us, Some(0));
        assert_eq!(l.config.model_chunk_size, 9);
        assert_eq!(parse("").unwrap().config, EngineConfig::default());
    }

    #[test]
    fn bad_arguments_fail_the_load_with_redisai_texts() {
        let err = |line: &str| parse(line).unwrap_err().to_string();
        assert_eq!(
            err("THREADS_PER_QUEUE"),
            "Even number of arguments provided to module. Please provide arguments as KEY VAL pairs"
        );
        assert_eq!(
            err("THREADS_PER_QUEUE 0"),
            "ERR error processing argument: THREADS_PER_QUEUE 0"
        );
        assert_eq!(
            err("INTRA_OP_PARALLELISM -1"),
            "ERR error processing argument: INTRA_OP_PARALLELISM -1"
        );
        assert_eq!(
            err("MODEL_EXECUTION_TIMEOUT 999"),
            "ERR error processing argument: MODEL_EXECUTION_TIMEOUT 999"
        );
        assert_eq!(
            err("BACKEND_MEMORY_LIMIT x"),
            "ERR error processing argument: BACKEND_MEMORY_LIMIT x"
        );
        assert_eq!(
            err("INLINE_RUN_MAX_US -1"),
            "ERR error processing argument: INLINE_RUN_MAX_US -1"
        );
        assert_eq!(err("NOPE 1"), "ERR error processing argument: NOPE 1");
        assert_eq!(
            err("BACKEND_MEMORY_LIMIT 0"),
            "ERR error processing argument: BACKEND_MEMORY_LIMIT 0"
        );
        assert_eq!(
            parse("BACKEND_MEMORY_LIMIT 7")
                .unwrap()
                .config
                .backend_memory_limit,
            7
        );
        assert_eq!(
            requirement("model_execution_timeout"),
            Some("at least 1000 (milliseconds)")
        );
    }

    #[test]
    fn the_default_backends_path_is_beside_the_module() {
        assert_eq!(
            default_backends_path(Path::new("/opt/ai/redisai.so")),
            "/opt/ai/backends"
        );
    }
}
