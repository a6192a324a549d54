//! `loadgen`: an end-to-end, closed-loop load generator for RESP servers.
//!
//! It measures the request throughput (ops/s) and the p50/p99 round-trip latency
//! that N concurrent clients get from a running server (our `redisai-server`, or
//! a stock `redis-server` as the baseline), over real loopback TCP. Each client
//! is one OS thread with one blocking connection that sends a request, waits for
//! the whole RESP reply, then sends the next: throughput is bounded by latency,
//! not by pipelining. Requests are encoded once and written as they are, so the
//! tool does no per-request encoding work. A run has a warm-up (not recorded)
//! followed by a fixed measured window, and stops by itself.
//!
//! Error replies, and replies of the wrong shape (e.g. a `GET` whose bulk is not
//! SIZE bytes), are counted as errors; any error makes the tool say so on stderr
//! and exit with status 1.
//!
//! # Scenarios
//!
//! | scenario    | request                                         | setup (once)                    |
//! |-------------|-------------------------------------------------|---------------------------------|
//! | `tensorset` | `AI.TENSORSET <p>:tensorset:<conn> FLOAT n BLOB <SIZE bytes>` (n = SIZE/4) | none |
//! | `tensorget` | `AI.TENSORGET <p>:tensor BLOB`                  | `AI.TENSORSET` of SIZE bytes    |
//! | `set`       | `SET <p>:set:<conn> <SIZE bytes>`               | none                            |
//! | `get`       | `GET <p>:get`                                   | `SET` of SIZE bytes             |
//! | `ping`      | `PING`                                          | none                            |
//! | `raw`       | the `--raw` command                             | the `--setup` commands          |
//!
//! `<p>` is `--key-prefix`, `<conn>` the connection index. In `--raw` and
//! `--setup` commands, an argument `{blob}` stands for SIZE payload bytes, and
//! `{conn}`, `{size}` and `{f32s}` (SIZE/4) are replaced inside any argument; an argument
//! `{file:PATH}` stands for the bytes of that file (a model blob).
//! `--setup` commands run before every scenario, on a connection of their own, with `{conn}`
//! = 0; `--setup-each` commands run there too, once per connection index (per-connection keys,
//! e.g. `AI.TENSORSET in{conn} FLOAT 1 256 BLOB {blob}`), after the `--setup` ones.
//!
//! `--label` names the runs in the report instead of the scenario. With `--json`, `bulks` maps
//! the length of the largest bulk string of each measured reply to how many replies had it
//! (replies without a bulk are not counted): replies whose size varies show their distribution.
//!
//! # Layout
//!
//! - `resp.rs`: request encoding and the streaming reply reader.
//! - `run.rs`: connections, the closed loop, latency histograms.
//! - `main.rs`: the command line, scenarios, and the report.

mod resp;
mod run;

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use clap::{Parser, ValueEnum};

use crate::run::{Check, Load, Outcome};

/// Closed-loop RESP load generator: N clients, one request in flight each.
#[derive(Parser, Debug)]
#[command(name = "loadgen", version, about, long_about = None)]
struct Cli {
    /// Server host.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Server port.
    #[arg(long, default_value_t = 6379)]
    port: u16,
    /// Scenarios to run, comma-separated. Defaults to `raw` when --raw is given, else `ping`.
    #[arg(long, value_enum, value_delimiter = ',')]
    scenario: Vec<Scenario>,
    /// Concurrent connections, comma-separated for several runs (e.g. 1,8).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    clients: Vec<usize>,
    /// Payload size: bytes, or with a binary suffix (4096, 4KiB, 1MiB, 1M); comma-separated for several runs.
    #[arg(long, value_delimiter = ',', default_value = "4KiB", value_parser = parse_size)]
    size: Vec<usize>,
    /// Measured seconds per run.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Warm-up seconds per run, before measuring.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// The request of the `raw` scenario, e.g. "AI.MODELEXECUTE m INPUTS 1 in OUTPUTS 1 out{conn}".
    #[arg(long)]
    raw: Option<String>,
    /// A command to send once before each scenario (repeatable), e.g. "AI.TENSORSET in FLOAT {f32s} BLOB {blob}".
    #[arg(long)]
    setup: Vec<String>,
    /// A command to send before each scenario once per connection, {conn} being its index (repeatable).
    #[arg(long)]
    setup_each: Vec<String>,
    /// Name of the runs in the report (default: the scenario's name).
    #[arg(long)]
    label: Option<String>,
    /// Prefix of the keys the built-in scenarios use.
    #[arg(long, default_value = "loadgen")]
    key_prefix: String,
    /// Socket read/write timeout in seconds: a server stalled this long fails the run.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Print one JSON object per run instead of a markdown table.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Tensorset,
    Tensorget,
    Set,
    Get,
    Ping,
    Raw,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Tensorset => "tensorset",
            Scenario::Tensorget => "tensorget",
            Scenario::Set => "set",
            Scenario::Get => "get",
            Scenario::Ping => "ping",
            Scenario::Raw => "raw",
        }
    }
}

