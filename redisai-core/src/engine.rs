//! The in-process API: the engine that every face (Redis module, standalone server, a Rust
//! program) calls. `call` parses a command line and either answers it at once or returns a
//! [`Prepared`] run for the adapter to [`Engine::submit`] (after releasing its keyspace lock).

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;

use crate::args::eq_ignore_case;
use crate::backend::{ModelConfig, ModelRunner, Registry, ScriptConfig, ScriptHost, ScriptRunner};
use crate::codec::{ModelRecord, ScriptRecord};
use crate::command::{
    Command, Config, Dag, DagOp, ModelExecute, ModelStore, ScriptExecute, ScriptStore,
};
use crate::device::{queue_key, Device};
use crate::error::{Error, Result};
use crate::exec::{
    plan_dag, Clock, Completion, DagStep, OpKind, Placement, Plan, Prepared, ReplyShape, RunOp,
    Scheduler, Submitted, SystemClock,
};
use crate::keyspace::{Keyspace, Value};
use crate::model::{BackendKind, Model, Script};
use crate::reply::Reply;
use crate::stats::{RunCost, RunKind, StatsHandle, StatsTable};
use crate::tensor::Tensor;

pub use crate::config::{EngineConfig, DEFAULT_MODEL_CHUNK_SIZE};

/// Where a command comes from, for the checks that depend on it.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallContext {
    /// Inside MULTI/EXEC (or a Lua script): executing commands are refused.
    pub in_transaction: bool,
}

/// What [`Engine::call`] gives back.
pub enum Outcome {
    /// The command is answered.
    Reply(Reply),
    /// The command runs models or scripts: submit it, then apply its completion.
    Run(Prepared),
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Reply(r) => f.debug_tuple("Reply").field(r).finish(),
            Outcome::Run(_) => f.write_str("Run(..)"),
        }
    }
}

impl From<Reply> for Outcome {
    fn from(r: Reply) -> Outcome {
        Outcome::Reply(r)
    }
}

/// The RedisAI engine.
#[derive(Debug)]
pub struct Engine {
    config: RwLock<EngineConfig>,
    registry: Registry,
    stats: Arc<StatsTable>,
    scheduler: Scheduler,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(EngineConfig::default(), Registry::default())
    }
}

impl Engine {
    /// An engine with these settings and backends. The `CPU` run queue starts now, as in RedisAI.
    pub fn new(config: EngineConfig, registry: Registry) -> Engine {
        Engine::with_clock(config, registry, Arc::new(SystemClock))
    }

