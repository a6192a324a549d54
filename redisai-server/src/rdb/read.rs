//! The decoder: whole RDB files and RESTORE payloads.
//!
//! Its input is untrusted (RESTORE takes any bytes; a file may be cut or damaged): it never
//! panics, reserves memory only for bytes that actually arrived (lengths in the input are
//! capped before anything is allocated from them), and says where it stopped.

use std::collections::{HashSet, VecDeque};
use std::io::{BufReader, Read};

use bytes::Bytes;
use redisai_core::Engine;

use super::{
    crc64, encodings, lzf, module_value, opcode, rdb_type, show_key, Entry, RdbError, RestoreError,
    Snapshot, RDB_VERSION,
};
use crate::db::{HashFields, Value};

/// Elements reserved ahead of reading a hash or list, whatever its length says.
const MAX_PREALLOC: usize = 1024;
/// Bytes reserved at a time while reading a long string (growing by doubling up to its length).
const READ_CHUNK: usize = 1 << 20;

/// What the first byte of an RDB length says.
enum Len {
    Plain(u64),
    /// A specially encoded string follows (RDB_ENC_INT8/16/32, RDB_ENC_LZF).
    Encoded(u8),
}

/// A value as read: ready, or a RedisAI value still to build.
enum Loaded {
    Ready(Value),
    Ai(module_value::Decoded),
}

impl Loaded {
    fn build(self, key: &Bytes, engine: &Engine) -> Result<Value, RdbError> {
        match self {
            Loaded::Ready(v) => Ok(v),
            Loaded::Ai(d) => module_value::build(d, key, engine).map(Value::Ai),
        }
    }
}

/// The byte stream, with its position (for messages) and, for a file, the running CRC-64.
pub struct Input<R> {
    r: R,
    pos: u64,
    crc: Option<u64>,
}

impl<R: Read> Input<R> {
    fn new(r: R, checksum: bool) -> Self {
        Input {
            r,
            pos: 0,
            crc: checksum.then_some(0),
        }
    }

