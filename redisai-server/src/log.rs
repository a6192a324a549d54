//! The server's log, through `tracing`, with Redis's levels (`--loglevel debug|verbose|notice|
//! warning`) and `--logfile` (standard output when empty). What Redis logs is logged here too:
//! start-up, loading (with a progress line), saving, AOF rewrites, refused files and why.

use std::fs::OpenOptions;
use std::sync::Mutex;

use tracing::Level;

/// The `tracing` level of a Redis log level.
pub fn level(name: &str) -> Option<Level> {
    match name.to_ascii_lowercase().as_str() {
        "debug" => Some(Level::TRACE),
        "verbose" => Some(Level::DEBUG),
        "notice" => Some(Level::INFO),
        "warning" => Some(Level::WARN),
        _ => None,
    }
}

/// Starts the log. A log file that cannot be opened is an error: the server does not start
/// without the log it was asked for.
pub fn init(loglevel: &str, logfile: &str) -> Result<(), String> {
    let max = level(loglevel).unwrap_or(Level::INFO);
    let builder = tracing_subscriber::fmt()
        .with_max_level(max)
        .with_target(false)
        .with_ansi(false);
    let result = if logfile.is_empty() {
        builder.with_writer(std::io::stdout).try_init()
    } else {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(logfile)
            .map_err(|e| format!("cannot open the log file {logfile}: {e}"))?;
        builder.with_writer(Mutex::new(file)).try_init()
    };
    result.map_err(|e| format!("cannot start the log: {e}"))
}
