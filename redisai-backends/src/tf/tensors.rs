//! [`Tensor`] ↔ `TF_Tensor`: one copy each way. STRING elements are any bytes (TF's `tstring`
//! holds bytes, not text), so nothing is checked for UTF-8.

use std::ffi::{c_char, c_void};

use bytes::Bytes;
use redisai_core::tensor::DataType;
use redisai_core::{Error, Result, Tensor};

use super::ffi::{dtype, TF_TString, TF_Tensor};
use super::Tf;

/// The TF type of a RedisAI type (every one has a match).
pub(crate) fn tf_type(t: DataType) -> i32 {
    match t {
        DataType::Float => dtype::FLOAT,
        DataType::Double => dtype::DOUBLE,
        DataType::Int8 => dtype::INT8,
        DataType::Int16 => dtype::INT16,
        DataType::Int32 => dtype::INT32,
        DataType::Int64 => dtype::INT64,
        DataType::Uint8 => dtype::UINT8,
        DataType::Uint16 => dtype::UINT16,
        DataType::Bool => dtype::BOOL,
        DataType::String => dtype::STRING,
        DataType::Float16 => dtype::HALF,
        DataType::BFloat16 => dtype::BFLOAT16,
    }
}

fn redisai_type(t: i32) -> Option<DataType> {
    Some(match t {
        dtype::FLOAT => DataType::Float,
        dtype::DOUBLE => DataType::Double,
        dtype::INT8 => DataType::Int8,
        dtype::INT16 => DataType::Int16,
        dtype::INT32 => DataType::Int32,
        dtype::INT64 => DataType::Int64,
        dtype::UINT8 => DataType::Uint8,
        dtype::UINT16 => DataType::Uint16,
        dtype::BOOL => DataType::Bool,
        dtype::STRING => DataType::String,
        dtype::HALF => DataType::Float16,
        dtype::BFLOAT16 => DataType::BFloat16,
        _ => return None,
    })
}

/// A `TF_Tensor` this side owns.
pub(crate) struct OwnedTensor {
    tf: &'static Tf,
    pub(crate) ptr: *mut TF_Tensor,
}

impl Drop for OwnedTensor {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from TF_AllocateTensor or TF_SessionRun and is deleted once; for
        // STRING tensors TF frees the elements' heap parts too.
        unsafe { (self.tf.api.TF_DeleteTensor)(self.ptr) }
    }
}

impl OwnedTensor {
    /// Takes ownership of a tensor TF returned (`None` for a null pointer).
    pub(crate) fn from_raw(tf: &'static Tf, ptr: *mut TF_Tensor) -> Option<OwnedTensor> {
        (!ptr.is_null()).then_some(OwnedTensor { tf, ptr })
    }
}

/// The most dims a TF shape has (`TensorShape::MaxDimensions`).
const MAX_RANK: usize = 254;

/// `shape` as TF dims. TF aborts the process on a shape it cannot hold (more than 254 dims, or
/// dims whose product overflows i64 even with a 0 among them), so those are refused here.
fn tf_dims(shape: &[usize]) -> Result<Vec<i64>> {
    if shape.len() > MAX_RANK {
        return Err(Error::backend(format!(
            "ERR TF tensors have at most {MAX_RANK} dims"
        )));
    }
    let too_large = || Error::backend("ERR TF cannot hold a tensor of this shape");
    let mut product: i64 = 1;
    shape
        .iter()
        .map(|&d| {
            let d = i64::try_from(d).map_err(|_| too_large())?;
            product = product.checked_mul(d.max(1)).ok_or_else(too_large)?;
            Ok(d)
        })
        .collect()
}

