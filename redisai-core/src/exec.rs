//! Execution: a prepared request (AI.MODELEXECUTE and AI.SCRIPTEXECUTE are a DAG of one op), the
//! per-device run queues and their worker threads.
//!
//! A request is split into one *part* per device; a part is a queue item. A worker pops a part,
//! runs its next op if the op's inputs are there, and pushes the part back to the front of its
//! queue; a part whose next op waits on another device's output is parked on its request and
//! re-queued when an op of that request finishes. Workers sleep on a condvar: no polling.
//! When the last part finishes, the request's `Completion` goes to its callback.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::backend::{RunContext, ScriptCall, ScriptHost};
use crate::command::{tensor_reply, DataFormat};
use crate::error::{Error, Result};
use crate::keyspace::{Keyspace, Value};
use crate::model::{Model, Script};
use crate::reply::Reply;
use crate::tensor::Tensor;

/// What a finished request hands back to its adapter: the reply, and the tensors to store
/// (already checked: empty unless every op succeeded).
#[derive(Debug)]
pub struct Completion {
    pub reply: Reply,
    pub persist: Vec<(Bytes, Arc<Tensor>)>,
    /// A single-op command: a store failure replaces the reply instead of being appended.
    single: bool,
}

impl Completion {
    /// A completion that only carries an error.
    pub fn error(e: Error) -> Completion {
        Completion {
            reply: e.into(),
            persist: Vec::new(),
            single: true,
        }
    }

    /// Stores the outputs in `ks` and returns the final reply and the keys written (which the
    /// module replicates as AI.TENSORSET). A key that became another type meanwhile stops the
    /// stores: a DAG appends the error to its reply array, a single command replies it.
    pub fn apply(self, ks: &mut dyn Keyspace) -> (Reply, Vec<(Bytes, Arc<Tensor>)>) {
        let mut stored = Vec::with_capacity(self.persist.len());
        let mut reply = self.reply;
        for (key, tensor) in self.persist {
            if let Err(e) = ks.set(key.clone(), Value::Tensor(tensor.clone())) {
                reply = match reply {
                    Reply::Array(mut items) if !self.single => {
                        items.push(e.into());
                        Reply::Array(items)
                    }
                    _ => e.into(),
                };
                break;
            }
            stored.push((key, tensor));
        }
        (reply, stored)
    }
}

/// The error text a backend returns when it cancelled a run at `RunContext::deadline`.
pub const TIMEDOUT: &str = "TIMEDOUT";

pub(crate) enum OpKind {
    Model(Arc<Model>),
    Script {
        script: Arc<Script>,
        function: String,
        keys: Vec<Bytes>,
        args: Vec<Bytes>,
        variadic: Option<usize>,
    },
}

/// A model or script op over DAG-local slots.
pub(crate) struct RunOp {
    pub kind: OpKind,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
    /// The run queue: the upper-cased device string.
    pub queue: String,
}

/// How each op of the command shows in the reply.
pub(crate) enum Step {
    TensorSet,
    TensorGet {
        slot: usize,
        meta: bool,
        data: Option<DataFormat>,
    },
    Run(usize),
}

/// A request ready to queue: everything it reads is an `Arc` snapshot.
pub struct Prepared {
    pub(crate) slots: Vec<Option<Arc<Tensor>>>,
    pub(crate) ops: Vec<RunOp>,
    pub(crate) steps: Vec<Step>,
    pub(crate) persist: Vec<(Bytes, usize)>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) single: bool,
}

enum OpResult {
    NotRun,
    Ok { micros: u64, samples: i64 },
    Err(Error),
}

struct State {
    slots: Vec<Option<Arc<Tensor>>>,
    results: Vec<OpResult>,
    /// Parts waiting for an input another device produces.
    parked: Vec<Part>,
    parts_left: usize,
    failed: bool,
    timed_out: bool,
}

type OnDone = Box<dyn FnOnce(Completion) + Send>;

struct Request {
    ops: Vec<RunOp>,
    steps: Vec<Step>,
    persist: Vec<(Bytes, usize)>,
    single: bool,
    deadline: Option<Instant>,
    host: Option<Arc<dyn ScriptHost>>,
    state: Mutex<State>,
    on_done: Mutex<Option<OnDone>>,
}

/// The ops of one request that run on one device, in order.
struct Part {
    request: Arc<Request>,
    ops: Vec<usize>,
    next: usize,
    queue: Arc<RunQueue>,
}

struct RunQueue {
    items: Mutex<VecDeque<Part>>,
    ready: Condvar,
    closing: AtomicBool,
}

impl RunQueue {
    fn push_back(&self, part: Part) {
        if let Ok(mut q) = self.items.lock() {
            q.push_back(part);
        }
        self.ready.notify_one();
    }

    fn push_front(&self, part: Part) {
        if let Ok(mut q) = self.items.lock() {
            q.push_front(part);
        }
        self.ready.notify_one();
    }

