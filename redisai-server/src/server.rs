//! Shared server state and the per-connection session.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;
use redisai_core::backend::{Registry, ScriptHost};
use redisai_core::{Engine, EngineConfig};
use tokio::sync::Notify;

use crate::db::Db;
use crate::host::Host;
use crate::persist::Persistence;

/// Settings from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    pub port: u16,
    pub bind: String,
    pub requirepass: Option<Bytes>,
    /// Threads of the I/O runtime (default: one per CPU).
    pub io_threads: usize,
    /// The engine's load-time settings (BACKENDSPATH, THREADS_PER_QUEUE, ...).
    pub engine: EngineConfig,
    /// Where snapshots go (`--dir`, `--dbfilename`) and when (`--save`).
    pub dir: std::path::PathBuf,
    pub dbfilename: String,
    pub save_rules: Vec<crate::persist::SaveRule>,
    /// `--appendonly`, `--appendfsync`, `--appendfilename`.
    pub appendonly: bool,
    pub appendfsync: crate::aof::Fsync,
    pub appendfilename: String,
    /// `--loglevel`, `--logfile` (empty: standard output).
    pub loglevel: String,
    pub logfile: String,
    /// The config file the server started from (what CONFIG REWRITE writes).
    pub config_file: Option<std::path::PathBuf>,
}

/// Everything the connections share.
pub struct Shared {
    pub db: Mutex<Db>,
    pub engine: Engine,
    /// `redis.execute` and `redisAI.model_execute` for scripts.
    pub host: Arc<dyn ScriptHost>,
    pub options: Options,
    pub started: Instant,
    pub next_client_id: AtomicU64,
    pub connected_clients: AtomicUsize,
    pub total_connections: AtomicU64,
    pub total_commands: AtomicU64,
    pub shutdown: Notify,
    pub persist: Arc<Persistence>,
    pub aof: Arc<crate::aof::Aof>,
    /// The settings in force (CONFIG GET, CONFIG SET, CONFIG REWRITE).
    pub settings: Mutex<Options>,
}

impl Shared {
    pub fn new(options: Options) -> Arc<Shared> {
        let mut registry = Registry::default();
        redisai_backends::register_all(&mut registry);
        let engine = Engine::new(options.engine.clone(), registry);
        let persist = Arc::new(Persistence::new(
            options.dir.clone(),
            options.dbfilename.clone(),
            options.save_rules.clone(),
        ));
        let aof = Arc::new(crate::aof::Aof::new(
            options.dir.join(&options.appendfilename),
            options.appendfsync,
            options.appendonly,
        ));
        let settings = options.clone();
        Arc::new_cyclic(|me| Shared {
            db: Mutex::new(Db::default()),
            engine,
            host: Arc::new(Host { shared: me.clone() }),
            options,
            started: Instant::now(),
            next_client_id: AtomicU64::new(1),
            connected_clients: AtomicUsize::new(0),
            total_connections: AtomicU64::new(0),
            total_commands: AtomicU64::new(0),
            shutdown: Notify::new(),
            persist,
            aof,
            settings: Mutex::new(settings),
        })
    }

    pub fn request_shutdown(&self) {
        // notify_one keeps a permit if the accept loop is not waiting at this instant.
        self.shutdown.notify_one();
    }
}

/// The I/O runtime's thread count: tokio's default, one per CPU.
pub fn io_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One client connection's state.
pub struct Session {
    pub id: u64,
    pub addr: SocketAddr,
    pub local: SocketAddr,
    pub name: Bytes,
    pub lib_name: Bytes,
    pub lib_ver: Bytes,
    pub resp3: bool,
    pub authenticated: bool,
    /// Commands queued by MULTI, and whether one of them was refused (EXECABORT).
    pub multi: Option<(Vec<Vec<Bytes>>, bool)>,
    pub created: Instant,
    pub last_command: Bytes,
}

impl Session {
    pub fn new(shared: &Shared, addr: SocketAddr, local: SocketAddr) -> Session {
        Session {
            id: shared.next_client_id.fetch_add(1, Ordering::Relaxed),
            addr,
            local,
            name: Bytes::new(),
            lib_name: Bytes::new(),
            lib_ver: Bytes::new(),
            resp3: false,
            authenticated: shared.options.requirepass.is_none(),
            multi: None,
            created: Instant::now(),
            last_command: Bytes::new(),
        }
    }
}

/// What the connection does after replying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Continue,
    /// QUIT: reply, then close.
    Close,
    /// SHUTDOWN: close without a reply and stop the server.
    Shutdown,
}
