//! The TFLITE backend: LiteRT 2.3 (`libLiteRt.so` of the PyPI wheel `ai-edge-litert==2.3.0`)
//! through its C API, opened at run time from a library file
//! (`<BACKENDSPATH>/redisai_tflite/libLiteRt.so`, or the path given to
//! `AI.CONFIG LOADBACKEND TFLITE`).
//!
//! ## Layout
//! - this file: the loader (one runtime per process) and the [`Backend`] (model loading, INFO).
//! - `ffi`: the hand-written binding of the C functions used, resolved from the library file.
//! - `model`: a loaded model ([`ModelRunner`]): the compiled model and its tensor buffers, which
//!   runs take turns on.
//!
//! ## Rules kept here
//! - Nothing unwinds into LiteRT: no callback is handed to it, and every status and returned
//!   pointer is checked before use.
//! - A model owns a copy of its bytes for as long as LiteRT's model lives (LiteRT reads them in
//!   place), and destroys its objects in the order they depend on each other: tensor buffers,
//!   compiled model, model, bytes.

mod ffi;
mod model;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::{Arc, Mutex, PoisonError};

use crate::library::same_file;
use redisai_core::backend::{Backend, BackendLoader, ModelConfig, ModelRunner};
use redisai_core::device::Device;
use redisai_core::model::BackendKind;
use redisai_core::{Error, Result};

use self::ffi::{Api, EnvOption, EnvironmentT, Owned};
use self::model::TfliteModel;

/// The library file under BACKENDSPATH, as RedisAI names its directory.
pub const DEFAULT_FILE: &str = "redisai_tflite/libLiteRt.so";

pub fn loader() -> Arc<dyn BackendLoader> {
    Arc::new(TfliteLoader)
}

/// Loads LiteRT: once per process, from one file.
#[derive(Debug, Clone, Copy, Default)]
pub struct TfliteLoader;

impl BackendLoader for TfliteLoader {
    fn kind(&self) -> BackendKind {
        BackendKind::Tflite
    }

    fn default_file(&self) -> &'static str {
        DEFAULT_FILE
    }

    /// The first call opens the library and creates the process's LiteRT environment. Later
    /// calls with the same file (symlinks resolved) return the same backend; another file is an
    /// error: a process holds one LiteRT.
    fn load(&self, path: &Path) -> Result<Arc<dyn Backend>> {
        TfliteBackend::load(path).map(|b| b as Arc<dyn Backend>)
    }
}

static RUNTIME: Mutex<Option<(PathBuf, Arc<TfliteBackend>)>> = Mutex::new(None);

/// The opened library and its environment. Models hold it too: it outlives their objects.
pub(crate) struct Runtime {
    /// Declared before `api`: destroyed while the library is still open.
    env: Owned<EnvironmentT>,
    /// Held by every call that takes the environment (models, compiled models, buffers):
    /// LiteRT does not promise that its environment may be used from several threads at once.
    env_lock: Mutex<()>,
    api: Api,
}

// SAFETY: every call that takes the environment holds `env_lock` (see `with_env`), and `Api` is
// plain function pointers plus the library handle.
unsafe impl Sync for Runtime {}

impl Runtime {
    pub(crate) fn api(&self) -> &Api {
        &self.api
    }

    /// Runs `f` with the environment, alone.
    pub(crate) fn with_env<R>(&self, f: impl FnOnce(*mut EnvironmentT) -> R) -> R {
        let _alone = self.env_lock.lock().unwrap_or_else(PoisonError::into_inner);
        f(self.env.as_ptr())
    }
}

/// LiteRT, loaded.
pub struct TfliteBackend {
    runtime: Arc<Runtime>,
    version: String,
}

impl std::fmt::Debug for TfliteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TfliteBackend")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl TfliteBackend {
    fn load(path: &Path) -> Result<Arc<TfliteBackend>> {
        let mut runtime = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
        let path = std::path::absolute(path).map_err(|e| {
            Error::backend(format!(
                "ERR TFLITE: bad library path {}: {e}",
                path.display()
            ))
        })?;
        if let Some((loaded, backend)) = &*runtime {
            if same_file(loaded, &path) {
                return Ok(backend.clone());
            }
            return Err(Error::backend(format!(
                "ERR LiteRT is already loaded from {}: a process holds only one",
                loaded.display()
            )));
        }
        let api = Api::open(&path)
            .map_err(|e| Error::backend(format!("ERR could not load LiteRT: {e}")))?;
        let env = create_environment(&api)?;
        let backend = Arc::new(TfliteBackend {
            runtime: Arc::new(Runtime {
                env,
                env_lock: Mutex::new(()),
                api,
            }),
            version: library_version(&path),
        });
        *runtime = Some((path, backend.clone()));
        Ok(backend)
    }
}

