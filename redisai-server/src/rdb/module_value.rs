//! Module values: RedisAI's three types as Redis's module API lays them out in an RDB file.
//!
//! ```text
//! value (RDB type 7):  len module_id, field*, len 0 (EOF)
//! field:               len 2 (UINT), len v         RedisModule_SaveUnsigned / SaveSigned
//!                      len 5 (STRING), string      RedisModule_SaveStringBuffer
//!                      len 4 (DOUBLE), f64 (LE)    RedisModule_SaveDouble
//!                      (len 1 SINT, len 3 FLOAT + f32: read, never written by RedisAI)
//! module_id:           9 name characters of "A-Za-z0-9-_" (6 bits each), then 10 bits encver
//! ```
//! RDB type 6 (before Redis 4.0's opcodes) is the same without opcodes nor EOF. Core's codec
//! writes and reads the fields; this module supplies the streams ([`FieldWriter`],
//! [`FieldReader`]) and turns records into values through the engine.

use std::io::{Read, Write};
use std::sync::Arc;

use bytes::Bytes;
use redisai_core::codec::{self, RdbRead, RdbWrite};
use redisai_core::{Engine, Error as CoreError};

use super::read::Input;
use super::write::{write_len, write_string};
use super::{show_key, RdbError};

/// Field opcodes of module values.
pub mod field {
    pub const EOF: u64 = 0;
    pub const SINT: u64 = 1;
    pub const UINT: u64 = 2;
    pub const FLOAT: u64 = 3;
    pub const DOUBLE: u64 = 4;
    pub const STRING: u64 = 5;
}

const CHARSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The 64-bit module type id of a 9-character type name and an encoding version, as Redis's
/// `moduleTypeEncodeId` makes it; 0 (no valid id) for a bad name or version.
pub const fn module_type_id(name: &[u8], encver: u64) -> u64 {
    if name.len() != 9 || encver > 1023 {
        return 0;
    }
    let mut id = 0u64;
    let mut i = 0;
    while i < 9 {
        let mut pos = 0;
        while pos < 64 && CHARSET[pos] != name[i] {
            pos += 1;
        }
        if pos == 64 {
            return 0;
        }
        id = (id << 6) | pos as u64;
        i += 1;
    }
    (id << 10) | encver
}

/// The type name an id carries (whatever module it belongs to).
pub fn module_type_name(id: u64) -> String {
    (0..9)
        .map(|j| char::from(CHARSET[((id >> (10 + (8 - j) * 6)) & 63) as usize]))
        .collect()
}

const ENCVER: u64 = codec::ENCODING_VERSION as u64;
pub const TENSOR_ID: u64 = module_type_id(codec::TENSOR_TYPE_NAME.as_bytes(), ENCVER);
pub const MODEL_ID: u64 = module_type_id(codec::MODEL_TYPE_NAME.as_bytes(), ENCVER);
pub const SCRIPT_ID: u64 = module_type_id(codec::SCRIPT_TYPE_NAME.as_bytes(), ENCVER);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tensor,
    Model,
    Script,
}

/// Which of our types an id names (any encver), or the refusal.
fn kind_of(id: u64) -> Result<Kind, RdbError> {
    match id >> 10 {
        x if x == TENSOR_ID >> 10 => Ok(Kind::Tensor),
        x if x == MODEL_ID >> 10 => Ok(Kind::Model),
        x if x == SCRIPT_ID >> 10 => Ok(Kind::Script),
        _ => Err(RdbError::UnknownModule {
            id,
            name: module_type_name(id),
            encver: id & 1023,
        }),
    }
}

// ---- writing ---------------------------------------------------------------------------------

/// Core's [`RdbWrite`] over an RDB stream: each item an opcode and its value. The first I/O
/// error is kept (the trait cannot return it) and later items are dropped.
pub struct FieldWriter<'a, W: Write> {
    out: &'a mut W,
    pub error: Option<std::io::Error>,
}

impl<'a, W: Write> FieldWriter<'a, W> {
    pub fn new(out: &'a mut W) -> Self {
        FieldWriter { out, error: None }
    }

    fn item(&mut self, f: impl FnOnce(&mut W) -> std::io::Result<()>) {
        if self.error.is_none() {
            if let Err(e) = f(self.out) {
                self.error = Some(e);
            }
        }
    }
}

