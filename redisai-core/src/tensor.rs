//! Tensors: RedisAI's dtypes (plus FLOAT16/BFLOAT16), shapes, the BLOB and VALUES codecs, and the
//! dim-0 concatenation and slicing that batching needs.
//!
//! Data lives in a `Bytes`: cloning a tensor, replying its blob or slicing it along dim 0 never
//! copies element data. Numeric data is little-endian, row-major, read unaligned (a BLOB received
//! by the server is kept where it landed). STRING data is the NUL-terminated elements back to
//! back, with the start offset of each element kept beside it.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use crate::args::{parse_double, parse_strict_i64};
use crate::error::{Error, Result};
use crate::reply::Reply;

/// Largest tensor (in bytes) that AI.TENSORSET without data will allocate: the largest BLOB
/// Redis carries (`proto-max-bulk-len`, 512 MB). A BLOB is bounded by the transport; zeros are
/// not, and must not take the server down (nor make a tensor that no BLOB, AOF rewrite or
/// replica could carry back).
pub const MAX_ZEROED_BYTES: usize = 512 * 1024 * 1024;

/// A tensor element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    Float,
    Double,
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Bool,
    String,
    /// Extension of redisai-rs: IEEE half precision.
    Float16,
    /// Extension of redisai-rs: bfloat16.
    BFloat16,
}

impl DataType {
    pub const ALL: [DataType; 12] = [
        DataType::Float,
        DataType::Double,
        DataType::Int8,
        DataType::Int16,
        DataType::Int32,
        DataType::Int64,
        DataType::Uint8,
        DataType::Uint16,
        DataType::Bool,
        DataType::String,
        DataType::Float16,
        DataType::BFloat16,
    ];

    /// Parses a type name, case-insensitively.
    pub fn parse(name: &[u8]) -> Option<DataType> {
        DataType::ALL
            .into_iter()
            .find(|t| name.eq_ignore_ascii_case(t.name().as_bytes()))
    }

    /// The upper-case name used in replies and AOF.
    pub fn name(self) -> &'static str {
        match self {
            DataType::Float => "FLOAT",
            DataType::Double => "DOUBLE",
            DataType::Int8 => "INT8",
            DataType::Int16 => "INT16",
            DataType::Int32 => "INT32",
            DataType::Int64 => "INT64",
            DataType::Uint8 => "UINT8",
            DataType::Uint16 => "UINT16",
            DataType::Bool => "BOOL",
            DataType::String => "STRING",
            DataType::Float16 => "FLOAT16",
            DataType::BFloat16 => "BFLOAT16",
        }
    }

    /// Bytes per element; STRING elements have no fixed size (1 is DLPack's `bits/8`).
    pub fn size(self) -> usize {
        match self {
            DataType::Double | DataType::Int64 => 8,
            DataType::Float | DataType::Int32 => 4,
            DataType::Int16 | DataType::Uint16 | DataType::Float16 | DataType::BFloat16 => 2,
            DataType::Int8 | DataType::Uint8 | DataType::Bool | DataType::String => 1,
        }
    }

    /// DLPack (code, bits), as RedisAI's RDB encoding stores them (BOOL=6 and STRING=7 come from
    /// RedisAI's fork; bfloat16 is DLPack's code 4).
    pub fn dlpack(self) -> (u8, u8) {
        match self {
            DataType::Float => (2, 32),
            DataType::Double => (2, 64),
            DataType::Float16 => (2, 16),
            DataType::BFloat16 => (4, 16),
            DataType::Int8 => (0, 8),
            DataType::Int16 => (0, 16),
            DataType::Int32 => (0, 32),
            DataType::Int64 => (0, 64),
            DataType::Uint8 => (1, 8),
            DataType::Uint16 => (1, 16),
            DataType::Bool => (6, 8),
            DataType::String => (7, 8),
        }
    }

    pub fn from_dlpack(code: u64, bits: u64) -> Option<DataType> {
        DataType::ALL
            .into_iter()
            .find(|t| t.dlpack() == (code as u8, bits as u8) && code < 256 && bits < 256)
    }
}

