//! Deadlines: one watchdog thread for every run of every ONNX model.
//!
//! A run with a deadline registers a fresh `RunOptions` here and passes it to ORT. The thread
//! sleeps on a condvar until the earliest registered deadline (or until a new, earlier one
//! arrives), then sets the terminate flag of every run past its deadline: ORT stops at the next
//! node (and at every Loop iteration) with "Exiting due to terminate flag being set to true.",
//! which the run reports as [`timed_out`]. Runs without a deadline never touch this.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

use ort::session::RunOptions;
use redisai_core::Error;

use super::ort_error;

/// The text of a run stopped at its deadline; the engine replies `TIMEDOUT` for it.
pub(crate) const TIMEDOUT: &str = "TIMEDOUT";

/// The error of a run stopped at (or started after) its deadline.
pub(crate) fn timed_out() -> Error {
    Error::Backend(TIMEDOUT.to_string())
}

/// A run's cancellation handle.
pub(crate) struct Armed {
    options: RunOptions,
    fired: AtomicBool,
}

impl Armed {
    pub(crate) fn options(&self) -> &RunOptions {
        &self.options
    }

    /// Whether the watchdog terminated this run.
    pub(crate) fn fired(&self) -> bool {
        self.fired.load(Ordering::Acquire)
    }
}

#[derive(Default)]
struct State {
    /// Keyed by deadline, then by a sequence number (deadlines may tie).
    runs: BTreeMap<(Instant, u64), Arc<Armed>>,
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

impl Watchdog {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The thread: fire what is due, then sleep until the next deadline or a new registration.
    fn watch(&'static self) {
        let mut state = self.lock();
        loop {
            let now = Instant::now();
            while let Some(entry) = state.runs.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                let armed = entry.remove();
                armed.fired.store(true, Ordering::Release);
                // Only fails on a null RunOptions, which `arm` never registers.
                let _ = armed.options.terminate();
            }
            state = match state.runs.first_key_value() {
                Some((&(deadline, _), _)) => {
                    let timeout = deadline.saturating_duration_since(now);
                    self.wake
                        .wait_timeout(state, timeout)
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

/// A registered run; unregisters on drop.
pub(crate) struct Registration {
    key: (Instant, u64),
    armed: Arc<Armed>,
}

impl Registration {
    pub(crate) fn armed(&self) -> &Armed {
        &self.armed
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // No wake-up needed: a thread sleeping towards this deadline finds nothing due and
        // sleeps again.
        watchdog().lock().runs.remove(&self.key);
    }
}

/// Registers a run that must stop at `deadline`. Already past: [`timed_out`].
pub(crate) fn arm(deadline: Instant) -> Result<Registration, Error> {
    if Instant::now() >= deadline {
        return Err(timed_out());
    }
    let armed = Arc::new(Armed {
        options: RunOptions::new().map_err(ort_error)?,
        fired: AtomicBool::new(false),
    });
    let dog = watchdog();
    let mut state = dog.lock();
    if !state.thread_started {
        std::thread::Builder::new()
            .name("onnx-deadlines".into())
            .spawn(|| watchdog().watch())
            .map_err(|e| {
                Error::backend(format!("ERR ONNX: cannot start the deadline thread: {e}"))
            })?;
        state.thread_started = true;
    }
    let key = (deadline, state.next_id);
    state.next_id += 1;
    let earliest = state.runs.first_key_value().is_none_or(|(&k, _)| key < k);
    state.runs.insert(key, armed.clone());
    drop(state);
    if earliest {
        dog.wake.notify_one();
    }
    Ok(Registration { key, armed })
}
