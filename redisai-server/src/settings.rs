//! The server's settings, as Redis users expect them: `redisai-server [/path/to/redisai.conf]
//! [--name value ...]`. One table names every setting once; the command line (clap), the
//! config file (redis.conf syntax, the same names), `CONFIG GET`, `CONFIG SET` (the settings
//! that may change while the server runs) and `CONFIG REWRITE` all go through it. Flags
//! override the file.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use redisai_core::EngineConfig;

use crate::aof::Fsync;
use crate::persist::{format_save_rules, parse_save_rules, DEFAULT_SAVE};
use crate::server::Options;

/// One setting.
pub struct Setting {
    pub name: &'static str,
    pub value_name: &'static str,
    pub help: &'static str,
    /// `CONFIG SET` may change it while the server runs.
    pub live: bool,
    /// Sets it from its text; `Err` says what the value must be.
    pub apply: fn(&mut Options, &str) -> Result<(), String>,
    pub show: fn(&Options) -> String,
}

fn yes_no(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("yes or no".into()),
    }
}

fn file_name(v: &str) -> Result<String, String> {
    if v.is_empty() || v.contains('/') {
        return Err("a file name, without a directory".into());
    }
    Ok(v.to_string())
}

fn positive(v: &str) -> Result<u64, String> {
    v.parse::<u64>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| "a positive integer".into())
}

/// An engine setting: RedisAI's load-time argument of the same name, parsed by core.
fn engine(o: &mut Options, name: &str, v: &str) -> Result<(), String> {
    let setting = name.replace('-', "_").to_ascii_uppercase();
    o.engine
        .apply(setting.as_bytes(), v.as_bytes())
        .map_err(|_| {
            redisai_core::config::requirement(&setting)
                .unwrap_or("valid")
                .to_string()
        })
}

macro_rules! engine_setting {
    ($name:literal, $value_name:literal, $help:literal, $show:expr) => {
        Setting {
            name: $name,
            value_name: $value_name,
            help: $help,
            live: false,
            apply: |o, v| engine(o, $name, v),
            show: $show,
        }
    };
}

