//! The append-only file: every write command, in RESP, as Redis logs it. Store commands and
//! plain writes are logged as they came; a run is logged as the tensors it stored
//! (`AI.TENSORSET key TYPE dims BLOB data`, core's `Propagation::Effects`), never as a second
//! run. Replayed at start (the AOF wins over the RDB file when appendonly is on), rewritten by
//! BGREWRITEAOF from a copy of the keyspace through core's `store_args`.
//!
//! Every command is written to the file (the operating system) before its reply is sent, so a
//! crash of the process loses nothing acknowledged; with `appendfsync always` it is also on
//! disk (fdatasync) before the reply, so a crash of the machine loses nothing either.
//!
//! Writes are group commits, as Redis's one write per event-loop turn: commands are appended to
//! a buffer under the keyspace lock; a connection about to reply becomes the writer if none is
//! writing and writes (and syncs) everything buffered, for every connection, outside that lock;
//! the others wait, without holding a thread, until the writer says their bytes are in. One
//! large write costs much less than many small ones (the page cache zeroes each partial page),
//! and with `always` one fdatasync covers every command buffered before it.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::db::Value;
use crate::persist::Pace;

/// `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    Always,
    EverySec,
    No,
}

impl Fsync {
    pub fn parse(s: &str) -> Option<Fsync> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Some(Fsync::Always),
            "everysec" => Some(Fsync::EverySec),
            "no" => Some(Fsync::No),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::EverySec => "everysec",
            Fsync::No => "no",
        }
    }
}

/// The open file and what is waiting to go into it.
struct Log {
    file: Option<Arc<File>>,
    /// Appended, not written to the file yet.
    pending: Vec<u8>,
    /// Bytes appended since the start: the offsets below count in this stream, not in the file
    /// (a rewrite replaces the file, not the stream).
    appended: u64,
    /// While BGREWRITEAOF writes the new file: what was appended since its copy was taken.
    rewrite_tail: Option<Vec<u8>>,
}

pub struct Aof {
    pub path: PathBuf,
    pub fsync: Mutex<Fsync>,
    enabled: AtomicBool,
    log: Mutex<Log>,
    /// Held by the one connection writing the buffer (or by a rewrite swapping the file).
    writer: Mutex<()>,
    /// Appended bytes written to the file, and known to be on disk.
    written: AtomicU64,
    synced: AtomicU64,
    /// Appended bytes whose replies may go: written, and with `always` synced too.
    acked: watch::Sender<u64>,
    sync_lock: Mutex<()>,
    rewrite_in_progress: AtomicBool,
    last_rewrite_ok: AtomicBool,
    last_write_ok: AtomicBool,
}

