//! The closed loop: one OS thread per connection, each writing its pre-encoded
//! request, reading the whole reply, and starting again, until the run's end.
//!
//! Timeline of one run, shared by all connections:
//!
//! ```text
//! start ── warm-up ──> warm_end ── measured window ──> end
//! ```
//!
//! A request is counted (and its latency recorded) when its reply arrives
//! inside the measured window. No request is started at or after `end`, so a
//! run lasts `warmup + duration` plus at most one request per connection.
//! Error replies are counted over the whole run, warm-up included.

use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;

use crate::resp::{Reply, ReplyReader};

/// Highest latency the histograms track, in nanoseconds (an hour).
const MAX_LATENCY_NS: u64 = 3_600_000_000_000;
/// Size of each connection's read buffer.
const READ_BUFFER: usize = 256 * 1024;

/// What a reply must look like to count as a success, beyond not being an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Anything that is not an error reply.
    AnyNonError,
    /// A simple string (`+OK`, `+PONG`).
    Status,
    /// A reply holding a bulk string of exactly this many bytes.
    Bulk(usize),
}

impl Check {
    fn accepts(self, reply: &Reply) -> bool {
        match self {
            Check::AnyNonError => true,
            Check::Status => reply.kind == b'+',
            Check::Bulk(len) => reply.max_bulk == Some(len),
        }
    }
}

/// One run: one request per connection, sent in a closed loop.
pub struct Load<'a> {
    pub addr: &'a str,
    /// The encoded request of each connection; its length is the client count.
    pub requests: &'a [Vec<u8>],
    pub check: Check,
    pub warmup: Duration,
    pub duration: Duration,
    /// Read and write timeout of each socket: a stalled server fails the run.
    pub io_timeout: Duration,
}

/// The merged result of a run.
pub struct Outcome {
    /// Requests whose reply arrived inside the measured window.
    pub ops: u64,
    /// Replies that were errors, or did not pass the run's [`Check`].
    pub errors: u64,
    pub first_error: Option<String>,
    /// Latencies of the counted requests, in nanoseconds.
    pub latency: Histogram<u64>,
    /// Counted replies by the length of their largest bulk string (replies with none left out).
    pub bulks: BTreeMap<usize, u64>,
    pub window: Duration,
}

impl Outcome {
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.window.as_secs_f64()
    }

    /// The latency at `quantile` (0..=1), in microseconds.
    pub fn latency_us(&self, quantile: f64) -> f64 {
        if self.latency.is_empty() {
            return f64::NAN;
        }
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }
}

/// Opens a connection with the socket options every connection uses.
pub fn connect(addr: &str, io_timeout: Duration) -> Result<TcpStream> {
    let stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(io_timeout))?;
    stream.set_write_timeout(Some(io_timeout))?;
    Ok(stream)
}

/// Sends each command once on one connection and fails on any error reply.
pub fn run_setup(addr: &str, io_timeout: Duration, commands: &[(String, Vec<u8>)]) -> Result<()> {
    if commands.is_empty() {
        return Ok(());
    }
    let stream = connect(addr, io_timeout)?;
    let mut reader = ReplyReader::new(BufReader::with_capacity(READ_BUFFER, &stream));
    for (text, request) in commands {
        (&stream)
            .write_all(request)
            .with_context(|| format!("sending setup command {text:?}"))?;
        let reply = reader
            .read_reply()
            .with_context(|| format!("reading the reply to setup command {text:?}"))?;
        if let Some(err) = reply.error {
            bail!("setup command {text:?} failed: -{err}");
        }
    }
    Ok(())
}

/// Runs the closed loop and merges the per-connection results.
pub fn run(load: &Load<'_>) -> Result<Outcome> {
    // Connect everyone first so that the timeline starts with all clients ready.
    let streams = load
        .requests
        .iter()
        .map(|_| connect(load.addr, load.io_timeout))
        .collect::<Result<Vec<_>>>()?;
    let start = Instant::now();
    let warm_end = start + load.warmup;
    let end = warm_end + load.duration;

    let results: Vec<Result<Outcome>> = std::thread::scope(|scope| {
        let handles: Vec<_> = streams
            .iter()
            .zip(load.requests)
            .enumerate()
            .map(|(i, (stream, request))| {
                scope.spawn(move || {
                    client_loop(stream, request, load.check, warm_end, end)
                        .with_context(|| format!("connection {i}"))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread panicked"))
            .collect()
    });

    let mut total = Outcome {
        ops: 0,
        errors: 0,
        first_error: None,
        latency: new_histogram(),
        bulks: BTreeMap::new(),
        window: load.duration,
    };
    for result in results {
        let part = result?;
        total.ops += part.ops;
        total.errors += part.errors;
        if total.first_error.is_none() {
            total.first_error = part.first_error;
        }
        total.latency.add(&part.latency)?;
        for (len, n) in part.bulks {
            *total.bulks.entry(len).or_default() += n;
        }
    }
    Ok(total)
}

fn client_loop(
    stream: &TcpStream,
    request: &[u8],
    check: Check,
    warm_end: Instant,
    end: Instant,
) -> Result<Outcome> {
    let mut writer = stream;
    let mut reader = ReplyReader::new(BufReader::with_capacity(READ_BUFFER, stream));
    let mut out = Outcome {
        ops: 0,
        errors: 0,
        first_error: None,
        latency: new_histogram(),
        bulks: BTreeMap::new(),
        window: end - warm_end,
    };
    loop {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        writer.write_all(request).context("sending a request")?;
        let reply = reader.read_reply().context("reading a reply")?;
        let done = Instant::now();
        let failure = match &reply.error {
            Some(err) => Some(format!("-{err}")),
            None if !check.accepts(&reply) => Some(format!(
                "unexpected reply: type {:?}, largest bulk {:?}, wanted {check:?}",
                char::from(reply.kind),
                reply.max_bulk
            )),
            None => None,
        };
        if let Some(failure) = failure {
            out.errors += 1;
            out.first_error.get_or_insert(failure);
        }
        if done >= warm_end && done <= end {
            out.ops += 1;
            let ns = (done - sent).as_nanos().min(u128::from(MAX_LATENCY_NS)) as u64;
            out.latency.saturating_record(ns.max(1));
            if let Some(len) = reply.max_bulk {
                *out.bulks.entry(len).or_default() += 1;
            }
        }
    }
    Ok(out)
}

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3).expect("valid histogram bounds")
}
