//! One device's run queue: device shares in FIFO order, and the wait of its idle workers
//! (condvar wake-ups, after a short watch).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::exec::batch::{select, Job, NextJob};
use crate::exec::clock::Clock;
use crate::exec::lock;
use crate::exec::request::DeviceOps;

pub(crate) struct RunQueue {
    pub clock: Arc<dyn Clock>,
    pub items: Mutex<VecDeque<DeviceOps>>,
    pub ready: Condvar,
    pub closing: AtomicBool,
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
    pub fn new(clock: Arc<dyn Clock>) -> RunQueue {
        RunQueue {
            clock,
            items: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            closing: AtomicBool::new(false),
            pushes: AtomicU64::new(0),
            sleepers: AtomicUsize::new(0),
        }
    }

    pub fn push_back(&self, share: DeviceOps) {
        self.push(share, false)
    }

    pub fn push_front(&self, share: DeviceOps) {
        self.push(share, true)
    }

    fn push(&self, share: DeviceOps, front: bool) {
        let sleeping = {
            let mut q = lock(&self.items);
            if front {
                q.push_front(share);
            } else {
                q.push_back(share);
            }
            self.pushes.fetch_add(1, Ordering::Release);
            self.sleepers.load(Ordering::Relaxed) > 0
        };
        if sleeping {
            self.ready.notify_one();
        }
    }

    /// Tells the workers to finish what is queued and exit.
    pub fn close(&self) {
        self.closing.store(true, Ordering::Release);
        self.ready.notify_all();
    }

    /// Makes idle workers look at the queue again (after a `ManualClock` moved).
    pub fn wake(&self) {
        // Taking the lock orders this wake-up after a worker's decision to wait.
        drop(lock(&self.items));
        self.ready.notify_all();
    }

    /// Sleeps on `ready` (at most `timeout`), counted in `sleepers`.
    fn sleep<'a>(
        &self,
        q: MutexGuard<'a, VecDeque<DeviceOps>>,
        timeout: Option<Duration>,
    ) -> Option<MutexGuard<'a, VecDeque<DeviceOps>>> {
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

    /// The next job, or `None` once the queue is closing and empty. A batch whose
    /// MINBATCHSIZE is not reached yet leaves its shares queued, lets the worker take other
    /// work, and sleeps until a new share arrives or its MINBATCHTIMEOUT deadline passes.
    pub fn pop(&self) -> Option<Job> {
        let mut q = lock(&self.items);
        let mut spun = false;
        loop {
            let closing = self.closing.load(Ordering::Acquire);
            match select(&mut q, closing, self.clock.now()) {
                NextJob::Run(job) => return Some(job),
                NextJob::WaitUntil(_) if closing && q.is_empty() => return None,
                // Closing: select runs incomplete batches, so a wait here means an empty queue.
                NextJob::WaitUntil(None) if closing => return None,
                // Watch for work a moment before sleeping; whatever the watch saw, the queue
                // is looked at again under the lock before any wait (no lost wake-up).
                NextJob::WaitUntil(None) if !spun => {
                    spun = true;
                    let seen = self.pushes.load(Ordering::Acquire);
                    drop(q);
                    self.spin_for_push(seen);
                    q = lock(&self.items);
                }
                NextJob::WaitUntil(None) => q = self.sleep(q, None)?,
                NextJob::WaitUntil(Some(deadline)) => {
                    let left = deadline.saturating_duration_since(self.clock.now());
                    q = self.sleep(q, Some(left))?;
                }
            }
        }
    }
}