/// Every setting, in the order `--help` lists them.
pub static SETTINGS: &[Setting] = &[
    Setting {
        name: "port",
        value_name: "N",
        help: "TCP port to listen on (default 6379; 0 picks a free one)",
        live: false,
        apply: |o, v| {
            o.port = v.parse().map_err(|_| "a number from 0 to 65535".to_string())?;
            Ok(())
        },
        show: |o| o.port.to_string(),
    },
    Setting {
        name: "bind",
        value_name: "ADDR",
        help: "address to listen on (default 127.0.0.1)",
        live: false,
        apply: |o, v| {
            o.bind = v.to_string();
            Ok(())
        },
        show: |o| o.bind.clone(),
    },
    Setting {
        name: "requirepass",
        value_name: "PASSWORD",
        help: "require AUTH with this password",
        live: false,
        apply: |o, v| {
            o.requirepass = (!v.is_empty()).then(|| Bytes::copy_from_slice(v.as_bytes()));
            Ok(())
        },
        show: |o| {
            o.requirepass
                .as_ref()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default()
        },
    },
    Setting {
        name: "dir",
        value_name: "DIR",
        help: "where snapshots and the append-only file go (default: the current directory)",
        live: true,
        apply: |o, v| {
            if !Path::new(v).is_dir() {
                return Err("an existing directory".into());
            }
            o.dir = v.into();
            Ok(())
        },
        show: |o| o.dir.display().to_string(),
    },
    Setting {
        name: "dbfilename",
        value_name: "NAME",
        help: "the snapshot file (default dump.rdb), read at start",
        live: true,
        apply: |o, v| {
            o.dbfilename = file_name(v)?;
            Ok(())
        },
        show: |o| o.dbfilename.clone(),
    },
    Setting {
        name: "save",
        value_name: "'S C [S C ...]'",
        help: "snapshot when C writes happened within S seconds (default '3600 1 300 100 60 10000'; '' for none)",
        live: true,
        apply: |o, v| {
            o.save_rules = parse_save_rules(v)
                .ok_or_else(|| "pairs of seconds and changes (\"3600 1 300 100\"), or \"\"".to_string())?;
            Ok(())
        },
        show: |o| format_save_rules(&o.save_rules),
    },
    Setting {
        name: "appendonly",
        value_name: "yes|no",
        help: "log every write to the append-only file (default no); at start it is replayed, instead of the snapshot",
        live: true,
        apply: |o, v| {
            o.appendonly = yes_no(v)?;
            Ok(())
        },
        show: |o| if o.appendonly { "yes" } else { "no" }.into(),
    },
    Setting {
        name: "appendfsync",
        value_name: "always|everysec|no",
        help: "when the log reaches the disk: before each reply, every second (default), or when the system decides",
        live: true,
        apply: |o, v| {
            o.appendfsync =
                Fsync::parse(v).ok_or_else(|| "always, everysec or no".to_string())?;
            Ok(())
        },
        show: |o| o.appendfsync.name().into(),
    },
    Setting {
        name: "appendfilename",
        value_name: "NAME",
        help: "the append-only file (default appendonly.aof), in dir",
        live: false,
        apply: |o, v| {
            o.appendfilename = file_name(v)?;
            Ok(())
        },
        show: |o| o.appendfilename.clone(),
    },
    Setting {
        name: "loglevel",
        value_name: "debug|verbose|notice|warning",
        help: "how much the log says (default notice)",
        live: false,
        apply: |o, v| {
            crate::log::level(v).ok_or_else(|| "debug, verbose, notice or warning".to_string())?;
            o.loglevel = v.to_ascii_lowercase();
            Ok(())
        },
        show: |o| o.loglevel.clone(),
    },
    Setting {
        name: "logfile",
        value_name: "PATH",
        help: "the log file (default \"\": standard output)",
        live: false,
        apply: |o, v| {
            o.logfile = v.to_string();
            Ok(())
        },
        show: |o| o.logfile.clone(),
    },
    Setting {
        name: "io-threads",
        value_name: "N",
        help: "threads serving connections (default: one per CPU)",
        live: false,
        apply: |o, v| {
            o.io_threads = positive(v)? as usize;
            Ok(())
        },
        show: |o| o.io_threads.to_string(),
    },
    engine_setting!(
        "backendspath",
        "DIR",
        "where backend libraries are found (default: the runtimes scripts/bootstrap installed in .deps/backends)",
        |o| o.engine.backends_path.clone()
    ),
    engine_setting!(
        "threads-per-queue",
        "N",
        "worker threads per device queue (default 1)",
        |o| o.engine.threads_per_queue.to_string()
    ),
    engine_setting!(
        "intra-op-parallelism",
        "N",
        "threads inside one op (default 0: the backend's default)",
        |o| o.engine.intra_op_parallelism.to_string()
    ),
    engine_setting!(
        "inter-op-parallelism",
        "N",
        "threads across ops (default 0: the backend's default)",
        |o| o.engine.inter_op_parallelism.to_string()
    ),
    engine_setting!(
        "model-chunk-size",
        "BYTES",
        "AI.MODELGET chunk size (default 535822336)",
        |o| o.engine.model_chunk_size.to_string()
    ),
    engine_setting!(
        "model-execution-timeout",
        "MS",
        "an ONNX run that takes longer is stopped (default 5000, at least 1000)",
        |o| o.engine.model_execution_timeout.to_string()
    ),
    engine_setting!(
        "backend-memory-limit",
        "MB",
        "what ONNX Runtime may hold at once (default 0: unlimited)",
        |o| o.engine.backend_memory_limit.to_string()
    ),
    engine_setting!(
        "inline-run-max-us",
        "US|auto",
        "a CPU model whose recent runs took at most US microseconds runs on the connection's thread (0: never; default auto: the hand-off cost measured at start, 20 to 200)",
        |o| o
            .engine
            .inline_run_max_us
            .map_or("auto".into(), |n| n.to_string())
    ),
];

pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

/// What the server runs with when nothing says otherwise.
pub fn defaults(backends_path: &str) -> Options {
    Options {
        port: 6379,
        bind: "127.0.0.1".into(),
        requirepass: None,
        io_threads: crate::server::io_threads(),
        engine: EngineConfig {
            backends_path: backends_path.into(),
            ..EngineConfig::default()
        },
        dir: ".".into(),
        dbfilename: "dump.rdb".into(),
        save_rules: parse_save_rules(DEFAULT_SAVE).unwrap_or_default(),
        appendonly: false,
        appendfsync: Fsync::EverySec,
        appendfilename: "appendonly.aof".into(),
        loglevel: "notice".into(),
        logfile: String::new(),
        config_file: None,
    }
}

/// Splits a config line as Redis does: words, `"..."` with `\n`, `\t`, `\"`, `\\`, `\xHH`
/// escapes, and `'...'`. `None` for unbalanced quotes.
pub fn split_line(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Some(words);
        };
        let mut word = String::new();
        match first {
            '"' => {
                chars.next();
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            'n' => word.push('\n'),
                            't' => word.push('\t'),
                            'r' => word.push('\r'),
                            'x' => {
                                let hex: String = [chars.next()?, chars.next()?].iter().collect();
                                word.push(u8::from_str_radix(&hex, 16).ok()? as char);
                            }
                            c => word.push(c),
                        },
                        c => word.push(c),
                    }
                }
            }
            '\'' => {
                chars.next();
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            _ => {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
            }
        }
        words.push(word);
    }
}

/// The `name value` lines of a config file, in order (a setting's words joined by spaces, as
/// `save 3600 1 300 100`). Errors name the line.
pub fn read_file(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the config file {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let bad = |why: &str| {
            format!(
                "config file {}, line {}: '{trimmed}': {why}",
                path.display(),
                i + 1
            )
        };
        let words = split_line(trimmed).ok_or_else(|| bad("unbalanced quotes"))?;
        let Some((name, rest)) = words.split_first() else {
            continue;
        };
        if find(name).is_none() {
            return Err(bad("bad directive (no such setting)"));
        }
        out.push((name.to_ascii_lowercase(), rest.join(" ")));
    }
    Ok(out)
}

/// Parses the command line: an optional config file, then `--name value` for any setting.
/// `Ok(None)` after `--help` or `--version`.
pub fn from_args(args: Vec<String>, backends_path: &str) -> Result<Option<Options>, String> {
    let mut command = clap::Command::new("redisai-server")
        .version(env!("CARGO_PKG_VERSION"))
        .about("A standalone RedisAI server (RESP2/RESP3, the AI.* commands of RedisAI)")
        .arg(
            clap::Arg::new("config-file")
                .value_name("CONFIG_FILE")
                .help("a config file in redis.conf syntax, with the settings below (flags win)"),
        );
    for s in SETTINGS {
        command = command.arg(
            clap::Arg::new(s.name)
                .long(s.name)
                .value_name(s.value_name)
                .help(s.help)
                .num_args(1)
                .allow_hyphen_values(true),
        );
    }
    let matches = match command.try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                print!("{e}");
                return Ok(None);
            }
            return Err(e.to_string().trim_end().to_string());
        }
    };
    let mut opts = defaults(backends_path);
    if let Some(path) = matches.get_one::<String>("config-file") {
        let path = PathBuf::from(path);
        for (name, value) in read_file(&path)? {
            let setting = find(&name).ok_or_else(|| format!("no setting {name}"))?;
            (setting.apply)(&mut opts, &value)
                .map_err(|must| format!("config file {}: {name} must be {must}", path.display()))?;
        }
        opts.config_file = Some(std::fs::canonicalize(&path).unwrap_or(path));
    }
    for s in SETTINGS {
        if let Some(value) = matches.get_one::<String>(s.name) {
            (s.apply)(&mut opts, value).map_err(|must| format!("--{} must be {must}", s.name))?;
        }
    }
    Ok(Some(opts))
}