/// An immutable tensor. Cheap to clone: the data is shared.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    dtype: DataType,
    shape: Vec<usize>,
    data: Bytes,
    /// STRING only: the start of each element in `data`.
    offsets: Option<Arc<[usize]>>,
}

/// Number of elements of a shape (an empty shape is a scalar: 1; a zero dim makes it 0).
///
/// The product of the non-zero dims must fit in `usize`, else `TensorTooLarge`, also when a zero
/// dim makes the tensor empty: then every partial product (a row's length, the dims after dim 0)
/// fits too, whatever the order of the dims.
pub fn shape_len(shape: &[usize]) -> Result<usize> {
    let nonzero = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or(Error::TensorTooLarge)?;
    Ok(if shape.contains(&0) { 0 } else { nonzero })
}

impl Tensor {
    /// A tensor of zeros (STRING: every element the empty string).
    pub fn zeros(dtype: DataType, shape: Vec<usize>) -> Result<Tensor> {
        let len = shape_len(&shape)?;
        let bytes = len.checked_mul(dtype.size()).ok_or(Error::TensorTooLarge)?;
        // STRING elements also cost an offset each: count it against the limit too.
        let offset_bytes = match dtype {
            DataType::String => len.checked_mul(std::mem::size_of::<usize>()),
            _ => Some(0),
        };
        let total = offset_bytes.and_then(|o| o.checked_add(bytes));
        if total.is_none_or(|t| t > MAX_ZEROED_BYTES) {
            return Err(Error::TensorTooLarge);
        }
        let offsets = (dtype == DataType::String).then(|| (0..len).collect::<Arc<[usize]>>());
        Ok(Tensor {
            dtype,
            shape,
            data: Bytes::from(vec![0u8; bytes]),
            offsets,
        })
    }

    /// A tensor over a BLOB, validated as AI.TENSORSET does. The blob is kept, not copied.
    pub fn from_blob(dtype: DataType, shape: Vec<usize>, data: Bytes) -> Result<Tensor> {
        let len = shape_len(&shape)?;
        let offsets = match dtype {
            DataType::String => Some(string_offsets(&data, len)?),
            _ => {
                if Some(data.len()) != len.checked_mul(dtype.size()) {
                    return Err(Error::DataLength);
                }
                if dtype == DataType::Bool && data.iter().any(|&b| b > 1) {
                    return Err(Error::BoolElements);
                }
                None
            }
        };
        Ok(Tensor {
            dtype,
            shape,
            data,
            offsets,
        })
    }

    /// A tensor from VALUES arguments, as AI.TENSORSET parses them: one value per element, else
    /// `ValuesCount`. Signed integers accept their whole range, negatives included (see
    /// docs/compatibility.md).
    pub fn from_values(dtype: DataType, shape: Vec<usize>, values: &[Bytes]) -> Result<Tensor> {
        let len = shape_len(&shape)?;
        if values.len() != len {
            return Err(Error::ValuesCount);
        }
        if dtype == DataType::String {
            // A value may carry its own NUL terminator.
            let elements = values.iter().map(|v| match v.split_last() {
                Some((0, head)) => head,
                _ => &v[..],
            });
            return Tensor::from_c_strings(shape, elements);
        }
        let mut buf = BytesMut::with_capacity(len * dtype.size());
        for v in values {
            put_value(&mut buf, dtype, v)?;
        }
        Ok(Tensor {
            dtype,
            shape,
            data: buf.freeze(),
            offsets: None,
        })
    }

    /// A STRING tensor from its elements, each without a terminating NUL (as a backend returns
    /// them): `NulInString` if one holds a NUL (RedisAI's strings are C strings),
    /// `StringElements` if their number is not the shape's.
    pub fn from_c_strings<'a>(
        shape: Vec<usize>,
        elements: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Tensor> {
        let len = shape_len(&shape)?;
        let mut buf = BytesMut::new();
        let mut offsets = Vec::with_capacity(len);
        for e in elements {
            if e.contains(&0) {
                return Err(Error::NulInString);
            }
            offsets.push(buf.len());
            buf.put_slice(e);
            buf.put_u8(0);
        }
        if offsets.len() != len {
            return Err(Error::StringElements);
        }
        Ok(Tensor {
            dtype: DataType::String,
            shape,
            data: buf.freeze(),
            offsets: Some(offsets.into()),
        })
    }

