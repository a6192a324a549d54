//! Snapshots in Redis's RDB format: SAVE, BGSAVE, the `save` rules, the snapshot at SHUTDOWN
//! and at FLUSHALL, DEBUG RELOAD, the load at start, and what INFO persistence reports.
//!
//! A snapshot is taken under the keyspace lock as a copy of the keyspace (engine values are
//! `Arc`s and strings `Bytes`, so the copy is cheap) and written without the lock: BGSAVE writes
//! on a thread of its own while the server keeps answering. A file is written to a temporary
//! name, fsynced, renamed over the old one and the directory fsynced, so a crash leaves either
//! the old snapshot or the new one.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use redisai_core::Engine;

use crate::db::Db;
use crate::rdb;

/// A `save` rule: snapshot when at least `changes` writes happened in the last `seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveRule {
    pub seconds: u64,
    pub changes: u64,
}

/// Parses Redis's `save` value: `"3600 1 300 100"` (pairs), or `""` for none.
pub fn parse_save_rules(text: &str) -> Option<Vec<SaveRule>> {
    let numbers: Vec<u64> = text
        .split_whitespace()
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    if !numbers.len().is_multiple_of(2) {
        return None;
    }
    Some(
        numbers
            .chunks(2)
            .map(|p| SaveRule {
                seconds: p[0],
                changes: p[1],
            })
            .collect(),
    )
}

