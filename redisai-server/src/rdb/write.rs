//! The encoder: whole RDB files and DUMP payloads.
//!
//! Everything is written in the plainest form Redis 7.0 loads (it re-encodes on load as its own
//! configuration says): strings length-prefixed and uncompressed, hashes as type 4, lists as
//! type 1, RedisAI values as type 7 with their fields tagged.

use std::io::{BufWriter, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::{crc64, module_value, opcode, rdb_type, RDB_VERSION};
use crate::db::Value;

/// An RDB length: 6 bits, 14 bits, 32 or 64 bits big-endian after a marker byte.
pub fn write_len<W: Write + ?Sized>(w: &mut W, n: u64) -> std::io::Result<()> {
    if n < 1 << 6 {
        w.write_all(&[n as u8])
    } else if n < 1 << 14 {
        w.write_all(&[0x40 | (n >> 8) as u8, n as u8])
    } else if let Ok(n) = u32::try_from(n) {
        w.write_all(&[0x80])?;
        w.write_all(&n.to_be_bytes())
    } else {
        w.write_all(&[0x81])?;
        w.write_all(&n.to_be_bytes())
    }
}

/// A string: its length, then its bytes.
pub fn write_string<W: Write + ?Sized>(w: &mut W, s: &[u8]) -> std::io::Result<()> {
    write_len(w, s.len() as u64)?;
    w.write_all(s)
}

/// The RDB type byte a value is written with.
fn type_byte(value: &Value) -> u8 {
    match value {
        Value::Str(_) => rdb_type::STRING,
        Value::Hash(_) => rdb_type::HASH,
        Value::List(_) => rdb_type::LIST,
        Value::Ai(_) => rdb_type::MODULE_2,
    }
}

/// A value's encoding (after its type byte, and in a file after its key).
fn write_body<W: Write>(w: &mut W, value: &Value, model_chunk_size: u64) -> std::io::Result<()> {
    match value {
        Value::Str(s) => write_string(w, s),
        Value::Hash(h) => {
            write_len(w, h.len() as u64)?;
            for (f, v) in h {
                write_string(w, f)?;
                write_string(w, v)?;
            }
            Ok(())
        }
        Value::List(l) => {
            write_len(w, l.len() as u64)?;
            for e in l {
                write_string(w, e)?;
            }
            Ok(())
        }
        Value::Ai(v) => module_value::write_ai(w, v, model_chunk_size),
    }
}

/// A writer that keeps the CRC-64 of what went through it.
struct Checksummed<W> {
    inner: W,
    crc: u64,
}

impl<W: Write> Write for Checksummed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc = crc64::update(self.crc, &buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn aux<W: Write>(w: &mut W, key: &[u8], value: &[u8]) -> std::io::Result<()> {
    w.write_all(&[opcode::AUX])?;
    write_string(w, key)?;
    write_string(w, value)
}

/// A whole RDB file: "REDIS0010"; the AUX fields Redis 7.0 writes (`redis-ver` 7.0.15,
/// `redis-bits`, `ctime`, `used-mem`, `aof-base`), where `extra_aux` names one of them its
/// value replaces the default, and its other fields follow; SELECTDB 0 and RESIZEDB when there
/// are keys; each key (an EXPIRETIME_MS first when it has an expiry, Unix milliseconds); EOF;
/// the CRC-64 of all that, little-endian. The output is flushed.
pub fn write_snapshot_with(
    out: &mut dyn Write,
    entries: &mut dyn Iterator<Item = (&Bytes, &Value, Option<i64>)>,
    extra_aux: &[(Bytes, Bytes)],
    model_chunk_size: u64,
) -> std::io::Result<()> {
    // RESIZEDB comes before the keys: count them first (references only).
    let entries: Vec<_> = entries.collect();
    let mut w = Checksummed {
        inner: BufWriter::with_capacity(1 << 16, out),
        crc: 0,
    };
    write!(w, "REDIS{RDB_VERSION:04}")?;

    let ctime = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let used_mem: usize = entries.iter().map(|(k, v, _)| k.len() + v.size()).sum();
    let defaults: [(&[u8], String); 5] = [
        (b"redis-ver", "7.0.15".into()),
        (b"redis-bits", "64".into()),
        (b"ctime", ctime.to_string()),
        (b"used-mem", used_mem.to_string()),
        (b"aof-base", "0".into()),
    ];
    let given = |name: &[u8]| extra_aux.iter().find(|(k, _)| k.as_ref() == name);
    for (name, default) in &defaults {
        match given(name) {
            Some((_, v)) => aux(&mut w, name, v)?,
            None => aux(&mut w, name, default.as_bytes())?,
        }
    }
    for (k, v) in extra_aux {
        if !defaults.iter().any(|(name, _)| *name == k.as_ref()) {
            aux(&mut w, k, v)?;
        }
    }

    if !entries.is_empty() {
        w.write_all(&[opcode::SELECTDB])?;
        write_len(&mut w, 0)?;
        w.write_all(&[opcode::RESIZEDB])?;
        write_len(&mut w, entries.len() as u64)?;
        let expires = entries.iter().filter(|(_, _, e)| e.is_some()).count();
        write_len(&mut w, expires as u64)?;
    }
    for (key, value, expire_ms) in entries {
        if let Some(t) = expire_ms {
            w.write_all(&[opcode::EXPIRETIME_MS])?;
            w.write_all(&t.to_le_bytes())?;
        }
        w.write_all(&[type_byte(value)])?;
        write_string(&mut w, key)?;
        write_body(&mut w, value, model_chunk_size)?;
    }
    w.write_all(&[opcode::EOF])?;
    let crc = w.crc;
    w.inner.write_all(&crc.to_le_bytes())?;
    w.inner.flush()
}

/// DUMP's payload of one value: its type byte and encoding, the RDB version (2 bytes, LE) and
/// the CRC-64 of all that (8 bytes, LE), as Redis's `createDumpPayload`.
pub fn dump_payload(value: &Value, model_chunk_size: u64) -> Vec<u8> {
    let mut buf = vec![type_byte(value)];
    // Writing into a Vec cannot fail.
    let _ = write_body(&mut buf, value, model_chunk_size);
    buf.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64::update(0, &buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len_bytes(n: u64) -> Vec<u8> {
        let mut v = Vec::new();
        write_len(&mut v, n).unwrap();
        v
    }

    #[test]
    fn lengths() {
        assert_eq!(len_bytes(0), [0]);
        assert_eq!(len_bytes(63), [63]);
        assert_eq!(len_bytes(64), [0x40, 64]);
        assert_eq!(len_bytes(16383), [0x7f, 0xff]);
        assert_eq!(len_bytes(16384), [0x80, 0, 0, 0x40, 0]);
        assert_eq!(len_bytes(u32::MAX.into()), [0x80, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(len_bytes(1 << 32), [0x81, 0, 0, 0, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn dump_layout() {
        let p = dump_payload(&Value::Str(Bytes::from_static(b"hello")), 1 << 20);
        assert_eq!(&p[..9], b"\x00\x05hello\x0a\x00");
        assert_eq!(p.len(), 9 + 8);
        assert_eq!(p[9..], crc64::update(0, &p[..9]).to_le_bytes());
    }
}
