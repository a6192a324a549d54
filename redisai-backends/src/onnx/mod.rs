//! The ONNX backend: ONNX Runtime through `ort`, opened at run time from a library file
//! (`<BACKENDSPATH>/redisai_onnxruntime/libonnxruntime.so`, or the path given to
//! `AI.CONFIG LOADBACKEND ONNX`).
//!
//! ## Layout
//! - this file: the loader (one runtime per process) and the [`Backend`] (sessions, INFO fields).
//! - `model`: a loaded model ([`ModelRunner`]): one session that runs take turns on.
//! - `tensors`: [`Tensor`] ↔ ORT values (inputs borrowed when aligned, else one copy; strings
//!   without UTF-8 checks).
//! - `deadline`: the one watchdog thread that terminates runs past their deadline.
//! - `alloc`: the counting allocator behind `onnxruntime_memory` in INFO.
//! - `proto`: the ONNX protobuf walk that refuses initializers with external data.
//!
//! ## Rules kept here
//! - No `ort` call before `ort::init_from` has loaded a library: any of them would try to open
//!   `libonnxruntime.so` from the default search path and panic when that fails.
//! - `ort` panics on a few inputs (unusual value types, "infallible" calls): every call into it
//!   from a command runs inside `catch_unwind`, and a panic becomes a one-line backend error.
//!
//! [`Tensor`]: redisai_core::Tensor

mod alloc;
mod deadline;
mod model;
mod proto;
mod tensors;

use std::any::Any;
use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::library::same_file;
use ort::environment::Environment;
use ort::ep::{self, ExecutionProvider};
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::session::Session;
use redisai_core::backend::{Backend, BackendLoader, ModelConfig, ModelRunner};
use redisai_core::device::Device;
use redisai_core::model::BackendKind;
use redisai_core::{Error, Result};

use self::model::OnnxModel;

/// The library file under BACKENDSPATH, as RedisAI names it.
pub const DEFAULT_FILE: &str = "redisai_onnxruntime/libonnxruntime.so";

/// The text RedisAI's ONNX Runtime build gives for a model with external initializers.
const EXTERNAL_DATA: &str = "Initializer tensors with external data is not allowed.";

pub fn loader() -> Arc<dyn BackendLoader> {
    Arc::new(OnnxLoader)
}

/// Loads ONNX Runtime: once per process, from one file.
#[derive(Debug, Clone, Copy, Default)]
pub struct OnnxLoader;

impl BackendLoader for OnnxLoader {
    fn kind(&self) -> BackendKind {
        BackendKind::Onnx
    }

    fn default_file(&self) -> &'static str {
        DEFAULT_FILE
    }

    /// The first call opens the library and builds the process's one ORT environment. Later
    /// calls with the same file (symlinks resolved) return the same backend; another file is an
    /// error, since a process can hold only one ONNX Runtime.
    fn load(&self, path: &Path) -> Result<Arc<dyn Backend>> {
        OnnxBackend::load(path).map(|b| b as Arc<dyn Backend>)
    }
}

/// What a process has done with ONNX Runtime so far.
enum Runtime {
    NotLoaded,
    /// `ort` holds this library (even if building the environment then failed).
    LibraryOpened(PathBuf),
    Ready(PathBuf, Arc<OnnxBackend>),
}

static RUNTIME: Mutex<Runtime> = Mutex::new(Runtime::NotLoaded);

/// ONNX Runtime, loaded, with its environment.
pub struct OnnxBackend {
    env: Environment,
    version: String,
}

impl std::fmt::Debug for OnnxBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxBackend")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// An `ort` error as a client sees it: ORT's message, one line.
pub(crate) fn ort_error<R>(e: ort::Error<R>) -> Error {
    Error::backend(e.message())
}

/// The message of a caught panic, for a one-line error.
pub(crate) fn panic_error(what: &str, payload: Box<dyn Any + Send>) -> Error {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    Error::backend(format!("ERR ONNX Runtime failed while {what}: {msg}"))
}

impl OnnxBackend {
    fn load(path: &Path) -> Result<Arc<OnnxBackend>> {
        let mut runtime = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
        // ort resolves a relative path against the executable's folder; we want the cwd.
        let path = std::path::absolute(path).map_err(|e| {
            Error::backend(format!(
                "ERR ONNX: bad library path {}: {e}",
                path.display()
            ))
        })?;
        match &*runtime {
            Runtime::Ready(loaded, backend) if same_file(loaded, &path) => {
                return Ok(backend.clone());
            }
            Runtime::Ready(loaded, _) | Runtime::LibraryOpened(loaded) => {
                return Err(Error::backend(format!(
                    "ERR ONNX Runtime is already loaded from {}: a process holds only one",
                    loaded.display()
                )));
            }
            Runtime::NotLoaded => {}
        }
        let builder = ort::init_from(&path)
            .map_err(|e| Error::backend(format!("ERR could not load ONNX Runtime: {e}")))?;
        *runtime = Runtime::LibraryOpened(path.clone());
        let backend = catch_unwind(AssertUnwindSafe(|| Self::start(builder, &path)))
            .unwrap_or_else(|p| Err(panic_error("starting", p)))?;
        let backend = Arc::new(backend);
        *runtime = Runtime::Ready(path, backend.clone());
        Ok(backend)
    }

    /// Builds the environment and registers the counting allocator on it.
    fn start(builder: ort::environment::EnvironmentBuilder, path: &Path) -> Result<OnnxBackend> {
        let env = builder
            .with_name("redisai")
            .with_telemetry(false)
            .build()
            .map_err(ort_error)?;
        // Without it sessions fall back to ORT's own allocator: models still run, INFO reports 0.
        let _ = alloc::register(&env);
        Ok(OnnxBackend {
            env,
            version: library_version(path).unwrap_or_else(|| "unknown".to_string()),
        })
    }

