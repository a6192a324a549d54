//! The `AI_TENSOR` payload.
//!
//! ```text
//! v4:    u code, u bits, s ndims, s dim[i] × ndims, buffer data,
//!        STRING only: u offset[i] × len (the start of each element in data)
//! v0-v3: u device_type, u device_id, u bits, u code, u lanes, u ndims, u shape[i] × ndims,
//!        u strides[i] × ndims, u byte_offset, buffer data   (no STRING tensors)
//! ```
//! A loaded tensor is built by [`Tensor::from_blob`], so it passes the checks AI.TENSORSET makes
//! (data length against shape and type, BOOL bytes, STRING elements); the codec itself accepts
//! any dim ≥ 0 and leaves zero-size dims for `Tensor` to decide.

use crate::codec::{check_encver, rdb_error, read_count, RdbRead, RdbWrite, MAX_PREALLOC};
use crate::error::Result;
use crate::tensor::{DataType, Tensor};

/// Writes `t` in the current encoding (v4).
pub fn save_tensor(t: &Tensor, w: &mut dyn RdbWrite) {
    let (code, bits) = t.dtype().dlpack();
    w.write_unsigned(code.into());
    w.write_unsigned(bits.into());
    w.write_signed(signed(t.shape().len()));
    for &d in t.shape() {
        w.write_signed(signed(d));
    }
    w.write_buffer(t.blob());
    if t.dtype() == DataType::String {
        for start in element_starts(t.blob()) {
            w.write_unsigned(start as u64);
        }
    }
}

/// Reads a tensor saved with encoding version `encver` (0..=4).
pub fn load_tensor(r: &mut dyn RdbRead, encver: i32) -> Result<Tensor> {
    check_encver("tensor", encver)?;
    if encver >= 4 {
        load_v4(r)
    } else {
        load_v0(r, encver)
    }
}

fn load_v4(r: &mut dyn RdbRead) -> Result<Tensor> {
    let code = r.read_unsigned()?;
    let bits = r.read_unsigned()?;
    let dtype = dtype(code, bits)?;
    let ndims = r.read_signed()?;
    let ndims =
        usize::try_from(ndims).map_err(|_| rdb_error(format!("negative tensor rank {ndims}")))?;
    let mut shape = Vec::with_capacity(ndims.min(MAX_PREALLOC));
    for _ in 0..ndims {
        let d = r.read_signed()?;
        shape.push(usize::try_from(d).map_err(|_| rdb_error(format!("negative tensor dim {d}")))?);
    }
    let data = r.read_buffer()?;
    let tensor = Tensor::from_blob(dtype, shape, data)?;
    if dtype == DataType::String {
        // The offsets are redundant with the blob (from_blob has checked it holds exactly `len`
        // elements): read them all, and refuse a payload where they disagree.
        for (i, start) in element_starts(tensor.blob()).enumerate() {
            let saved = r.read_unsigned()?;
            if saved != start as u64 {
                return Err(rdb_error(format!(
                    "string tensor offset {i} is {saved}, its data says {start}"
                )));
            }
        }
    }
    Ok(tensor)
}

fn load_v0(r: &mut dyn RdbRead, encver: i32) -> Result<Tensor> {
    // The device is not kept: a loaded tensor is on the CPU.
    let _device_type = r.read_unsigned()?;
    let _device_id = r.read_unsigned()?;
    let bits = r.read_unsigned()?;
    let code = r.read_unsigned()?;
    let lanes = r.read_unsigned()?;
    if lanes != 1 {
        return Err(rdb_error(format!("tensor with {lanes} lanes")));
    }
    let dtype = dtype(code, bits)?;
    if dtype == DataType::String {
        return Err(rdb_error(format!(
            "STRING tensor in a v{encver} payload (STRING came with v4)"
        )));
    }
    let ndims = read_count(r, "tensor rank")?;
    let mut shape = Vec::with_capacity(ndims.min(MAX_PREALLOC));
    for _ in 0..ndims {
        shape.push(read_count(r, "tensor dim")?);
    }
    // Always dense row-major in RedisAI's files: strides and offset are not needed.
    for _ in 0..ndims {
        r.read_unsigned()?;
    }
    let _byte_offset = r.read_unsigned()?;
    let data = r.read_buffer()?;
    Tensor::from_blob(dtype, shape, data)
}

fn dtype(code: u64, bits: u64) -> Result<DataType> {
    DataType::from_dlpack(code, bits)
        .ok_or_else(|| rdb_error(format!("unknown tensor dtype (code {code}, bits {bits})")))
}

/// A shape's numbers as the v4 signed items (a dim above `i64::MAX` cannot come from the
/// grammar; saturating keeps `save` total).
fn signed(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The start of each element of a STRING blob: 0 and every position after a NUL but the end.
/// A tensor's blob ends with a NUL (or is empty), so this yields exactly one start per element,
/// the offsets `Tensor` keeps.
fn element_starts(blob: &[u8]) -> impl Iterator<Item = usize> + '_ {
    (0..blob.len()).filter(move |&p| p == 0 || blob[p - 1] == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts() {
        let s = |b: &[u8]| element_starts(b).collect::<Vec<_>>();
        assert_eq!(s(b""), Vec::<usize>::new());
        assert_eq!(s(b"\0"), vec![0]);
        assert_eq!(s(b"a\0\0bc\0"), vec![0, 2, 3]);
    }
}