/// Appends one command in RESP.
pub fn encode(out: &mut Vec<u8>, argv: &[Bytes]) {
    out.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

impl Aof {
    pub fn new(path: PathBuf, fsync: Fsync, enabled: bool) -> Aof {
        Aof {
            path,
            fsync: Mutex::new(fsync),
            enabled: AtomicBool::new(enabled),
            log: Mutex::new(Log {
                file: None,
                pending: Vec::new(),
                appended: 0,
                rewrite_tail: None,
            }),
            writer: Mutex::new(()),
            written: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            acked: watch::Sender::new(0),
            sync_lock: Mutex::new(()),
            rewrite_in_progress: AtomicBool::new(false),
            last_rewrite_ok: AtomicBool::new(true),
            last_write_ok: AtomicBool::new(true),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    /// CONFIG SET appendonly: on, the log starts from `entries` (a copy of the keyspace taken
    /// under its lock); off, it stops and the file is closed.
    pub fn set_enabled(
        &self,
        on: bool,
        entries: &[crate::rdb::Entry],
        model_chunk_size: u64,
    ) -> std::io::Result<()> {
        if !on {
            // What was appended goes to the file before it closes: its replies are waiting.
            let _writing = self.writer.lock();
            self.write_buffered();
            self.enabled.store(false, Ordering::Release);
            self.log.lock().file = None;
            return Ok(());
        }
        if self.enabled() {
            return Ok(());
        }
        self.write_rewrite(entries, model_chunk_size, Pace::Foreground)?;
        self.enabled.store(true, Ordering::Release);
        Ok(())
    }

    /// Opens the file for appending (creating it); logging starts.
    pub fn open(&self) -> std::io::Result<()> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.log.lock().file = Some(Arc::new(file));
        Ok(())
    }

    /// Logs a write command (the caller holds the keyspace lock, which orders the log as the
    /// commands ran).
    pub fn append(&self, argv: &[Bytes]) {
        if !self.enabled() {
            return;
        }
        let mut log = self.log.lock();
        // Not open yet: the file is being replayed, and what it holds must not be logged again.
        if log.file.is_none() {
            return;
        }
        let start = log.pending.len();
        encode(&mut log.pending, argv);
        let Log {
            pending,
            appended,
            rewrite_tail,
            ..
        } = &mut *log;
        *appended += (pending.len() - start) as u64;
        if let Some(tail) = rewrite_tail {
            tail.extend_from_slice(&pending[start..]);
        }
    }

    /// Logs several commands as one transaction (MULTI/EXEC), so a replay runs all or none.
    pub fn append_transaction(&self, commands: &[Vec<Bytes>]) {
        match commands {
            [] => {}
            [one] => self.append(one),
            many => {
                self.append(&[Bytes::from_static(b"MULTI")]);
                for c in many {
                    self.append(c);
                }
                self.append(&[Bytes::from_static(b"EXEC")]);
            }
        }
    }

    /// Before a reply: everything appended so far (this connection's commands among it) is
    /// in the file, and with `always` on the disk.
    pub async fn before_reply(&self) {
        if !self.enabled() {
            return;
        }
        let target = self.log.lock().appended;
        // Let the other connections ready on this thread run their commands first, so one
        // write carries them all (what Redis's event loop turn does).
        if *self.acked.borrow() < target {
            tokio::task::yield_now().await;
        }
        loop {
            let mut acked = self.acked.subscribe();
            if *acked.borrow_and_update() >= target {
                return;
            }
            let wrote = self.writer.try_lock().map(|_writing| self.write_buffered());
            match wrote {
                Some(true) => {}
                // The disk refuses: the replies wait (nothing unlogged is acknowledged), and
                // the write is tried again.
                Some(false) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
                // Another connection is writing; its publication wakes this one (one made
                // since `borrow_and_update` counts, so none is missed).
                None => {
                    let _ = acked.changed().await;
                }
            }
        }
    }

    /// Everything appended is written before the process exits (SHUTDOWN, SIGTERM).
    pub fn flush(&self) {
        if self.enabled() {
            let _writing = self.writer.lock();
            self.write_buffered();
        }
    }

    /// The writer's turn (the caller holds `writer`): the buffer into the file, synced with
    /// `always`, and the replies it covers released. `false` when the file refused it; what was
    /// not written goes back in front of the buffer.
    fn write_buffered(&self) -> bool {
        let (batch, file, end) = {
            let mut log = self.log.lock();
            (
                std::mem::take(&mut log.pending),
                log.file.clone(),
                log.appended,
            )
        };
        let Some(file) = file else {
            // Closed (appendonly off): nothing is logged, nothing waits.
            self.publish(end);
            return true;
        };
        let mut done = 0;
        let mut failure = None;
        while done < batch.len() {
            match (&*file).write(&batch[done..]) {
                Ok(0) => {
                    failure = Some(std::io::Error::from(std::io::ErrorKind::WriteZero));
                    break;
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let written_to = end - (batch.len() - done) as u64;
        self.written.fetch_max(written_to, Ordering::AcqRel);
        if let Some(e) = failure {
            self.log
                .lock()
                .pending
                .splice(0..0, batch[done..].iter().copied());
            self.note_write(Err(e), "writing");
            return false;
        }
        if *self.fsync.lock() == Fsync::Always {
            if let Err(e) = file.sync_data() {
                self.note_write(Err(e), "syncing");
                // Written, not durable: the next writer (or this one again) syncs.
                return false;
            }
            self.synced.fetch_max(end, Ordering::AcqRel);
        }
        self.note_write(Ok(()), "");
        self.publish(end);
        true
    }

    fn publish(&self, up_to: u64) {
        self.acked.send_if_modified(|acked| {
            let grew = up_to > *acked;
            *acked = (*acked).max(up_to);
            grew
        });
    }

    /// `aof_last_write_status`; a change of it is logged once, not every retry.
    fn note_write(&self, result: std::io::Result<()>, doing: &str) {
        let was_ok = self.last_write_ok.swap(result.is_ok(), Ordering::AcqRel);
        match result {
            Err(e) if was_ok => tracing::warn!("error {doing} the AOF (replies wait): {e}"),
            Ok(()) if !was_ok => tracing::warn!("AOF write error looks solved, writing again"),
            _ => {}
        }
    }

    /// Makes every byte up to `target` durable; a sync another thread made already counts.
    fn sync_to(&self, target: u64) {
        if self.synced.load(Ordering::Acquire) >= target {
            return;
        }
        let _one = self.sync_lock.lock();
        if self.synced.load(Ordering::Acquire) >= target {
            return;
        }
        let (file, up_to) = {
            let log = self.log.lock();
            (log.file.clone(), self.written.load(Ordering::Acquire))
        };
        if let Some(f) = file {
            match f.sync_data() {
                Ok(()) => {
                    self.synced.fetch_max(up_to, Ordering::AcqRel);
                }
                Err(e) => self.note_write(Err(e), "syncing"),
            }
        }
    }

    /// A thread that, once a second, writes what was appended with no reply to carry it and,
    /// with `everysec`, syncs what was written.
    pub fn start_everysec(self: &Arc<Self>) {
        let me = self.clone();
        let _ = std::thread::Builder::new()
            .name("redisai-aof-fsync".into())
            .spawn(move || loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
                if !me.enabled() {
                    continue;
                }
                // What was appended with no reply to write it (as Redis's cron flushes).
                if me.log.lock().appended > me.written.load(Ordering::Acquire) {
                    if let Some(_writing) = me.writer.try_lock() {
                        me.write_buffered();
                    }
                }
                if *me.fsync.lock() == Fsync::EverySec {
                    me.sync_to(me.written.load(Ordering::Acquire));
                }
            });
    }

    /// BGREWRITEAOF, phase one (under the keyspace lock): from now on appended commands are
    /// also kept for the new file. `false` if a rewrite is running.
    pub fn begin_rewrite(&self) -> bool {
        if self.rewrite_in_progress.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.log.lock().rewrite_tail = Some(Vec::new());
        true
    }

    /// BGREWRITEAOF, phase two (on a thread): the new file from the copy, then what was
    /// appended meanwhile, then it replaces the old one.
    /// `pace`: [`Pace::Background`] for BGREWRITEAOF, which runs beside the serving (see
    /// [`crate::persist::StreamingFile`]).
    pub fn finish_rewrite(&self, entries: &[crate::rdb::Entry], model_chunk_size: u64, pace: Pace) {
        let started = Instant::now();
        let result = self.write_rewrite(entries, model_chunk_size, pace);
        self.last_rewrite_ok
            .store(result.is_ok(), Ordering::Relaxed);
        match result {
            Ok(()) => tracing::info!(
                "Background AOF rewrite finished successfully ({} keys, {:.3} s)",
                entries.len(),
                started.elapsed().as_secs_f64()
            ),
            Err(e) => {
                self.log.lock().rewrite_tail = None;
                tracing::warn!("Background AOF rewrite failed: {e}");
            }
        }
        self.rewrite_in_progress.store(false, Ordering::Release);
    }

    fn write_rewrite(
        &self,
        entries: &[crate::rdb::Entry],
        model_chunk_size: u64,
        pace: Pace,
    ) -> std::io::Result<()> {
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = dir.join(format!("temp-rewriteaof-{}.aof", std::process::id()));
        let mut out = BufWriter::new(crate::persist::StreamingFile::new(
            File::create(&tmp)?,
            pace,
        ));
        let mut buf = Vec::new();
        for entry in entries {
            buf.clear();
            for argv in rewrite_commands(&entry.key, &entry.value, model_chunk_size) {
                encode(&mut buf, &argv);
            }
            if let Some(at) = entry.expire_ms {
                encode(&mut buf, &crate::expire::pexpireat(&entry.key, at));
            }
            out.write_all(&buf)?;
        }
        let mut file = out.into_inner().map_err(|e| e.into_error())?.file;
        // The commands that ran meanwhile, then the swap, with no writer writing and under the
        // log's lock: nothing is appended between the last of them and the new file taking
        // over. The buffer is in the new file already: what it holds from before the copy is
        // in the copy, what came after is in the tail.
        let _writing = self.writer.lock();
        let mut log = self.log.lock();
        let tail = log.rewrite_tail.take().unwrap_or_default();
        file.write_all(&tail)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        File::open(dir)?.sync_all()?;
        log.file = Some(Arc::new(OpenOptions::new().append(true).open(&self.path)?));
        log.pending.clear();
        let end = log.appended;
        drop(log);
        self.written.fetch_max(end, Ordering::AcqRel);
        self.synced.fetch_max(end, Ordering::AcqRel);
        self.publish(end);
        Ok(())
    }

    pub fn info_fields(&self) -> Vec<(&'static str, String)> {
        let ok = |b: &AtomicBool| {
            if b.load(Ordering::Relaxed) {
                "ok"
            } else {
                "err"
            }
            .to_string()
        };
        vec![
            ("aof_enabled", (self.enabled() as u8).to_string()),
            (
                "aof_rewrite_in_progress",
                (self.rewrite_in_progress.load(Ordering::Acquire) as u8).to_string(),
            ),
            ("aof_rewrite_scheduled", "0".into()),
            ("aof_last_bgrewrite_status", ok(&self.last_rewrite_ok)),
            ("aof_last_write_status", ok(&self.last_write_ok)),
        ]
    }
}

/// The commands that recreate one key (what a rewrite writes).
pub fn rewrite_commands(key: &Bytes, value: &Value, model_chunk_size: u64) -> Vec<Vec<Bytes>> {
    let b = |s: &'static str| Bytes::from_static(s.as_bytes());
    match value {
        Value::Ai(redisai_core::Value::Tensor(t)) => {
            vec![redisai_core::command::tensor_set_args(key, t)]
        }
        Value::Ai(redisai_core::Value::Model(m)) => vec![m.store_args(key, model_chunk_size)],
        Value::Ai(redisai_core::Value::Script(s)) => vec![s.store_args(key)],
        Value::Str(s) => vec![vec![b("SET"), key.clone(), s.clone()]],
        Value::Hash(h) => {
            let mut argv = vec![b("HSET"), key.clone()];
            for (f, v) in h {
                argv.push(f.clone());
                argv.push(v.clone());
            }
            vec![argv]
        }
        Value::List(l) => {
            let mut argv = vec![b("RPUSH"), key.clone()];
            argv.extend(l.iter().cloned());
            vec![argv]
        }
    }
}

/// One command read back from the file, or where reading stopped.
pub enum Replayed {
    Command(Vec<Bytes>),
    /// The file ends inside a command at this offset: a crash during a write (tolerated).
    Truncated(u64),
    End,
}

/// Reads the commands of an AOF one after another.
pub struct Reader {
    data: Bytes,
    pos: usize,
}

impl Reader {
    pub fn open(path: &Path) -> std::io::Result<Option<Reader>> {
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut data = Vec::new();
        file.read_to_end(&mut data)?;
        Ok(Some(Reader {
            data: Bytes::from(data),
            pos: 0,
        }))
    }

    pub fn len(&self) -> u64 {
        self.data.len() as u64
    }

    /// The next command; `Err` with the offset for anything but a truncated end.
    pub fn next_command(&mut self) -> Result<Replayed, String> {
        if self.pos == self.data.len() {
            return Ok(Replayed::End);
        }
        let start = self.pos;
        match self.parse_command() {
            Ok(Some(argv)) => Ok(Replayed::Command(argv)),
            Ok(None) => Ok(Replayed::Truncated(start as u64)),
            Err(()) => Err(format!("bad AOF format at byte {start}")),
        }
    }

    /// `Ok(None)`: the data ends first.
    fn parse_command(&mut self) -> Result<Option<Vec<Bytes>>, ()> {
        let Some(n) = self.header(b'*')? else {
            return Ok(None);
        };
        let mut argv = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let Some(len) = self.header(b'$')? else {
                return Ok(None);
            };
            if self.data.len() - self.pos < len + 2 {
                return Ok(None);
            }
            if &self.data[self.pos + len..self.pos + len + 2] != b"\r\n" {
                return Err(());
            }
            argv.push(self.data.slice(self.pos..self.pos + len));
            self.pos += len + 2;
        }
        if argv.is_empty() {
            return Err(());
        }
        Ok(Some(argv))
    }

    /// `<prefix><number>\r\n`.
    fn header(&mut self, prefix: u8) -> Result<Option<usize>, ()> {
        let rest = &self.data[self.pos..];
        let Some(&first) = rest.first() else {
            return Ok(None);
        };
        if first != prefix {
            return Err(());
        }
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return Ok(None);
        };
        if end < 2 || rest[end - 1] != b'\r' {
            return Err(());
        }
        let n = std::str::from_utf8(&rest[1..end - 1])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or(())?;
        self.pos += end + 1;
        Ok(Some(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    #[test]
    fn commands_read_back_and_a_truncated_end_is_found() {
        let mut data = Vec::new();
        encode(&mut data, &argv("SET a 1"));
        encode(
            &mut data,
            &[
                Bytes::from_static(b"SET"),
                Bytes::from_static(b"b\r\n"),
                Bytes::new(),
            ],
        );
        let whole = data.len();
        encode(&mut data, &argv("SET c 3"));
        let mut r = Reader {
            data: Bytes::from(data[..whole + 5].to_vec()),
            pos: 0,
        };
        assert!(matches!(r.next_command(), Ok(Replayed::Command(a)) if a == argv("SET a 1")));
        assert!(
            matches!(r.next_command(), Ok(Replayed::Command(a)) if a[1].as_ref() == b"b\r\n" && a[2].is_empty())
        );
        assert!(matches!(r.next_command(), Ok(Replayed::Truncated(o)) if o == whole as u64));
        let mut bad = Reader {
            data: Bytes::from_static(b"*1\r\n$3\r\nSETxx"),
            pos: 0,
        };
        assert!(bad.next_command().is_err());
        let mut garbage = Reader {
            data: Bytes::from_static(b"hello"),
            pos: 0,
        };
        assert_eq!(
            garbage.next_command().err(),
            Some("bad AOF format at byte 0".into())
        );
    }
}