/// `t` as a TF tensor: numbers over the same bytes, STRING elements copied into TF strings.
pub(crate) fn input(tf: &'static Tf, t: &Tensor) -> Result<OwnedTensor> {
    let ty = tf_type(t.dtype());
    let dims = tf_dims(t.shape())?;
    let rank = dims.len() as i32;
    let api = &tf.api;
    if t.dtype() == DataType::String {
        let n = t.len();
        let bytes = n
            .checked_mul(std::mem::size_of::<TF_TString>())
            .ok_or_else(|| Error::backend("ERR TF: tensor too large"))?;
        // SAFETY: dims has `rank` entries; TF allocates `bytes` for `n` tstrings.
        let ptr = unsafe { (api.TF_AllocateTensor)(ty, dims.as_ptr(), rank, bytes) };
        let owned = OwnedTensor::from_raw(tf, ptr)
            .ok_or_else(|| Error::backend("ERR TF could not allocate a tensor"))?;
        // SAFETY: the data holds `n` tstrings (size checked by TF against the shape); each is
        // initialized before its bytes are copied in.
        unsafe {
            let base = (api.TF_TensorData)(ptr) as *mut TF_TString;
            if n > 0 && base.is_null() {
                return Err(Error::backend("ERR TF could not allocate a tensor"));
            }
            for i in 0..n {
                let s = t.string_at(i).unwrap_or_default();
                let slot = base.add(i);
                (api.TF_StringInit)(slot);
                (api.TF_StringCopy)(slot, s.as_ptr() as *const c_char, s.len());
            }
        }
        return Ok(owned);
    }
    let data = t.blob();
    if data.is_empty() {
        // SAFETY: as above; no data to fill in.
        let ptr = unsafe { (api.TF_AllocateTensor)(ty, dims.as_ptr(), rank, 0) };
        return OwnedTensor::from_raw(tf, ptr)
            .ok_or_else(|| Error::backend("ERR TF could not allocate a tensor"));
    }
    // The tensor's data without a copy: TF keeps a reference to the blob and releases it when
    // done with it. TF copies it itself when it is not aligned as Eigen wants, and never writes
    // into a buffer it does not own (no in-place reuse of inputs).
    let held = Box::into_raw(Box::new(data.clone()));
    // SAFETY: `data` points to `data.len()` bytes that `held` keeps alive and unchanged until TF
    // calls `release_blob` with it, which it does exactly once, also when it copies or fails
    // (so `held` is never freed here). The length matches the shape (a Tensor invariant).
    let ptr = unsafe {
        (api.TF_NewTensor)(
            ty,
            dims.as_ptr(),
            rank,
            data.as_ptr() as *mut c_void,
            data.len(),
            Some(release_blob),
            held.cast(),
        )
    };
    OwnedTensor::from_raw(tf, ptr)
        .ok_or_else(|| Error::backend("ERR TF could not allocate a tensor"))
}

/// TF's deallocator for the blobs of `input`: drops the reference it held.
unsafe extern "C" fn release_blob(_data: *mut c_void, _len: usize, held: *mut c_void) {
    // SAFETY: `held` is the `Box<Bytes>` leaked in `input`, given back once.
    drop(unsafe { Box::from_raw(held.cast::<Bytes>()) });
}

/// A copy of a tensor TF returned. Copied, not wrapped: a fetched tensor can share its buffer
/// with state the graph changes at later runs (a variable an Assign op returns).
pub(crate) fn output(t: &OwnedTensor) -> Result<Tensor> {
    let api = &t.tf.api;
    // SAFETY: `t.ptr` is a live tensor; every index passed to TF_Dim is below TF_NumDims.
    let (ty, shape) = unsafe {
        let ty = (api.TF_TensorType)(t.ptr);
        let rank = (api.TF_NumDims)(t.ptr).max(0);
        let shape = (0..rank)
            .map(|i| usize::try_from((api.TF_Dim)(t.ptr, i)).unwrap_or(0))
            .collect::<Vec<usize>>();
        (ty, shape)
    };
    let dtype = redisai_type(ty).ok_or_else(|| {
        Error::backend(format!(
            "ERR TF output of type {ty} has no RedisAI tensor type"
        ))
    })?;
    let malformed = || Error::backend("ERR TF returned a tensor of unexpected size");
    let n = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(malformed)?;
    // SAFETY: TF reports the data's byte size; STRING data holds `n` tstrings.
    unsafe {
        let size = (api.TF_TensorByteSize)(t.ptr);
        let data = (api.TF_TensorData)(t.ptr) as *const u8;
        if dtype == DataType::String {
            let need = n
                .checked_mul(std::mem::size_of::<TF_TString>())
                .ok_or_else(malformed)?;
            if size < need || (n > 0 && data.is_null()) {
                return Err(Error::backend("ERR TF returned a malformed string tensor"));
            }
            let base = data as *const TF_TString;
            let mut values = Vec::with_capacity(n);
            for i in 0..n {
                let s = base.add(i);
                let len = (api.TF_StringGetSize)(s);
                let p = (api.TF_StringGetDataPointer)(s) as *const u8;
                let bytes = if len == 0 || p.is_null() {
                    &[][..]
                } else {
                    std::slice::from_raw_parts(p, len)
                };
                values.push(bytes);
            }
            return Tensor::from_c_strings(shape, values).map_err(|e| match e {
                Error::NulInString => Error::backend(
                    "ERR TF returned a string with a NUL byte, which a RedisAI STRING tensor cannot hold",
                ),
                e => e,
            });
        }
        if Some(size) != n.checked_mul(dtype.size()) || (size > 0 && data.is_null()) {
            return Err(malformed());
        }
        let bytes = if size == 0 {
            Bytes::new()
        } else {
            Bytes::copy_from_slice(std::slice::from_raw_parts(data, size))
        };
        Tensor::from_blob(dtype, shape, bytes)
    }
}
