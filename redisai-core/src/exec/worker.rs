//! Running one op of a device share, on a queue worker or on the submitting thread, and what
//! follows: re-queue the share for its next op, park it, or finish it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::{RunContext, ScriptCall};
use crate::error::{Error, Result};
use crate::exec::batch::{run_batch, Job};
use crate::exec::lock;
use crate::exec::plan::{OpKind, RunOp};
use crate::exec::queue::RunQueue;
use crate::exec::request::{finish_share, requeue, DeviceOps, OpResult, Request};
use crate::tensor::Tensor;

/// A queue worker's life: jobs until the queue closes and drains. `queue_name` and `index`
/// (from 1) say which worker it is, for INFO's per-worker CPU.
pub(crate) fn work(
    queue: Arc<RunQueue>,
    queue_name: String,
    index: usize,
    started: std::sync::mpsc::Sender<()>,
) {
    let _listed = WorkerThread::register(queue_name, index);
    let _ = started.send(());
    drop(started);
    while let Some(job) = queue.pop() {
        // Backend calls are guarded already; this keeps the worker (and its queue) alive
        // through a bug of the engine's own.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match job {
            Job::Single(share) => run_next(share, Place::Worker),
            Job::Batch(shares) => run_batch(shares),
        }));
    }
}

/// A live queue worker: its queue, its index in it (from 1) and its Linux thread id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerThread {
    pub queue: String,
    pub index: usize,
    pub tid: u64,
}

static WORKERS: std::sync::Mutex<Vec<WorkerThread>> = std::sync::Mutex::new(Vec::new());

/// Unlists a worker when its thread ends.
struct Listed(u64);

impl WorkerThread {
    /// Lists the calling thread (no-op where `/proc/thread-self` does not exist).
    fn register(queue: String, index: usize) -> Option<Listed> {
        let link = std::fs::read_link("/proc/thread-self").ok()?;
        let tid: u64 = link.file_name()?.to_str()?.parse().ok()?;
        lock(&WORKERS).push(WorkerThread { queue, index, tid });
        Some(Listed(tid))
    }
}

impl Drop for Listed {
    fn drop(&mut self) {
        lock(&WORKERS).retain(|w| w.tid != self.0);
    }
}

/// The queue workers of every engine in this process. Thread names are cut to 15 bytes by
/// Linux, too short to tell `GPU:0` worker 10 from worker 1, so workers list themselves here.
pub fn worker_threads() -> Vec<WorkerThread> {
    lock(&WORKERS).clone()
}

/// Where an op runs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Place {
    /// On a queue worker.
    Worker,
    /// On the submitting thread, waiting at most `max_wait` for the model's turn (`None`: as
    /// long as it takes); past it the share goes to its queue.
    Caller { max_wait: Option<Duration> },
}

/// Runs the next op of `share`.
pub(crate) fn run_next(share: DeviceOps, place: Place) {
    let request = share.request.clone();
    let Some(&op_index) = share.ops.get(share.next) else {
        return finish_share(share);
    };
    let op = &request.ops[op_index];
    let inputs: Vec<Arc<Tensor>> = {
        let mut state = lock(&request.state);
        if !state.failed
            && !state.timed_out
            && request
                .deadline
                .is_some_and(|d| share.queue.clock.now() > d)
        {
            state.timed_out = true;
        }
        if state.failed || state.timed_out {
            drop(state);
            return finish_share(share);
        }
        let inputs: Option<Vec<Arc<Tensor>>> =
            op.inputs.iter().map(|&s| state.slots[s].clone()).collect();
        match inputs {
            Some(i) => i,
            None => {
                state.parked.push(share);
                return;
            }
        }
    };
    let (outcome, took) = {
        // Released before the completion is delivered: a client's next request must not see
        // this finished run as still on a worker.
        let (on_worker, max_wait) = match place {
            Place::Worker => (true, None),
            Place::Caller { max_wait } => (false, max_wait),
        };
        let _on_worker = match &op.kind {
            OpKind::Model(model) if on_worker => Some(model.cost.worker_run()),
            _ => None,
        };
        let started = Instant::now();
        let outcome = run_op(&request, op, &inputs, max_wait);
        (outcome, started.elapsed())
    };
    match (&op.kind, &outcome) {
        // The model is busy with a run it serializes this one behind: queue it, as it is.
        (_, Err(Error::RunWouldBlock)) if matches!(place, Place::Caller { .. }) => {
            let queue = share.queue.clone();
            return queue.push_back(share);
        }
        // Failures (a wrong input, a deadline already past) may be quick whatever the model
        // costs: only successful runs say what it costs.
        (OpKind::Model(model), Ok(_)) => model.cost.observe(took),
        _ => {}
    }
    record(share, outcome, took.as_micros() as u64);
}

/// Stores an op's outcome in its request, wakes the shares parked on it, and re-queues the
/// share at the front of its queue for its next op.
pub(crate) fn record(mut share: DeviceOps, outcome: Result<Vec<Tensor>>, micros: u64) {
    let request = share.request.clone();
    let op_index = share.ops[share.next];
    let op = &request.ops[op_index];
    let parked = {
        let mut state = lock(&request.state);
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
            Err(Error::RunTimedOut) => state.timed_out = true,
            Err(e) => {
                state.results[op_index] = OpResult::Err(e);
                state.failed = true;
            }
        }
        std::mem::take(&mut state.parked)
    };
    requeue(parked);
    share.next += 1;
    if share.next == share.ops.len() {
        return finish_share(share);
    }
    let queue = share.queue.clone();
    queue.push_front(share);
}

fn run_op(
    request: &Request,
    op: &RunOp,
    inputs: &[Arc<Tensor>],
    max_wait: Option<Duration>,
) -> Result<Vec<Tensor>> {
    let refs: Vec<&Tensor> = inputs.iter().map(|t| &**t).collect();
    let ctx = RunContext {
        deadline: request.deadline,
        host: request.host.as_deref(),
        max_wait,
    };
    // Fewer outputs than keys is allowed: a backend leaves out outputs that cannot be tensors
    // (an ONNX-ML ZipMap), and RedisAI then leaves those keys unwritten. Backends check their
    // own counts where a mismatch is an error (TORCH).
    guarded(|| match &op.kind {
        OpKind::Model(model) => model.runner.run(&refs, &ctx),
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
        ),
    })
}

/// Runs backend code so that a panic in it becomes an error reply: the worker thread, its queue
/// and the waiting client all survive.
pub(crate) fn guarded(run: impl FnOnce() -> Result<Vec<Tensor>>) -> Result<Vec<Tensor>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
        .unwrap_or_else(|_| Err(Error::backend("ERR the backend failed unexpectedly")))
}