/// A scenario made concrete for one client count and one size.
struct Plan {
    /// Setup commands: their text (for messages) and their encoding.
    setup: Vec<(String, Vec<u8>)>,
    requests: Vec<Vec<u8>>,
    check: Check,
}

/// One line of the report.
struct Row {
    scenario: String,
    clients: usize,
    size: Option<usize>,
    outcome: Outcome,
}

fn main() {
    match real_main() {
        Ok(0) => {}
        Ok(errors) => {
            eprintln!();
            eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            eprintln!("!!! loadgen: {errors} ERROR REPLIES: these figures are NOT valid !!!");
            eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            std::process::exit(1);
        }
        Err(err) => {
            eprintln!("loadgen: error: {err:#}");
            std::process::exit(2);
        }
    }
}

/// Runs every requested combination and returns the total count of error replies.
fn real_main() -> Result<u64> {
    let cli = Cli::parse();
    ensure!(
        cli.duration > 0.0 && cli.duration.is_finite(),
        "--duration must be positive"
    );
    ensure!(
        cli.warmup >= 0.0 && cli.warmup.is_finite(),
        "--warmup must not be negative"
    );
    ensure!(
        cli.timeout > 0.0 && cli.timeout.is_finite(),
        "--timeout must be positive"
    );
    ensure!(
        cli.clients.iter().all(|&c| c > 0),
        "--clients must be positive"
    );
    let scenarios = match (&cli.scenario[..], &cli.raw) {
        ([], Some(_)) => vec![Scenario::Raw],
        ([], None) => vec![Scenario::Ping],
        (list, raw) => {
            ensure!(
                raw.is_some() || !list.contains(&Scenario::Raw),
                "--scenario raw needs --raw \"CMD ARG ...\""
            );
            list.to_vec()
        }
    };
    let raw = cli.raw.as_deref().map(split_command).transpose()?;
    let split_all = |lines: &[String]| {
        lines
            .iter()
            .map(|text| split_command(text).map(|args| (text.clone(), args)))
            .collect::<Result<Vec<_>>>()
    };
    let setup = Setup {
        once: split_all(&cli.setup)?,
        each: split_all(&cli.setup_each)?,
    };

    let addr = format!("{}:{}", cli.host, cli.port);
    let io_timeout = Duration::from_secs_f64(cli.timeout);
    let mut errors = 0;
    let mut header_due = !cli.json;
    for &scenario in &scenarios {
        let sized = scenario_uses_size(scenario, raw.as_deref(), &setup);
        let sizes: Vec<Option<usize>> = if sized {
            cli.size.iter().copied().map(Some).collect()
        } else {
            vec![None]
        };
        for &size in &sizes {
            for &clients in &cli.clients {
                let plan = plan(
                    scenario,
                    clients,
                    size.unwrap_or(0),
                    &cli.key_prefix,
                    raw.as_deref(),
                    &setup,
                )?;
                run::run_setup(&addr, io_timeout, &plan.setup)?;
                let outcome = run::run(&Load {
                    addr: &addr,
                    requests: &plan.requests,
                    check: plan.check,
                    warmup: Duration::from_secs_f64(cli.warmup),
                    duration: Duration::from_secs_f64(cli.duration),
                    io_timeout,
                })
                .with_context(|| format!("scenario {} with {clients} clients", scenario.name()))?;
                let row = Row {
                    scenario: cli
                        .label
                        .clone()
                        .unwrap_or_else(|| scenario.name().to_string()),
                    clients,
                    size,
                    outcome,
                };
                if let Some(first) = &row.outcome.first_error {
                    eprintln!(
                        "!!! {} with {clients} clients: {} error replies, first: {first}",
                        row.scenario, row.outcome.errors
                    );
                }
                errors += row.outcome.errors;
                if std::mem::take(&mut header_due) {
                    println!(
                        "| scenario | clients | size | ops/s | p50 (µs) | p99 (µs) | errors |"
                    );
                    println!("|---|---:|---:|---:|---:|---:|---:|");
                }
                println!(
                    "{}",
                    if cli.json {
                        json_line(&row)
                    } else {
                        table_row(&row)
                    }
                );
            }
        }
    }
    Ok(errors)
}

