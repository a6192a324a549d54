//! Run statistics (AI.INFO): one record per model or script key name, created fresh when the
//! value is stored or loaded, dropped with the value, never persisted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::model::BackendKind;
use crate::reply::Reply;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Model,
    Script,
}

/// The counters of one model or script.
#[derive(Debug)]
pub struct RunStats {
    pub key: Bytes,
    pub kind: RunKind,
    pub backend: BackendKind,
    pub device: String,
    pub tag: Bytes,
    duration_us: AtomicU64,
    samples: AtomicI64,
    calls: AtomicU64,
    errors: AtomicU64,
}

impl RunStats {
    fn fresh(
        key: Bytes,
        kind: RunKind,
        backend: BackendKind,
        device: String,
        tag: Bytes,
    ) -> Arc<RunStats> {
        Arc::new(RunStats {
            key,
            kind,
            backend,
            device,
            tag,
            duration_us: AtomicU64::new(0),
            samples: AtomicI64::new(0),
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        })
    }

    /// A successful run: its backend time and, for models, the samples (dim 0 of the first
    /// output).
    pub fn record_ok(&self, duration_us: u64, samples: i64) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.duration_us.fetch_add(duration_us, Ordering::Relaxed);
        self.samples.fetch_add(samples, Ordering::Relaxed);
    }

    pub fn record_error(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        self.duration_us.store(0, Ordering::Relaxed);
        self.samples.store(0, Ordering::Relaxed);
        self.calls.store(0, Ordering::Relaxed);
        self.errors.store(0, Ordering::Relaxed);
    }

    /// The AI.INFO reply (scripts report -1 samples, as RedisAI does).
    pub fn reply(&self) -> Reply {
        let (kind, samples) = match self.kind {
            RunKind::Model => ("MODEL", self.samples.load(Ordering::Relaxed)),
            RunKind::Script => ("SCRIPT", -1),
        };
        let text = |k: &str| Reply::text(k);
        Reply::Array(vec![
            text("key"),
            Reply::Bulk(self.key.clone()),
            text("type"),
            text(kind),
            text("backend"),
            text(self.backend.name()),
            text("device"),
            text(&self.device),
            text("tag"),
            Reply::Bulk(self.tag.clone()),
            text("duration"),
            Reply::Int(self.duration_us.load(Ordering::Relaxed) as i64),
            text("samples"),
            Reply::Int(samples),
            text("calls"),
            Reply::Int(self.calls.load(Ordering::Relaxed) as i64),
            text("errors"),
            Reply::Int(self.errors.load(Ordering::Relaxed) as i64),
        ])
    }
}

/// All records, keyed by key name (across databases, as in RedisAI).
#[derive(Debug, Default)]
pub struct StatsTable {
    map: Mutex<HashMap<Bytes, Arc<RunStats>>>,
}

/// A record that leaves the table when the value owning it is dropped, unless the table already
/// points at a newer record for that name.
#[derive(Debug)]
pub struct StatsHandle {
    table: Arc<StatsTable>,
    stats: Arc<RunStats>,
}

impl StatsHandle {
    pub fn stats(&self) -> &Arc<RunStats> {
        &self.stats
    }
}

impl Drop for StatsHandle {
    fn drop(&mut self) {
        if let Ok(mut map) = self.table.map.lock() {
            if map
                .get(&self.stats.key)
                .is_some_and(|s| Arc::ptr_eq(s, &self.stats))
            {
                map.remove(&self.stats.key);
            }
        }
    }
}

impl StatsTable {
    /// A fresh record for `key`, replacing any previous one.
    pub fn create(
        self: &Arc<Self>,
        key: Bytes,
        kind: RunKind,
        backend: BackendKind,
        device: String,
        tag: Bytes,
    ) -> StatsHandle {
        let stats = RunStats::fresh(key.clone(), kind, backend, device, tag);
        if let Ok(mut map) = self.map.lock() {
            map.insert(key, stats.clone());
        }
        StatsHandle {
            table: self.clone(),
            stats,
        }
    }

    /// A record in no table: the counters of a model or script under no key (one made through
    /// the low-level API), which AI.INFO and the scans do not list.
    pub fn unlisted(
        self: &Arc<Self>,
        kind: RunKind,
        backend: BackendKind,
        device: String,
        tag: Bytes,
    ) -> StatsHandle {
        StatsHandle {
            table: self.clone(),
            stats: RunStats::fresh(Bytes::new(), kind, backend, device, tag),
        }
    }

    pub fn get(&self, key: &[u8]) -> Option<Arc<RunStats>> {
        self.map.lock().ok()?.get(key).cloned()
    }

    /// `[key, tag]` pairs of every record of `kind` (AI._MODELSCAN / AI._SCRIPTSCAN).
    pub fn scan(&self, kind: RunKind) -> Reply {
        let Ok(map) = self.map.lock() else {
            return Reply::Array(Vec::new());
        };
        Reply::Array(
            map.values()
                .filter(|s| s.kind == kind)
                .map(|s| Reply::Array(vec![Reply::Bulk(s.key.clone()), Reply::Bulk(s.tag.clone())]))
                .collect(),
        )
    }
}

