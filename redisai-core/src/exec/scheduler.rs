//! The run queues, one per device (upper-cased device string), each with its worker threads,
//! and the submission of prepared requests to them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::backend::ScriptHost;
use crate::error::{Error, Result};
use crate::exec::clock::Clock;
use crate::exec::completion::{Completion, OpOutcome, RunDetail};
use crate::exec::inline::InlineLimit;
use crate::exec::lock;
use crate::exec::plan::Prepared;
use crate::exec::queue::RunQueue;
use crate::exec::request::{finish, Delivery, DeviceOps, OnDone, OpResult, Request, State};
use crate::exec::worker::{run_next, work, Place};

/// Where a submitted request's ops run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// On the queue workers.
    Queue,
    /// On the submitting thread when the run is cheap (see `inline`), else on the workers.
    HereIfCheap,
    /// On the submitting thread, whatever it costs (no batching): a one-op request entirely;
    /// of several ops, the first of each device (the workers run the rest).
    Here,
}

/// What became of a submitted request.
#[derive(Debug)]
pub enum Submitted {
    /// Finished already (nothing to run, a run on the submitting thread, or an error before
    /// anything was queued); the callback is not called.
    Done(Completion),
    /// On the run queues: the callback receives the completion on a worker thread, later.
    Queued,
}

pub struct Scheduler {
    queues: Mutex<HashMap<String, Arc<RunQueue>>>,
    threads_per_queue: usize,
    clock: Arc<dyn Clock>,
    inline: Arc<InlineLimit>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("queues", &self.queue_names())
            .finish()
    }
}

impl Scheduler {
    /// `inline_max_us`: see [`crate::EngineConfig::inline_run_max_us`].
    pub fn new(
        threads_per_queue: usize,
        inline_max_us: Option<u64>,
        clock: Arc<dyn Clock>,
    ) -> Scheduler {
        Scheduler {
            queues: Mutex::new(HashMap::new()),
            threads_per_queue: threads_per_queue.max(1),
            clock,
            inline: InlineLimit::new(inline_max_us),
        }
    }

    /// Runs estimated at most this many microseconds may run on the submitting thread.
    pub fn inline_max_us(&self) -> u64 {
        self.inline.max_us()
    }

    /// The hand-off to a worker and back as measured on this machine, in microseconds, once
    /// measured (only with a measured threshold).
    pub fn measured_handoff_us(&self) -> Option<u64> {
        self.inline.measured_us()
    }

    /// Wakes every idle worker to look at its queue again (after a `ManualClock` moved).
    pub fn wake_all(&self) {
        for q in lock(&self.queues).values() {
            q.wake();
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
        let failed = || Error::backend("ERR Could not initialize queue on requested device");
        let mut queues = lock(&self.queues);
        if let Some(q) = queues.get(name) {
            return Ok(q.clone());
        }
        let q = Arc::new(RunQueue::new(self.clock.clone()));
        let (started, ready) = std::sync::mpsc::channel();
        for i in 0..self.threads_per_queue {
            let (worker, queue_name, started) = (q.clone(), name.to_string(), started.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("redisai-{name}-{}", i + 1))
                .spawn(move || work(worker, queue_name, i + 1, started));
            if spawned.is_err() {
                // The workers already started end with the queue that nobody will use.
                q.close();
                return Err(failed());
            }
        }
        // Once the queue exists, INFO lists its workers: wait until each has listed itself.
        for _ in 0..self.threads_per_queue {
            if ready
                .recv_timeout(std::time::Duration::from_secs(5))
                .is_err()
            {
                break;
            }
        }
        queues.insert(name.to_string(), q.clone());
        Ok(q)
    }

    /// Queues a prepared request, or finishes it here: see [`Submitted`] and [`Placement`].
    /// `on_done` is called only for [`Submitted::Queued`], and never on this thread.
    pub fn submit(
        &self,
        prepared: Prepared,
        host: Option<Arc<dyn ScriptHost>>,
        placement: Placement,
        on_done: impl FnOnce(Completion) + Send + 'static,
    ) -> Submitted {
        let Prepared {
            slots,
            ops,
            steps,
            persist,
            timeout,
            shape,
            detailed,
        } = prepared;
        let (here, max_wait) = match placement {
            Placement::Queue => (false, None),
            // It may wait for a turn behind another cheap run, not behind a slow one.
            Placement::HereIfCheap => (
                self.inline.allows(&ops, &slots),
                Some(Duration::from_micros(self.inline.max_us())),
            ),
            Placement::Here => (true, None),
        };
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
                    return Submitted::Done(Completion {
                        detail: detailed.then(|| RunDetail {
                            ops: ops.iter().map(|_| OpOutcome::Failed(e.clone())).collect(),
                            ..RunDetail::default()
                        }),
                        reply: e.into(),
                        persist: Vec::new(),
                        shape,
                    })
                }
            }
        }
        let queued = !here && !queues.is_empty();
        let mut on_done: Option<OnDone> = Some(Box::new(on_done));
        let delivery = match on_done.take() {
            Some(f) if queued => Delivery::Callback(f),
            other => {
                on_done = other;
                Delivery::Held(None)
            }
        };
        let results = ops.iter().map(|_| OpResult::NotRun).collect();
        let request = Arc::new(Request {
            ops,
            steps,
            persist,
            shape,
            detailed,
            deadline: timeout.map(|t| self.clock.now() + t),
            host,
            state: Mutex::new(State {
                slots,
                results,
                parked: Vec::new(),
                shares_left: queues.len(),
                failed: false,
                timed_out: false,
            }),
            delivery: Mutex::new(delivery),
        });
        if queues.is_empty() {
            finish(&request);
        }
        let now = self.clock.now();
        for (queue, ops) in queues {
            let share = DeviceOps {
                request: request.clone(),
                ops,
                next: 0,
                queue: queue.clone(),
                queued: now,
            };
            if here {
                run_next(share, Place::Caller { max_wait });
            } else {
                queue.push_back(share);
            }
        }
        match on_done {
            None => Submitted::Queued,
            // Ran here, or went to its queue after all (the model was busy).
            Some(f) => match request.take_or_hand_over(f) {
                Some(c) => Submitted::Done(c),
                None => Submitted::Queued,
            },
        }
    }
}

impl Drop for Scheduler {
    /// Workers finish what is queued, then exit.
    fn drop(&mut self) {
        for q in lock(&self.queues).values() {
            q.close();
        }
    }
}