    pub fn dtype(&self) -> DataType {
        self.dtype
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw data (STRING: the NUL-separated blob). Shared, not copied.
    pub fn blob(&self) -> &Bytes {
        &self.data
    }

    /// Size of the data in bytes.
    pub fn byte_size(&self) -> usize {
        self.data.len()
    }

    /// STRING only: element `i` without its NUL.
    pub fn string_at(&self, i: usize) -> Option<&[u8]> {
        let offsets = self.offsets.as_ref()?;
        let start = *offsets.get(i)?;
        let end = offsets.get(i + 1).map_or(self.data.len(), |&e| e);
        Some(&self.data[start..end - 1])
    }

    /// Element `i` as a reply value: an integer for integer types and BOOL, a double for floating
    /// types, a bulk C-string for STRING.
    pub fn value_reply(&self, i: usize) -> Reply {
        let sz = self.dtype.size();
        let b = &self.data[i * sz..(i + 1) * sz];
        match self.dtype {
            DataType::Float => Reply::Double(f32::from_le_bytes(arr(b)) as f64),
            DataType::Double => Reply::Double(f64::from_le_bytes(arr(b))),
            DataType::Float16 => Reply::Double(half::f16::from_le_bytes(arr(b)).to_f64()),
            DataType::BFloat16 => Reply::Double(half::bf16::from_le_bytes(arr(b)).to_f64()),
            DataType::Int8 => Reply::Int(b[0] as i8 as i64),
            DataType::Int16 => Reply::Int(i16::from_le_bytes(arr(b)) as i64),
            DataType::Int32 => Reply::Int(i32::from_le_bytes(arr(b)) as i64),
            DataType::Int64 => Reply::Int(i64::from_le_bytes(arr(b))),
            DataType::Uint8 | DataType::Bool => Reply::Int(b[0] as i64),
            DataType::Uint16 => Reply::Int(u16::from_le_bytes(arr(b)) as i64),
            DataType::String => {
                Reply::Bulk(self.data.slice_ref(self.string_at(i).unwrap_or_default()))
            }
        }
    }

    /// All elements as reply values (AI.TENSORGET VALUES).
    pub fn values_reply(&self) -> Reply {
        Reply::Array((0..self.len()).map(|i| self.value_reply(i)).collect())
    }

    /// Size of dim 0 (1 for a scalar, 0 for a tensor with no rows).
    pub fn dim0(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }

    /// Elements per dim-0 row.
    fn row_len(&self) -> usize {
        self.shape.iter().skip(1).product()
    }

    /// Byte range of rows `[from, to)` along dim 0.
    fn row_bytes(&self, from: usize, to: usize) -> (usize, usize) {
        let row = self.row_len();
        match &self.offsets {
            Some(off) => {
                let at = |r: usize| off.get(r * row).copied().unwrap_or(self.data.len());
                (at(from), at(to))
            }
            None => {
                let rb = row * self.dtype.size();
                (from * rb, to * rb)
            }
        }
    }

    /// Rows `[offset, offset+len)` along dim 0, sharing this tensor's data (no copy). `len` may
    /// be 0 (an empty tensor of the same inner dims); a scalar has no dim 0 to slice.
    pub fn slice(&self, offset: usize, len: usize) -> Result<Tensor> {
        if self.shape.is_empty() || offset.checked_add(len).is_none_or(|end| end > self.dim0()) {
            return Err(Error::ConcatMismatch);
        }
        let (start, end) = self.row_bytes(offset, offset + len);
        let offsets = self.offsets.as_ref().map(|off| {
            let row = self.row_len();
            off[offset * row..(offset + len) * row]
                .iter()
                .map(|o| o - start)
                .collect()
        });
        let mut shape = self.shape.clone();
        shape[0] = len;
        Ok(Tensor {
            dtype: self.dtype,
            shape,
            data: self.data.slice(start..end),
            offsets,
        })
    }

    /// Concatenation along dim 0, in order. Every byte is copied exactly once; STRING offsets are
    /// rebased. All tensors must share dtype, rank (≥ 1) and dims after dim 0; parts with 0 rows
    /// add nothing.
    pub fn concat(parts: &[&Tensor]) -> Result<Tensor> {
        let first = parts.first().ok_or(Error::ConcatMismatch)?;
        if first.shape.is_empty()
            || parts
                .iter()
                .any(|t| t.dtype != first.dtype || t.shape.len() != first.shape.len())
            || parts.iter().any(|t| t.shape[1..] != first.shape[1..])
        {
            return Err(Error::ConcatMismatch);
        }
        if parts.len() == 1 {
            return Ok((*first).clone());
        }
        let total: usize = parts.iter().map(|t| t.data.len()).sum();
        let mut buf = BytesMut::with_capacity(total);
        let mut offsets = first.offsets.as_ref().map(|_| Vec::new());
        for t in parts {
            if let (Some(acc), Some(off)) = (offsets.as_mut(), t.offsets.as_ref()) {
                let base = buf.len();
                acc.extend(off.iter().map(|o| o + base));
            }
            buf.put_slice(&t.data);
        }
        let mut shape = first.shape.clone();
        shape[0] = parts.iter().map(|t| t.shape[0]).sum();
        Ok(Tensor {
            dtype: first.dtype,
            shape,
            data: buf.freeze(),
            offsets: offsets.map(Into::into),
        })
    }

    /// Element `i` of a floating-point tensor (`None` for other types, or past the end).
    pub fn get_f64(&self, i: usize) -> Option<f64> {
        let b = self.element(i)?;
        Some(match self.dtype {
            DataType::Float => f32::from_le_bytes(arr(b)) as f64,
            DataType::Double => f64::from_le_bytes(arr(b)),
            DataType::Float16 => half::f16::from_le_bytes(arr(b)).to_f64(),
            DataType::BFloat16 => half::bf16::from_le_bytes(arr(b)).to_f64(),
            _ => return None,
        })
    }

    /// Element `i` of an integer or BOOL tensor (`None` for other types, or past the end).
    pub fn get_i64(&self, i: usize) -> Option<i64> {
        let b = self.element(i)?;
        Some(match self.dtype {
            DataType::Int8 => b[0] as i8 as i64,
            DataType::Int16 => i16::from_le_bytes(arr(b)) as i64,
            DataType::Int32 => i32::from_le_bytes(arr(b)) as i64,
            DataType::Int64 => i64::from_le_bytes(arr(b)),
            DataType::Uint8 | DataType::Bool => b[0] as i64,
            DataType::Uint16 => u16::from_le_bytes(arr(b)) as i64,
            _ => return None,
        })
    }

    /// Sets element `i` of a floating-point tensor; `false` (and nothing changed) for other
    /// types or past the end.
    pub fn set_f64(&mut self, i: usize, v: f64) -> bool {
        let bytes: Vec<u8> = match self.dtype {
            DataType::Float => (v as f32).to_le_bytes().to_vec(),
            DataType::Double => v.to_le_bytes().to_vec(),
            DataType::Float16 => half::f16::from_f64(v).to_le_bytes().to_vec(),
            DataType::BFloat16 => half::bf16::from_f64(v).to_le_bytes().to_vec(),
            _ => return false,
        };
        self.put_element(i, &bytes)
    }

    /// Sets element `i` of an integer or BOOL tensor, truncated to its width as a C cast does
    /// (BOOL: 0 or 1); `false` (and nothing changed) for other types or past the end.
    pub fn set_i64(&mut self, i: usize, v: i64) -> bool {
        let bytes: Vec<u8> = match self.dtype {
            DataType::Int8 => (v as i8).to_le_bytes().to_vec(),
            DataType::Int16 => (v as i16).to_le_bytes().to_vec(),
            DataType::Int32 => (v as i32).to_le_bytes().to_vec(),
            DataType::Int64 => v.to_le_bytes().to_vec(),
            DataType::Uint8 => (v as u8).to_le_bytes().to_vec(),
            DataType::Uint16 => (v as u16).to_le_bytes().to_vec(),
            DataType::Bool => vec![(v != 0) as u8],
            _ => return false,
        };
        self.put_element(i, &bytes)
    }

    /// The bytes of element `i` of a fixed-size type.
    fn element(&self, i: usize) -> Option<&[u8]> {
        if self.dtype == DataType::String || i >= self.len() {
            return None;
        }
        let size = self.dtype.size();
        self.data.get(i * size..(i + 1) * size)
    }

    fn put_element(&mut self, i: usize, bytes: &[u8]) -> bool {
        if self.element(i).is_none() {
            return false;
        }
        // In place when this tensor owns its data alone (a tensor being filled), else a copy.
        let data = std::mem::take(&mut self.data);
        let mut buf = data
            .try_into_mut()
            .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
        let at = i * bytes.len();
        buf[at..at + bytes.len()].copy_from_slice(bytes);
        self.data = buf.freeze();
        true
    }

    /// Makes this tensor the only owner of its data (a copy if it was shared), so that writing
    /// into it through a raw pointer (the low-level API's `TensorData`) changes no other tensor.
    pub fn unshare_data(&mut self) {
        let data = std::mem::take(&mut self.data);
        self.data = data
            .try_into_mut()
            .unwrap_or_else(|shared| BytesMut::from(&shared[..]))
            .freeze();
    }

    /// Replaces the data, validated as a BLOB of AI.TENSORSET is (length, BOOL values, STRING
    /// elements); on error nothing changes.
    pub fn set_data(&mut self, data: Bytes) -> Result<()> {
        *self = Tensor::from_blob(self.dtype, self.shape.clone(), data)?;
        Ok(())
    }

    /// As [`Tensor::set_data`] with a copy of `src`. Data of a fixed-size type is copied into
    /// the buffer when this tensor owns it alone, so a raw pointer taken into it earlier (the
    /// low-level API's `TensorData`) stays good, as in RedisAI.
    pub fn copy_data(&mut self, src: &[u8]) -> Result<()> {
        if self.dtype == DataType::String || src.len() != self.data.len() {
            return self.set_data(Bytes::copy_from_slice(src));
        }
        if self.dtype == DataType::Bool && src.iter().any(|&b| b > 1) {
            return Err(Error::BoolElements);
        }
        let data = std::mem::take(&mut self.data);
        let mut buf = data
            .try_into_mut()
            .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
        buf.copy_from_slice(src);
        self.data = buf.freeze();
        Ok(())
    }

    /// The META part of AI.TENSORGET: `dtype`, name, `shape`, dims.
    pub fn meta_reply(&self) -> Vec<Reply> {
        vec![
            Reply::text("dtype"),
            Reply::text(self.dtype.name()),
            Reply::text("shape"),
            Reply::Array(self.shape.iter().map(|&d| Reply::Int(d as i64)).collect()),
        ]
    }
}

fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(b);
    a
}

