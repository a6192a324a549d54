//! # redisai-server
//!
//! The standalone RESP server embedding the redisai-rs engine: no Redis needed; redis-cli,
//! redis-py, redisai-py and SmartRedis talk to it as to Redis with the RedisAI module.
//!
//! ## Layout
//! - `resp`: request framing (decoded by the `redis-protocol` crate) and reply encoding.
//! - `commands`: dispatch; the generic Redis commands; `AI.*` goes to the engine.
//! - `table`: the command table (arity, flags, key positions).
//! - `db`: the keyspace (engine values beside strings, hashes and lists).
//! - `connection`: one task per client connection.
//! - `info`: the INFO sections.
//! - `rdb`: RDB files and DUMP payloads in Redis's formats.

mod aof;
mod commands;
mod connection;
mod db;
mod expire;
mod glob;
mod host;
mod info;
mod log;
mod persist;
mod rdb;
mod resp;
mod server;
mod settings;
mod table;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::server::{Options, Shared};

/// `.deps/backends` of the checkout this binary was built from (where scripts/bootstrap puts
/// the runtimes), so the server finds them without any environment variable.
const DEFAULT_BACKENDS_PATH: &str = env!("REDISAI_DEFAULT_BACKENDS_PATH");

// Large tensors come and go with every AI.TENSORSET; mimalloc keeps their pages mapped where
// glibc's malloc returns them to the kernel and faults them in again.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    // TensorFlow logs every session's set-up to stderr unless told not to, as RedisAI tells it.
    // Set here, while the process has one thread: setenv races with getenv in other threads.
    if std::env::var_os("TF_CPP_MIN_LOG_LEVEL").is_none() {
        std::env::set_var("TF_CPP_MIN_LOG_LEVEL", "3");
    }
    let options = match settings::from_args(std::env::args().collect(), DEFAULT_BACKENDS_PATH) {
        Ok(Some(o)) => o,
        Ok(None) => return Ok(()),
        Err(e) => {
            eprintln!("redisai-server: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = log::init(&options.loglevel, &options.logfile) {
        eprintln!("redisai-server: {e}");
        std::process::exit(1);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.io_threads)
        .enable_all()
        .build()?;
    runtime.block_on(serve(options))
}

async fn serve(options: Options) -> anyhow::Result<()> {
    let addr = format!("{}:{}", options.bind, options.port);
    let listener = TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let shared = Shared::new(Options {
        port: local.port(),
        ..options
    });
    // A snapshot that cannot be read stops the start: nothing in it may be silently dropped.
    if let Err(e) = commands::load_at_start(&shared) {
        // The reason alone, on one line, as Redis logs it (no error chain or backtrace); on the
        // terminal too when the log is a file, so whoever started it sees why it stopped.
        tracing::error!("not starting: {e}");
        if !shared.settings.lock().logfile.is_empty() {
            eprintln!("redisai-server: not starting: {e}");
        }
        std::process::exit(1);
    }
    tokio::spawn(commands::save_by_rules(shared.clone()));
    tokio::spawn(commands::expire_cycle(shared.clone()));
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tracing::info!(
        "redisai-server {} ready on {local} (pid {})",
        env!("CARGO_PKG_VERSION"),
        std::process::id()
    );
    let mut signalled = false;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(connection::serve(shared.clone(), stream));
                }
                // Out of file descriptors and the like: keep serving the clients we have.
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            _ = shared.shutdown.notified() => break,
            _ = tokio::signal::ctrl_c() => { signalled = true; break }
            _ = terminate.recv() => { signalled = true; break }
        }
    }
    // SIGTERM and SIGINT save as SHUTDOWN does (which saved before it asked to stop).
    if signalled && shared.persist.has_save_rules() {
        let chunk = shared.engine.config().model_chunk_size;
        if let Err(e) = shared.persist.save(&shared.db.lock(), chunk) {
            tracing::warn!("error saving the snapshot at shutdown: {e}");
        }
    }
    shared.aof.flush();
    tracing::info!("redisai-server is now ready to exit, bye bye...");
    Ok(())
}
