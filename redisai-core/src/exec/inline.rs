//! Which runs are cheap enough to run on the thread that submitted them. For a model of a few
//! microseconds, the hand-off to a queue worker and the wake-up back cost several times the
//! run. A face opts in per request ([`crate::Engine::run_here_or_submit`]); the threshold is
//! configured, or measured on this machine when the engine starts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::exec::plan::{OpKind, RunOp};
use crate::handoff;
use crate::tensor::Tensor;

/// A model whose slowest recent run took more than this many times the threshold runs on the
/// queue, however cheap its mean: an occasional heavy run must not hold the submitting thread
/// for long. (Preemption stretches some cheap runs too; at 16 clients on 2 vCPUs they stay
/// below this.)
const PEAK_FACTOR: u64 = 50;

/// With a measured threshold, the cap of [`InlineLimit::peak_cap_us`]: slow wake-ups on a
/// crowded machine raise the threshold (up to 200 µs), not how long the submitting thread may
/// be held (50 times that would be 10 ms).
const AUTO_PEAK_MAX_US: u64 = 2_000;

/// The bounds of a measured inline threshold (`inline_run_max_us: None`), in microseconds. The
/// lower one is what a fast host measures, and the threshold before the measurement ends; the
/// upper one keeps a crowded machine's wake-ups from letting heavy runs hold I/O threads.
pub const AUTO_INLINE_US: std::ops::RangeInclusive<u64> = 20..=200;

/// Round trips of the hand-off measurement, and the pause before each (both threads asleep by
/// then, as between the requests of a client): ~5 ms at startup on a slow VM.
const HANDOFF_ROUNDS: usize = 31;
const HANDOFF_PAUSE: Duration = Duration::from_micros(100);

/// Inputs above this size never run on the submitting thread: a model's cost grows with its
/// input, so a cheap model fed a large tensor is not cheap.
const MAX_INPUT_BYTES: usize = 64 * 1024;

/// The inline threshold: configured, or measured in the background.
pub(crate) struct InlineLimit {
    /// The configured threshold in microseconds (0: never); `None`: the measured hand-off.
    configured: Option<u64>,
    /// The measured hand-off in microseconds, once measured (0 until then).
    handoff_us: AtomicU64,
}

impl InlineLimit {
    /// `configured`: see [`crate::EngineConfig::inline_run_max_us`]. `None` starts the
    /// measurement on a thread of its own; without that thread, the lower bound stays.
    pub fn new(configured: Option<u64>) -> Arc<InlineLimit> {
        let limit = Arc::new(InlineLimit {
            configured,
            handoff_us: AtomicU64::new(0),
        });
        if configured.is_none() {
            let measured = limit.clone();
            let _ = std::thread::Builder::new()
                .name("redisai-calibrate".into())
                .spawn(move || {
                    if let Some(t) = handoff::round_trip(HANDOFF_ROUNDS, HANDOFF_PAUSE) {
                        let us = u64::try_from(t.as_micros()).unwrap_or(u64::MAX).max(1);
                        measured.handoff_us.store(us, Ordering::Relaxed);
                    }
                });
        }
        limit
    }

    /// Runs estimated at most this many microseconds may run on the submitting thread; before
    /// the measurement ends, the lower bound of [`AUTO_INLINE_US`].
    pub fn max_us(&self) -> u64 {
        self.configured.unwrap_or_else(|| {
            let us = self.handoff_us.load(Ordering::Relaxed);
            us.clamp(*AUTO_INLINE_US.start(), *AUTO_INLINE_US.end())
        })
    }

    /// The measured hand-off, once measured.
    pub fn measured_us(&self) -> Option<u64> {
        Some(self.handoff_us.load(Ordering::Relaxed)).filter(|&us| us > 0)
    }

    /// What the slowest recent run of an inline model may take at most.
    fn peak_cap_us(&self) -> u64 {
        match self.configured {
            Some(_) => u64::MAX,
            None => AUTO_PEAK_MAX_US,
        }
    }

    /// Whether a request of these ops over these slots may run on the submitting thread: one
    /// unbatched model op on the CPU, cheap by its recent runs, with small inputs, whose model
    /// no queue worker is running right now.
    pub fn allows(&self, ops: &[RunOp], slots: &[Option<Arc<Tensor>>]) -> bool {
        let max = self.max_us();
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
                .is_some_and(|n| n <= MAX_INPUT_BYTES)
        };
        max > 0
            && op.queue == "CPU"
            && model.batch.size == 0
            && model.cost.estimate_us().is_some_and(|us| us <= max)
            && model.cost.peak_us() <= max.saturating_mul(PEAK_FACTOR).min(self.peak_cap_us())
            && !model.cost.on_workers()
            && small_inputs()
    }
}