/// The `--setup` and `--setup-each` commands: their text and their arguments.
#[derive(Default)]
struct Setup {
    once: Vec<(String, Vec<Vec<u8>>)>,
    each: Vec<(String, Vec<Vec<u8>>)>,
}

fn scenario_uses_size(scenario: Scenario, raw: Option<&[Vec<u8>]>, setup: &Setup) -> bool {
    let mentions_size = |args: &[Vec<u8>]| {
        args.iter().any(|a| {
            [&b"{blob}"[..], b"{size}", b"{f32s}"]
                .iter()
                .any(|p| find(a, p).is_some())
        })
    };
    match scenario {
        Scenario::Ping => false,
        Scenario::Raw => {
            raw.is_some_and(mentions_size)
                || setup
                    .once
                    .iter()
                    .chain(&setup.each)
                    .any(|(_, args)| mentions_size(args))
        }
        _ => true,
    }
}

fn plan(
    scenario: Scenario,
    clients: usize,
    size: usize,
    prefix: &str,
    raw: Option<&[Vec<u8>]>,
    setup: &Setup,
) -> Result<Plan> {
    if matches!(scenario, Scenario::Tensorset | Scenario::Tensorget) {
        ensure!(
            size > 0 && size.is_multiple_of(4),
            "{}: --size must be a positive multiple of 4 (FLOAT elements), got {size}",
            scenario.name()
        );
    }
    let blob = payload(size);
    let f32s = (size / 4).to_string();
    let per_conn = |make: &dyn Fn(usize) -> Vec<u8>| (0..clients).map(make).collect::<Vec<_>>();
    let mut setup_cmds: Vec<(String, Vec<u8>)> = setup
        .once
        .iter()
        .map(|(text, args)| (text.clone(), resp::encode(&expand(args, 0, &blob))))
        .collect();
    for conn in 0..clients {
        for (text, args) in &setup.each {
            let text = format!("{text} (connection {conn})");
            setup_cmds.push((text, resp::encode(&expand(args, conn, &blob))));
        }
    }
    let (requests, check) = match scenario {
        Scenario::Tensorset => (
            per_conn(&|i| {
                let key = format!("{prefix}:tensorset:{i}");
                resp::encode(&[
                    &b"AI.TENSORSET"[..],
                    key.as_bytes(),
                    b"FLOAT",
                    f32s.as_bytes(),
                    b"BLOB",
                    &blob,
                ])
            }),
            Check::Status,
        ),
        Scenario::Tensorget => {
            let key = format!("{prefix}:tensor");
            setup_cmds.push((
                format!("AI.TENSORSET {key} FLOAT {f32s} BLOB <{size} bytes>"),
                resp::encode(&[
                    &b"AI.TENSORSET"[..],
                    key.as_bytes(),
                    b"FLOAT",
                    f32s.as_bytes(),
                    b"BLOB",
                    &blob,
                ]),
            ));
            let request = resp::encode(&["AI.TENSORGET", &key, "BLOB"]);
            (vec![request; clients], Check::Bulk(size))
        }
        Scenario::Set => (
            per_conn(&|i| {
                let key = format!("{prefix}:set:{i}");
                resp::encode(&[&b"SET"[..], key.as_bytes(), &blob])
            }),
            Check::Status,
        ),
        Scenario::Get => {
            let key = format!("{prefix}:get");
            setup_cmds.push((
                format!("SET {key} <{size} bytes>"),
                resp::encode(&[&b"SET"[..], key.as_bytes(), &blob]),
            ));
            let request = resp::encode(&["GET", &key]);
            (vec![request; clients], Check::Bulk(size))
        }
        Scenario::Ping => (vec![resp::encode(&["PING"]); clients], Check::Status),
        Scenario::Raw => {
            let args = raw.context("the raw scenario needs --raw")?;
            (
                per_conn(&|i| resp::encode(&expand(args, i, &blob))),
                Check::AnyNonError,
            )
        }
    };
    Ok(Plan {
        setup: setup_cmds,
        requests,
        check,
    })
}

/// SIZE bytes of little-endian FLOAT values (small integers), valid as any tensor blob.
fn payload(size: usize) -> Vec<u8> {
    (0..size.div_ceil(4))
        .flat_map(|i| ((i % 1000) as f32).to_le_bytes())
        .take(size)
        .collect()
}