    fn session_builder(&self, config: &ModelConfig) -> Result<SessionBuilder> {
        let threads = |n: u64| {
            usize::try_from(n).map_err(|_| Error::backend("ERR ONNX: too many threads requested"))
        };
        let mut builder = Session::builder(&self.env)
            .map_err(ort_error)?
            .with_optimization_level(GraphOptimizationLevel::Level1)
            .map_err(ort_error)?
            // ORT's pool threads spin between runs by default; next to the server's own threads
            // that burns a core that I/O and other queues need (measured: BATCHSIZE 16 went from
            // 2.3x to 2.9x the throughput of BATCHSIZE 0 without it).
            .with_intra_op_spinning(false)
            .map_err(ort_error)?
            .with_inter_op_spinning(false)
            .map_err(ort_error)?;
        if config.intra_op_threads > 0 {
            builder = builder
                .with_intra_threads(threads(config.intra_op_threads)?)
                .map_err(ort_error)?;
        }
        if config.inter_op_threads > 0 {
            builder = builder
                .with_inter_threads(threads(config.inter_op_threads)?)
                .map_err(ort_error)?;
        }
        match config.device {
            Device::Cpu => builder
                // No arena: memory goes back as soon as a run ends, and the env allocator (which
                // counts it) serves every CPU allocation, as in RedisAI.
                .with_execution_providers([ep::CPU::default()
                    .with_arena_allocator(false)
                    .build()
                    .error_on_failure()])
                .map_err(ort_error)?
                .with_env_allocators()
                .map_err(ort_error),
            Device::Gpu(id) => {
                if !ep::CUDA::is_available().unwrap_or(false) {
                    return Err(Error::backend(
                        "ERR GPU requested but ONNX couldn't find CUDA",
                    ));
                }
                let id = i32::try_from(id)
                    .map_err(|_| Error::backend("ERR GPU requested but ONNX couldn't find CUDA"))?;
                builder
                    .with_execution_providers([ep::CUDA::default()
                        .with_device_id(id)
                        .build()
                        .error_on_failure()])
                    .map_err(ort_error)
            }
        }
    }

    fn create_model(&self, blob: &[u8], config: &ModelConfig) -> Result<OnnxModel> {
        // One limit for the process, as RedisAI's (it is load-time configuration).
        alloc::set_limit(config.memory_limit);
        // A model coming back from an RDB file or a replica's sync is kept whatever the limit:
        // refusing it would fail the load of the whole dataset.
        let weights = alloc::HeldWeights::hold(blob.len(), !config.restoring).ok_or_else(|| {
            Error::backend(format!(
                "Exception during initialization: {}",
                alloc::LIMIT_EXCEEDED
            ))
        })?;
        // Checked before ORT sees the model: ORT would read external files relative to the
        // server's working directory.
        let checked = match proto::has_external_data(blob) {
            Ok(true) => return Err(Error::backend(EXTERNAL_DATA)),
            Ok(false) => true,
            Err(_) => false,
        };
        let session = self
            .session_builder(config)?
            .commit_from_memory(blob)
            .map_err(ort_error)?;
        if !checked {
            // ORT read what our walk could not: refuse rather than guess.
            return Err(Error::backend(
                "ERR ONNX: could not check the model for initializers with external data",
            ));
        }
        OnnxModel::new(session, weights, config.execution_limit)
    }
}

/// The runtime's own version (`OrtGetApiBase()->GetVersionString()`): `ort` does not expose it.
/// Opening the file again returns the handle `ort` already holds.
fn library_version(path: &Path) -> Option<String> {
    // SAFETY: the library is already loaded by ort::init_from (so no initialiser runs again), and
    // OrtGetApiBase has this signature in every ONNX Runtime release; it returns a static struct
    // whose GetVersionString returns a static NUL-terminated string.
    unsafe {
        let lib = libloading::Library::new(path).ok()?;
        let get_base: libloading::Symbol<unsafe extern "C" fn() -> *const ort::sys::OrtApiBase> =
            lib.get(b"OrtGetApiBase").ok()?;
        let base = get_base();
        if base.is_null() {
            return None;
        }
        let version = ((*base).GetVersionString)();
        if version.is_null() {
            return None;
        }
        Some(CStr::from_ptr(version).to_string_lossy().into_owned())
    }
}

impl Backend for OnnxBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Onnx
    }

    /// RedisAI's four fields. `onnxruntime_memory` and `onnxruntime_memory_access_num` count
    /// what ONNX Runtime allocated through the env allocator (every CPU session uses it): live
    /// bytes, and allocations + frees so far. `onnxruntime_maximum_run_sessions_number` is, as
    /// in RedisAI, the engine's queue workers (how many queued runs can be in flight at once).
    fn info(&self, worker_threads: usize) -> Vec<(String, String)> {
        let (memory, accesses) = alloc::stats();
        vec![
            ("onnxruntime_version".into(), self.version.clone()),
            ("onnxruntime_memory".into(), memory.to_string()),
            ("onnxruntime_memory_access_num".into(), accesses.to_string()),
            (
                "onnxruntime_maximum_run_sessions_number".into(),
                worker_threads.to_string(),
            ),
        ]
    }

    fn load_model(&self, blob: &[u8], config: &ModelConfig) -> Result<Arc<dyn ModelRunner>> {
        let model = catch_unwind(AssertUnwindSafe(|| self.create_model(blob, config)))
            .unwrap_or_else(|p| Err(panic_error("loading the model", p)))?;
        Ok(Arc::new(model))
    }
}
