//! Execution: a prepared request (AI.MODELEXECUTE and AI.SCRIPTEXECUTE are a DAG of one op), the
//! per-device run queues and their worker threads.
//!
//! A request is split into one *part* per device; a part is a queue item. A worker pops a part,
//! runs its next op if the op's inputs are there, and pushes the part back to the front of its
//! queue; a part whose next op waits on another device's output is parked on its request and
//! re-queued when an op of that request finishes. Workers sleep on a condvar: no polling.
//! When the last part finishes, the request's `Completion` goes to its callback.
//!
//! A single model run on the CPU whose recent runs took at most `inline_max_us` (and whose
//! inputs are small) skips the queue and runs on the submitting thread: for a model of a few
//! microseconds, the hand-off to a worker and the wake-up back cost several times the run.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::backend::{RunContext, ScriptCall, ScriptHost};
use crate::command::{tensor_reply, DataFormat};
use crate::error::{Error, Result};
use crate::handoff;
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

/// Where the run queues read the time: deadlines (TIMEOUT) and MINBATCHTIMEOUT. Tests inject a
/// [`ManualClock`]; everything else uses [`SystemClock`].
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to; call [`crate::Engine::wake_queues`] after
/// [`ManualClock::advance`] so waiting workers look at the new time.
#[derive(Debug)]
pub struct ManualClock {
    base: Instant,
    offset: Mutex<Duration>,
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock {
            base: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
        }
    }
}

impl ManualClock {
    pub fn advance(&self, d: Duration) {
        if let Ok(mut o) = self.offset.lock() {
            *o += d;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.base + self.offset.lock().map(|o| *o).unwrap_or_default()
    }
}

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
    /// When the request was queued: MINBATCHTIMEOUT counts from the first request's.
    queued: Instant,
}

struct RunQueue {
    clock: Arc<dyn Clock>,
    items: Mutex<VecDeque<Part>>,
    ready: Condvar,
    closing: AtomicBool,
    /// Bumped by every push: lets an idle worker see new work without taking the lock.
    pushes: AtomicU64,
    /// Workers asleep on `ready`; changed and read under the `items` lock, so a push makes the
    /// notify system call only when someone sleeps.
    sleepers: AtomicUsize,
}

/// How long an idle worker keeps watching for work before it sleeps on the condvar. Requests
/// from one client arrive a network round trip apart; sleeping and being woken costs two
/// context switches per request, which this short watch avoids under load.
const IDLE_SPIN: Duration = Duration::from_micros(50);

impl RunQueue {
    fn push_back(&self, part: Part) {
        self.push(part, false)
    }

    fn push_front(&self, part: Part) {
        self.push(part, true)
    }

    fn push(&self, part: Part, front: bool) {
        let sleeping = match self.items.lock() {
            Ok(mut q) => {
                if front {
                    q.push_front(part);
                } else {
                    q.push_back(part);
                }
                self.pushes.fetch_add(1, Ordering::Release);
                self.sleepers.load(Ordering::Relaxed) > 0
            }
            Err(_) => return,
        };
        if sleeping {
            self.ready.notify_one();
        }
    }