impl<W: Write> RdbWrite for FieldWriter<'_, W> {
    fn write_unsigned(&mut self, v: u64) {
        self.item(|w| {
            write_len(w, field::UINT)?;
            write_len(w, v)
        });
    }
    fn write_signed(&mut self, v: i64) {
        // As RedisModule_SaveSigned: the same bits, as an unsigned field.
        self.write_unsigned(v as u64);
    }
    fn write_buffer(&mut self, b: &[u8]) {
        self.item(|w| {
            write_len(w, field::STRING)?;
            write_string(w, b)
        });
    }
    fn write_double(&mut self, v: f64) {
        self.item(|w| {
            write_len(w, field::DOUBLE)?;
            w.write_all(&v.to_le_bytes())
        });
    }
}

/// A RedisAI value's body after its type byte: id, fields, EOF.
pub fn write_ai<W: Write>(
    out: &mut W,
    value: &redisai_core::Value,
    model_chunk_size: u64,
) -> std::io::Result<()> {
    use redisai_core::Value as V;
    let id = match value {
        V::Tensor(_) => TENSOR_ID,
        V::Model(_) => MODEL_ID,
        V::Script(_) => SCRIPT_ID,
    };
    write_len(out, id)?;
    let mut w = FieldWriter::new(&mut *out);
    match value {
        V::Tensor(t) => codec::save_tensor(t, &mut w),
        V::Model(m) => codec::save_model(&m.record(), model_chunk_size, &mut w),
        V::Script(s) => codec::save_script(&s.record(), &mut w),
    }
    if let Some(e) = w.error {
        return Err(e);
    }
    write_len(out, field::EOF)
}

// ---- reading ---------------------------------------------------------------------------------

/// Core's [`RdbRead`] over an RDB stream. A failure of the stream itself (truncated, an
/// unexpected opcode, a bad string) is kept as the [`RdbError`] to report, and core gets a
/// plain error to stop on.
pub struct FieldReader<'a, R: Read> {
    input: &'a mut Input<R>,
    /// RDB type 7: every field has its opcode.
    tagged: bool,
    key: &'a Bytes,
    pub failure: Option<RdbError>,
}

impl<R: Read> FieldReader<'_, R> {
    fn fail(&mut self, e: RdbError) -> CoreError {
        let msg = e.to_string();
        self.failure.get_or_insert(e);
        CoreError::Rdb(msg)
    }

    /// The next field's opcode, which must be one of `want`.
    fn opcode(&mut self, want: &[u64], what: &str) -> Result<(), CoreError> {
        if !self.tagged {
            return Ok(());
        }
        match self.input.length() {
            Ok(op) if want.contains(&op) => Ok(()),
            Ok(op) => {
                let e = self.input.corrupt(format!(
                    "key '{}': module value field has opcode {op}, {what} expected",
                    show_key(self.key)
                ));
                Err(self.fail(e))
            }
            Err(e) => Err(self.fail(e)),
        }
    }
}

impl<R: Read> RdbRead for FieldReader<'_, R> {
    fn read_unsigned(&mut self) -> redisai_core::Result<u64> {
        self.opcode(&[field::UINT, field::SINT], "an integer")?;
        self.input.length().map_err(|e| self.fail(e))
    }
    fn read_signed(&mut self) -> redisai_core::Result<i64> {
        Ok(self.read_unsigned()? as i64)
    }
    fn read_buffer(&mut self) -> redisai_core::Result<Bytes> {
        self.opcode(&[field::STRING], "a string")?;
        self.input.string().map_err(|e| self.fail(e))
    }
    fn read_double(&mut self) -> redisai_core::Result<f64> {
        self.opcode(&[field::DOUBLE], "a double")?;
        self.input
            .array::<8>()
            .map(f64::from_le_bytes)
            .map_err(|e| self.fail(e))
    }
}

/// A module value as decoded, before the engine makes it a value (a model's backend load is
/// the dear part: a file's checksum is checked first).
pub enum Decoded {
    Tensor(redisai_core::Tensor),
    Model(codec::ModelRecord),
    Script(codec::ScriptRecord),
}

