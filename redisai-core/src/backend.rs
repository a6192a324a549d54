//! Backends: the traits a runtime implements (in `redisai-backends`), and the registry that
//! loads them lazily, as RedisAI loads a backend library at the first model that needs it or at
//! `AI.CONFIG LOADBACKEND`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use bytes::Bytes;

use crate::device::Device;
use crate::error::{Error, Result};
use crate::model::{BackendKind, BatchOptions};
use crate::reply::Reply;
use crate::tensor::Tensor;

/// What a backend needs to build a model.
#[derive(Debug, Clone)]
pub struct ModelConfig<'a> {
    pub device: Device,
    /// As the user typed it (for error texts).
    pub device_name: &'a str,
    /// TF only: the graph's input and output node names, as given to AI.MODELSTORE.
    pub inputs: &'a [String],
    pub outputs: &'a [String],
    pub batch: BatchOptions,
    /// 0 = the runtime's default.
    pub intra_op_threads: u64,
    pub inter_op_threads: u64,
    /// MODEL_EXECUTION_TIMEOUT: ONNX stops a run that takes longer (RedisAI's kill switch;
    /// other backends ignore it). `None`: no limit.
    pub execution_limit: Option<std::time::Duration>,
    /// BACKEND_MEMORY_LIMIT in bytes: what ONNX Runtime may hold at once (ONNX only).
    /// `None`: no limit.
    pub memory_limit: Option<u64>,
    /// The model comes from an RDB payload (a restart, a replica's sync, RESTORE), not from
    /// AI.MODELSTORE: it must load even where a new store would be refused (the memory limit).
    pub restoring: bool,
}

/// What a backend needs to compile a script.
#[derive(Debug, Clone)]
pub struct ScriptConfig<'a> {
    pub device: Device,
    pub device_name: &'a str,
    /// Functions that must exist with the `(List[Tensor], List[str], List[str])` signature.
    pub entry_points: &'a [String],
}

/// One call of a script function.
#[derive(Debug, Clone, Copy)]
pub struct ScriptCall<'a> {
    pub function: &'a str,
    pub inputs: &'a [&'a Tensor],
    pub keys: &'a [Bytes],
    pub args: &'a [Bytes],
    /// AI.SCRIPTRUN's `$`: where the inputs of a `List[Tensor]` parameter begin.
    pub variadic: Option<usize>,
    /// How many outputs the caller expects (0: the return value is ignored).
    pub outputs: usize,
}

/// What a running model or script may use from its caller.
pub struct RunContext<'a> {
    /// Past this instant the run should stop if the runtime can stop it (ONNX can).
    pub deadline: Option<Instant>,
    /// For scripts: `redis.execute` and `redisAI.model_execute`.
    pub host: Option<&'a dyn ScriptHost>,
    /// How long the run may wait for its turn on a backend that runs a model's runs one at a
    /// time (ONNX); `None`: as long as it takes (up to `deadline`). Past it the backend fails
    /// with [`Error::RunWouldBlock`] and the engine queues the run: a run on a server's I/O thread must
    /// not wait there behind a slow one.
    pub max_wait: Option<std::time::Duration>,
}

/// The keyspace and models as seen from inside a TorchScript script.
pub trait ScriptHost: Send + Sync {
    /// Runs a Redis command (`redis.execute`); error replies come back as `Reply::Error`.
    fn execute(&self, argv: &[Bytes]) -> Reply;
    /// Runs a stored model synchronously (`redisAI.model_execute`).
    fn model_execute(&self, key: &[u8], inputs: &[Tensor], outputs: usize) -> Result<Vec<Tensor>>;
}

/// A loaded model, ready to run. Implementations must allow concurrent `run` calls (a lock
/// inside is fine).
pub trait ModelRunner: Send + Sync {
    fn inputs(&self) -> &[String];
    fn outputs(&self) -> &[String];
    fn run(&self, inputs: &[&Tensor], ctx: &RunContext) -> Result<Vec<Tensor>>;
}

/// A compiled script.
pub trait ScriptRunner: Send + Sync {
    fn run(&self, call: &ScriptCall, ctx: &RunContext) -> Result<Vec<Tensor>>;
}

/// A runtime (ONNX Runtime, libtorch, ...), loaded.
pub trait Backend: Send + Sync {
    fn kind(&self) -> BackendKind;
    /// Fields for INFO's `ai_backends_info` section, without the `ai_` prefix
    /// (e.g. `("onnxruntime_version", "1.31.1")`). `worker_threads`: the engine's queue
    /// workers, all queues together.
    fn info(&self, worker_threads: usize) -> Vec<(String, String)>;
    fn load_model(&self, blob: &[u8], config: &ModelConfig) -> Result<Arc<dyn ModelRunner>>;
    /// Only TORCH compiles scripts.
    fn compile_script(
        &self,
        _source: &str,
        _config: &ScriptConfig,
    ) -> Result<Arc<dyn ScriptRunner>> {
        Err(Error::backend(format!(
            "ERR {} does not run scripts",
            self.kind().name()
        )))
    }
}

