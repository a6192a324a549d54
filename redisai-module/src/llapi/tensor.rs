//! `RAI_Tensor`: a boxed `Arc<Tensor>`, the same box a key of type `AI_TENSOR` holds, so a
//! module may pass a key's value straight in. A shallow copy is another box of the same `Arc`;
//! writes go to this box's tensor only (copy on write), never to a tensor a run or another
//! holder still reads.

use std::ffi::{c_char, c_int, c_longlong, CStr};
use std::ptr;
use std::sync::Arc;

use redis_module::raw;
use redisai_core::{DataType, Tensor};

use crate::guard;
use crate::types::{raw_type, TENSOR_TYPE};

pub type RaiTensor = Arc<Tensor>;

pub fn into_raw(t: Arc<Tensor>) -> *mut RaiTensor {
    Box::into_raw(Box::new(t))
}

/// A new tensor of zeros; null for an unknown type, a negative dimension or a size beyond
/// what a tensor may hold.
pub unsafe extern "C" fn create(
    dtype: *const c_char,
    dims: *const c_longlong,
    ndims: c_int,
) -> *mut RaiTensor {
    guard::or(ptr::null_mut(), || {
        if dtype.is_null() || ndims < 0 || (ndims > 0 && dims.is_null()) {
            return ptr::null_mut();
        }
        let Some(dtype) = DataType::parse(CStr::from_ptr(dtype).to_bytes()) else {
            return ptr::null_mut();
        };
        let dims = if ndims == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(dims, ndims as usize)
        };
        let Ok(shape) = dims.iter().map(|&d| usize::try_from(d)).collect() else {
            return ptr::null_mut();
        };
        Tensor::zeros(dtype, shape).map_or(ptr::null_mut(), |t| into_raw(Arc::new(t)))
    })
}

/// The tensors joined along dim 0; null when they differ in type or in their other dims.
pub unsafe extern "C" fn create_by_concatenating(
    ts: *const *mut RaiTensor,
    n: c_longlong,
) -> *mut RaiTensor {
    guard::or(ptr::null_mut(), || {
        if ts.is_null() || n <= 0 {
            return ptr::null_mut();
        }
        let parts: Option<Vec<&Tensor>> = std::slice::from_raw_parts(ts, n as usize)
            .iter()
            .map(|t| t.as_ref().map(|t| &**t))
            .collect();
        let Some(parts) = parts else {
            return ptr::null_mut();
        };
        Tensor::concat(&parts).map_or(ptr::null_mut(), |t| into_raw(Arc::new(t)))
    })
}

/// Rows `offset..offset+len` of dim 0; null when they are not all there.
pub unsafe extern "C" fn create_by_slicing(
    t: *mut RaiTensor,
    offset: c_longlong,
    len: c_longlong,
) -> *mut RaiTensor {
    guard::or(ptr::null_mut(), || {
        let (Some(t), Ok(offset), Ok(len)) =
            (t.as_ref(), usize::try_from(offset), usize::try_from(len))
        else {
            return ptr::null_mut();
        };
        t.slice(offset, len)
            .map_or(ptr::null_mut(), |t| into_raw(Arc::new(t)))
    })
}

pub unsafe extern "C" fn length(t: *mut RaiTensor) -> usize {
    guard::or(0, || t.as_ref().map_or(0, |t| t.len()))
}

/// Bytes per element (STRING: 1, as RedisAI counts it).
pub unsafe extern "C" fn data_size(t: *mut RaiTensor) -> usize {
    guard::or(0, || t.as_ref().map_or(0, |t| t.dtype().size()))
}

pub unsafe extern "C" fn free(t: *mut RaiTensor) {
    guard::or((), || {
        if !t.is_null() {
            drop(Box::from_raw(t));
        }
    })
}

/// Replaces the data, validated as an AI.TENSORSET BLOB: 1, or 0 and nothing changed. A
/// tensor this handle alone holds keeps its buffer (an earlier `TensorData` pointer stays good).
pub unsafe extern "C" fn set_data(t: *mut RaiTensor, data: *const c_char, len: usize) -> c_int {
    guard::or(0, || {
        let Some(t) = t.as_mut() else {
            return 0;
        };
        if data.is_null() && len > 0 {
            return 0;
        }
        let src = if len == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(data.cast::<u8>(), len)
        };
        Arc::make_mut(t).copy_data(src).is_ok() as c_int
    })
}

