//! Stopping runs: one watchdog thread for every ONNX model, for two reasons.
//!
//! - A request's deadline (TIMEOUT): the run registers its deadline here; the thread sleeps until
//!   the earliest one and terminates every run past it. The run reports [`timed_out`].
//! - MODEL_EXECUTION_TIMEOUT, RedisAI's kill switch: a model with a limit is watched, and while
//!   any is, the thread also wakes every [`TICK`] (RedisAI checks on its 10 Hz server cron) and
//!   terminates a run that has gone on longer than its model's limit. The run reports ORT's
//!   error, "Exiting due to terminate flag being set to true.", as RedisAI does.
//!
//! Each model has one [`Control`] (its `RunOptions`), reused by its runs, which take turns on the
//! model's session: starting a run costs no allocation and no wake-up of the thread.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use ort::session::RunOptions;
use redisai_core::Error;

use super::ort_error;

/// How often runs are checked against their model's MODEL_EXECUTION_TIMEOUT.
const TICK: Duration = Duration::from_millis(100);

/// The error of a run stopped at (or started after) its deadline.
pub(crate) fn timed_out() -> Error {
    Error::RunTimedOut
}

/// Why a run was terminated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stopped {
    Deadline,
    Limit,
}

const RUNNING: u8 = 0;
const AT_DEADLINE: u8 = 1;
const AT_LIMIT: u8 = 2;

/// A model's run control: the `RunOptions` its runs use, and what the watchdog needs to stop
/// the one in flight.
pub(crate) struct Control {
    options: RunOptions,
    /// MODEL_EXECUTION_TIMEOUT; `None`: no kill switch.
    limit: Option<Duration>,
    /// When the run in flight started; `None` between runs. The watchdog terminates only under
    /// this lock, so it never stops a run that has already ended.
    started: Mutex<Option<Instant>>,
    stopped: AtomicU8,
}

impl Control {
    /// A control for a model whose runs may last at most `limit` (watched from now on).
    pub(crate) fn new(limit: Option<Duration>) -> Result<Arc<Control>, Error> {
        let control = Arc::new(Control {
            options: RunOptions::new().map_err(ort_error)?,
            limit,
            started: Mutex::new(None),
            stopped: AtomicU8::new(RUNNING),
        });
        if limit.is_some() {
            let dog = watchdog();
            let mut state = dog.lock();
            start_thread(&mut state)?;
            state.limited.push(Arc::downgrade(&control));
            drop(state);
            // The thread may be asleep with no deadline and nothing watched.
            dog.wake.notify_one();
        }
        Ok(control)
    }

    pub(crate) fn options(&self) -> &RunOptions {
        &self.options
    }

    fn started(&self) -> MutexGuard<'_, Option<Instant>> {
        self.started.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the start of a run (the caller holds the model's session).
    pub(crate) fn begin(self: &Arc<Self>) -> Running<'_> {
        *self.started() = Some(Instant::now());
        Running {
            control: self,
            ended: false,
        }
    }

    /// Terminates the run in flight; the first reason stays.
    fn stop(&self, why: u8) {
        if self
            .stopped
            .compare_exchange(RUNNING, why, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            // Only fails on a null RunOptions, which a Control never holds.
            let _ = self.options.terminate();
        }
    }

    /// The watchdog's check against MODEL_EXECUTION_TIMEOUT.
    fn check_limit(&self, now: Instant) {
        let Some(limit) = self.limit else {
            return;
        };
        let started = self.started();
        if started.is_some_and(|t| now.saturating_duration_since(t) > limit) {
            self.stop(AT_LIMIT);
        }
    }
}

/// A run in flight; [`Running::end`] (or drop, after a panic) readies the control for the next.
pub(crate) struct Running<'a> {
    control: &'a Arc<Control>,
    ended: bool,
}

impl Running<'_> {
    /// Registers the run's deadline. Already past: [`timed_out`].
    pub(crate) fn deadline(&self, deadline: Instant) -> Result<Registration, Error> {
        if Instant::now() >= deadline {
            return Err(timed_out());
        }
        let dog = watchdog();
        let mut state = dog.lock();
        start_thread(&mut state)?;
        let key = (deadline, state.next_id);
        state.next_id += 1;
        let earliest = state.runs.first_key_value().is_none_or(|(&k, _)| key < k);
        state.runs.insert(key, self.control.clone());
        drop(state);
        if earliest {
            dog.wake.notify_one();
        }
        Ok(Registration { key })
    }

    /// Ends the run: whether (and why) the watchdog stopped it.
    pub(crate) fn end(mut self) -> Option<Stopped> {
        self.ended = true;
        self.finish()
    }

    fn finish(&self) -> Option<Stopped> {
        *self.control.started() = None;
        let why = match self.control.stopped.swap(RUNNING, Ordering::AcqRel) {
            RUNNING => return None,
            AT_DEADLINE => Stopped::Deadline,
            _ => Stopped::Limit,
        };
        let _ = self.control.options.unterminate();
        Some(why)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if !self.ended {
            self.finish();
        }
    }
}

#[derive(Default)]
struct State {
    /// Runs with a deadline, keyed by deadline, then by a sequence number (deadlines may tie).
    runs: BTreeMap<(Instant, u64), Arc<Control>>,
    /// Models with a MODEL_EXECUTION_TIMEOUT (dropped models are pruned at the next tick).
    limited: Vec<Weak<Control>>,
    next_id: u64,
    thread_started: bool,
}

#[derive(Default)]
struct Watchdog {
    state: Mutex<State>,
    wake: Condvar,
}

fn watchdog() -> &'static Watchdog {
    static WATCHDOG: OnceLock<Watchdog> = OnceLock::new();
    WATCHDOG.get_or_init(Watchdog::default)
}

fn start_thread(state: &mut State) -> Result<(), Error> {
    if !state.thread_started {
        std::thread::Builder::new()
            .name("onnx-watchdog".into())
            .spawn(|| watchdog().watch())
            .map_err(|e| {
                Error::backend(format!("ERR ONNX: cannot start the watchdog thread: {e}"))
            })?;
        state.thread_started = true;
    }
    Ok(())
}

impl Watchdog {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The thread: stop what is due, then sleep until the next deadline, the next tick (while a
    /// model has a limit) or a new registration.
    fn watch(&'static self) {
        let mut state = self.lock();
        let mut next_tick = Instant::now();
        loop {
            let now = Instant::now();
            while let Some(entry) = state.runs.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                entry.remove().stop(AT_DEADLINE);
            }
            if !state.limited.is_empty() && now >= next_tick {
                state.limited.retain(|c| match c.upgrade() {
                    Some(c) => {
                        c.check_limit(now);
                        true
                    }
                    None => false,
                });
                next_tick = now + TICK;
            }
            let deadline = state.runs.first_key_value().map(|(&(d, _), _)| d);
            let wake_at = match (deadline, state.limited.is_empty()) {
                (Some(d), false) => Some(d.min(next_tick)),
                (Some(d), true) => Some(d),
                (None, false) => Some(next_tick),
                (None, true) => None,
            };
            state = match wake_at {
                Some(at) => {
                    self.wake
                        .wait_timeout(state, at.saturating_duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }
}

/// A registered deadline; unregisters on drop.
pub(crate) struct Registration {
    key: (Instant, u64),
}

impl Drop for Registration {
    fn drop(&mut self) {
        // No wake-up needed: a thread sleeping towards this deadline finds nothing due and
        // sleeps again.
        watchdog().lock().runs.remove(&self.key);
    }
}
