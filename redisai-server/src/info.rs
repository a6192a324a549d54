//! INFO: the Redis sections clients read, and the `ai_*` sections of the RedisAI module.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use crate::db::Db;
use crate::server::Shared;

/// The Redis version whose protocol and replies this server follows.
pub const REDIS_VERSION: &str = "7.0.15";
const STANDARD: [&str; 6] = [
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "keyspace",
];
/// RedisAI's sections, as core names them, with the module prefix Redis would add.
const AI: [&str; 6] = [
    "ai_versions",
    "ai_git",
    "ai_load_time_configs",
    "ai_backends_info",
    "ai_cpu",
    "ai_engine",
];

/// The INFO text for the requested sections (`default`, `all`, `everything`, `modules`, `ai`, or
/// section names).
pub fn render(shared: &Shared, db: &Db, args: &[Bytes]) -> String {
    let mut wanted: Vec<&str> = Vec::new();
    if args.is_empty() {
        wanted.extend(STANDARD);
    }
    for a in args {
        let a = String::from_utf8_lossy(a).to_ascii_lowercase();
        match a.as_str() {
            "default" | "all" => wanted.extend(STANDARD),
            "everything" => {
                wanted.extend(STANDARD.iter().chain(["modules"].iter()).chain(AI.iter()))
            }
            // As Redis: the list of modules, then every module's sections (only the engine
            // here, built in, named as the module names itself).
            "modules" => wanted.extend(["modules"].iter().chain(AI.iter())),
            "ai" => wanted.extend(AI),
            other => {
                if let Some(s) = STANDARD.iter().chain(AI.iter()).find(|s| **s == other) {
                    wanted.push(s);
                }
            }
        }
    }
    let mut out = String::new();
    let mut seen = Vec::new();
    for s in wanted {
        if seen.contains(&s) {
            continue;
        }
        seen.push(s);
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        section(&mut out, shared, db, s);
    }
    out
}

fn section(out: &mut String, shared: &Shared, db: &Db, name: &str) {
    // Redis capitalizes its own section names; module sections keep theirs (`# ai_versions`).
    let title = if name.starts_with("ai_") {
        name.to_string()
    } else {
        capitalize(name)
    };
    let _ = write!(out, "# {title}\r\n");
    let mut field = |k: &str, v: &dyn std::fmt::Display| {
        let _ = write!(out, "{k}:{v}\r\n");
    };
    match name {
        "server" => {
            field("redis_version", &REDIS_VERSION);
            field("redisai_rs_version", &env!("CARGO_PKG_VERSION"));
            field("redis_mode", &"standalone");
            field("os", &std::env::consts::OS);
            field("arch_bits", &64);
            field("process_id", &std::process::id());
            field("tcp_port", &shared.options.port);
            field("uptime_in_seconds", &shared.started.elapsed().as_secs());
            field(
                "uptime_in_days",
                &(shared.started.elapsed().as_secs() / 86400),
            );
            field(
                "executable",
                &std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
        }
        "clients" => {
            field(
                "connected_clients",
                &shared.connected_clients.load(Ordering::Relaxed),
            );
            field("blocked_clients", &0);
        }
        "memory" => {
            let used = db.used_bytes();
            field("used_memory", &used);
            field("used_memory_human", &human(used));
            field("used_memory_rss", &rss_bytes());
            field("maxmemory", &0);
        }
        "modules" => field(
            "module",
            &format!(
                "name=ai,ver={},api=1,filters=0,usedby=[],using=[],options=[]",
                module_version()
            ),
        ),
        "persistence" => {
            for (k, v) in shared
                .persist
                .info_fields()
                .into_iter()
                .chain(shared.aof.info_fields())
            {
                field(k, &v);
            }
        }
        "stats" => {
            field(
                "total_connections_received",
                &shared.total_connections.load(Ordering::Relaxed),
            );
            field(
                "total_commands_processed",
                &shared.total_commands.load(Ordering::Relaxed),
            );
        }
        "keyspace" if !db.is_empty() => {
            let avg_ttl = db.mean_ttl_ms(crate::expire::unix_ms());
            field(
                "db0",
                &format!(
                    "keys={},expires={},avg_ttl={avg_ttl}",
                    db.len(),
                    db.expires_len()
                ),
            );
        }
        ai if ai.starts_with("ai_") => {
            if let Some(section) = redisai_core::info::section(&shared.engine, &ai[3..]) {
                for (k, v) in section.prefixed().1 {
                    field(&k, &v);
                }
            }
        }
        _ => {}
    }
}

/// The engine's version as RedisAI numbers its module: major*10000 + minor*100 + patch.
fn module_version() -> u64 {
    let part = |s: &str| s.parse::<u64>().unwrap_or(0);
    part(env!("CARGO_PKG_VERSION_MAJOR")) * 10000
        + part(env!("CARGO_PKG_VERSION_MINOR")) * 100
        + part(env!("CARGO_PKG_VERSION_PATCH"))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

fn human(bytes: usize) -> String {
    const UNITS: [&str; 4] = ["B", "K", "M", "G"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.2}{}", UNITS[u])
}

/// Resident set size from /proc (0 where there is none).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}