/// Loads a backend from a library file (or from what it was built with).
pub trait BackendLoader: Send + Sync {
    fn kind(&self) -> BackendKind;
    /// The library file under BACKENDSPATH used when no path is given.
    fn default_file(&self) -> &'static str;
    /// Loads the runtime from `path`.
    fn load(&self, path: &Path) -> Result<Arc<dyn Backend>>;
}

/// The loader of a backend whose cargo feature is off: it names the backend and says so.
pub struct NotCompiled(pub BackendKind);

impl BackendLoader for NotCompiled {
    fn kind(&self) -> BackendKind {
        self.0
    }

    fn default_file(&self) -> &'static str {
        ""
    }

    fn load(&self, _path: &Path) -> Result<Arc<dyn Backend>> {
        Err(Error::BackendNotCompiled(self.0.name()))
    }
}

/// The backends known to an engine: a loader for each kind, and the ones loaded so far.
pub struct Registry {
    loaders: HashMap<BackendKind, Arc<dyn BackendLoader>>,
    loaded: RwLock<HashMap<BackendKind, Arc<dyn Backend>>>,
}

impl Default for Registry {
    /// Every backend "not compiled".
    fn default() -> Self {
        Registry {
            loaders: BackendKind::ALL
                .into_iter()
                .map(|k| (k, Arc::new(NotCompiled(k)) as Arc<dyn BackendLoader>))
                .collect(),
            loaded: RwLock::new(HashMap::new()),
        }
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("loaded", &self.loaded_kinds())
            .finish()
    }
}

impl Registry {
    /// Replaces the loader of its kind.
    pub fn register(&mut self, loader: Arc<dyn BackendLoader>) {
        self.loaders.insert(loader.kind(), loader);
    }

    /// Registers an already loaded backend (tests, embedders with their own runtime).
    pub fn insert_loaded(&self, backend: Arc<dyn Backend>) {
        if let Ok(mut l) = self.loaded.write() {
            l.insert(backend.kind(), backend);
        }
    }

    fn resolve(backends_path: &str, path: &Path) -> PathBuf {
        if path.is_absolute() || backends_path.is_empty() {
            path.to_path_buf()
        } else {
            Path::new(backends_path).join(path)
        }
    }

    /// The backend of `kind`, loading its default library under `backends_path` the first time.
    pub fn get(&self, kind: BackendKind, backends_path: &str) -> Result<Arc<dyn Backend>> {
        if let Some(b) = self.loaded.read().ok().and_then(|l| l.get(&kind).cloned()) {
            return Ok(b);
        }
        let loader = self.loaders.get(&kind).ok_or(Error::CouldNotLoadBackend)?;
        let mut loaded = self
            .loaded
            .write()
            .map_err(|_| Error::CouldNotLoadBackend)?;
        if let Some(b) = loaded.get(&kind) {
            return Ok(b.clone());
        }
        let path = Self::resolve(backends_path, Path::new(loader.default_file()));
        let backend = loader.load(&path).map_err(|e| match e {
            Error::BackendNotCompiled(_) => e,
            _ => Error::CouldNotLoadBackend,
        })?;
        loaded.insert(kind, backend.clone());
        Ok(backend)
    }

    /// `AI.CONFIG LOADBACKEND`: loads `kind` from `path` (relative to `backends_path`). Fails if
    /// it is already loaded, as in RedisAI.
    pub fn load_from(&self, kind: BackendKind, path: &Path, backends_path: &str) -> Result<()> {
        let loader = self.loaders.get(&kind).ok_or(Error::ErrorLoadingBackend)?;
        let mut loaded = self
            .loaded
            .write()
            .map_err(|_| Error::ErrorLoadingBackend)?;
        if loaded.contains_key(&kind) {
            return Err(Error::ErrorLoadingBackend);
        }
        let backend = loader
            .load(&Self::resolve(backends_path, path))
            .map_err(|_| Error::ErrorLoadingBackend)?;
        loaded.insert(kind, backend);
        Ok(())
    }

    /// Loaded backends, in the order INFO lists them (TF, TFLITE, TORCH, ONNX).
    pub fn loaded(&self) -> Vec<Arc<dyn Backend>> {
        let Ok(l) = self.loaded.read() else {
            return Vec::new();
        };
        BackendKind::ALL
            .iter()
            .filter_map(|k| l.get(k).cloned())
            .collect()
    }

    pub fn loaded_kinds(&self) -> Vec<BackendKind> {
        self.loaded().iter().map(|b| b.kind()).collect()
    }
}