    /// A corruption at the current position.
    pub fn corrupt(&self, what: impl Into<String>) -> RdbError {
        RdbError::Corrupt {
            at: self.pos,
            what: what.into(),
        }
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RdbError> {
        let mut done = 0;
        while done < buf.len() {
            match self.r.read(&mut buf[done..]) {
                Ok(0) => return Err(RdbError::Truncated(self.pos)),
                Ok(n) => {
                    if let Some(crc) = &mut self.crc {
                        *crc = crc64::update(*crc, &buf[done..done + n]);
                    }
                    done += n;
                    self.pos += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(RdbError::Io(e)),
            }
        }
        Ok(())
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut b = [0u8; N];
        self.fill(&mut b)?;
        Ok(b)
    }

    fn byte(&mut self) -> Result<u8, RdbError> {
        Ok(self.array::<1>()?[0])
    }

    /// `n` bytes, the buffer growing as they arrive (a length in a damaged file may be huge).
    fn bytes(&mut self, n: u64) -> Result<Vec<u8>, RdbError> {
        let n = usize::try_from(n).map_err(|_| self.corrupt(format!("string of {n} bytes")))?;
        let mut v = Vec::with_capacity(n.min(READ_CHUNK));
        while v.len() < n {
            if v.len() == v.capacity() {
                let grow = v.len().max(READ_CHUNK).min(n - v.len());
                v.reserve_exact(grow);
            }
            let start = v.len();
            let end = v.capacity().min(n);
            v.resize(end, 0);
            self.fill(&mut v[start..end])?;
        }
        Ok(v)
    }

    fn len(&mut self) -> Result<Len, RdbError> {
        let b = self.byte()?;
        Ok(match b >> 6 {
            0 => Len::Plain(u64::from(b & 0x3f)),
            1 => Len::Plain((u64::from(b & 0x3f) << 8) | u64::from(self.byte()?)),
            3 => Len::Encoded(b & 0x3f),
            _ => match b {
                0x80 => Len::Plain(u32::from_be_bytes(self.array()?).into()),
                0x81 => Len::Plain(u64::from_be_bytes(self.array()?)),
                _ => return Err(self.corrupt(format!("unknown length encoding {b:#04x}"))),
            },
        })
    }

    /// A length (not a string encoding).
    pub fn length(&mut self) -> Result<u64, RdbError> {
        match self.len()? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(e) => {
                Err(self.corrupt(format!("string encoding {e} where a length was expected")))
            }
        }
    }

    /// A string: plain, an integer (as its decimal text), or LZF-compressed.
    pub fn string(&mut self) -> Result<Bytes, RdbError> {
        let int = |v: i64| {
            Ok(Bytes::copy_from_slice(
                itoa::Buffer::new().format(v).as_bytes(),
            ))
        };
        match self.len()? {
            Len::Plain(n) => Ok(Bytes::from(self.bytes(n)?)),
            Len::Encoded(0) => int(i8::from_le_bytes(self.array()?).into()),
            Len::Encoded(1) => int(i16::from_le_bytes(self.array()?).into()),
            Len::Encoded(2) => int(i32::from_le_bytes(self.array()?).into()),
            Len::Encoded(3) => {
                let clen = self.length()?;
                let len = self.length()?;
                // Checked before reading: a bad pair fails at its lengths.
                if len > clen.saturating_mul(lzf::MAX_RATIO) {
                    return Err(
                        self.corrupt(format!("LZF string of {clen} bytes cannot expand to {len}"))
                    );
                }
                let compressed = self.bytes(clen)?;
                let len = usize::try_from(len)
                    .map_err(|_| self.corrupt(format!("LZF string of {len} bytes")))?;
                lzf::decompress(&compressed, len)
                    .map(Bytes::from)
                    .ok_or_else(|| self.corrupt("invalid LZF-compressed string"))
            }
            Len::Encoded(e) => Err(self.corrupt(format!("unknown string encoding {e}"))),
        }
    }

    /// The value of `key`, of RDB type `ty`; `None` for an empty hash or list (Redis skips
    /// those too: they hold nothing).
    fn value(&mut self, ty: u8, key: &Bytes) -> Result<Option<Loaded>, RdbError> {
        let in_key = |e: RdbError| match e {
            RdbError::Corrupt { at, what } if !what.starts_with("key '") => RdbError::Corrupt {
                at,
                what: format!("key '{}': {what}", show_key(key)),
            },
            e => e,
        };
        let unsupported = |what| RdbError::UnsupportedType {
            key: show_key(key),
            what,
            code: ty,
        };
        let value = match ty {
            rdb_type::STRING => Value::Str(self.string().map_err(in_key)?),
            rdb_type::LIST => {
                let n = self.length().map_err(in_key)?;
                let mut l = VecDeque::with_capacity(prealloc(n));
                for _ in 0..n {
                    l.push_back(self.string().map_err(in_key)?);
                }
                Value::List(l)
            }
            rdb_type::HASH => {
                let n = self.length().map_err(in_key)?;
                let mut h = HashFields::with_capacity(prealloc(n));
                for _ in 0..n {
                    let f = self.string().map_err(in_key)?;
                    let v = self.string().map_err(in_key)?;
                    if h.insert(f, v).is_some() {
                        return Err(in_key(self.corrupt("duplicate hash field")));
                    }
                }
                Value::Hash(h)
            }
            rdb_type::HASH_LISTPACK | rdb_type::HASH_ZIPLIST => {
                let blob = self.string().map_err(in_key)?;
                let items = if ty == rdb_type::HASH_LISTPACK {
                    encodings::listpack(&blob)
                } else {
                    encodings::ziplist(&blob)
                };
                let items = items.map_err(|e| in_key(self.corrupt(e)))?;
                if items.len() % 2 != 0 {
                    return Err(in_key(self.corrupt("hash with a field but no value")));
                }
                let mut h = HashFields::with_capacity(items.len() / 2);
                let mut it = items.into_iter();
                while let (Some(f), Some(v)) = (it.next(), it.next()) {
                    if h.insert(f, v).is_some() {
                        return Err(in_key(self.corrupt("duplicate hash field")));
                    }
                }
                Value::Hash(h)
            }
            rdb_type::LIST_ZIPLIST => {
                let blob = self.string().map_err(in_key)?;
                let items = encodings::ziplist(&blob).map_err(|e| in_key(self.corrupt(e)))?;
                Value::List(items.into())
            }
            rdb_type::LIST_QUICKLIST | rdb_type::LIST_QUICKLIST_2 => {
                Value::List(self.quicklist(ty).map_err(in_key)?)
            }
            rdb_type::MODULE | rdb_type::MODULE_2 => {
                let decoded = module_value::read_ai(self, ty == rdb_type::MODULE_2, key);
                return decoded.map(|d| Some(Loaded::Ai(d))).map_err(in_key);
            }
            rdb_type::SET | rdb_type::SET_INTSET | rdb_type::SET_LISTPACK => {
                return Err(unsupported("a set"))
            }
            rdb_type::ZSET
            | rdb_type::ZSET_2
            | rdb_type::ZSET_ZIPLIST
            | rdb_type::ZSET_LISTPACK => return Err(unsupported("a sorted set")),
            rdb_type::STREAM_LISTPACKS
            | rdb_type::STREAM_LISTPACKS_2
            | rdb_type::STREAM_LISTPACKS_3 => return Err(unsupported("a stream")),
            rdb_type::HASH_ZIPMAP => {
                return Err(unsupported("a hash in the zipmap encoding of Redis 2.x"))
            }
            _ => {
                return Err(
                    self.corrupt(format!("unknown value type {ty} (key '{}')", show_key(key)))
                )
            }
        };
        let empty = match &value {
            Value::Hash(h) => h.is_empty(),
            Value::List(l) => l.is_empty(),
            _ => false,
        };
        Ok((!empty).then_some(Loaded::Ready(value)))
    }

    /// A quicklist: nodes, each a ziplist (type 14) or, for type 18, a container kind (1: one
    /// plain element, 2: a listpack) and its blob.
    fn quicklist(&mut self, ty: u8) -> Result<VecDeque<Bytes>, RdbError> {
        const PLAIN: u64 = 1;
        const PACKED: u64 = 2;
        let nodes = self.length()?;
        let mut l = VecDeque::new();
        for _ in 0..nodes {
            let container = if ty == rdb_type::LIST_QUICKLIST_2 {
                self.length()?
            } else {
                PACKED
            };
            if container != PLAIN && container != PACKED {
                return Err(self.corrupt(format!("unknown quicklist container {container}")));
            }
            let blob = self.string()?;
            if blob.is_empty() {
                return Err(self.corrupt("empty quicklist node"));
            }
            if container == PLAIN {
                l.push_back(blob);
                continue;
            }
            let items = if ty == rdb_type::LIST_QUICKLIST_2 {
                encodings::listpack(&blob)
            } else {
                encodings::ziplist(&blob)
            };
            l.extend(items.map_err(|e| self.corrupt(e))?);
        }
        Ok(l)
    }
}

fn prealloc(n: u64) -> usize {
    usize::try_from(n).map_or(MAX_PREALLOC, |n| n.min(MAX_PREALLOC))
}

/// How often `progress` hears from a load.
const PROGRESS_KEYS: u64 = 1024;
const PROGRESS_BYTES: u64 = 16 << 20;

/// Reads a whole RDB file (versions 1 to 10). Keys of database 0 come back in file order with
/// their expiry (models are loaded and scripts compiled once the whole file has read well); AUX fields are returned; RESIZEDB, LRU/LFU hints and aux data of our own module
/// types are skipped; the CRC-64 is checked (a stored 0 means it was not computed). Refused,
/// with a message saying why: a truncated or damaged file, a newer version, other databases,
/// functions, value types this server cannot hold, module types other than RedisAI's, a model
/// or script the engine cannot build. `progress` hears (keys so far, bytes so far) every 1024
/// keys or 16 MiB, and at the end.
pub fn read_snapshot(
    input: &mut dyn Read,
    engine: &Engine,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Snapshot, RdbError> {
    let mut input = Input::new(BufReader::with_capacity(1 << 16, input), true);
    let magic = input.array::<9>()?;
    if &magic[..5] != b"REDIS" || !magic[5..].iter().all(u8::is_ascii_digit) {
        return Err(RdbError::NotRdb);
    }
    let version = magic[5..]
        .iter()
        .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
    if version > u32::from(RDB_VERSION) {
        return Err(RdbError::Version(version));
    }
    if version == 0 {
        return Err(RdbError::Corrupt {
            at: 5,
            what: "RDB version 0 does not exist".into(),
        });
    }

    let mut entries = Vec::new();
    let mut aux = Vec::new();
    let mut seen = HashSet::new();
    let mut expire_ms = None;
    let (mut reported_keys, mut reported_bytes) = (0, 0);
    loop {
        let op = input.byte()?;
        match op {
            opcode::EOF => break,
            opcode::EXPIRETIME_MS => expire_ms = Some(i64::from_le_bytes(input.array()?)),
            opcode::EXPIRETIME => {
                expire_ms = Some(i64::from(i32::from_le_bytes(input.array()?)) * 1000)
            }
            opcode::FREQ => {
                input.byte()?;
            }
            opcode::IDLE => {
                input.length()?;
            }
            opcode::SELECTDB => {
                let db = input.length()?;
                if db != 0 {
                    return Err(RdbError::OtherDatabase(db));
                }
            }
            opcode::RESIZEDB => {
                input.length()?;
                input.length()?;
            }
            opcode::AUX => {
                let k = input.string()?;
                let v = input.string()?;
                aux.push((k, v));
            }
            opcode::MODULE_AUX => module_value::skip_aux(&mut input)?,
            opcode::FUNCTION | opcode::FUNCTION2 => return Err(RdbError::Functions),
            ty => {
                let key = input.string()?;
                if let Some(value) = input.value(ty, &key)? {
                    if !seen.insert(key.clone()) {
                        return Err(
                            input.corrupt(format!("key '{}' appears twice", show_key(&key)))
                        );
                    }
                    entries.push((key, value, expire_ms));
                }
                expire_ms = None;
                let keys = entries.len() as u64;
                if keys >= reported_keys + PROGRESS_KEYS
                    || input.pos >= reported_bytes + PROGRESS_BYTES
                {
                    progress(keys, input.pos);
                    (reported_keys, reported_bytes) = (keys, input.pos);
                }
            }
        }
    }
    if version >= 5 {
        let computed = input.crc.unwrap_or(0);
        let stored = u64::from_le_bytes(input.array()?);
        if stored != 0 && stored != computed {
            return Err(RdbError::Checksum { stored, computed });
        }
    }
    progress(entries.len() as u64, input.pos);
    // The file is whole: now models load and scripts compile.
    let entries = entries
        .into_iter()
        .map(|(key, value, expire_ms): (Bytes, Loaded, _)| {
            let value = value.build(&key, engine)?;
            Ok(Entry {
                key,
                value,
                expire_ms,
            })
        })
        .collect::<Result<_, RdbError>>()?;
    Ok(Snapshot { entries, aux })
}

/// RESTORE's side of a DUMP payload: the footer is checked first (at least 10 bytes; an RDB
/// version up to ours; the CRC-64 of everything before it), then the value decodes from the
/// rest, which it must use up.
pub fn restore_payload(
    payload: &[u8],
    key: &Bytes,
    engine: &Engine,
) -> Result<Value, RestoreError> {
    let Some(body_len) = payload.len().checked_sub(10) else {
        return Err(RestoreError::Footer);
    };
    let (body, footer) = payload.split_at(body_len);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return Err(RestoreError::Footer);
    }
    let mut stored = [0u8; 8];
    stored.copy_from_slice(&footer[2..]);
    if crc64::update(0, &payload[..body_len + 2]) != u64::from_le_bytes(stored) {
        return Err(RestoreError::Footer);
    }
    let mut input = Input::new(body, false);
    let format = |e: RdbError| RestoreError::Format(e.to_string());
    let ty = input.byte().map_err(format)?;
    let value = input
        .value(ty, key)
        .map_err(format)?
        .ok_or_else(|| RestoreError::Format("an empty hash or list".into()))?;
    if input.pos != body.len() as u64 {
        return Err(RestoreError::Format(format!(
            "{} bytes after the value",
            body.len() as u64 - input.pos
        )));
    }
    value.build(key, engine).map_err(format)
}