/// Substitutes the placeholders of a `--raw` or `--setup` command.
fn expand(args: &[Vec<u8>], conn: usize, blob: &[u8]) -> Vec<Vec<u8>> {
    let size = blob.len().to_string();
    let f32s = (blob.len() / 4).to_string();
    let conn = conn.to_string();
    args.iter()
        .map(|arg| {
            if arg == b"{blob}" {
                return blob.to_vec();
            }
            if let Some(path) = arg
                .strip_prefix(b"{file:")
                .and_then(|p| p.strip_suffix(b"}"))
            {
                let path = String::from_utf8_lossy(path).into_owned();
                return std::fs::read(&path).unwrap_or_else(|e| {
                    eprintln!("loadgen: cannot read {path}: {e}");
                    std::process::exit(2)
                });
            }
            let mut arg = arg.clone();
            for (placeholder, value) in [("{conn}", &conn), ("{size}", &size), ("{f32s}", &f32s)] {
                arg = replace_all(&arg, placeholder.as_bytes(), value.as_bytes());
            }
            arg
        })
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn replace_all(haystack: &[u8], needle: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = find(rest, needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(value);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// Splits a command line into arguments: whitespace separates, and single or
/// double quotes group (with `\` escaping the next character inside double quotes).
fn split_command(line: &str) -> Result<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(arg) = current.take() {
                    args.push(arg.into_bytes());
                }
            }
            '"' | '\'' => {
                let arg = current.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        None => bail!("unterminated quote in {line:?}"),
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => match chars.next() {
                            Some(escaped) => arg.push(escaped),
                            None => bail!("unterminated quote in {line:?}"),
                        },
                        Some(other) => arg.push(other),
                    }
                }
            }
            c => current.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(arg) = current {
        args.push(arg.into_bytes());
    }
    ensure!(!args.is_empty(), "empty command");
    Ok(args)
}

/// Parses `4096`, `4KiB`, `4K`, `1MiB`, `1M`, `1GiB`, `512B` (binary multiples only).
fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let value: usize = digits
        .parse()
        .map_err(|_| format!("bad size {text:?}: expected e.g. 4096, 4KiB or 1MiB"))?;
    let multiplier: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "bad size unit {other:?} in {text:?}: use B, KiB, MiB or GiB"
            ))
        }
    };
    value
        .checked_mul(multiplier)
        .ok_or_else(|| format!("size {text:?} is too large"))
}

fn format_size(size: Option<usize>) -> String {
    match size {
        None => "-".to_string(),
        Some(s) if s >= 1 << 30 && s.is_multiple_of(1 << 30) => format!("{}GiB", s >> 30),
        Some(s) if s >= 1 << 20 && s.is_multiple_of(1 << 20) => format!("{}MiB", s >> 20),
        Some(s) if s >= 1 << 10 && s.is_multiple_of(1 << 10) => format!("{}KiB", s >> 10),
        Some(s) => format!("{s}B"),
    }
}

fn table_row(row: &Row) -> String {
    let o = &row.outcome;
    let errors = if o.errors == 0 {
        "0".to_string()
    } else {
        format!("**{} ERRORS**", o.errors)
    };
    format!(
        "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {} |",
        row.scenario,
        row.clients,
        format_size(row.size),
        o.ops_per_sec(),
        o.latency_us(0.5),
        o.latency_us(0.99),
        errors
    )
}

fn json_line(row: &Row) -> String {
    let o = &row.outcome;
    let mut line = String::new();
    let _ = write!(
        line,
        "{{\"scenario\":{},\"clients\":{},\"size\":{},\"duration_s\":{},\"ops\":{},\"ops_per_sec\":{:.1},\"p50_us\":{},\"p99_us\":{},\"max_us\":{},\"errors\":{},\"first_error\":{},\"bulks\":{{{}}}}}",
        json_string(&row.scenario),
        row.clients,
        row.size.map_or("null".to_string(), |s| s.to_string()),
        o.window.as_secs_f64(),
        o.ops,
        o.ops_per_sec(),
        json_number(o.latency_us(0.5)),
        json_number(o.latency_us(0.99)),
        json_number(if o.latency.is_empty() { f64::NAN } else { o.latency.max() as f64 / 1000.0 }),
        o.errors,
        o.first_error.as_deref().map_or("null".to_string(), json_string),
        o.bulks
            .iter()
            .map(|(len, n)| format!("\"{len}\":{n}"))
            .collect::<Vec<_>>()
            .join(","),
    );
    line
}

