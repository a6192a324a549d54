//! The TF backend: frozen TensorFlow GraphDefs run through TensorFlow's C API, opened at run time
//! from one library file (`<BACKENDSPATH>/redisai_tensorflow/libtensorflow.so`, a link to the
//! `libtensorflow_cc.so.2` of the `tensorflow-cpu` wheel, or the path given to
//! `AI.CONFIG LOADBACKEND TF`). Nothing of TensorFlow is linked at build time.
//!
//! ## Layout
//! - this file: the loader (one TensorFlow per process), [`Status`], the [`Backend`].
//! - `ffi`: the C functions, resolved from the opened library.
//! - `model`: a graph, its session and the user's input and output nodes.
//! - `tensors`: [`Tensor`] ↔ `TF_Tensor`.
//!
//! Why not the `tensorflow` crate: its runtime linking finds the library only through the
//! `TENSORFLOW_DIR` environment variable (so `LOADBACKEND TF <path>` would mean changing the
//! process's environment while other threads run), its STRING tensors must be UTF-8 (RedisAI's
//! are bytes), and its tensor packing panics on allocation failures. The ~40 C functions used
//! here are stable across TensorFlow 2.x.
//!
//! [`Tensor`]: redisai_core::Tensor

pub mod ffi;
mod model;
mod tensors;

use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::library::same_file;
use redisai_core::backend::{Backend, BackendLoader, ModelConfig, ModelRunner};
use redisai_core::model::BackendKind;
use redisai_core::{Error, Result};

use self::ffi::{Api, TF_Status, TF_OK};
use self::model::TfModel;

/// The library file under BACKENDSPATH.
pub const DEFAULT_FILE: &str = "redisai_tensorflow/libtensorflow.so";

pub fn loader() -> Arc<dyn BackendLoader> {
    Arc::new(TfLoader)
}

/// Loads TensorFlow: once per process, from one file.
#[derive(Debug, Clone, Copy, Default)]
pub struct TfLoader;

impl BackendLoader for TfLoader {
    fn kind(&self) -> BackendKind {
        BackendKind::Tf
    }

    fn default_file(&self) -> &'static str {
        DEFAULT_FILE
    }

    /// The first call opens the library; later calls with the same file (links resolved) return
    /// the same backend, and another file is an error: TensorFlow cannot be unloaded.
    fn load(&self, path: &Path) -> Result<Arc<dyn Backend>> {
        TfBackend::load(path).map(|b| b as Arc<dyn Backend>)
    }
}

/// TensorFlow, opened: its functions and version. Lives for the rest of the process.
pub(crate) struct Tf {
    api: Api,
    version: String,
}

/// A `TF_Status`, freed on drop.
pub(crate) struct Status {
    tf: &'static Tf,
    ptr: *mut TF_Status,
}

impl Status {
    pub(crate) fn new(tf: &'static Tf) -> Status {
        // SAFETY: no preconditions; freed in Drop.
        let ptr = unsafe { (tf.api.TF_NewStatus)() };
        Status { tf, ptr }
    }

    pub(crate) fn code(&self) -> i32 {
        // SAFETY: a live status.
        unsafe { (self.tf.api.TF_GetCode)(self.ptr) }
    }

    /// TF's message as a one-line error (RedisAI replies TF's text, newlines as spaces).
    pub(crate) fn check(&self) -> Result<()> {
        if self.code() == TF_OK {
            return Ok(());
        }
        // SAFETY: a live status; the message is a NUL-terminated string it owns.
        let msg = unsafe { CStr::from_ptr((self.tf.api.TF_Message)(self.ptr)) };
        Err(Error::backend(msg.to_string_lossy()))
    }
}

impl Drop for Status {
    fn drop(&mut self) {
        // SAFETY: created by TF_NewStatus, freed once.
        unsafe { (self.tf.api.TF_DeleteStatus)(self.ptr) }
    }
}

/// The TensorFlow this process opened, and from which file.
static RUNTIME: Mutex<Option<(PathBuf, Arc<TfBackend>)>> = Mutex::new(None);

pub struct TfBackend {
    tf: &'static Tf,
}

impl std::fmt::Debug for TfBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TfBackend")
            .field("version", &self.tf.version)
            .finish_non_exhaustive()
    }
}

impl TfBackend {
    fn load(path: &Path) -> Result<Arc<TfBackend>> {
        let mut runtime = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((loaded, backend)) = &*runtime {
            if same_file(loaded, path) {
                return Ok(backend.clone());
            }
            return Err(Error::backend(format!(
                "ERR TensorFlow is already loaded from {}: a process holds only one",
                loaded.display()
            )));
        }
        if !path.is_file() {
            return Err(Error::backend(format!(
                "ERR could not load TensorFlow: no library at {}",
                path.display()
            )));
        }
        let api = Api::open(path)
            .map_err(|e| Error::backend(format!("ERR could not load TensorFlow: {e}")))?;
        // SAFETY: TF_Version returns a static NUL-terminated string.
        let version = unsafe { CStr::from_ptr((api.TF_Version)()) }
            .to_string_lossy()
            .into_owned();
        // TensorFlow cannot be unloaded: the runtime lives for the rest of the process.
        let tf: &'static Tf = Box::leak(Box::new(Tf { api, version }));
        let backend = Arc::new(TfBackend { tf });
        *runtime = Some((path.to_path_buf(), backend.clone()));
        Ok(backend)
    }
}

impl Backend for TfBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Tf
    }

    fn info(&self, _worker_threads: usize) -> Vec<(String, String)> {
        vec![("TensorFlow_version".into(), self.tf.version.clone())]
    }

    fn load_model(&self, blob: &[u8], config: &ModelConfig) -> Result<Arc<dyn ModelRunner>> {
        Ok(Arc::new(TfModel::load(self.tf, blob, config)?))
    }
}