/// Validates a STRING blob and returns the element offsets: it must end with NUL and hold
/// exactly `len` NUL-terminated elements (an empty blob is refused, unlike the C module, except
/// for a tensor with no elements, whose blob must be empty).
fn string_offsets(data: &[u8], len: usize) -> Result<Arc<[usize]>> {
    if len == 0 && data.is_empty() {
        return Ok(Arc::from([]));
    }
    if data.last() != Some(&0) {
        return Err(Error::StringElements);
    }
    // Every element takes at least its NUL: never reserve more than the blob can hold (the
    // shape is the client's word and may be huge).
    let mut offsets = Vec::with_capacity(len.min(data.len()));
    let mut start = 0;
    for (i, &b) in data.iter().enumerate() {
        if b == 0 {
            if offsets.len() == len {
                return Err(Error::StringElements);
            }
            offsets.push(start);
            start = i + 1;
        }
    }
    if offsets.len() != len {
        return Err(Error::StringElements);
    }
    Ok(offsets.into())
}

fn put_value(buf: &mut BytesMut, dtype: DataType, v: &[u8]) -> Result<()> {
    let int = |lo: i64, hi: i64| -> Result<i64> {
        parse_strict_i64(v)
            .filter(|x| (lo..=hi).contains(x))
            .ok_or(Error::InvalidValue)
    };
    let float = || parse_double(v).ok_or(Error::InvalidValue);
    match dtype {
        DataType::Float => buf.put_f32_le(float()? as f32),
        DataType::Double => buf.put_f64_le(float()?),
        DataType::Float16 => buf.put_slice(&half::f16::from_f64(float()?).to_le_bytes()),
        DataType::BFloat16 => buf.put_slice(&half::bf16::from_f64(float()?).to_le_bytes()),
        DataType::Int8 => buf.put_i8(int(i8::MIN as i64, i8::MAX as i64)? as i8),
        DataType::Int16 => buf.put_i16_le(int(i16::MIN as i64, i16::MAX as i64)? as i16),
        DataType::Int32 => buf.put_i32_le(int(i32::MIN as i64, i32::MAX as i64)? as i32),
        DataType::Int64 => buf.put_i64_le(int(i64::MIN, i64::MAX)?),
        DataType::Uint8 => buf.put_u8(int(0, u8::MAX as i64)? as u8),
        DataType::Uint16 => buf.put_u16_le(int(0, u16::MAX as i64)? as u16),
        DataType::Bool => buf.put_u8(int(0, 1)? as u8),
        DataType::String => return Err(Error::Generic),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn copied_data_goes_into_a_buffer_owned_alone() {
        let mut t = Tensor::zeros(DataType::Float, vec![2]).unwrap();
        let at = t.blob().as_ptr();
        let data: Vec<u8> = [1f32, 2f32].iter().flat_map(|v| v.to_le_bytes()).collect();
        t.copy_data(&data).unwrap();
        assert_eq!((t.blob().as_ptr(), t.get_f64(1)), (at, Some(2.0)));
        // Shared: copied, and the other holder keeps what it had.
        let other = t.clone();
        t.copy_data(&[0; 8]).unwrap();
        assert_eq!((other.get_f64(1), t.get_f64(1)), (Some(2.0), Some(0.0)));
        // Refused: nothing changes.
        assert!(t.copy_data(&[0; 4]).is_err());
        let mut flags = Tensor::zeros(DataType::Bool, vec![2]).unwrap();
        assert!(flags.copy_data(&[1, 2]).is_err());
        assert_eq!(flags.blob().as_ref(), [0, 0]);
    }

    #[test]
    fn string_blob_needs_exact_elements() {
        let ok = Tensor::from_blob(DataType::String, vec![2], b("ab\0\0")).unwrap();
        assert_eq!(ok.string_at(0), Some(&b"ab"[..]));
        assert_eq!(ok.string_at(1), Some(&b""[..]));
        for bad in ["", "ab", "ab\0", "a\0b\0c\0", "ab\0c"] {
            assert_eq!(
                Tensor::from_blob(DataType::String, vec![2], b(bad)),
                Err(Error::StringElements),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn bool_blob_checks_every_byte() {
        assert_eq!(
            Tensor::from_blob(DataType::Bool, vec![2], Bytes::from_static(&[1, 2])),
            Err(Error::BoolElements)
        );
    }

    #[test]
    fn values_ranges() {
        let vals = |v: &[&str]| v.iter().map(|s| b(s)).collect::<Vec<_>>();
        assert!(Tensor::from_values(DataType::Int8, vec![2], &vals(&["-1", "-128"])).is_ok());
        assert_eq!(
            Tensor::from_values(DataType::Int8, vec![1], &vals(&["128"])),
            Err(Error::InvalidValue)
        );
        assert_eq!(
            Tensor::from_values(DataType::Uint8, vec![1], &vals(&["-1"])),
            Err(Error::InvalidValue)
        );
        assert_eq!(
            Tensor::from_values(DataType::Float, vec![1], &vals(&["nan"])),
            Err(Error::InvalidValue)
        );
        assert_eq!(
            Tensor::from_values(DataType::String, vec![1], &vals(&["a\0b"])),
            Err(Error::NulInString)
        );
        let s = Tensor::from_values(DataType::String, vec![2], &vals(&["x\0", "y"])).unwrap();
        assert_eq!(s.blob().as_ref(), b"x\0y\0");
    }

    #[test]
    fn zero_dims_make_empty_tensors() {
        for dtype in DataType::ALL {
            let zeros = Tensor::zeros(dtype, vec![0, 4]).unwrap();
            assert_eq!(
                (zeros.shape(), zeros.len(), zeros.dim0()),
                (&[0, 4][..], 0, 0)
            );
            assert!(zeros.blob().is_empty() && zeros.is_empty());
            assert_eq!(zeros.values_reply(), Reply::Array(vec![]));
            assert_eq!(
                Tensor::from_blob(dtype, vec![0, 4], Bytes::new()).as_ref(),
                Ok(&zeros),
                "{dtype:?}"
            );
            assert_eq!(
                Tensor::from_values(dtype, vec![0, 4], &[]).as_ref(),
                Ok(&zeros)
            );
            assert_eq!(
                Tensor::from_values(dtype, vec![4, 0], &[b("1")]),
                Err(Error::ValuesCount)
            );
        }
        assert_eq!(
            Tensor::from_blob(DataType::Float, vec![0], b("\0\0\0\0")),
            Err(Error::DataLength)
        );
        assert_eq!(
            Tensor::from_blob(DataType::String, vec![2, 0], b("\0")),
            Err(Error::StringElements)
        );
    }

    #[test]
    fn a_zero_dim_does_not_hide_an_overflow() {
        let huge = usize::MAX / 2;
        assert_eq!(shape_len(&[0, huge]), Ok(0));
        // The same dims in any order: the non-zero ones must multiply without overflow.
        assert_eq!(shape_len(&[0, huge, 4]), Err(Error::TensorTooLarge));
        assert_eq!(shape_len(&[huge, 4, 0]), Err(Error::TensorTooLarge));
        assert_eq!(shape_len(&[]), Ok(1));
    }

    #[test]
    fn empty_rows_slice_and_concat() {
        let a = Tensor::from_values(
            DataType::Int32,
            vec![2, 2],
            &[b("1"), b("2"), b("3"), b("4")],
        )
        .unwrap();
        let none = Tensor::zeros(DataType::Int32, vec![0, 2]).unwrap();
        assert_eq!(a.slice(2, 0).unwrap(), none);
        assert_eq!(a.slice(0, 0).unwrap(), none);
        assert!(a.slice(3, 0).is_err());
        assert_eq!(Tensor::concat(&[&none, &a, &none]).unwrap(), a);
        assert_eq!(Tensor::concat(&[&none, &none]).unwrap(), none);
        let s = Tensor::from_values(DataType::String, vec![1, 2], &[b("x"), b("")]).unwrap();
        let s_none = Tensor::zeros(DataType::String, vec![0, 2]).unwrap();
        assert_eq!(Tensor::concat(&[&s_none, &s]).unwrap(), s);
        assert_eq!(s.slice(1, 0).unwrap(), s_none);
        // No elements in the rows at all: any dim 0.
        let flat = Tensor::zeros(DataType::String, vec![3, 0]).unwrap();
        assert_eq!(flat.slice(1, 2).unwrap().shape(), &[2, 0]);
    }

    #[test]
    fn concat_then_slice_gives_parts_back() {
        let a = Tensor::from_values(DataType::String, vec![1, 2], &[b("a"), b("bb")]).unwrap();
        let c = Tensor::from_values(
            DataType::String,
            vec![2, 2],
            &[b(""), b("c"), b("d"), b("")],
        )
        .unwrap();
        let cat = Tensor::concat(&[&a, &c]).unwrap();
        assert_eq!(cat.shape(), &[3, 2]);
        assert_eq!(cat.slice(0, 1).unwrap(), a);
        assert_eq!(cat.slice(1, 2).unwrap(), c);
        assert_eq!(cat.string_at(3), Some(&b"c"[..]));
    }

    #[test]
    fn c_strings_build_a_string_tensor_or_say_why_not() {
        let t = Tensor::from_c_strings(vec![1, 2], [&b"x"[..], b""]).unwrap();
        assert_eq!(t.blob(), &b("x\0\0"));
        assert_eq!(t.string_at(1), Some(&b""[..]));
        assert_eq!(
            Tensor::from_c_strings(vec![1], [&b"a\0b"[..]]),
            Err(Error::NulInString)
        );
        assert_eq!(
            Tensor::from_c_strings(vec![3], [&b"a"[..]]),
            Err(Error::StringElements)
        );
    }
}