pub fn format_save_rules(rules: &[SaveRule]) -> String {
    rules
        .iter()
        .map(|r| format!("{} {}", r.seconds, r.changes))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Redis's default `save`.
pub const DEFAULT_SAVE: &str = "3600 1 300 100 60 10000";

/// Where snapshots go and what has happened to them.
pub struct Persistence {
    pub dir: Mutex<PathBuf>,
    pub dbfilename: Mutex<String>,
    pub save_rules: Mutex<Vec<SaveRule>>,
    /// Writes since the last successful snapshot.
    dirty: AtomicU64,
    /// Unix seconds of the last successful snapshot (or of the start).
    last_save: AtomicU64,
    last_save_instant: Mutex<Instant>,
    bgsave_in_progress: AtomicBool,
    last_bgsave_ok: AtomicBool,
    last_bgsave_seconds: AtomicU64,
    /// One snapshot at a time: SAVE, BGSAVE and the rules share the file.
    writing: std::sync::Mutex<()>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The outcome of a snapshot, for the reply and the log.
pub type SaveResult = Result<(), String>;

impl Persistence {
    pub fn new(dir: PathBuf, dbfilename: String, save_rules: Vec<SaveRule>) -> Persistence {
        Persistence {
            dir: Mutex::new(dir),
            dbfilename: Mutex::new(dbfilename),
            save_rules: Mutex::new(save_rules),
            dirty: AtomicU64::new(0),
            last_save: AtomicU64::new(unix_now()),
            last_save_instant: Mutex::new(Instant::now()),
            bgsave_in_progress: AtomicBool::new(false),
            last_bgsave_ok: AtomicBool::new(true),
            last_bgsave_seconds: AtomicU64::new(0),
            writing: std::sync::Mutex::new(()),
        }
    }

    /// The snapshot file.
    pub fn path(&self) -> PathBuf {
        self.dir.lock().join(&*self.dbfilename.lock())
    }

    /// A write command succeeded.
    pub fn note_write(&self) {
        self.dirty.fetch_add(1, Ordering::Relaxed);
    }

    pub fn last_save(&self) -> u64 {
        self.last_save.load(Ordering::Relaxed)
    }

    pub fn has_save_rules(&self) -> bool {
        !self.save_rules.lock().is_empty()
    }

    /// A copy of the keyspace to write, deadlines included (taken under the caller's lock;
    /// without deadlines, no second lookup per key).
    pub fn copy(db: &Db) -> Vec<rdb::Entry> {
        let deadlines = db.expires_len() > 0;
        db.iter()
            .map(|(k, v)| rdb::Entry {
                key: k.clone(),
                value: v.clone(),
                expire_ms: if deadlines { db.expiry(k) } else { None },
            })
            .collect()
    }

    /// Writes `entries` as the snapshot file, atomically. `dirty_before`: the write count the
    /// copy reflects; writes made while writing stay counted.
    pub fn write(
        &self,
        entries: &[rdb::Entry],
        model_chunk_size: u64,
        dirty_before: u64,
        pace: Pace,
    ) -> SaveResult {
        let _one = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let started = Instant::now();
        let path = self.path();
        let result = write_atomically(&path, pace, |out| {
            let mut it = entries.iter().map(|e| (&e.key, &e.value, e.expire_ms));
            rdb::write_snapshot(out, &mut it, model_chunk_size)
        })
        .map_err(|e| format!("cannot write {}: {e}", path.display()));
        if result.is_ok() {
            self.dirty.fetch_sub(
                dirty_before.min(self.dirty.load(Ordering::Relaxed)),
                Ordering::Relaxed,
            );
            self.last_save.store(unix_now(), Ordering::Relaxed);
            *self.last_save_instant.lock() = Instant::now();
            tracing::info!(
                "DB saved on disk ({} keys, {:.3} s)",
                entries.len(),
                started.elapsed().as_secs_f64()
            );
        } else if let Err(e) = &result {
            tracing::warn!("snapshot failed: {e}");
        }
        result
    }

    /// SAVE: the copy and the write, on the calling thread.
    pub fn save(&self, db: &Db, model_chunk_size: u64) -> SaveResult {
        let dirty = self.dirty.load(Ordering::Relaxed);
        let entries = Persistence::copy(db);
        self.write(&entries, model_chunk_size, dirty, Pace::Foreground)
    }

    /// BGSAVE: the copy now, the write on a thread. `false` if one is already running.
    pub fn bgsave(self: &Arc<Self>, db: &Db, model_chunk_size: u64) -> bool {
        if self.bgsave_in_progress.swap(true, Ordering::AcqRel) {
            return false;
        }
        let dirty = self.dirty.load(Ordering::Relaxed);
        let entries = Persistence::copy(db);
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("redisai-bgsave".into())
            .spawn(move || {
                background_priority();
                let started = Instant::now();
                let ok = me
                    .write(&entries, model_chunk_size, dirty, Pace::Background)
                    .is_ok();
                me.last_bgsave_ok.store(ok, Ordering::Relaxed);
                me.last_bgsave_seconds
                    .store(started.elapsed().as_secs(), Ordering::Relaxed);
                me.bgsave_in_progress.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            self.last_bgsave_ok.store(false, Ordering::Relaxed);
            self.bgsave_in_progress.store(false, Ordering::Release);
        }
        true
    }

    /// Whether a `save` rule asks for a snapshot now.
    pub fn rule_due(&self) -> bool {
        let dirty = self.dirty.load(Ordering::Relaxed);
        let elapsed = self.last_save_instant.lock().elapsed().as_secs();
        self.save_rules
            .lock()
            .iter()
            .any(|r| dirty >= r.changes.max(1) && elapsed >= r.seconds)
    }

    /// Loads the snapshot file if there is one: `Ok(None)` when there is none.
    pub fn load(&self, engine: &Engine) -> Result<Option<rdb::Snapshot>, String> {
        let path = self.path();
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot open {}: {e}", path.display())),
        };
        let size = file.metadata().map_or(0, |m| m.len());
        let started = Instant::now();
        let mut last_report = Instant::now();
        let mut progress = |keys: u64, bytes: u64| {
            if last_report.elapsed().as_secs() >= 1 {
                last_report = Instant::now();
                tracing::info!(
                    "loading {}: {keys} keys, {bytes} of {size} bytes",
                    path.display()
                );
            }
        };
        let snapshot = rdb::read_snapshot(&mut BufReader::new(file), engine, &mut progress)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let writer = snapshot
            .aux
            .iter()
            .find(|(k, _)| k.as_ref() == b"redis-ver")
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_else(|| "?".into());
        tracing::info!(
            "DB loaded from disk: {} keys in {:.3} s (written as Redis {writer})",
            snapshot.entries.len(),
            started.elapsed().as_secs_f64()
        );
        Ok(Some(snapshot))
    }

    /// INFO persistence.
    pub fn info_fields(&self) -> Vec<(&'static str, String)> {
        let ok = |b: bool| if b { "ok" } else { "err" }.to_string();
        vec![
            ("loading", "0".into()),
            (
                "rdb_changes_since_last_save",
                self.dirty.load(Ordering::Relaxed).to_string(),
            ),
            (
                "rdb_bgsave_in_progress",
                (self.bgsave_in_progress.load(Ordering::Acquire) as u8).to_string(),
            ),
            ("rdb_last_save_time", self.last_save().to_string()),
            (
                "rdb_last_bgsave_status",
                ok(self.last_bgsave_ok.load(Ordering::Relaxed)),
            ),
            (
                "rdb_last_bgsave_time_sec",
                self.last_bgsave_seconds.load(Ordering::Relaxed).to_string(),
            ),
        ]
    }
}

/// Gives the calling thread the lowest CPU priority (nice 19), so a background snapshot or log
/// rewrite takes the CPU that serving leaves: Redis gets the same from forking a child, whose
/// work the kernel schedules apart from the main thread's. Best effort.
pub fn background_priority() {
    // SAFETY: gettid and setpriority take no pointers; a thread id is a valid PRIO_PROCESS
    // target on Linux (it sets that thread's nice value).
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19);
    }
}

