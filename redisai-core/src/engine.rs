//! The in-process API: the engine that every face (Redis module, standalone server, a Rust
//! program) calls. `call` takes a command line and a keyspace and returns the reply.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;

use crate::args::eq_ignore_case;
use crate::command::{tensor_reply, Command, Config, Dag, DagOp};
use crate::error::{Error, Result};
use crate::keyspace::{Keyspace, Value};
use crate::reply::Reply;
use crate::tensor::Tensor;

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
    /// Milliseconds.
    pub model_execution_timeout: u64,
    /// MB, 0 = unlimited.
    pub backend_memory_limit: u64,
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
        }
    }
}

/// Where a command comes from, for the checks that depend on it.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallContext {
    /// Inside MULTI/EXEC (or a Lua script): executing commands are refused.
    pub in_transaction: bool,
}

/// The RedisAI engine.
#[derive(Debug, Default)]
pub struct Engine {
    config: RwLock<EngineConfig>,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Engine {
        Engine {
            config: RwLock::new(config),
        }
    }

    /// A copy of the current configuration.
    pub fn config(&self) -> EngineConfig {
        self.config.read().map(|c| c.clone()).unwrap_or_default()
    }

    fn update_config(&self, f: impl FnOnce(&mut EngineConfig)) {
        if let Ok(mut c) = self.config.write() {
            f(&mut c);
        }
    }

    /// Parses and runs one `AI.*` command line (argv[0] included). `None` if argv[0] is not an
    /// `AI.*` command.
    pub fn call(&self, argv: &[Bytes], ks: &mut dyn Keyspace, ctx: CallContext) -> Option<Reply> {
        let name = argv.first()?;
        if !Command::is_ai_command(name) {
            return None;
        }
        if ctx.in_transaction && Command::is_execution_name(name) {
            return Some(Error::InTransaction.into());
        }
        if let Err(e) = key_precheck(argv, ks) {
            return Some(e.into());
        }
        Some(match Command::parse(argv) {
            Ok(Some(cmd)) => self.execute(cmd, ks).into(),
            Ok(None) => return None,
            Err(e) => e.into(),
        })
    }

    /// Runs a parsed command.
    pub fn execute(&self, cmd: Command, ks: &mut dyn Keyspace) -> Result<Reply> {
        match cmd {
            Command::TensorSet(c) => {
                self.tensor_set(ks, c.key, c.tensor)?;
                Ok(Reply::OK)
            }
            Command::TensorGet(c) => Ok(c.reply(&*ks.tensor(&c.key)?)),
            Command::ModelStore(c) => Err(Error::BackendNotCompiled(c.backend.name())),
            Command::ScriptStore(_) => Err(Error::BackendNotCompiled("TORCH")),
            Command::ModelGet(c) => Err(missing_model(ks, &c.key)),
            Command::ModelDel(c) => Err(missing_model(ks, &c.key)),
            Command::ModelExecute(c) => Err(missing_model(ks, &c.key)),
            Command::ScriptGet(c) => Err(missing_script(ks, &c.key)),
            Command::ScriptDel(c) => Err(missing_script(ks, &c.key)),
            Command::ScriptExecute(c) => Err(missing_script(ks, &c.key)),
            // No model or script can exist in this build, so the run-info table is empty.
            Command::ModelScan | Command::ScriptScan => Ok(Reply::Array(Vec::new())),
            Command::Info(_) => Err(Error::NoRunInfo),
            Command::Config(c) => self.config_command(c),
            Command::Dag(d) => self.dag(d, ks),
        }
    }

    /// Stores a tensor (AI.TENSORSET).
    pub fn tensor_set(&self, ks: &mut dyn Keyspace, key: Bytes, tensor: Tensor) -> Result<()> {
        ks.set(key, Value::Tensor(Arc::new(tensor)))
    }

    /// Reads a tensor (AI.TENSORGET), shared with the keyspace.
    pub fn tensor_get(&self, ks: &dyn Keyspace, key: &[u8]) -> Result<Arc<Tensor>> {
        ks.tensor(key)
    }

