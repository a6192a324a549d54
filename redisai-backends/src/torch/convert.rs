//! Tensors to and from libtorch: our dtypes as `c10::ScalarType` codes, input descriptors that
//! borrow our blobs (the shim copies them once into libtorch tensors), and the sink that copies
//! each output once into a new blob.

use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::Bytes;
use redisai_core::error::{Error, Result};
use redisai_core::tensor::{DataType, Tensor};

use super::ffi::RaiInput;

// c10::ScalarType codes (c10/core/ScalarType.h).
const UINT8: c_int = 0;
const INT8: c_int = 1;
const INT16: c_int = 2;
const INT32: c_int = 3;
const INT64: c_int = 4;
const HALF: c_int = 5;
const FLOAT: c_int = 6;
const DOUBLE: c_int = 7;
const BOOL: c_int = 11;
const BFLOAT16: c_int = 15;
const UINT16: c_int = 27;

/// The libtorch type of an input. UINT16 and STRING inputs are refused with RedisAI's texts
/// (those of PyTorch's DLPack converter, which RedisAI used).
pub fn scalar_type(dtype: DataType) -> Result<c_int> {
    Ok(match dtype {
        DataType::Uint8 => UINT8,
        DataType::Int8 => INT8,
        DataType::Int16 => INT16,
        DataType::Int32 => INT32,
        DataType::Int64 => INT64,
        DataType::Float16 => HALF,
        DataType::Float => FLOAT,
        DataType::Double => DOUBLE,
        DataType::Bool => BOOL,
        DataType::BFloat16 => BFLOAT16,
        DataType::Uint16 => return Err(Error::backend("Unsupported kUInt bits 16")),
        DataType::String => {
            let (code, _) = DataType::String.dlpack();
            return Err(Error::backend(format!("Unsupported code {code}")));
        }
    })
}

/// Our dtype of a libtorch output (the shim refuses every other type before this).
pub fn data_type(scalar_type: c_int) -> Option<DataType> {
    Some(match scalar_type {
        UINT8 => DataType::Uint8,
        INT8 => DataType::Int8,
        INT16 => DataType::Int16,
        INT32 => DataType::Int32,
        INT64 => DataType::Int64,
        HALF => DataType::Float16,
        FLOAT => DataType::Float,
        DOUBLE => DataType::Double,
        BOOL => DataType::Bool,
        BFLOAT16 => DataType::BFloat16,
        UINT16 => DataType::Uint16,
        _ => return None,
    })
}

/// Input descriptors over our tensors. The dims live here; the data stays in the tensors, which
/// must outlive every use of [`Inputs::descs`].
pub struct Inputs {
    dims: Vec<Vec<i64>>,
    types: Vec<c_int>,
}

impl Inputs {
    pub fn new<'a>(tensors: impl IntoIterator<Item = &'a Tensor>) -> Result<Inputs> {
        let mut dims = Vec::new();
        let mut types = Vec::new();
        for t in tensors {
            types.push(scalar_type(t.dtype())?);
            let d = t
                .shape()
                .iter()
                .map(|&d| i64::try_from(d).map_err(|_| Error::TensorTooLarge))
                .collect::<Result<Vec<i64>>>()?;
            dims.push(d);
        }
        Ok(Inputs { dims, types })
    }

    /// The descriptors, in the order of `tensors` (the same tensors given to `new`).
    pub fn descs<'a>(&'a self, tensors: impl IntoIterator<Item = &'a Tensor>) -> Vec<RaiInput> {
        tensors
            .into_iter()
            .zip(self.dims.iter().zip(&self.types))
            .map(|(t, (dims, &scalar_type))| desc(t, dims, scalar_type))
            .collect()
    }
}

/// The descriptor of one tensor whose dims are `dims` (kept alive by the caller). A tensor with
/// no elements (a zero dim) has no data: null, 0 bytes (the shim then copies nothing).
pub fn desc(t: &Tensor, dims: &[i64], scalar_type: c_int) -> RaiInput {
    let data = t.blob();
    RaiInput {
        scalar_type,
        dims: dims.as_ptr(),
        ndims: dims.len(),
        data: if data.is_empty() {
            std::ptr::null()
        } else {
            data.as_ptr().cast()
        },
        nbytes: data.len(),
    }
}

/// Our tensor from plain data handed over by the shim: one copy.
///
/// # Safety
/// `dims` points to `ndims` values and `data` to `nbytes` bytes (or is null when `nbytes == 0`).
pub unsafe fn tensor_from_raw(
    scalar_type: c_int,
    dims: *const i64,
    ndims: usize,
    data: *const c_void,
    nbytes: usize,
) -> Result<Tensor> {
    let dtype = data_type(scalar_type).ok_or_else(|| {
        Error::backend(format!(
            "Unsupported output tensor type (ScalarType {scalar_type})"
        ))
    })?;
    let dims: &[i64] = if ndims == 0 || dims.is_null() {
        &[]
    } else {
        std::slice::from_raw_parts(dims, ndims)
    };
    let shape = dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| Error::backend("negative dimension in output")))
        .collect::<Result<Vec<usize>>>()?;
    let bytes = if nbytes == 0 || data.is_null() {
        Bytes::new()
    } else {
        Bytes::copy_from_slice(std::slice::from_raw_parts(data.cast::<u8>(), nbytes))
    };
    Tensor::from_blob(dtype, shape, bytes)
}

/// Collects the outputs the shim hands to [`sink`].
#[derive(Default)]
pub struct Collector {
    pub tensors: Vec<Tensor>,
    pub error: Option<Error>,
}

impl Collector {
    pub fn as_ctx(&mut self) -> *mut c_void {
        (self as *mut Collector).cast()
    }
}

/// The shim's output sink: `ctx` is a `*mut Collector`.
pub unsafe extern "C" fn sink(
    ctx: *mut c_void,
    scalar_type: c_int,
    dims: *const i64,
    ndims: usize,
    data: *const c_void,
    nbytes: usize,
) -> c_int {
    let collector = &mut *ctx.cast::<Collector>();
    let r = catch_unwind(AssertUnwindSafe(|| {
        tensor_from_raw(scalar_type, dims, ndims, data, nbytes)
    }));
    match r {
        Ok(Ok(t)) => {
            collector.tensors.push(t);
            0
        }
        Ok(Err(e)) => {
            collector.error = Some(e);
            1
        }
        Err(_) => {
            collector.error = Some(Error::backend("panic while copying an output tensor"));
            1
        }
    }
}
