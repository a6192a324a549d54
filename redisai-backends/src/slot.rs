//! A model's runtime state that runs take turns on (ONNX's session, LiteRT's compiled model and
//! buffers: both are used through `&mut`). A run waiting for its turn gives up at its deadline
//! or after its `max_wait` (a plain mutex could not), so a queue of runs behind a slow one still
//! times out on time, and a run on a server's I/O thread goes to the queue instead of waiting.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use redisai_core::{Error, Result};

/// Where the state waits between runs.
pub(crate) struct Slot<T> {
    idle: Mutex<Option<T>>,
    returned: Condvar,
    /// Runs waiting on `returned`, changed and read under the `idle` lock: giving the state back
    /// makes the wake-up system call only when a run waits.
    waiting: AtomicUsize,
}

impl<T> Slot<T> {
    pub(crate) fn new(state: T) -> Slot<T> {
        Slot {
            idle: Mutex::new(Some(state)),
            returned: Condvar::new(),
            waiting: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<T>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state, once the run before has given it back; past `until`, `Error::RunTimedOut`;
    /// after waiting `max_wait`, `Error::RunWouldBlock`.
    pub(crate) fn take(
        &self,
        until: Option<Instant>,
        max_wait: Option<Duration>,
    ) -> Result<Turn<'_, T>> {
        let gave_up = max_wait.map(|w| Instant::now() + w);
        let mut idle = self.lock();
        loop {
            if let Some(state) = idle.take() {
                return Ok(Turn {
                    slot: self,
                    state: Some(state),
                });
            }
            let now = Instant::now();
            if until.is_some_and(|u| now >= u) {
                return Err(Error::RunTimedOut);
            }
            if gave_up.is_some_and(|g| now >= g) {
                return Err(Error::RunWouldBlock);
            }
            let wake_at = match (until, gave_up) {
                (Some(u), Some(g)) => Some(u.min(g)),
                (u, g) => u.or(g),
            };
            self.waiting.fetch_add(1, Ordering::Relaxed);
            idle = match wake_at {
                None => self
                    .returned
                    .wait(idle)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(at) => {
                    self.returned
                        .wait_timeout(idle, at.saturating_duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            self.waiting.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// The state out of its slot; back in on drop (also when a run panics).
pub(crate) struct Turn<'a, T> {
    slot: &'a Slot<T>,
    state: Option<T>,
}

impl<T> Turn<'_, T> {
    pub(crate) fn get(&mut self) -> Result<&mut T> {
        self.state
            .as_mut()
            .ok_or_else(|| Error::backend("ERR the model's state is unavailable"))
    }
}

impl<T> Drop for Turn<'_, T> {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            let mut idle = self.slot.lock();
            *idle = Some(state);
            let waiting = self.slot.waiting.load(Ordering::Relaxed) > 0;
            drop(idle);
            if waiting {
                self.slot.returned.notify_one();
            }
        }
    }
}