    /// Sleeps on `ready` (at most `timeout`), counted in `sleepers`.
    fn sleep<'a>(
        &self,
        q: std::sync::MutexGuard<'a, VecDeque<Part>>,
        timeout: Option<Duration>,
    ) -> Option<std::sync::MutexGuard<'a, VecDeque<Part>>> {
        self.sleepers.fetch_add(1, Ordering::Relaxed);
        let q = match timeout {
            Some(t) => self.ready.wait_timeout(q, t).ok().map(|(q, _)| q),
            None => self.ready.wait(q).ok(),
        };
        self.sleepers.fetch_sub(1, Ordering::Relaxed);
        q
    }

    /// Watches `pushes` for up to [`IDLE_SPIN`], yielding the CPU to any thread that wants it.
    fn spin_for_push(&self, seen: u64) {
        let until = Instant::now() + IDLE_SPIN;
        while Instant::now() < until && self.pushes.load(Ordering::Acquire) == seen {
            std::thread::yield_now();
        }
    }

    /// The next work, or `None` once the queue is closing and empty. A batch whose
    /// MINBATCHSIZE is not reached yet leaves its parts queued, lets the worker take other work,
    /// and sleeps until a new part arrives or its MINBATCHTIMEOUT deadline passes.
    fn pop(&self) -> Option<Work> {
        let mut q = self.items.lock().ok()?;
        let mut spun = false;
        loop {
            let closing = self.closing.load(Ordering::Acquire);
            match pick(&mut q, closing, self.clock.now()) {
                Pick::Work(w) => return Some(w),
                Pick::Wait(_) if closing && q.is_empty() => return None,
                // Closing: pick runs incomplete batches, so a wait here means an empty queue.
                Pick::Wait(None) if closing => return None,
                // Watch for work a moment before sleeping; whatever the watch saw, the queue
                // is looked at again under the lock before any wait (no lost wake-up).
                Pick::Wait(None) if !spun => {
                    spun = true;
                    let seen = self.pushes.load(Ordering::Acquire);
                    drop(q);
                    self.spin_for_push(seen);
                    q = self.items.lock().ok()?;
                }
                Pick::Wait(None) => q = self.sleep(q, None)?,
                Pick::Wait(Some(deadline)) => {
                    let left = deadline.saturating_duration_since(self.clock.now());
                    q = self.sleep(q, Some(left))?;
                }
            }
        }
    }
}

enum Work {
    One(Part),
    /// Parts whose next op is the same model, with compatible inputs: one backend call.
    Batch(Vec<Part>),
}

enum Pick {
    Work(Work),
    /// Nothing runnable; wake at this instant at the latest (a batch's MINBATCHTIMEOUT).
    Wait(Option<Instant>),
}

/// The next op of `part`, if it is a model op that takes part in batching, with its inputs
/// (all present) and its batch size (dim 0 shared by every input, else 0).
fn batchable(part: &Part, now: Instant) -> Option<(Arc<Model>, Vec<Arc<Tensor>>, usize)> {
    let request = &part.request;
    let op = &request.ops[*part.ops.get(part.next)?];
    let OpKind::Model(model) = &op.kind else {
        return None;
    };
    if model.batch.size == 0 || request.deadline.is_some_and(|d| now > d) {
        return None;
    }
    let state = request.state.lock().ok()?;
    if state.failed || state.timed_out {
        return None;
    }
    let inputs: Vec<Arc<Tensor>> = op
        .inputs
        .iter()
        .map(|&s| state.slots[s].clone())
        .collect::<Option<_>>()?;
    let dim0 = inputs.first().filter(|t| !t.shape().is_empty())?.dim0();
    let size = if inputs
        .iter()
        .all(|t| !t.shape().is_empty() && t.dim0() == dim0)
    {
        dim0
    } else {
        0
    };
    Some((model.clone(), inputs, size))
}

/// Same model object, same number of inputs, and per input the same type, rank and dims
/// after dim 0.
fn compatible(a: &[Arc<Tensor>], b: &[Arc<Tensor>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.dtype() == y.dtype()
                && x.shape().len() == y.shape().len()
                && x.shape()[1..] == y.shape()[1..]
        })
}

/// Chooses the next work from the queue (spec §4.3): a lone op, or a batch gathered in queue
/// order until its total dim 0 reaches BATCHSIZE.
fn pick(q: &mut VecDeque<Part>, closing: bool, now: Instant) -> Pick {
    let mut wake: Option<Instant> = None;
    let mut taken = vec![false; q.len()];
    for i in 0..q.len() {
        if taken[i] {
            continue;
        }
        let Some((model, inputs, size)) = batchable(&q[i], now).filter(|(m, _, n)| {
            // Runs alone: a batch size of 0 (inputs disagree on dim 0) or already a full batch.
            *n > 0 && (*n as u64) < m.batch.size
        }) else {
            return match q.remove(i) {
                Some(part) => Pick::Work(Work::One(part)),
                None => Pick::Wait(wake),
            };
        };
        let mut members = vec![i];
        let mut total = size as u64;
        for j in i + 1..q.len() {
            if total >= model.batch.size {
                break;
            }
            if taken[j] {
                continue;
            }
            if let Some((m, ins, n)) = batchable(&q[j], now) {
                if Arc::ptr_eq(&m, &model) && n > 0 && compatible(&inputs, &ins) {
                    members.push(j);
                    total += n as u64;
                }
            }
        }
        let batch = model.batch;
        let deadline =
            (batch.min_timeout > 0).then(|| q[i].queued + Duration::from_millis(batch.min_timeout));
        let enough = batch.min_size == 0
            || total >= batch.min_size
            || closing
            || deadline.is_some_and(|d| now >= d);
        if enough {
            let mut parts: Vec<Part> = Vec::with_capacity(members.len());
            for &m in members.iter().rev() {
                parts.extend(q.remove(m));
            }
            parts.reverse();
            return Pick::Work(Work::Batch(parts));
        }
        for &m in &members {
            taken[m] = true;
        }
        if let Some(d) = deadline {
            wake = Some(wake.map_or(d, |w: Instant| w.min(d)));
        }
    }
    Pick::Wait(wake)
}