    /// The next part, or `None` once the queue is closing and empty.
    fn pop(&self) -> Option<Part> {
        let mut q = self.items.lock().ok()?;
        loop {
            if let Some(p) = q.pop_front() {
                return Some(p);
            }
            if self.closing.load(Ordering::Acquire) {
                return None;
            }
            q = self.ready.wait(q).ok()?;
        }
    }
}

/// The run queues, one per device (upper-cased device string), each with its worker threads.
pub struct Scheduler {
    queues: Mutex<HashMap<String, Arc<RunQueue>>>,
    threads_per_queue: usize,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("queues", &self.queue_names())
            .finish()
    }
}

impl Scheduler {
    pub fn new(threads_per_queue: usize) -> Scheduler {
        Scheduler {
            queues: Mutex::new(HashMap::new()),
            threads_per_queue: threads_per_queue.max(1),
        }
    }

    pub fn queue_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .queues
            .lock()
            .map(|q| q.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Makes sure the queue of `name` exists, with its workers (AI.MODELSTORE does this).
    pub fn ensure_queue(&self, name: &str) -> Result<()> {
        self.queue(name).map(|_| ())
    }

    /// The queue of `name`, created with its workers on first use.
    fn queue(&self, name: &str) -> Result<Arc<RunQueue>> {
        let mut queues = self
            .queues
            .lock()
            .map_err(|_| Error::backend("ERR Could not initialize queue on requested device"))?;
        if let Some(q) = queues.get(name) {
            return Ok(q.clone());
        }
        let q = Arc::new(RunQueue {
            items: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            closing: AtomicBool::new(false),
        });
        for i in 0..self.threads_per_queue {
            let worker = q.clone();
            std::thread::Builder::new()
                .name(format!("redisai-{name}-{}", i + 1))
                .spawn(move || {
                    while let Some(part) = worker.pop() {
                        step(part);
                    }
                })
                .map_err(|_| {
                    Error::backend("ERR Could not initialize queue on requested device")
                })?;
        }
        queues.insert(name.to_string(), q.clone());
        Ok(q)
    }

    /// Queues a prepared request; `on_done` gets its completion on a worker thread (or right
    /// here if it has nothing to run).
    pub fn submit(
        &self,
        prepared: Prepared,
        host: Option<Arc<dyn ScriptHost>>,
        on_done: impl FnOnce(Completion) + Send + 'static,
    ) {
        let Prepared {
            slots,
            ops,
            steps,
            persist,
            timeout,
            single,
        } = prepared;
        let mut by_queue: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            match by_queue.iter_mut().find(|(q, _)| *q == op.queue) {
                Some((_, list)) => list.push(i),
                None => by_queue.push((op.queue.clone(), vec![i])),
            }
        }
        let mut queues = Vec::with_capacity(by_queue.len());
        for (name, list) in by_queue {
            match self.queue(&name) {
                Ok(q) => queues.push((q, list)),
                Err(e) => {
                    return on_done(Completion {
                        reply: e.into(),
                        persist: Vec::new(),
                        single,
                    })
                }
            }
        }
        let results = ops.iter().map(|_| OpResult::NotRun).collect();
        let request = Arc::new(Request {
            ops,
            steps,
            persist,
            single,
            deadline: timeout.map(|t| Instant::now() + t),
            host,
            state: Mutex::new(State {
                slots,
                results,
                parked: Vec::new(),
                parts_left: queues.len(),
                failed: false,
                timed_out: false,
            }),
            on_done: Mutex::new(Some(Box::new(on_done))),
        });
        if queues.is_empty() {
            return finish(&request);
        }
        for (queue, ops) in queues {
            queue.clone().push_back(Part {
                request: request.clone(),
                ops,
                next: 0,
                queue,
            });
        }
    }
}

impl Drop for Scheduler {
    /// Workers finish what is queued, then exit.
    fn drop(&mut self) {
        if let Ok(queues) = self.queues.lock() {
            for q in queues.values() {
                q.closing.store(true, Ordering::Release);
                q.ready.notify_all();
            }
        }
    }
}