fn json_number(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.1}")
    } else {
        "null".to_string()
    }
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("4KiB"), Ok(4096));
        assert_eq!(parse_size("4k"), Ok(4096));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("12B"), Ok(12));
        assert!(parse_size("4KB").is_err());
        assert!(parse_size("KiB").is_err());
        assert!(parse_size("").is_err());
        assert_eq!(format_size(Some(4096)), "4KiB");
        assert_eq!(format_size(Some(1 << 20)), "1MiB");
        assert_eq!(format_size(Some(1000)), "1000B");
    }

    #[test]
    fn commands_split_on_whitespace_and_quotes() {
        let args = split_command(r#"SET  "a b" 'c"d' "e\"f"g"#).unwrap();
        assert_eq!(
            args,
            vec![
                b"SET".to_vec(),
                b"a b".to_vec(),
                b"c\"d".to_vec(),
                b"e\"fg".to_vec()
            ]
        );
        assert!(split_command("  ").is_err());
        assert!(split_command("SET \"open").is_err());
    }

    #[test]
    fn placeholders_expand() {
        let args = split_command("AI.TENSORSET in{conn} FLOAT {f32s} BLOB {blob} x{size}").unwrap();
        let out = expand(&args, 3, &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(out[1], b"in3");
        assert_eq!(out[3], b"2");
        assert_eq!(out[5], vec![1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(out[6], b"x8");
    }

    #[test]
    fn payload_is_little_endian_floats() {
        let blob = payload(12);
        let floats: Vec<f32> = blob
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(floats, vec![0.0, 1.0, 2.0]);
    }

    #[test]
    fn plans_use_one_key_per_connection_for_writes() {
        let writes = plan(Scenario::Tensorset, 2, 8, "p", None, &Setup::default()).unwrap();
        assert_eq!(writes.requests.len(), 2);
        assert_ne!(writes.requests[0], writes.requests[1]);
        assert!(find(&writes.requests[1], b"p:tensorset:1").is_some());
        assert!(writes.setup.is_empty());
        assert!(plan(Scenario::Tensorset, 1, 6, "p", None, &Setup::default()).is_err());

        let reads = plan(Scenario::Get, 2, 16, "p", None, &Setup::default()).unwrap();
        assert_eq!(reads.requests[0], reads.requests[1]);
        assert_eq!(reads.setup.len(), 1);
        assert_eq!(reads.check, Check::Bulk(16));
    }

    #[test]
    fn setup_each_runs_once_per_connection_after_setup() {
        let setup = Setup {
            once: vec![(
                "MODEL".to_string(),
                split_command("AI.MODELSTORE m{conn}").unwrap(),
            )],
            each: vec![(
                "IN".to_string(),
                split_command("AI.TENSORSET in{conn} FLOAT {f32s} BLOB {blob}").unwrap(),
            )],
        };
        let raw = split_command("AI.MODELEXECUTE m INPUTS 1 in{conn} OUTPUTS 1 out{conn}").unwrap();
        assert!(scenario_uses_size(Scenario::Raw, Some(&raw), &setup));
        let p = plan(Scenario::Raw, 3, 8, "p", Some(&raw), &setup).unwrap();
        let texts: Vec<&str> = p.setup.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            texts,
            [
                "MODEL",
                "IN (connection 0)",
                "IN (connection 1)",
                "IN (connection 2)"
            ]
        );
        assert!(find(&p.setup[0].1, b"m0").is_some());
        for (conn, (_, request)) in p.setup[1..].iter().enumerate() {
            assert!(find(request, format!("$3\r\nin{conn}\r\n").as_bytes()).is_some());
            assert!(find(request, b"$1\r\n2\r\n").is_some());
        }
        assert!(find(&p.requests[2], b"in2").is_some());
        assert!(find(&p.requests[2], b"out2").is_some());
        assert!(!scenario_uses_size(
            Scenario::Raw,
            Some(&raw),
            &Setup::default()
        ));
    }

    #[test]
    fn json_lines_carry_the_label_and_bulk_lengths() {
        let mut latency = run::new_histogram();
        latency.record(1000).unwrap();
        let row = Row {
            scenario: "mlp \"b16\"".to_string(),
            clients: 2,
            size: None,
            outcome: Outcome {
                ops: 3,
                errors: 0,
                first_error: None,
                latency,
                bulks: [(4, 1), (64, 2)].into_iter().collect(),
                window: Duration::from_secs(1),
            },
        };
        let line = json_line(&row);
        assert!(
            line.starts_with(r#"{"scenario":"mlp \"b16\"","clients":2,"size":null,"#),
            "{line}"
        );
        assert!(
            line.ends_with(r#""first_error":null,"bulks":{"4":1,"64":2}}"#),
            "{line}"
        );
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n"), r#""a\"b\\c\u000a""#);
    }
}
