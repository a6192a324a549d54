//! The value payloads RedisAI keeps in RDB files (and DUMP payloads), and the commands an AOF
//! rewrite emits.
//!
//! A face supplies the stream: the Redis module implements [`RdbWrite`]/[`RdbRead`] over
//! `RedisModuleIO`, the standalone server over its own RDB file. [`RdbItem`] is an in-memory
//! stream of the same items, for tests and for anything that wants the payload as values.
//!
//! - [`tensor`]: `AI_TENSOR`, v4 written, v0..v4 read.
//! - [`model`]: `AI__MODEL` as a backend-free [`ModelRecord`], v4 written, v0..v4 read.
//! - [`script`]: `AI_SCRIPT` as a [`ScriptRecord`], v4 written, v0..v4 read.
//! - [`aof`]: the `AI.TENSORSET` / `AI.MODELSTORE` / `AI.SCRIPTSTORE` argv of an AOF rewrite.
//!
//! Decoding is fed untrusted bytes (RESTORE takes any payload): it never panics, and never
//! allocates from a count it has not checked, since an [`RdbRead`] cannot say how much is left.

pub mod aof;
pub mod model;
pub mod script;
pub mod tensor;

use bytes::Bytes;

use crate::error::{Error, Result};

pub use model::{load_model, save_model, ModelRecord};
pub use script::{load_script, save_script, ScriptRecord};
pub use tensor::{load_tensor, save_tensor};

/// The encoding version written for all three types; versions `0..=ENCODING_VERSION` are read.
pub const ENCODING_VERSION: i32 = 4;

/// Module type names (Redis wants exactly 9 characters); they are part of the RDB format.
pub const TENSOR_TYPE_NAME: &str = "AI_TENSOR";
pub const MODEL_TYPE_NAME: &str = "AI__MODEL";
pub const SCRIPT_TYPE_NAME: &str = "AI_SCRIPT";

/// Where a payload is written. Mirrors `RedisModule_Save*`: in a Redis RDB file a signed and an
/// unsigned value are the same item, but the distinction is kept here so that a stream that can
/// tell them apart (as [`RdbItem`] does) checks the layout exactly.
pub trait RdbWrite {
    fn write_unsigned(&mut self, v: u64);
    fn write_signed(&mut self, v: i64);
    fn write_buffer(&mut self, b: &[u8]);
    fn write_double(&mut self, v: f64);
}

/// Where a payload is read from. Each call fails (rather than inventing a value) when the
/// stream is exhausted or broken, as `RedisModule_IsIOError` reports it.
pub trait RdbRead {
    fn read_unsigned(&mut self) -> Result<u64>;
    fn read_signed(&mut self) -> Result<i64>;
    fn read_buffer(&mut self) -> Result<Bytes>;
    fn read_double(&mut self) -> Result<f64>;
}

/// One item of an in-memory payload. A `Vec<RdbItem>` is an [`RdbWrite`]; an [`ItemReader`]
/// reads a slice of them back, checking each item's kind.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbItem {
    Unsigned(u64),
    Signed(i64),
    Buffer(Bytes),
    Double(f64),
}

impl RdbWrite for Vec<RdbItem> {
    fn write_unsigned(&mut self, v: u64) {
        self.push(RdbItem::Unsigned(v));
    }
    fn write_signed(&mut self, v: i64) {
        self.push(RdbItem::Signed(v));
    }
    fn write_buffer(&mut self, b: &[u8]) {
        self.push(RdbItem::Buffer(Bytes::copy_from_slice(b)));
    }
    fn write_double(&mut self, v: f64) {
        self.push(RdbItem::Double(v));
    }
}

/// Reads a slice of [`RdbItem`]s in order. Reading an item of another kind than the one there
/// is an error, as is reading past the end.
#[derive(Debug, Clone)]
pub struct ItemReader<'a> {
    items: &'a [RdbItem],
    pos: usize,
}

impl<'a> ItemReader<'a> {
    pub fn new(items: &'a [RdbItem]) -> Self {
        ItemReader { items, pos: 0 }
    }

    /// Items not read yet: a decoder that leaves some did not read the payload it was given.
    pub fn remaining(&self) -> usize {
        self.items.len() - self.pos
    }

    fn next(&mut self, want: &str) -> Result<&'a RdbItem> {
        let item = self
            .items
            .get(self.pos)
            .ok_or_else(|| rdb_error(format!("truncated payload (expected {want})")))?;
        self.pos += 1;
        Ok(item)
    }
}

fn wrong_kind(want: &str, got: &RdbItem) -> Error {
    let got = match got {
        RdbItem::Unsigned(_) => "an unsigned",
        RdbItem::Signed(_) => "a signed",
        RdbItem::Buffer(_) => "a buffer",
        RdbItem::Double(_) => "a double",
    };
    rdb_error(format!("expected {want}, found {got}"))
}