/// CONFIG REWRITE: the config file with every setting's current value, its comments and the
/// order of its lines kept; settings it did not name and that differ from the default are
/// added at the end.
pub fn rewrite_file(path: &Path, current: &Options, default: &Options) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut written: Vec<&str> = Vec::new();
    let mut out = String::new();
    for line in text.lines() {
        let name = split_line(line.trim())
            .and_then(|w| w.first().cloned())
            .filter(|_| !line.trim().starts_with('#'));
        match name.as_deref().and_then(find) {
            Some(s) if written.contains(&s.name) => continue,
            Some(s) => {
                written.push(s.name);
                out.push_str(&format!("{} {}\n", s.name, quote(&(s.show)(current))));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    let mut header = false;
    for s in SETTINGS {
        if written.contains(&s.name) || (s.show)(current) == (s.show)(default) {
            continue;
        }
        if !header {
            out.push_str("# Written by CONFIG REWRITE\n");
            header = true;
        }
        out.push_str(&format!("{} {}\n", s.name, quote(&(s.show)(current))));
    }
    let tmp = path.with_extension("rewrite.tmp");
    std::fs::write(&tmp, out)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// A value as a config file writes it: bare when it is one plain word, quoted otherwise.
fn quote(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\'')
    {
        return v.to_string();
    }
    let mut q = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_as_redis_splits_them() {
        assert_eq!(
            split_line("save 3600 1 300 100").unwrap(),
            ["save", "3600", "1", "300", "100"]
        );
        assert_eq!(
            split_line(r#"requirepass "a b\"c\x41""#).unwrap(),
            ["requirepass", "a b\"cA"]
        );
        assert_eq!(split_line("save ''").unwrap(), ["save", ""]);
        assert_eq!(split_line("dir \"unbalanced"), None);
    }

    #[test]
    fn the_file_and_the_flags_and_their_errors() {
        let dir = std::env::temp_dir().join(format!("settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("redisai.conf");
        std::fs::write(
            &file,
            "# a comment\nport 7000\nsave 60 5 10 100\nappendonly yes\nthreads-per-queue 3\n",
        )
        .unwrap();
        let args = |extra: &[&str]| {
            let mut v = vec!["redisai-server".to_string(), file.display().to_string()];
            v.extend(extra.iter().map(|s| s.to_string()));
            v
        };
        let o = from_args(args(&["--port", "7001"]), "/b").unwrap().unwrap();
        assert_eq!(o.port, 7001, "a flag wins over the file");
        assert_eq!(format_save_rules(&o.save_rules), "60 5 10 100");
        assert!(o.appendonly);
        assert_eq!(o.engine.threads_per_queue, 3);
        assert_eq!(
            from_args(args(&["--model-execution-timeout", "999"]), "/b").unwrap_err(),
            "--model-execution-timeout must be at least 1000 (milliseconds)"
        );
        std::fs::write(&file, "nonsense 1\n").unwrap();
        let e = from_args(args(&[]), "/b").unwrap_err();
        assert!(e.contains("line 1: 'nonsense 1': bad directive"), "{e}");
        // CONFIG REWRITE keeps comments and order, replaces values, adds what differs.
        std::fs::write(&file, "# keep me\nport 7000\nport 7002\n").unwrap();
        let mut cur = defaults("/b");
        cur.port = 7005;
        cur.save_rules = vec![];
        rewrite_file(&file, &cur, &defaults("/b")).unwrap();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "# keep me\nport 7005\n# Written by CONFIG REWRITE\nsave \"\"\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
