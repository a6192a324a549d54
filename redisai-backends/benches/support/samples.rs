//! The per-iteration times the benches keep beside criterion's own analysis, to print medians
//! and ratios of cases measured in the same run.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use criterion::black_box;

/// Samples criterion takes per case (the benches set `sample_size` to it).
pub const SAMPLES: usize = 50;

/// The per-iteration times of the samples criterion takes for one case.
#[derive(Default)]
pub struct Samples(RefCell<Vec<f64>>);

impl Samples {
    /// Times `iters` calls of `f`, as `Bencher::iter_custom` wants, and keeps the time per call.
    pub fn time<O>(&self, iters: u64, mut f: impl FnMut() -> O) -> Duration {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(f());
        }
        let elapsed = start.elapsed();
        self.0
            .borrow_mut()
            .push(elapsed.as_nanos() as f64 / iters.max(1) as f64);
        elapsed
    }

    /// The median of the measured samples: criterion calls the routine for its warm-up first,
    /// then exactly `SAMPLES` times. `None` when it did not measure (`--test`, a filter).
    pub fn median_ns(&self) -> Option<f64> {
        let all = self.0.borrow();
        let mut measured = all.get(all.len().checked_sub(SAMPLES)?..)?.to_vec();
        measured.sort_by(f64::total_cmp);
        Some((measured[SAMPLES / 2 - 1] + measured[SAMPLES / 2]) / 2.0)
    }
}