/// A file written as a stream: every [`StreamingFile::CHUNK`] bytes, the chunk just written is
/// sent to the disk without waiting, and the one before it is waited for (Redis's
/// `rdb-save-incremental-fsync` does the like). With [`Pace::Background`] (background writes) a
/// chunk also leaves the page cache (as Redis 7.2 does for what its children write) and the
/// writer rests as long as the chunk took. The durability point is still the final fsync.
///
/// Why, measured on this project's 2-vCPU VM (benches/persistence.py, back-to-back BGSAVEs of
/// 1 GiB, p99 of 8 clients' AI.TENSORGET against the same without BGSAVE): writing as fast as
/// possible and leaving the pages to the kernel, 3-4x; pacing the writeback, 3x; dropping the
/// pages too, 2-2.6x; resting as well, 1.2-1.4x (Redis's forked child: 1.6-2.2x), with a
/// BGSAVE still 4x faster than Redis's. The disk traffic, not the CPU, is what slows the
/// serving threads: the same BGSAVE into tmpfs left the p99 alone. A SAVE keeps its pages
/// cached and does not rest: it is what SHUTDOWN writes, and the next start reads it from
/// memory.
pub struct StreamingFile {
    pub file: File,
    pace: Pace,
    written: u64,
    /// Where the chunk being filled starts.
    chunk_start: u64,
    chunk_began: Instant,
}

/// How a file is written: at full speed with its pages left cached (SAVE, SHUTDOWN, what the
/// start writes), or beside the serving, paced and dropped from the cache (BGSAVE,
/// BGREWRITEAOF).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    Foreground,
    Background,
}

impl StreamingFile {
    const CHUNK: u64 = 8 << 20;

    pub fn new(file: File, pace: Pace) -> StreamingFile {
        StreamingFile {
            file,
            pace,
            written: 0,
            chunk_start: 0,
            chunk_began: Instant::now(),
        }
    }

    fn chunk_done(&mut self) {
        use std::os::fd::AsRawFd;
        let fd = self.file.as_raw_fd();
        let (start, len) = (self.chunk_start as i64, Self::CHUNK as i64);
        // SAFETY: plain syscalls on an open descriptor; a failure only loses the pacing (the
        // final fsync is what makes the file durable, and reports errors).
        unsafe {
            libc::sync_file_range(fd, start, len, libc::SYNC_FILE_RANGE_WRITE);
            if start >= len {
                let before = start - len;
                libc::sync_file_range(
                    fd,
                    before,
                    len,
                    libc::SYNC_FILE_RANGE_WAIT_BEFORE
                        | libc::SYNC_FILE_RANGE_WRITE
                        | libc::SYNC_FILE_RANGE_WAIT_AFTER,
                );
                if self.pace == Pace::Background {
                    libc::posix_fadvise(fd, before, len, libc::POSIX_FADV_DONTNEED);
                }
            }
        }
        self.chunk_start += Self::CHUNK;
        if self.pace == Pace::Background {
            // A background write rests as long as its last chunk took: it runs at most half
            // of the time, at half the speed a SAVE reaches, whatever the disk.
            let spent = self.chunk_began.elapsed();
            std::thread::sleep(spent);
            self.chunk_began = Instant::now();
        }
    }
}

impl Write for StreamingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        while self.written >= self.chunk_start + Self::CHUNK {
            self.chunk_done();
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Writes a file through a temporary one in the same directory, fsynced, then renamed over
/// `path`, then the directory fsynced.
fn write_atomically(
    path: &Path,
    pace: Pace,
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let result = (|| {
        let mut out = BufWriter::new(StreamingFile::new(File::create(&tmp)?, pace));
        body(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?.file;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_rules_parse_as_redis_writes_them() {
        let rules = parse_save_rules(DEFAULT_SAVE).unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(
            rules[1],
            SaveRule {
                seconds: 300,
                changes: 100
            }
        );
        assert_eq!(format_save_rules(&rules), DEFAULT_SAVE);
        assert_eq!(parse_save_rules(""), Some(vec![]));
        assert_eq!(parse_save_rules("3600"), None);
        assert_eq!(parse_save_rules("a 1"), None);
    }
}