/// A module value after its type byte (`tagged`: RDB type 7).
pub fn read_ai<R: Read>(
    input: &mut Input<R>,
    tagged: bool,
    key: &Bytes,
) -> Result<Decoded, RdbError> {
    let id = input.length()?;
    let kind = kind_of(id)?;
    // Core refuses versions it does not know (here, anything above 4).
    let encver = (id & 1023) as i32;
    let mut r = FieldReader {
        input: &mut *input,
        tagged,
        key,
        failure: None,
    };
    let decoded = match kind {
        Kind::Tensor => codec::load_tensor(&mut r, encver).map(Decoded::Tensor),
        Kind::Model => codec::load_model(&mut r, encver).map(Decoded::Model),
        Kind::Script => codec::load_script(&mut r, encver).map(Decoded::Script),
    };
    if let Some(e) = r.failure.take() {
        return Err(e);
    }
    let decoded = decoded.map_err(|source| RdbError::Key {
        key: show_key(key),
        source,
    })?;
    if tagged {
        let eof = input.length()?;
        if eof != field::EOF {
            return Err(input.corrupt(format!(
                "key '{}': module value has more fields than its type reads (opcode {eof} where its end was expected)",
                show_key(key)
            )));
        }
    }
    Ok(decoded)
}

/// The value of `key`: a model loaded by its backend, a script compiled.
pub fn build(
    decoded: Decoded,
    key: &Bytes,
    engine: &Engine,
) -> Result<redisai_core::Value, RdbError> {
    use redisai_core::Value as V;
    let key_error = |source| RdbError::Key {
        key: show_key(key),
        source,
    };
    Ok(match decoded {
        Decoded::Tensor(t) => V::Tensor(Arc::new(t)),
        Decoded::Model(rec) => V::Model(Arc::new(engine.build_model(key, rec).map_err(key_error)?)),
        Decoded::Script(rec) => {
            V::Script(Arc::new(engine.build_script(key, rec).map_err(key_error)?))
        }
    })
}

/// A MODULE_AUX record after its opcode: read and dropped if it is one of our types' (RedisAI
/// keeps no aux data, but a file may carry some), refused otherwise.
pub fn skip_aux<R: Read>(input: &mut Input<R>) -> Result<(), RdbError> {
    let id = input.length()?;
    let when_opcode = input.length()?;
    let _when = input.length()?;
    if when_opcode != field::UINT {
        return Err(input.corrupt(format!(
            "module aux data has opcode {when_opcode} where its 'when' field was expected"
        )));
    }
    kind_of(id)?;
    loop {
        match input.length()? {
            field::EOF => return Ok(()),
            field::SINT | field::UINT => {
                input.length()?;
            }
            field::FLOAT => {
                input.array::<4>()?;
            }
            field::DOUBLE => {
                input.array::<8>()?;
            }
            field::STRING => {
                input.string()?;
            }
            op => return Err(input.corrupt(format!("module aux data has an unknown opcode {op}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        // moduleTypeEncodeId("AI_TENSOR", 4), computed by hand from the charset.
        assert_ne!(TENSOR_ID, 0);
        assert_eq!(TENSOR_ID & 1023, 4);
        assert_eq!(module_type_name(TENSOR_ID), "AI_TENSOR");
        assert_eq!(module_type_name(MODEL_ID), "AI__MODEL");
        assert_eq!(module_type_name(SCRIPT_ID), "AI_SCRIPT");
        assert_eq!(module_type_id(b"AAAAAAAAA", 0), 0);
        assert_eq!(module_type_id(b"AAAAAAAAB", 1), (1 << 10) | 1);
        assert_eq!(module_type_id(b"_________", 1023), u64::MAX);
        assert_eq!(module_type_id(b"short", 1), 0);
        assert_eq!(module_type_id(b"AI_TENSO!", 1), 0);
        assert_eq!(module_type_id(b"AI_TENSOR", 1024), 0);
        assert_eq!(kind_of(TENSOR_ID - 4).unwrap(), Kind::Tensor);
        assert_eq!(kind_of(MODEL_ID + 1).unwrap(), Kind::Model);
        assert_eq!(kind_of(SCRIPT_ID).unwrap(), Kind::Script);
        let other = module_type_id(b"mytype123", 1);
        assert_eq!(
            kind_of(other).unwrap_err().to_string(),
            format!("unknown module type id {other:#x} ('mytype123' encver 1: not AI_TENSOR, AI__MODEL or AI_SCRIPT)")
        );
    }
}
