//! Redis's own persistence formats, in pure Rust: whole RDB files (SAVE, BGSAVE, DEBUG RELOAD,
//! the load at start) and DUMP payloads (DUMP, RESTORE), as Redis 7.0 writes and reads them, so
//! a file moves between this server and `redis-server` with the RedisAI module either way.
//!
//! ```text
//! file:    "REDIS0010", AUX redis-ver / redis-bits / ctime / used-mem / aof-base (+ more),
//!          SELECTDB 0, RESIZEDB n e, [EXPIRETIME_MS t] type key value ..., EOF, crc64 (LE)
//! dump:    type value, u16 RDB version (LE), crc64 of what precedes (LE)
//! values:  0 string | 4 hash (n, field value ...) | 1 list (n, element ...)
//!          | 7 module: id (9-char type name + 10-bit encver), opcode-tagged fields, 0
//! ```
//! Written: plain strings, plain hashes, plain lists, module values of `AI_TENSOR`, `AI__MODEL`,
//! `AI_SCRIPT` at encoding version 4 (through core's codec). Read: also what Redis writes for
//! the same data (integer and LZF strings, listpack/ziplist hashes, quicklist lists, older RDB
//! versions, older RedisAI encodings); what this server cannot hold (sets, sorted sets,
//! streams, functions, other databases, other modules) is refused with a message naming it,
//! never dropped.
//!
//! ## Layout
//! - [`write`]: the encoder (files and DUMP payloads).
//! - [`read`]: the decoder (files and RESTORE).
//! - [`module_value`]: module values over core's `RdbWrite` / `RdbRead`, module type ids.
//! - [`encodings`]: listpack and ziplist.
//! - [`lzf`], [`crc64`]: the compression and checksum Redis uses.

pub mod crc64;
pub mod encodings;
pub mod lzf;
pub mod module_value;
pub mod read;
pub mod write;

#[cfg(test)]
mod interop_tests;
#[cfg(test)]
mod tests;

use bytes::Bytes;

/// The RDB version written, and the newest read (Redis 7.0's).
pub const RDB_VERSION: u16 = 10;

/// What an RDB file held.
pub struct Snapshot {
    /// The keys of database 0, in file order.
    pub entries: Vec<Entry>,
    /// The AUX fields, in file order (`redis-ver`, `ctime`, ...).
    pub aux: Vec<(Bytes, Bytes)>,
}

/// One key of a snapshot.
pub struct Entry {
    pub key: Bytes,
    pub value: crate::db::Value,
    /// When the key expires, in Unix milliseconds (it may be past: dropping it is the caller's
    /// decision).
    pub expire_ms: Option<i64>,
}

/// Why an RDB file was refused. `Display` is one line for the log.
#[derive(Debug, thiserror::Error)]
pub enum RdbError {
    #[error("cannot read the RDB file: {0}")]
    Io(#[from] std::io::Error),
    #[error("not an RDB file (it does not start with REDIS and a 4-digit version)")]
    NotRdb,
    #[error("RDB version {0} is newer than this server reads ({RDB_VERSION})")]
    Version(u32),
    #[error("truncated RDB file at byte {0}")]
    Truncated(u64),
    #[error("bad RDB checksum (file says {stored:#018x}, content is {computed:#018x})")]
    Checksum { stored: u64, computed: u64 },
    #[error(
        "unknown module type id {id:#x} ('{name}' encver {encver}: not AI_TENSOR, AI__MODEL or AI_SCRIPT)"
    )]
    UnknownModule { id: u64, name: String, encver: u64 },
    #[error(
        "key '{key}' is {what} (RDB type {code}): this server holds only strings, hashes, lists and RedisAI values"
    )]
    UnsupportedType {
        key: String,
        what: &'static str,
        code: u8,
    },
    #[error("the RDB file has keys in database {0}: this server has only database 0")]
    OtherDatabase(u64),
    #[error("the RDB file holds Redis functions: this server does not support functions")]
    Functions,
    #[error("corrupt RDB file at byte {at}: {what}")]
    Corrupt { at: u64, what: String },
    #[error("key '{key}': {source}")]
    Key {
        key: String,
        source: redisai_core::Error,
    },
}

/// Why RESTORE refused a payload. The caller replies Redis's texts:
/// `ERR DUMP payload version or checksum are wrong` / `ERR Bad data format`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RestoreError {
    /// Too short, a newer RDB version, or a checksum that does not match.
    #[error("DUMP payload version or checksum are wrong")]
    Footer,
    /// The footer is right but the value does not decode (the reason, for a log).
    #[error("Bad data format ({0})")]
    Format(String),
}

/// A key as it appears in a message: lossy UTF-8, long ones cut.
pub(crate) fn show_key(key: &[u8]) -> String {
    const MAX: usize = 128;
    if key.len() > MAX {
        format!("{}...", String::from_utf8_lossy(&key[..MAX]))
    } else {
        String::from_utf8_lossy(key).into_owned()
    }
}

/// Writes a whole RDB file of `entries` (key, value, deadline; no extra AUX fields): see
/// [`write::write_snapshot_with`].
pub fn write_snapshot(
    out: &mut dyn std::io::Write,
    entries: &mut dyn Iterator<Item = (&Bytes, &crate::db::Value, Option<i64>)>,
    model_chunk_size: u64,
) -> std::io::Result<()> {
    write::write_snapshot_with(out, entries, &[], model_chunk_size)
}

/// Reads a whole RDB file: see [`read::read_snapshot`].
pub fn read_snapshot(
    input: &mut dyn std::io::Read,
    engine: &redisai_core::Engine,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Snapshot, RdbError> {
    read::read_snapshot(input, engine, progress)
}

/// DUMP's payload of one value: see [`write::dump_payload`].
pub fn dump_payload(value: &crate::db::Value, model_chunk_size: u64) -> Vec<u8> {
    write::dump_payload(value, model_chunk_size)
}

/// RESTORE's side: see [`read::restore_payload`].
pub fn restore_payload(
    payload: &[u8],
    key: &Bytes,
    engine: &redisai_core::Engine,
) -> Result<crate::db::Value, RestoreError> {
    read::restore_payload(payload, key, engine)
}

/// RDB value types (the byte before a key).
pub(crate) mod rdb_type {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    pub const STREAM_LISTPACKS_3: u8 = 21;
    pub const SET_LISTPACK: u8 = 20;
}

/// RDB opcodes (in place of a value type).
pub(crate) mod opcode {
    pub const FUNCTION2: u8 = 245;
    pub const FUNCTION: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}