    /// An engine whose run queues read `clock` (tests of TIMEOUT and MINBATCHTIMEOUT).
    pub fn with_clock(config: EngineConfig, registry: Registry, clock: Arc<dyn Clock>) -> Engine {
        let scheduler = Scheduler::new(
            config.threads_per_queue as usize,
            config.inline_run_max_us,
            clock,
        );
        // A failure here shows again, with its error, at the first request that needs the queue.
        let _ = scheduler.ensure_queue("CPU");
        Engine {
            config: RwLock::new(config),
            registry,
            stats: Arc::default(),
            scheduler,
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

    /// The inline threshold in force: the configured one, or the measured one (see
    /// [`EngineConfig::inline_run_max_us`]).
    pub fn inline_run_max_us(&self) -> u64 {
        self.scheduler.inline_max_us()
    }

    /// What a hand-off to a queue worker and back measured on this machine (µs), once measured;
    /// `None` when the threshold is configured.
    pub fn measured_handoff_us(&self) -> Option<u64> {
        self.scheduler.measured_handoff_us()
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Makes idle workers look at their queues again (after a `ManualClock` moved).
    pub fn wake_queues(&self) {
        self.scheduler.wake_all();
    }

    /// The run queues that exist (upper-cased device strings).
    pub fn queue_names(&self) -> Vec<String> {
        self.scheduler.queue_names()
    }

    /// INFO's `backends_info` fields of the loaded backends (without the module prefix).
    pub fn backends_info(&self) -> Vec<(String, String)> {
        let workers =
            self.scheduler.queue_names().len() * self.config().threads_per_queue.max(1) as usize;
        self.registry
            .loaded()
            .iter()
            .flat_map(|b| b.info(workers))
            .collect()
    }

    /// Parses and handles one `AI.*` command line (argv[0] included). `None` if argv[0] is not
    /// an `AI.*` command.
    pub fn call(&self, argv: &[Bytes], ks: &mut dyn Keyspace, ctx: CallContext) -> Option<Outcome> {
        let name = argv.first()?;
        if !Command::is_ai_command(name) {
            return None;
        }
        if ctx.in_transaction && Command::is_execution_name(name) {
            return Some(Reply::from(Error::InTransaction).into());
        }
        if let Err(e) = key_precheck(argv, ks) {
            return Some(Reply::from(e).into());
        }
        Some(match Command::parse(argv) {
            Ok(Some(cmd)) => self
                .execute(cmd, ks)
                .unwrap_or_else(|e| Reply::from(e).into()),
            Ok(None) => return None,
            Err(e) => Reply::from(e).into(),
        })
    }

    /// Handles a parsed command: the answer, or a run to submit.
    pub fn execute(&self, cmd: Command, ks: &mut dyn Keyspace) -> Result<Outcome> {
        let reply = match cmd {
            Command::TensorSet(c) => {
                self.tensor_set(ks, c.key, c.tensor)?;
                Reply::OK
            }
            Command::TensorGet(c) => c.reply(&*ks.tensor(&c.key)?),
            Command::ModelStore(c) => {
                self.model_store(ks, c)?;
                Reply::OK
            }
            Command::ScriptStore(c) => {
                self.script_store(ks, c)?;
                Reply::OK
            }
            Command::ModelGet(c) => {
                let chunk = self.config().model_chunk_size;
                ks.model(&c.key)?.get_reply(c.meta, c.blob, chunk)
            }
            Command::ModelDel(c) => {
                ks.model(&c.key)?;
                ks.delete(&c.key);
                Reply::OK
            }
            Command::ScriptGet(c) => ks.script(&c.key)?.get_reply(c.meta, c.source),
            Command::ScriptDel(c) => {
                ks.script(&c.key)?;
                ks.delete(&c.key);
                Reply::OK
            }
            Command::ModelExecute(c) => return self.prepare_model_execute(ks, c).map(Outcome::Run),
            Command::ScriptExecute(c) => {
                return self.prepare_script_execute(ks, c).map(Outcome::Run)
            }
            Command::Dag(d) => return self.prepare_dag(ks, d).map(Outcome::Run),
            Command::ModelScan => self.stats.scan(RunKind::Model),
            Command::ScriptScan => self.stats.scan(RunKind::Script),
            Command::Info(c) => {
                let stats = self.stats.get(&c.key).ok_or(Error::NoRunInfo)?;
                if c.reset {
                    stats.reset();
                    Reply::OK
                } else {
                    stats.reply()
                }
            }
            Command::Config(c) => self.config_command(c)?,
        };
        Ok(Outcome::Reply(reply))
    }

    /// Queues a prepared run. [`Submitted::Done`] when there was nothing to queue (a DAG of
    /// tensor ops only, an error); otherwise `on_done` later receives the completion on a
    /// worker thread, never on this one (inside Redis this thread holds the global lock).
    /// `host` serves `redis.execute` and `redisAI.model_execute` for scripts.
    pub fn submit(
        &self,
        prepared: Prepared,
        host: Option<Arc<dyn ScriptHost>>,
        on_done: impl FnOnce(Completion) + Send + 'static,
    ) -> Submitted {
        self.scheduler
            .submit(prepared, host, Placement::Queue, on_done)
    }

    /// As [`Engine::submit`], but a run that is cheap by its model's recent runs (see
    /// [`EngineConfig::inline_run_max_us`]) runs on this thread and comes back as
    /// [`Submitted::Done`]: for a model of a few microseconds, the hand-off to a worker and
    /// back costs more than the run. Which threads may be held that long is the face's choice.
    pub fn run_here_or_submit(
        &self,
        prepared: Prepared,
        host: Option<Arc<dyn ScriptHost>>,
        on_done: impl FnOnce(Completion) + Send + 'static,
    ) -> Submitted {
        self.scheduler
            .submit(prepared, host, Placement::HereIfCheap, on_done)
    }

    /// Runs a prepared request and waits for it (for in-process use): cheap runs run on this
    /// thread.
    pub fn run_blocking(
        &self,
        prepared: Prepared,
        host: Option<Arc<dyn ScriptHost>>,
    ) -> Completion {
        self.wait_for(prepared, host, Placement::HereIfCheap)
    }

    /// Runs a prepared request on this thread, whatever it costs, and returns its completion:
    /// no queue and no batching, as RedisAI's synchronous low-level runs. A request of one op
    /// (the low-level API's runs) runs entirely here, so a thread that must not wait for a queue
    /// may call it: a queue worker inside a completion callback, a thread that holds a lock a
    /// queued script waits for. (Of a request of several ops, the first op of each device runs
    /// here and the workers run the rest.)
    pub fn run_here(&self, prepared: Prepared, host: Option<Arc<dyn ScriptHost>>) -> Completion {
        self.wait_for(prepared, host, Placement::Here)
    }

    fn wait_for(
        &self,
        prepared: Prepared,
        host: Option<Arc<dyn ScriptHost>>,
        placement: Placement,
    ) -> Completion {
        let (tx, rx) = std::sync::mpsc::channel();
        let submitted = self.scheduler.submit(prepared, host, placement, move |c| {
            let _ = tx.send(c);
        });
        match submitted {
            Submitted::Done(c) => c,
            Submitted::Queued => rx
                .recv()
                .unwrap_or_else(|_| Completion::error(Error::Generic)),
        }
    }

    /// Parses, runs and applies one command line, blocking until it is done (for in-process use
    /// and tests).
    pub fn call_blocking(
        &self,
        argv: &[Bytes],
        ks: &mut dyn Keyspace,
        host: Option<Arc<dyn ScriptHost>>,
    ) -> Option<Reply> {
        match self.call(argv, ks, CallContext::default())? {
            Outcome::Reply(r) => Some(r),
            Outcome::Run(p) => Some(self.run_blocking(p, host).apply(ks).0),
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

    fn model_store(&self, ks: &mut dyn Keyspace, c: ModelStore) -> Result<()> {
        let record = ModelRecord {
            blob: c.blob_bytes(),
            backend: c.backend,
            device: c.device,
            tag: c.tag,
            batch: c.batch,
            inputs: c.inputs,
            outputs: c.outputs,
        };
        let runner = self.load_runner(&record, false)?;
        // After the backend accepted the model, as in RedisAI: a bad model wins over the type.
        check_store_type(ks, &c.key, RunKind::Model)?;
        let model = self.assemble_model(Some(&c.key), record, runner);
        ks.set(c.key, Value::Model(Arc::new(model)))
    }

    /// A model from what an RDB payload or a DUMP holds: loaded by its backend (the backend
    /// library is loaded first if needed), its device queue created, its AI.INFO counters
    /// fresh under `key`.
    pub fn build_model(&self, key: &Bytes, record: ModelRecord) -> Result<Model> {
        let runner = self.load_runner(&record, true)?;
        Ok(self.assemble_model(Some(key), record, runner))
    }

    /// A model under no key (the low-level API's ModelCreate), loaded as AI.MODELSTORE loads
    /// one. Its runs count in counters that AI.INFO does not list.
    pub fn create_model(&self, record: ModelRecord) -> Result<Model> {
        let runner = self.load_runner(&record, false)?;
        Ok(self.assemble_model(None, record, runner))
    }

    fn load_runner(&self, record: &ModelRecord, restoring: bool) -> Result<Arc<dyn ModelRunner>> {
        let config = self.config();
        let backend = self.registry.get(record.backend, &config.backends_path)?;
        let device = Device::parse(&record.device).ok_or(match record.backend {
            BackendKind::Tflite => Error::backend("ERR Unsupported device"),
            _ => Error::backend("ERR unsupported device"),
        })?;
        let names = |v: &[Bytes]| -> Vec<String> {
            v.iter()
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .collect()
        };
        let (inputs, outputs) = (names(&record.inputs), names(&record.outputs));
        let runner = backend.load_model(
            &record.blob,
            &ModelConfig {
                device,
                device_name: &record.device,
                inputs: &inputs,
                outputs: &outputs,
                batch: record.batch,
                intra_op_threads: config.intra_op_parallelism,
                inter_op_threads: config.inter_op_parallelism,
                execution_limit: (config.model_execution_timeout > 0)
                    .then(|| Duration::from_millis(config.model_execution_timeout)),
                memory_limit: (config.backend_memory_limit > 0)
                    .then(|| config.backend_memory_limit.saturating_mul(1024 * 1024)),
                restoring,
            },
        )?;
        self.scheduler.ensure_queue(&queue_key(&record.device))?;
        Ok(runner)
    }

    fn assemble_model(
        &self,
        key: Option<&Bytes>,
        record: ModelRecord,
        runner: Arc<dyn ModelRunner>,
    ) -> Model {
        let to_bytes =
            |v: &[String]| -> Vec<Bytes> { v.iter().map(|s| Bytes::from(s.clone())).collect() };
        // TF names are the user's; the other backends name their own inputs and outputs.
        let (inputs, outputs) = if record.backend == BackendKind::Tf {
            (record.inputs, record.outputs)
        } else {
            (to_bytes(runner.inputs()), to_bytes(runner.outputs()))
        };
        let stats = self.stats_record(
            key,
            RunKind::Model,
            record.backend,
            &record.device,
            &record.tag,
        );
        Model {
            backend: record.backend,
            device: record.device,
            tag: record.tag,
            batch: record.batch,
            inputs,
            outputs,
            blob: record.blob,
            runner,
            stats,
            cost: RunCost::default(),
        }
    }

    fn script_store(&self, ks: &mut dyn Keyspace, c: ScriptStore) -> Result<()> {
        let record = ScriptRecord {
            device: c.device,
            tag: c.tag,
            source: c.source,
            entry_points: c.entry_points,
        };
        let runner = self.compile_script(&record)?;
        check_store_type(ks, &c.key, RunKind::Script)?;
        let script = self.assemble_script(Some(&c.key), record, runner);
        ks.set(c.key, Value::Script(Arc::new(script)))
    }

    /// A script from what an RDB payload or a DUMP holds: compiled (its entry points checked),
    /// its device queue created, its AI.INFO counters fresh under `key`.
    pub fn build_script(&self, key: &Bytes, record: ScriptRecord) -> Result<Script> {
        let runner = self.compile_script(&record)?;
        Ok(self.assemble_script(Some(key), record, runner))
    }

    /// A script under no key (the low-level API's ScriptCreate), compiled as AI.SCRIPTSTORE
    /// compiles one; its counters are not listed.
    pub fn create_script(&self, record: ScriptRecord) -> Result<Script> {
        let runner = self.compile_script(&record)?;
        Ok(self.assemble_script(None, record, runner))
    }

    fn stats_record(
        &self,
        key: Option<&Bytes>,
        kind: RunKind,
        backend: BackendKind,
        device: &str,
        tag: &Bytes,
    ) -> StatsHandle {
        let (device, tag) = (device.to_string(), tag.clone());
        match key {
            Some(key) => self.stats.create(key.clone(), kind, backend, device, tag),
            None => self.stats.unlisted(kind, backend, device, tag),
        }
    }

    fn compile_script(&self, record: &ScriptRecord) -> Result<Arc<dyn ScriptRunner>> {
        let config = self.config();
        let backend = self
            .registry
            .get(BackendKind::Torch, &config.backends_path)?;
        let device = Device::parse(&record.device)
            .ok_or_else(|| Error::backend("ERR unsupported device"))?;
        let entry_points: Vec<String> = record
            .entry_points
            .iter()
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .collect();
        let runner = backend.compile_script(
            &String::from_utf8_lossy(&record.source),
            &ScriptConfig {
                device,
                device_name: &record.device,
                entry_points: &entry_points,
            },
        )?;
        self.scheduler.ensure_queue(&queue_key(&record.device))?;
        Ok(runner)
    }

    fn assemble_script(
        &self,
        key: Option<&Bytes>,
        record: ScriptRecord,
        runner: Arc<dyn ScriptRunner>,
    ) -> Script {
        let stats = self.stats_record(
            key,
            RunKind::Script,
            BackendKind::Torch,
            &record.device,
            &record.tag,
        );
        Script {
            device: record.device,
            tag: record.tag,
            source: record.source,
            entry_points: record.entry_points,
            runner,
            stats,
        }
    }

    /// AI.MODELEXECUTE / AI.MODELRUN: a run of one op over its input snapshots.
    fn prepare_model_execute(&self, ks: &dyn Keyspace, c: ModelExecute) -> Result<Prepared> {
        let model = ks.model(&c.key)?;
        check_model_counts(&model, &c)?;
        single_op(ks, &c.inputs, &c.outputs, c.timeout, |inputs, outputs| {
            RunOp {
                queue: queue_key(&model.device),
                kind: OpKind::Model(model),
                inputs,
                outputs,
            }
        })
    }

    /// AI.SCRIPTEXECUTE / AI.SCRIPTRUN: a run of one op over its input snapshots.
    fn prepare_script_execute(&self, ks: &dyn Keyspace, c: ScriptExecute) -> Result<Prepared> {
        let script = ks.script(&c.key)?;
        single_op(ks, &c.inputs, &c.outputs, c.timeout, |inputs, outputs| {
            script_op(script, &c, inputs, outputs)
        })
    }

    /// A DAG: LOAD snapshots, ops over DAG-local names (SSA), PERSIST of the final versions.
    fn prepare_dag(&self, ks: &dyn Keyspace, dag: Dag) -> Result<Prepared> {
        let loaded = dag
            .load
            .iter()
            .map(|key| Ok((key.clone(), ks.tensor(key)?)))
            .collect::<Result<Vec<_>>>()?;
        // A missing LOAD key is reported before an empty DAG, as RedisAI does.
        if dag.ops.is_empty() {
            return Err(Error::DagEmpty);
        }
        let steps = dag
            .ops
            .into_iter()
            .map(|op| resolve_dag_op(ks, op))
            .collect::<Result<Vec<_>>>()?;
        plan_dag(loaded, steps, &dag.persist, dag.timeout)
    }

    fn config_command(&self, c: Config) -> Result<Reply> {
        match c {
            Config::LoadBackend { backend, path } => {
                let path = String::from_utf8_lossy(&path).into_owned();
                self.registry
                    .load_from(backend, Path::new(&path), &self.config().backends_path)?;
                Ok(Reply::OK)
            }
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
}

/// A parsed DAG op with its model or script looked up in `ks` (and a model's key counts
/// checked).
pub(crate) fn resolve_dag_op(ks: &dyn Keyspace, op: DagOp) -> Result<DagStep> {
    Ok(match op {
        DagOp::TensorSet(s) => DagStep::TensorSet {
            name: s.key,
            tensor: Arc::new(s.tensor),
        },
        DagOp::TensorGet(g) => DagStep::TensorGet {
            name: g.key,
            meta: g.meta,
            data: g.data,
        },
        DagOp::ModelExecute(m) => {
            let model = ks.model(&m.key)?;
            check_model_counts(&model, &m)?;
            DagStep::Run {
                queue: queue_key(&model.device),
                kind: OpKind::Model(model),
                inputs: m.inputs,
                outputs: m.outputs,
            }
        }
        DagOp::ScriptExecute(s) => {
            let script = ks.script(&s.key)?;
            let RunOp { kind, queue, .. } = script_op(script, &s, Vec::new(), Vec::new());
            DagStep::Run {
                kind,
                queue,
                inputs: s.inputs,
                outputs: s.outputs,
            }
        }
    })
}

/// A command that runs one op: its input keys read now (snapshots), its output keys checked now
/// and written when it succeeds.
fn single_op(
    ks: &dyn Keyspace,
    input_keys: &[Bytes],
    output_keys: &[Bytes],
    timeout: Option<u64>,
    op: impl FnOnce(Vec<usize>, Vec<usize>) -> RunOp,
) -> Result<Prepared> {
    let mut plan = Plan::default();
    let inputs = input_keys
        .iter()
        .map(|k| Ok(plan.bind_value(ks.tensor(k)?)))
        .collect::<Result<Vec<_>>>()?;
    check_output_keys(ks, output_keys)?;
    let outputs = plan.new_slots(output_keys);
    plan.persist = output_keys.iter().cloned().zip(outputs.clone()).collect();
    plan.push_op(op(inputs, outputs));
    Ok(plan.finish(timeout, ReplyShape::OneOp))
}

fn script_op(
    script: Arc<Script>,
    c: &ScriptExecute,
    inputs: Vec<usize>,
    outputs: Vec<usize>,
) -> RunOp {
    RunOp {
        queue: queue_key(&script.device),
        kind: OpKind::Script {
            function: String::from_utf8_lossy(&c.function).into_owned(),
            keys: c.keys.clone(),
            args: c.args.clone(),
            variadic: c.variadic,
            script,
        },
        inputs,
        outputs,
    }
}

/// The model's input and output counts against the command's.
fn check_model_counts(model: &Model, c: &ModelExecute) -> Result<()> {
    if c.inputs.len() != model.inputs.len() {
        return Err(Error::InputsMismatch);
    }
    // A TORCH model learns its output count at its first run (its outputs list may be empty).
    if !model.outputs.is_empty() && c.outputs.len() != model.outputs.len() {
        return Err(Error::OutputsMismatch);
    }
    Ok(())
}

/// Output keys must be free or hold tensors: checked before queueing, so a run never replies
/// twice (the C module replied OK, then WRONGTYPE).
fn check_output_keys(ks: &dyn Keyspace, keys: &[Bytes]) -> Result<()> {
    for k in keys {
        match ks.get(k)? {
            None | Some(Value::Tensor(_)) => {}
            Some(_) => return Err(Error::WrongType),
        }
    }
    Ok(())
}

/// A store replaces a value of its own type only (WRONGTYPE otherwise), checked after the
/// backend accepted the model, as in RedisAI.
fn check_store_type(ks: &dyn Keyspace, key: &[u8], kind: RunKind) -> Result<()> {
    match (ks.get(key)?, kind) {
        (None, _) | (Some(Value::Model(_)), RunKind::Model) => Ok(()),
        (Some(Value::Script(_)), RunKind::Script) => Ok(()),
        _ => Err(Error::WrongType),
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
        match ks.get(key)? {
            None | Some(Value::Tensor(_)) => Ok(()),
            Some(_) => Err(Error::WrongType),
        }
    } else if eq_ignore_case(name, "AI.TENSORGET") && (2..=4).contains(&argv.len()) {
        ks.tensor(key).map(|_| ())
    } else if eq_ignore_case(name, "AI.MODELEXECUTE") && argv.len() >= 4 {
        // The C module compares the INPUTS count with the stored model as soon as it has read
        // the inputs, before it looks at OUTPUTS.
        let inputs = eq_ignore_case(&argv[2], "INPUTS")
            .then(|| crate::args::parse_strict_i64(&argv[3]))
            .flatten();
        match (inputs, ks.get(key)) {
            (Some(n), Ok(Some(Value::Model(m)))) if n > 0 && n as usize != m.inputs.len() => {
                Err(Error::InputsMismatch)
            }
            _ => Ok(()),
        }
    } else {
        Ok(())
    }
}