/// The run queues, one per device (upper-cased device string), each with its worker threads.
pub struct Scheduler {
    queues: Mutex<HashMap<String, Arc<RunQueue>>>,
    threads_per_queue: usize,
    clock: Arc<dyn Clock>,
    /// Which runs run on the submitting thread; shared with the thread that measures it.
    inline: Arc<InlineLimit>,
}

/// The inline threshold: configured, or measured in the background ([`Scheduler::new`]).
struct InlineLimit {
    /// The configured threshold in microseconds (0: never); `None`: the measured hand-off.
    configured: Option<u64>,
    /// The measured hand-off in microseconds, once measured (0 until then).
    handoff_us: AtomicU64,
}

impl InlineLimit {
    /// Runs estimated at most this many microseconds run on the submitting thread; before the
    /// measurement ends, the lower bound of [`AUTO_INLINE_US`].
    fn max_us(&self) -> u64 {
        self.configured.unwrap_or_else(|| {
            let us = self.handoff_us.load(Ordering::Relaxed);
            us.clamp(*AUTO_INLINE_US.start(), *AUTO_INLINE_US.end())
        })
    }

    /// What the slowest recent run of an inline model may take at most, whatever
    /// [`INLINE_PEAK_FACTOR`] times the threshold is.
    fn peak_cap_us(&self) -> u64 {
        match self.configured {
            Some(_) => u64::MAX,
            None => AUTO_INLINE_PEAK_MAX_US,
        }
    }
}

/// A model whose slowest recent run took more than this many times the threshold runs on the
/// queue, however cheap its mean: an occasional heavy run must not hold an I/O thread for long.
/// (Preemption stretches some cheap runs too; at 16 clients on 2 vCPUs they stay below this.)
const INLINE_PEAK_FACTOR: u64 = 50;

/// With a measured threshold, the cap of [`InlineLimit::peak_cap_us`]: slow wake-ups on a crowded
/// machine raise the threshold (up to 200 µs), not how long an I/O thread may be held (50 times
/// that would be 10 ms).
const AUTO_INLINE_PEAK_MAX_US: u64 = 2_000;

/// The bounds of a measured inline threshold (`inline_max_us: None`), in microseconds. The
/// lower one is what a fast host measures, and the threshold before the measurement ends; the
/// upper one keeps a crowded machine's wake-ups from letting heavy runs hold I/O threads.
pub const AUTO_INLINE_US: std::ops::RangeInclusive<u64> = 20..=200;

/// Round trips of the hand-off measurement, and the pause before each (both threads asleep by
/// then, as between the requests of a client): ~5 ms at startup on a slow VM.
const HANDOFF_ROUNDS: usize = 31;
const HANDOFF_PAUSE: Duration = Duration::from_micros(100);

/// Inputs above this size never run on the submitting thread: a model's cost grows with its
/// input, so a cheap model fed a large tensor is not cheap.
const INLINE_MAX_INPUT_BYTES: usize = 64 * 1024;

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("queues", &self.queue_names())
            .finish()
    }
}