    fn config_command(&self, c: Config) -> Result<Reply> {
        match c {
            // No backend library can be loaded by a build without backends.
            Config::LoadBackend { .. } => Err(Error::ErrorLoadingBackend),
            Config::BackendsPath(p) => {
                let p = String::from_utf8_lossy(&p).into_owned();
                self.update_config(|c| c.backends_path = p);
                Ok(Reply::OK)
            }
            Config::ModelChunkSize(n) => {
                self.update_config(|c| c.model_chunk_size = n);
                Ok(Reply::OK)
            }
            Config::Get(name) => {
                let c = self.config();
                Ok(if name.eq_ignore_ascii_case(b"BACKENDSPATH") {
                    Reply::text(&c.backends_path)
                } else if name.eq_ignore_ascii_case(b"MODEL_CHUNK_SIZE") {
                    Reply::Int(c.model_chunk_size as i64)
                } else {
                    Reply::Null
                })
            }
        }
    }

    /// A DAG. Tensor ops run here, in order; a DAG that names a model or script fails at its
    /// lookup, since this build stores none.
    fn dag(&self, dag: Dag, ks: &mut dyn Keyspace) -> Result<Reply> {
        let mut slots: HashMap<Bytes, Arc<Tensor>> = HashMap::new();
        for key in &dag.load {
            slots.insert(key.clone(), ks.tensor(key)?);
        }
        for op in &dag.ops {
            match op {
                DagOp::ModelExecute(m) => return Err(missing_model(ks, &m.key)),
                DagOp::ScriptExecute(s) => return Err(missing_script(ks, &s.key)),
                DagOp::TensorSet(_) | DagOp::TensorGet(_) => {}
            }
        }
        let mut replies = Vec::with_capacity(dag.ops.len());
        for op in dag.ops {
            match op {
                DagOp::TensorSet(s) => {
                    slots.insert(s.key, Arc::new(s.tensor));
                    replies.push(Reply::OK);
                }
                DagOp::TensorGet(g) => replies.push(match slots.get(&g.key) {
                    Some(t) => tensor_reply(t, g.meta, g.data),
                    None => Reply::Simple("NA"),
                }),
                DagOp::ModelExecute(_) | DagOp::ScriptExecute(_) => {}
            }
        }
        for key in dag.persist {
            let Some(t) = slots.get(&key) else { continue };
            if let Err(e) = ks.set(key, Value::Tensor(t.clone())) {
                replies.push(e.into());
                break;
            }
        }
        Ok(Reply::Array(replies))
    }
}

/// The C module looks the key up before it parses AI.TENSORSET / AI.TENSORGET options, so a
/// wrong-type or missing key wins over a syntax error there; clients see that order.
fn key_precheck(argv: &[Bytes], ks: &dyn Keyspace) -> Result<()> {
    let (name, key) = match argv {
        [name, key, ..] => (name, key),
        _ => return Ok(()),
    };
    if eq_ignore_case(name, "AI.TENSORSET") && argv.len() >= 4 {
        ks.get(key)?.map_or(Ok(()), |v| match v {
            Value::Tensor(_) => Ok(()),
        })
    } else if eq_ignore_case(name, "AI.TENSORGET") && (2..=4).contains(&argv.len()) {
        ks.tensor(key).map(|_| ())
    } else {
        Ok(())
    }
}

fn missing_model(ks: &dyn Keyspace, key: &[u8]) -> Error {
    match ks.get(key) {
        Ok(None) => Error::ModelKeyEmpty,
        Ok(Some(_)) | Err(_) => Error::WrongType,
    }
}

fn missing_script(ks: &dyn Keyspace, key: &[u8]) -> Error {
    match ks.get(key) {
        Ok(None) => Error::ScriptKeyEmpty,
        Ok(Some(_)) | Err(_) => Error::WrongType,
    }
}