/// Runs the next op of `part`, then re-queues, parks or finishes it.
fn step(mut part: Part) {
    let request = part.request.clone();
    let Some(&op_index) = part.ops.get(part.next) else {
        return finish_part(part);
    };
    let op = &request.ops[op_index];
    let inputs: Vec<Arc<Tensor>> = {
        let Ok(mut state) = request.state.lock() else {
            return;
        };
        if !state.failed && !state.timed_out && request.deadline.is_some_and(|d| Instant::now() > d)
        {
            state.timed_out = true;
        }
        if state.failed || state.timed_out {
            drop(state);
            return finish_part(part);
        }
        let inputs: Option<Vec<Arc<Tensor>>> =
            op.inputs.iter().map(|&s| state.slots[s].clone()).collect();
        match inputs {
            Some(i) => i,
            None => {
                state.parked.push(part);
                return;
            }
        }
    };
    let started = Instant::now();
    let outcome = run_op(&request, op, &inputs);
    let micros = started.elapsed().as_micros() as u64;
    let parked = {
        let Ok(mut state) = request.state.lock() else {
            return;
        };
        match outcome {
            Ok(outputs) => {
                let samples = match op.kind {
                    OpKind::Model(_) => outputs.first().map_or(0, |t| t.dim0() as i64),
                    OpKind::Script { .. } => 1,
                };
                for (&slot, t) in op.outputs.iter().zip(outputs) {
                    state.slots[slot] = Some(Arc::new(t));
                }
                state.results[op_index] = OpResult::Ok { micros, samples };
            }
            // A backend that stopped a run at the deadline (ONNX) times the request out.
            Err(Error::Backend(text)) if text == TIMEDOUT => state.timed_out = true,
            Err(e) => {
                state.results[op_index] = OpResult::Err(e);
                state.failed = true;
            }
        }
        std::mem::take(&mut state.parked)
    };
    requeue(parked);
    part.next += 1;
    let queue = part.queue.clone();
    queue.push_front(part);
}

fn requeue(parts: Vec<Part>) {
    for p in parts {
        let q = p.queue.clone();
        q.push_front(p);
    }
}

fn run_op(request: &Request, op: &RunOp, inputs: &[Arc<Tensor>]) -> Result<Vec<Tensor>> {
    let refs: Vec<&Tensor> = inputs.iter().map(|t| &**t).collect();
    let ctx = RunContext {
        deadline: request.deadline,
        host: request.host.as_deref(),
    };
    let outputs = match &op.kind {
        OpKind::Model(model) => model.runner.run(&refs, &ctx)?,
        OpKind::Script {
            script,
            function,
            keys,
            args,
            variadic,
        } => script.runner.run(
            &ScriptCall {
                function,
                inputs: &refs,
                keys,
                args,
                variadic: *variadic,
                outputs: op.outputs.len(),
            },
            &ctx,
        )?,
    };
    if outputs.len() < op.outputs.len() {
        return Err(Error::backend(
            "ERR Model did not generate the expected number of outputs",
        ));
    }
    Ok(outputs)
}

/// A part is done (all its ops ran, or the request failed or timed out).
fn finish_part(part: Part) {
    let request = part.request;
    let (last, parked) = {
        let Ok(mut state) = request.state.lock() else {
            return;
        };
        state.parts_left -= 1;
        (state.parts_left == 0, std::mem::take(&mut state.parked))
    };
    // Parts waiting on this one's outputs see the failure or timeout and finish too.
    requeue(parked);
    if last {
        finish(&request);
    }
}

/// Builds the completion, records the stats of the ops that ran, and calls back.
fn finish(request: &Request) {
    let Ok(state) = request.state.lock() else {
        return;
    };
    for (op, result) in request.ops.iter().zip(&state.results) {
        let stats = match &op.kind {
            OpKind::Model(m) => m.stats.stats(),
            OpKind::Script { script, .. } => script.stats.stats(),
        };
        match result {
            OpResult::NotRun => {}
            OpResult::Ok { micros, samples } => stats.record_ok(*micros, *samples),
            OpResult::Err(_) => stats.record_error(),
        }
    }
    let completion = if state.timed_out {
        Completion {
            reply: Reply::Simple("TIMEDOUT"),
            persist: Vec::new(),
            single: request.single,
        }
    } else if request.single {
        match state.results.first() {
            Some(OpResult::Err(e)) => Completion {
                reply: e.clone().into(),
                persist: Vec::new(),
                single: true,
            },
            _ => Completion {
                reply: Reply::OK,
                persist: persisted(request, &state),
                single: true,
            },
        }
    } else {
        let replies = request
            .steps
            .iter()
            .map(|s| match s {
                Step::TensorSet => Reply::OK,
                Step::TensorGet { slot, meta, data } => match &state.slots[*slot] {
                    Some(t) => tensor_reply(t, *meta, *data),
                    None => Reply::Simple("NA"),
                },
                Step::Run(i) => match &state.results[*i] {
                    OpResult::NotRun => Reply::Simple("NA"),
                    OpResult::Ok { .. } => Reply::OK,
                    OpResult::Err(e) => e.clone().into(),
                },
            })
            .collect();
        Completion {
            reply: Reply::Array(replies),
            persist: if state.failed {
                Vec::new()
            } else {
                persisted(request, &state)
            },
            single: false,
        }
    };
    drop(state);
    let on_done = request.on_done.lock().ok().and_then(|mut f| f.take());
    if let Some(f) = on_done {
        f(completion);
    }
}

fn persisted(request: &Request, state: &State) -> Vec<(Bytes, Arc<Tensor>)> {
    request
        .persist
        .iter()
        .filter_map(|(key, slot)| Some((key.clone(), state.slots[*slot].clone()?)))
        .collect()
}