impl Scheduler {
    /// `inline_max_us`: model runs estimated at most this many microseconds run on the
    /// submitting thread (0: every run goes through its queue); `None`: as long as a hand-off
    /// to a worker and back takes on this machine, within [`AUTO_INLINE_US`], measured in the
    /// background (the lower bound applies meanwhile).
    pub fn new(
        threads_per_queue: usize,
        inline_max_us: Option<u64>,
        clock: Arc<dyn Clock>,
    ) -> Scheduler {
        let inline = Arc::new(InlineLimit {
            configured: inline_max_us,
            handoff_us: AtomicU64::new(0),
        });
        if inline_max_us.is_none() {
            let measured = inline.clone();
            // Without the thread, the lower bound stays: what a fast machine measures.
            let _ = std::thread::Builder::new()
                .name("redisai-calibrate".into())
                .spawn(move || {
                    if let Some(t) = handoff::round_trip(HANDOFF_ROUNDS, HANDOFF_PAUSE) {
                        let us = u64::try_from(t.as_micros()).unwrap_or(u64::MAX).max(1);
                        measured.handoff_us.store(us, Ordering::Relaxed);
                    }
                });
        }
        Scheduler {
            queues: Mutex::new(HashMap::new()),
            threads_per_queue: threads_per_queue.max(1),
            clock,
            inline,
        }
    }

    /// Runs estimated at most this many microseconds run on the submitting thread (0: none).
    pub fn inline_max_us(&self) -> u64 {
        self.inline.max_us()
    }

    /// The hand-off to a worker and back as measured on this machine, in microseconds, once
    /// measured (only with a measured threshold).
    pub fn measured_handoff_us(&self) -> Option<u64> {
        Some(self.inline.handoff_us.load(Ordering::Relaxed)).filter(|&us| us > 0)
    }

    /// Whether a request of these ops over these slots may run on the submitting thread: one
    /// unbatched model op on the CPU, cheap by its recent runs, with small inputs.
    fn runs_inline(&self, ops: &[RunOp], slots: &[Option<Arc<Tensor>>], max: u64) -> bool {
        let [op] = ops else {
            return false;
        };
        let OpKind::Model(model) = &op.kind else {
            return false;
        };
        let small_inputs = || {
            op.inputs
                .iter()
                .try_fold(0usize, |sum, &s| {
                    slots[s].as_ref().map(|t| sum + t.byte_size())
                })
                .is_some_and(|n| n <= INLINE_MAX_INPUT_BYTES)
        };
        max > 0
            && op.queue == "CPU"
            && model.batch.size == 0
            && model.cost.estimate_us().is_some_and(|us| us <= max)
            && model.cost.peak_us()
                <= max
                    .saturating_mul(INLINE_PEAK_FACTOR)
                    .min(self.inline.peak_cap_us())
            && !model.cost.on_workers()
            && small_inputs()
    }