/// Element `i` of an integer or BOOL tensor (C's truncating cast): 1, or 0 for another type
/// or an index outside the tensor.
pub unsafe extern "C" fn set_value_from_long_long(
    t: *mut RaiTensor,
    i: c_longlong,
    v: c_longlong,
) -> c_int {
    guard::or(0, || match (t.as_mut(), usize::try_from(i)) {
        (Some(t), Ok(i)) if t.get_i64(i).is_some() => Arc::make_mut(t).set_i64(i, v) as c_int,
        _ => 0,
    })
}

/// Element `i` of a floating-point tensor: 1, or 0 for another type or outside the tensor.
pub unsafe extern "C" fn set_value_from_double(t: *mut RaiTensor, i: c_longlong, v: f64) -> c_int {
    guard::or(0, || match (t.as_mut(), usize::try_from(i)) {
        (Some(t), Ok(i)) if t.get_f64(i).is_some() => Arc::make_mut(t).set_f64(i, v) as c_int,
        _ => 0,
    })
}

pub unsafe extern "C" fn get_value_as_double(
    t: *mut RaiTensor,
    i: c_longlong,
    v: *mut f64,
) -> c_int {
    guard::or(0, || element(t, i, v, Tensor::get_f64))
}

pub unsafe extern "C" fn get_value_as_long_long(
    t: *mut RaiTensor,
    i: c_longlong,
    v: *mut c_longlong,
) -> c_int {
    guard::or(0, || element(t, i, v, Tensor::get_i64))
}

/// Element `i`, read by `get`, into `*out`: 1, or 0 for another type, an index outside the
/// tensor or a null pointer.
unsafe fn element<V>(
    t: *mut RaiTensor,
    i: c_longlong,
    out: *mut V,
    get: fn(&Tensor, usize) -> Option<V>,
) -> c_int {
    let value = match (t.as_ref(), usize::try_from(i)) {
        (Some(t), Ok(i)) => get(t, i),
        _ => None,
    };
    match (value, out.as_mut()) {
        (Some(value), Some(out)) => {
            *out = value;
            1
        }
        _ => 0,
    }
}

pub unsafe extern "C" fn get_shallow_copy(t: *mut RaiTensor) -> *mut RaiTensor {
    guard::or(ptr::null_mut(), || {
        t.as_ref().map_or(ptr::null_mut(), |t| into_raw(t.clone()))
    })
}

pub unsafe extern "C" fn num_dims(t: *mut RaiTensor) -> c_int {
    guard::or(0, || t.as_ref().map_or(0, |t| t.shape().len() as c_int))
}

/// Dimension `dim`, or -1 when the tensor has no such dimension.
pub unsafe extern "C" fn dim(t: *mut RaiTensor, dim: c_int) -> c_longlong {
    guard::or(-1, || {
        let d = t
            .as_ref()
            .zip(usize::try_from(dim).ok())
            .and_then(|(t, i)| t.shape().get(i).copied());
        d.map_or(-1, |d| d as c_longlong)
    })
}

pub unsafe extern "C" fn byte_size(t: *mut RaiTensor) -> usize {
    guard::or(0, || t.as_ref().map_or(0, |t| t.byte_size()))
}

/// The data, writable: this box's tensor takes its own copy first if the data is shared.
pub unsafe extern "C" fn data(t: *mut RaiTensor) -> *mut c_char {
    guard::or(ptr::null_mut(), || {
        let Some(t) = t.as_mut() else {
            return ptr::null_mut();
        };
        let tensor = Arc::make_mut(t);
        tensor.unshare_data();
        tensor.blob().as_ptr().cast_mut().cast::<c_char>()
    })
}

pub unsafe extern "C" fn redis_type() -> *mut raw::RedisModuleType {
    guard::or(ptr::null_mut(), || raw_type(&TENSOR_TYPE))
}