/// A model's recent cost per run on its own (not batched), for deciding whether a run is cheap
/// enough to run on the thread that received it: an exponentially weighted mean of backend time,
/// in nanoseconds.
#[derive(Debug)]
pub struct RunCost {
    nanos: AtomicU64,
    /// The slowest recent run, uncapped, decaying by 1/32 per run: a model whose runs are
    /// sometimes much slower than its mean is not cheap.
    peak: AtomicU64,
    /// Runs of the model on queue workers right now.
    on_workers: AtomicUsize,
}

impl Default for RunCost {
    /// Unknown until the first run.
    fn default() -> Self {
        RunCost {
            nanos: AtomicU64::new(u64::MAX),
            peak: AtomicU64::new(0),
            on_workers: AtomicUsize::new(0),
        }
    }
}

/// A run on a queue worker, counted until dropped.
pub struct WorkerRun<'a>(&'a RunCost);

impl Drop for WorkerRun<'_> {
    fn drop(&mut self) {
        self.0.on_workers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl RunCost {
    /// Counts a run on a queue worker while the guard lives. A backend may serialize the runs of
    /// one model (ONNX does), so a cheap run must not wait on the submitting thread behind one
    /// that was queued because it was not cheap.
    pub fn worker_run(&self) -> WorkerRun<'_> {
        self.on_workers.fetch_add(1, Ordering::Relaxed);
        WorkerRun(self)
    }

    /// Whether a queue worker is running the model now.
    pub fn on_workers(&self) -> bool {
        self.on_workers.load(Ordering::Relaxed) > 0
    }

    /// Microseconds, `None` before any run.
    pub fn estimate_us(&self) -> Option<u64> {
        self.nanos().map(|ns| ns / 1000)
    }

    /// The slowest recent run, in microseconds.
    pub fn peak_us(&self) -> u64 {
        self.peak.load(Ordering::Relaxed) / 1000
    }

    fn nanos(&self) -> Option<u64> {
        match self.nanos.load(Ordering::Relaxed) {
            u64::MAX => None,
            ns => Some(ns),
        }
    }

    /// Folds in one run (weight 1/8); racing updates may drop one, which only delays the mean.
    /// A run counts for at most 4× the mean (+10 µs): wall time includes the thread being
    /// preempted, and one such outlier must not send the next runs through the queue. A model
    /// that really got slower still crosses any threshold within a few runs (×1.375 per run).
    pub fn observe(&self, took: std::time::Duration) {
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX - 1);
        let next = match self.nanos() {
            None => ns.min(u64::MAX - 1),
            Some(old) => {
                let ns = ns.min(old.saturating_mul(4).saturating_add(10_000));
                old - old / 8 + ns / 8
            }
        };
        self.nanos.store(next, Ordering::Relaxed);
        let peak = self.peak.load(Ordering::Relaxed);
        self.peak.store(ns.max(peak - peak / 32), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::RunCost;
    use std::time::Duration;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn the_mean_follows_runs_and_decays() {
        let c = RunCost::default();
        assert_eq!(c.estimate_us(), None);
        // A slow first run (a runtime warming up) is forgotten within a few dozen runs.
        c.observe(us(2000));
        assert_eq!(c.estimate_us(), Some(2000));
        for _ in 0..60 {
            c.observe(us(3));
        }
        assert!(c.estimate_us().unwrap() <= 4, "{:?}", c.estimate_us());
        // Small values still move (nanosecond resolution).
        for _ in 0..60 {
            c.observe(Duration::from_nanos(500));
        }
        assert_eq!(c.estimate_us(), Some(0));
    }

    #[test]
    fn one_outlier_barely_moves_the_mean_but_sets_the_peak() {
        let c = RunCost::default();
        for _ in 0..20 {
            c.observe(us(3));
        }
        c.observe(us(5000));
        // Counted as at most 4× the mean + 10 µs.
        assert!(c.estimate_us().unwrap() <= 5, "{:?}", c.estimate_us());
        assert_eq!(c.peak_us(), 5000);
        // The peak halves in about 22 runs.
        for _ in 0..22 {
            c.observe(us(3));
        }
        assert!((2000..=2600).contains(&c.peak_us()), "{}", c.peak_us());
    }

    #[test]
    fn a_model_that_got_slower_is_seen_within_a_few_runs() {
        let c = RunCost::default();
        for _ in 0..20 {
            c.observe(us(3));
        }
        let mut runs = 0;
        while c.estimate_us().unwrap() <= 20 {
            c.observe(us(1000));
            runs += 1;
        }
        assert!(runs <= 8, "{runs}");
    }

    #[test]
    fn worker_runs_are_counted_while_they_last() {
        let c = RunCost::default();
        assert!(!c.on_workers());
        let a = c.worker_run();
        let b = c.worker_run();
        drop(a);
        assert!(c.on_workers());
        drop(b);
        assert!(!c.on_workers());
    }
}
