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
mod glob;
mod host;
mod info;
mod persist;
mod rdb;
mod resp;
mod server;
mod table;

use anyhow::{bail, Context};
use bytes::Bytes;
use tokio::net::TcpListener;

use redisai_core::EngineConfig;

use crate::server::{Options, Shared};

/// `.deps/backends` of the checkout this binary was built from (where scripts/bootstrap puts
/// the runtimes), so the server finds them without any environment variable.
const DEFAULT_BACKENDS_PATH: &str = env!("REDISAI_DEFAULT_BACKENDS_PATH");

// Large tensors come and go with every AI.TENSORSET; mimalloc keeps their pages mapped where
// glibc's malloc returns them to the kernel and faults them in again.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
redisai-server: a standalone RedisAI server (RESP2/RESP3, the AI.* commands of RedisAI)

Usage: redisai-server [OPTIONS]

Options:
  --port N                    TCP port to listen on (default 6379; 0 picks a free one)
  --bind ADDR                 address to listen on (default 127.0.0.1)
  --requirepass PASSWORD      require AUTH with this password
  --dir DIR                   where snapshots are written and read (default: the current
                              directory)
  --dbfilename NAME           the snapshot file (default dump.rdb), read at start
  --save 'S C [S C ...]'      snapshot when C writes happened within S seconds (default
                              '3600 1 300 100 60 10000'; '' for none)
  --appendonly yes|no         log every write to the append-only file (default no); at start
                              it is replayed, instead of the snapshot
  --appendfsync always|everysec|no
                              when the log reaches the disk: before each reply, every second
                              (default), or when the system decides
  --appendfilename NAME       the append-only file (default appendonly.aof), in --dir
  --backendspath DIR          where backend libraries are found (default: the runtimes that
                              scripts/bootstrap installed in .deps/backends)
  --io-threads N              threads serving connections (default: one per CPU)
  --threads-per-queue N       worker threads per device queue (default 1)
  --intra-op-parallelism N    threads inside one op (default 0: the backend's default)
  --inter-op-parallelism N    threads across ops (default 0: the backend's default)
  --model-chunk-size BYTES    AI.MODELGET chunk size (default 535822336)
  --model-execution-timeout MS
                              an ONNX run that takes longer is stopped (default 5000,
                              at least 1000)
  --backend-memory-limit MB   what ONNX Runtime may hold at once (default 0: unlimited); an
                              allocation above it fails the store or run that needs it
  --inline-run-max-us US|auto
                              a CPU model whose recent runs took at most US microseconds runs
                              on the connection's thread, not a queue worker (0: never;
                              default auto: what a hand-off to a worker and back takes on
                              this machine, measured at startup, from 20 to 200)
  -h, --help                  print this help
  -V, --version               print the version
";

fn parse_options(mut args: impl Iterator<Item = String>) -> anyhow::Result<Option<Options>> {
    let mut opts = Options {
        port: 6379,
        bind: "127.0.0.1".into(),
        requirepass: None,
        io_threads: server::io_threads(),
        engine: EngineConfig {
            backends_path: DEFAULT_BACKENDS_PATH.into(),
            ..EngineConfig::default()
        },
        dir: ".".into(),
        dbfilename: "dump.rdb".into(),
        save_rules: persist::parse_save_rules(persist::DEFAULT_SAVE).unwrap_or_default(),
        appendonly: false,
        appendfsync: aof::Fsync::EverySec,
        appendfilename: "appendonly.aof".into(),
    };
    let positive = |name: &str, v: String| -> anyhow::Result<u64> {
        v.parse::<u64>()
            .ok()
            .filter(|&n| n > 0)
            .with_context(|| format!("{name} must be a positive integer"))
    };
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .with_context(|| format!("{name} needs a value (see --help)"))
        };
        match a.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("redisai-server {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            "--port" => {
                opts.port = value("--port")?
                    .parse()
                    .context("--port must be a number from 0 to 65535")?
            }
            "--bind" => opts.bind = value("--bind")?,
            "--dir" => opts.dir = value("--dir")?.into(),
            "--dbfilename" => {
                let name = value("--dbfilename")?;
                if name.is_empty() || name.contains('/') {
                    bail!("--dbfilename must be a file name, without a directory");
                }
                opts.dbfilename = name;
            }
            "--appendonly" => {
                opts.appendonly = match value("--appendonly")?.to_ascii_lowercase().as_str() {
                    "yes" => true,
                    "no" => false,
                    _ => bail!("--appendonly must be yes or no"),
                }
            }
            "--appendfsync" => {
                opts.appendfsync = aof::Fsync::parse(&value("--appendfsync")?)
                    .context("--appendfsync must be always, everysec or no")?
            }
            "--appendfilename" => {
                let name = value("--appendfilename")?;
                if name.is_empty() || name.contains('/') {
                    bail!("--appendfilename must be a file name, without a directory");
                }
                opts.appendfilename = name;
            }
            "--save" => {
                opts.save_rules =
                    persist::parse_save_rules(&value("--save")?).with_context(|| {
                        "--save must be pairs of seconds and changes (\"3600 1 300 100\"), or \"\""
                    })?
            }
            "--requirepass" => opts.requirepass = Some(Bytes::from(value("--requirepass")?)),
            "--io-threads" => opts.io_threads = positive(&a, value(&a)?)? as usize,
            // The engine's settings: RedisAI's load-time arguments, parsed by core.
            "--backendspath"
            | "--threads-per-queue"
            | "--intra-op-parallelism"
            | "--inter-op-parallelism"
            | "--model-chunk-size"
            | "--model-execution-timeout"
            | "--backend-memory-limit"
            | "--inline-run-max-us" => {
                let setting = a[2..].replace('-', "_").to_ascii_uppercase();
                let v = value(&a)?;
                if opts.engine.apply(setting.as_bytes(), v.as_bytes()).is_err() {
                    let must = redisai_core::config::requirement(&setting).unwrap_or("valid");
                    bail!("{a} must be {must}");
                }
            }
            other => bail!("unknown option '{other}' (see --help)"),
        }
    }
    Ok(Some(opts))
}

fn main() -> anyhow::Result<()> {
    let Some(options) = parse_options(std::env::args().skip(1))? else {
        return Ok(());
    };
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
        // The reason alone, on one line, as Redis logs it (no error chain or backtrace).
        eprintln!("redisai-server: not starting: {e}");
        std::process::exit(1);
    }
    tokio::spawn(commands::save_by_rules(shared.clone()));
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    println!(
        "redisai-server {} ready on {local}",
        env!("CARGO_PKG_VERSION")
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
                    eprintln!("accept failed: {e}");
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
            eprintln!("error saving the snapshot at shutdown: {e}");
        }
    }
    println!("redisai-server shutting down");
    Ok(())
}