/// The process's environment: CPU accelerator only, LiteRT's own log lines from warnings up
/// (TFLite's delegate still prints its one INFO line, as RedisAI's TFLite did).
fn create_environment(api: &Api) -> Result<Owned<EnvironmentT>> {
    let int = |tag, value| EnvOption {
        tag,
        value: ffi::Any {
            kind: ffi::ANY_TYPE_INT,
            int_value: value,
        },
    };
    let options = [
        int(
            ffi::ENV_OPTION_AUTO_REGISTER_ACCELERATORS,
            i64::from(ffi::HW_ACCELERATOR_CPU),
        ),
        int(
            ffi::ENV_OPTION_MIN_LOGGER_SEVERITY,
            ffi::LOG_SEVERITY_WARNING,
        ),
    ];
    let mut env = ptr::null_mut();
    // SAFETY: `options` holds the count of options passed, and `env` is a valid out-pointer.
    let status =
        unsafe { (api.create_environment)(options.len() as i32, options.as_ptr(), &mut env) };
    // SAFETY: an environment the call just made for us; `api` outlives it (see `Runtime`).
    let env = unsafe { Owned::new(env, api.destroy_environment) };
    match (status, env) {
        (ffi::STATUS_OK, Some(env)) => Ok(env),
        (status, _) => Err(Error::backend(format!(
            "ERR could not create the LiteRT environment (status {status})"
        ))),
    }
}

/// The libraries whose version is known, by size and FNV-1a 64 fingerprint of the file: the C
/// API has no version call. `libLiteRt.so` of the wheel `ai-edge-litert==2.3.0` (manylinux_2_27
/// x86_64; its sha256, eec47eb35e29…548300bb, is the one in the wheel's RECORD).
const KNOWN_LIBRARIES: &[(u64, u64, &str)] = &[(8_039_424, 0xb3f0_5b2e_1047_36b2, "2.3.0")];

/// The release of the library file, when it is one we know; else "unknown".
fn library_version(path: &Path) -> String {
    let known = || -> Option<&'static str> {
        let size = std::fs::metadata(path).ok()?.len();
        let candidates: Vec<_> = KNOWN_LIBRARIES.iter().filter(|k| k.0 == size).collect();
        if candidates.is_empty() {
            return None;
        }
        let hash = fnv1a64(File::open(path).ok()?).ok()?;
        candidates.iter().find(|k| k.1 == hash).map(|k| k.2)
    };
    known().unwrap_or("unknown").to_string()
}

fn fnv1a64(file: File) -> std::io::Result<u64> {
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut chunk = [0u8; 1 << 16];
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            return Ok(hash);
        }
        for &b in &chunk[..n] {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

impl Backend for TfliteBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Tflite
    }

    fn info(&self, _worker_threads: usize) -> Vec<(String, String)> {
        vec![("TensorFlowLite_version".into(), self.version.clone())]
    }

    /// CPU only, as RedisAI's TFLITE backend; thread settings do not apply.
    fn load_model(&self, blob: &[u8], config: &ModelConfig) -> Result<Arc<dyn ModelRunner>> {
        if config.device != Device::Cpu {
            return Err(Error::backend("ERR Unsupported device"));
        }
        Ok(Arc::new(TfliteModel::load(&self.runtime, blob)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_of_known_strings() {
        let dir = std::env::temp_dir().join(format!("tflite-fnv-{}", std::process::id()));
        std::fs::write(&dir, b"a").unwrap();
        let hash = fnv1a64(File::open(&dir).unwrap()).unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(hash, 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn unknown_files_have_an_unknown_version() {
        assert_eq!(
            library_version(Path::new("/nonexistent/libLiteRt.so")),
            "unknown"
        );
    }
}