    /// Wakes every idle worker to look at its queue again (after a [`ManualClock`] moved).
    pub fn wake_all(&self) {
        if let Ok(queues) = self.queues.lock() {
            for q in queues.values() {
                // Taking the lock orders this wake-up after a worker's decision to wait.
                drop(q.items.lock());
                q.ready.notify_all();
            }
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
            clock: self.clock.clone(),
            items: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            closing: AtomicBool::new(false),
            pushes: AtomicU64::new(0),
            sleepers: AtomicUsize::new(0),
        });
        for i in 0..self.threads_per_queue {
            let worker = q.clone();
            std::thread::Builder::new()
                .name(format!("redisai-{name}-{}", i + 1))
                .spawn(move || {
                    while let Some(work) = worker.pop() {
                        match work {
                            Work::One(part) => step(part, None),
                            Work::Batch(parts) => step_batch(parts),
                        }
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
        let inline_max_us = self.inline_max_us();
        let inline = self.runs_inline(&ops, &slots, inline_max_us);
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
            deadline: timeout.map(|t| self.clock.now() + t),
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
        let queued = self.clock.now();
        for (queue, ops) in queues {
            let part = Part {
                request: request.clone(),
                ops,
                next: 0,
                queue: queue.clone(),
                queued,
            };
            if inline {
                // It may wait for a turn behind another cheap run, not behind a slow one.
                step(part, Some(Duration::from_micros(inline_max_us)));
            } else {
                queue.push_back(part);
            }
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

/// Runs the next op of `part`, then re-queues, parks or finishes it. `inline`: on the submitting
/// thread, waiting at most this long for the model's turn (else on a queue worker).
fn step(part: Part, inline: Option<Duration>) {
    let request = part.request.clone();
    let Some(&op_index) = part.ops.get(part.next) else {
        return finish_part(part);
    };
    let op = &request.ops[op_index];
    let inputs: Vec<Arc<Tensor>> = {
        let Ok(mut state) = request.state.lock() else {
            return;
        };
        if !state.failed
            && !state.timed_out
            && request.deadline.is_some_and(|d| part.queue.clock.now() > d)
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
    let (outcome, took) = {
        // Released before the completion is delivered: a client's next request must not see
        // this finished run as still on a worker.
        let _on_worker = match &op.kind {
            OpKind::Model(model) if inline.is_none() => Some(model.cost.worker_run()),
            _ => None,
        };
        let started = Instant::now();
        let outcome = run_op(&request, op, &inputs, inline);
        (outcome, started.elapsed())
    };
    match (&op.kind, &outcome) {
        // The model is busy with a run it serializes this one behind: queue it, as it is.
        (_, Err(Error::RunWouldBlock)) if inline.is_some() => {
            let queue = part.queue.clone();
            return queue.push_back(part);
        }
        // Failures (a wrong input, a deadline already past) may be quick whatever the model
        // costs: only successful runs say what it costs.
        (OpKind::Model(model), Ok(_)) => model.cost.observe(took),
        _ => {}
    }
    record(part, outcome, took.as_micros() as u64);
}

/// Stores an op's outcome in its request, wakes the parts parked on it, and re-queues the part
/// at the front of its queue for its next op.
fn record(mut part: Part, outcome: Result<Vec<Tensor>>, micros: u64) {
    let request = part.request.clone();
    let op_index = part.ops[part.next];
    let op = &request.ops[op_index];
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
            Err(Error::RunTimedOut) => state.timed_out = true,
            Err(e) => {
                state.results[op_index] = OpResult::Err(e);
                state.failed = true;
            }
        }
        std::mem::take(&mut state.parked)
    };
    requeue(parked);
    part.next += 1;
    if part.next == part.ops.len() {
        return finish_part(part);
    }
    let queue = part.queue.clone();
    queue.push_front(part);
}

/// Runs one model op for several requests: inputs joined along dim 0 in queue order, one
/// backend call, outputs sliced back (spec §4.3). Every participant gets the batch's error.
fn step_batch(parts: Vec<Part>) {
    let mut ready: Vec<(Part, Vec<Arc<Tensor>>, usize)> = Vec::with_capacity(parts.len());
    let mut model = None;
    for part in parts {
        let now = part.queue.clock.now();
        match batchable(&part, now) {
            Some((m, inputs, n)) => {
                model = Some(m);
                ready.push((part, inputs, n));
            }
            // Failed or timed out meanwhile: let the single path finish it.
            None => step(part, None),
        }
    }
    let Some(model) = model else {
        return;
    };
    let total: usize = ready.iter().map(|r| r.2).sum();
    let n_inputs = ready.first().map_or(0, |r| r.1.len());
    let joined: Result<Vec<Tensor>> = (0..n_inputs)
        .map(|k| Tensor::concat(&ready.iter().map(|r| &*r.1[k]).collect::<Vec<_>>()))
        .collect();
    let deadline = ready.iter().filter_map(|r| r.0.request.deadline).min();
    let started = Instant::now();
    let outcome = joined.and_then(|inputs| {
        let refs: Vec<&Tensor> = inputs.iter().collect();
        guarded(|| {
            model.runner.run(
                &refs,
                &RunContext {
                    deadline,
                    host: None,
                    max_wait: None,
                },
            )
        })
    });
    let micros = started.elapsed().as_micros() as u64;
    let outputs = outcome.and_then(|outs| {
        if outs
            .iter()
            .any(|t| t.shape().is_empty() || t.dim0() != total)
        {
            return Err(Error::backend(
                "ERR Model did not generate the expected batch size",
            ));
        }
        Ok(outs)
    });
    let mut offset = 0;
    for (part, _, n) in ready {
        let mine = match &outputs {
            Ok(outs) => outs.iter().map(|t| t.slice(offset, n)).collect(),
            Err(e) => Err(e.clone()),
        };
        offset += n;
        record(part, mine, micros);
    }
}

fn requeue(parts: Vec<Part>) {
    for p in parts {
        let q = p.queue.clone();
        q.push_front(p);
    }
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
fn guarded(run: impl FnOnce() -> Result<Vec<Tensor>>) -> Result<Vec<Tensor>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
        .unwrap_or_else(|_| Err(Error::backend("ERR the backend failed unexpectedly")))
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