impl RdbRead for ItemReader<'_> {
    fn read_unsigned(&mut self) -> Result<u64> {
        match self.next("an unsigned")? {
            RdbItem::Unsigned(v) => Ok(*v),
            other => Err(wrong_kind("an unsigned", other)),
        }
    }
    fn read_signed(&mut self) -> Result<i64> {
        match self.next("a signed")? {
            RdbItem::Signed(v) => Ok(*v),
            other => Err(wrong_kind("a signed", other)),
        }
    }
    fn read_buffer(&mut self) -> Result<Bytes> {
        match self.next("a buffer")? {
            RdbItem::Buffer(b) => Ok(b.clone()),
            other => Err(wrong_kind("a buffer", other)),
        }
    }
    fn read_double(&mut self) -> Result<f64> {
        match self.next("a double")? {
            RdbItem::Double(v) => Ok(*v),
            other => Err(wrong_kind("a double", other)),
        }
    }
}

// ---- helpers shared by the payloads ----------------------------------------------------------

/// Most elements reserved ahead of reading a list whose length came from the payload: a longer
/// list grows as its items actually arrive.
pub(crate) const MAX_PREALLOC: usize = 1024;

pub(crate) fn rdb_error(msg: impl Into<String>) -> Error {
    Error::Rdb(msg.into())
}

/// Refuses a version this build cannot read: newer ones, or a negative one.
pub(crate) fn check_encver(what: &str, encver: i32) -> Result<()> {
    if encver > ENCODING_VERSION {
        return Err(rdb_error(format!(
            "{what} encoding version {encver} is newer than {ENCODING_VERSION} (not forward compatible)"
        )));
    }
    if encver < 0 {
        return Err(rdb_error(format!(
            "{what} encoding version {encver} is invalid"
        )));
    }
    Ok(())
}

/// A count from the payload, as a `usize`.
pub(crate) fn read_count(r: &mut dyn RdbRead, what: &str) -> Result<usize> {
    let n = r.read_unsigned()?;
    usize::try_from(n).map_err(|_| rdb_error(format!("{what} {n} is too large")))
}

/// A C string saved with its NUL: the NUL is stripped. Leniently, a buffer without one is
/// taken whole (whatever wrote it, its bytes are the value).
pub(crate) fn read_cstr(r: &mut dyn RdbRead) -> Result<Bytes> {
    let mut b = r.read_buffer()?;
    if b.last() == Some(&0) {
        b.truncate(b.len() - 1);
    }
    Ok(b)
}

/// The v0 tag: saved as a C string, loaded by dropping its last byte whatever it is (the C
/// loader's `len - 1`).
pub(crate) fn read_v0_tag(r: &mut dyn RdbRead) -> Result<Bytes> {
    let mut b = r.read_buffer()?;
    b.truncate(b.len().saturating_sub(1));
    Ok(b)
}

/// A C string: the bytes and a trailing NUL, as RedisAI saves device, names and sources.
pub(crate) fn write_cstr(w: &mut dyn RdbWrite, s: &[u8]) {
    let mut b = Vec::with_capacity(s.len() + 1);
    b.extend_from_slice(s);
    b.push(0);
    w.write_buffer(&b);
}

/// `n` C strings, the count read first.
pub(crate) fn read_cstr_list(r: &mut dyn RdbRead, what: &str) -> Result<Vec<Bytes>> {
    let n = read_count(r, what)?;
    let mut v = Vec::with_capacity(n.min(MAX_PREALLOC));
    for _ in 0..n {
        v.push(read_cstr(r)?);
    }
    Ok(v)
}

/// `n` then `n` C strings.
pub(crate) fn write_cstr_list(w: &mut dyn RdbWrite, items: &[Bytes]) {
    w.write_unsigned(items.len() as u64);
    for i in items {
        write_cstr(w, i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_reader_checks_kinds_and_end() {
        let items = vec![
            RdbItem::Unsigned(1),
            RdbItem::Buffer(Bytes::from_static(b"x")),
        ];
        let mut r = ItemReader::new(&items);
        assert!(matches!(r.read_signed(), Err(Error::Rdb(_))));
        let mut r = ItemReader::new(&items);
        assert_eq!(r.read_unsigned(), Ok(1));
        assert!(matches!(r.read_unsigned(), Err(Error::Rdb(_))));
        let mut r = ItemReader::new(&items);
        r.read_unsigned().unwrap();
        assert_eq!(r.read_buffer(), Ok(Bytes::from_static(b"x")));
        assert_eq!(r.remaining(), 0);
        assert_eq!(
            r.read_double(),
            Err(Error::Rdb("truncated payload (expected a double)".into()))
        );
    }

    #[test]
    fn versions() {
        assert!(check_encver("tensor", 0).is_ok());
        assert!(check_encver("tensor", 4).is_ok());
        assert_eq!(
            check_encver("tensor", 5).unwrap_err().to_string(),
            "ERR bad RDB payload: tensor encoding version 5 is newer than 4 (not forward compatible)"
        );
        assert!(check_encver("tensor", -1).is_err());
    }

    #[test]
    fn cstrs() {
        let mut w = Vec::new();
        write_cstr(&mut w, b"ab");
        write_cstr(&mut w, b"");
        w.write_buffer(b"raw");
        w.write_buffer(b"");
        assert_eq!(w[0], RdbItem::Buffer(Bytes::from_static(b"ab\0")));
        let mut r = ItemReader::new(&w);
        assert_eq!(read_cstr(&mut r).unwrap(), "ab");
        assert_eq!(read_cstr(&mut r).unwrap(), "");
        assert_eq!(read_cstr(&mut r).unwrap(), "raw");
        assert_eq!(read_v0_tag(&mut r).unwrap(), "");
    }
}
