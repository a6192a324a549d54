//! [`Tensor`] ↔ ORT values.
//!
//! Inputs: a numeric tensor whose data is aligned for its element type is handed to ORT in place
//! (ORT never writes to feeds); an unaligned one (a BLOB kept where the network put it) is copied
//! once into an ORT buffer. STRING elements are passed as the C strings they already are in the
//! blob (ORT copies them into its own strings), with no UTF-8 requirement either way.
//! Outputs are copied once into a new tensor: an output may alias an input, and ORT's buffers
//! hold their session alive, which a stored tensor must not.

use std::ffi::{c_char, c_void};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use bytes::{BufMut, Bytes, BytesMut};
use ort::memory::Allocator;
use ort::session::SessionInputValue;
use ort::value::{DynTensor, DynTensorValueType, DynValue, Shape, TensorElementType, ValueType};
use ort::AsPointer;
use redisai_core::tensor::shape_len;
use redisai_core::{DataType, Error, Result, Tensor};

use super::ort_error;

/// The ORT element type of a RedisAI dtype.
pub(crate) fn element_type(dtype: DataType) -> TensorElementType {
    match dtype {
        DataType::Float => TensorElementType::Float32,
        DataType::Double => TensorElementType::Float64,
        DataType::Int8 => TensorElementType::Int8,
        DataType::Int16 => TensorElementType::Int16,
        DataType::Int32 => TensorElementType::Int32,
        DataType::Int64 => TensorElementType::Int64,
        DataType::Uint8 => TensorElementType::Uint8,
        DataType::Uint16 => TensorElementType::Uint16,
        DataType::Bool => TensorElementType::Bool,
        DataType::String => TensorElementType::String,
        DataType::Float16 => TensorElementType::Float16,
        DataType::BFloat16 => TensorElementType::Bfloat16,
    }
}

/// The RedisAI dtype of an ORT element type, if there is one.
pub(crate) fn data_type(ty: TensorElementType) -> Option<DataType> {
    DataType::ALL.into_iter().find(|&d| element_type(d) == ty)
}

/// An input value, which may point into the data of the tensor it was made from.
pub(crate) struct InputValue<'t> {
    value: DynValue,
    _data: PhantomData<&'t Tensor>,
}

impl InputValue<'_> {
    pub(crate) fn feed(&self) -> SessionInputValue<'_> {
        SessionInputValue::from(&self.value)
    }
}

fn ort_shape(tensor: &Tensor) -> Result<Vec<i64>> {
    tensor
        .shape()
        .iter()
        .map(|&d| i64::try_from(d).map_err(|_| Error::TensorTooLarge))
        .collect()
}

/// Checks an ORT status; a non-null status is an error with ORT's message.
///
/// # Safety
/// `status` must be what an ORT API function just returned.
unsafe fn check(status: ort::sys::OrtStatusPtr) -> Result<()> {
    // SAFETY: forwarded.
    unsafe { ort::Error::result_from_status(status) }.map_err(ort_error)
}

/// An ORT value for `tensor`: borrowed when possible, else one copy.
pub(crate) fn input(tensor: &Tensor) -> Result<InputValue<'_>> {
    let ty = element_type(tensor.dtype());
    let shape = ort_shape(tensor)?;
    let value = match tensor.dtype() {
        DataType::String => string_input(tensor, ty, &shape)?,
        dtype => {
            let data = tensor.blob();
            if !data.is_empty() && data.as_ptr().align_offset(dtype.size()) == 0 {
                borrowed_input(data, ty, &shape)?
            } else {
                copied_input(data, ty, shape)?
            }
        }
    };
    Ok(InputValue {
        value,
        _data: PhantomData,
    })
}

/// A value over `data` itself. The caller (`InputValue`'s lifetime) keeps `data` alive.
fn borrowed_input(data: &[u8], ty: TensorElementType, shape: &[i64]) -> Result<DynValue> {
    let allocator = Allocator::default();
    let mut value: *mut ort::sys::OrtValue = ptr::null_mut();
    // SAFETY: `data` is valid for `data.len()` bytes and outlives the value (see InputValue);
    // ORT does not write to run inputs, so handing it a `*mut` to shared data is sound in
    // practice; the memory info is copied into the value.
    unsafe {
        check((ort::api().CreateTensorWithDataAsOrtValue)(
            allocator.memory_info().ptr(),
            data.as_ptr().cast_mut().cast::<c_void>(),
            data.len(),
            shape.as_ptr(),
            shape.len(),
            ty.into(),
            &mut value,
        ))?;
    }
    let value = NonNull::new(value).ok_or_else(|| Error::backend("ERR ONNX: no tensor created"))?;
    // SAFETY: a tensor value we own; the allocator is only kept as a handle (ORT never frees
    // data it does not own).
    Ok(unsafe { DynValue::from_ptr(value, Some(&allocator)) })
}

/// A value in an ORT buffer, with `data` copied in.
fn copied_input(data: &[u8], ty: TensorElementType, shape: Vec<i64>) -> Result<DynValue> {
    let mut tensor =
        DynTensor::new(&Allocator::default(), ty, Shape::new(shape)).map_err(ort_error)?;
    if tensor.size() != Some(data.len()) {
        return Err(Error::DataLength);
    }
    let dst = tensor.data_ptr_mut().cast::<u8>();
    if !data.is_empty() && !dst.is_null() {
        // SAFETY: ORT allocated exactly `data.len()` bytes at `dst` (checked above), and the
        // two buffers are distinct.
        unsafe { ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) };
    }
    Ok(tensor.into_dyn())
}

/// A string tensor: ORT copies each element, read as a C string straight from the blob.
fn string_input(tensor: &Tensor, ty: TensorElementType, shape: &[i64]) -> Result<DynValue> {
    let allocator = Allocator::default();
    let mut value: *mut ort::sys::OrtValue = ptr::null_mut();
    // SAFETY: plain C API call with a valid allocator and out-pointer.
    unsafe {
        check((ort::api().CreateTensorAsOrtValue)(
            allocator.ptr().cast_mut(),
            shape.as_ptr(),
            shape.len(),
            ty.into(),
            &mut value,
        ))?;
    }
    let value = NonNull::new(value).ok_or_else(|| Error::backend("ERR ONNX: no tensor created"))?;
    // SAFETY: a tensor value we own, made with `allocator`.
    let value: DynValue = unsafe { DynValue::from_ptr(value, Some(&allocator)) };
    // Each element is followed by its NUL in the blob: its start is a valid C string.
    let strings = (0..tensor.len())
        .map(|i| tensor.string_at(i).map(|s| s.as_ptr().cast::<c_char>()))
        .collect::<Option<Vec<_>>>()
        .ok_or(Error::StringElements)?;
    if !strings.is_empty() {
        // SAFETY: `strings` holds exactly as many NUL-terminated strings as the tensor has
        // elements, all alive for the call.
        unsafe {
            check((ort::api().FillStringTensor)(
                value.ptr().cast_mut(),
                strings.as_ptr(),
                strings.len(),
            ))?;
        }
    }
    Ok(value)
}

/// A RedisAI tensor from a tensor output. `name` is for error texts.
pub(crate) fn output(name: &str, value: &DynValue) -> Result<Tensor> {
    let ValueType::Tensor { ty, shape, .. } = value.dtype() else {
        return Err(Error::backend(format!(
            "ERR ONNX output '{name}' is not a tensor ({})",
            value.dtype()
        )));
    };
    let dtype = data_type(*ty).ok_or_else(|| {
        Error::backend(format!(
            "ERR ONNX output '{name}' has element type {ty:?}, which tensors here cannot hold"
        ))
    })?;
    let shape = shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<usize>, _>>()
        .map_err(|_| Error::backend(format!("ERR ONNX output '{name}' has a negative dim")))?;
    let len = shape_len(&shape)?;
    if dtype == DataType::String {
        return string_output(name, value, shape, len);
    }
    let view = value
        .view()
        .downcast::<DynTensorValueType>()
        .map_err(ort_error)?;
    if !view.memory_info().is_cpu_accessible() {
        return Err(Error::backend(format!(
            "ERR ONNX output '{name}' is not in CPU memory"
        )));
    }
    let bytes = len.checked_mul(dtype.size()).ok_or(Error::TensorTooLarge)?;
    let src = view.data_ptr().cast::<u8>();
    let data = if bytes == 0 {
        Bytes::new()
    } else if src.is_null() {
        return Err(Error::backend(format!(
            "ERR ONNX output '{name}' has no data"
        )));
    } else {
        // SAFETY: ORT holds `len` elements of `dtype.size()` bytes at `src` for as long as
        // `value` lives, which covers this copy.
        Bytes::copy_from_slice(unsafe { std::slice::from_raw_parts(src, bytes) })
    };
    Tensor::from_blob(dtype, shape, data)
}

fn string_output(name: &str, value: &DynValue, shape: Vec<usize>, len: usize) -> Result<Tensor> {
    let api = ort::api();
    let mut total = 0usize;
    // SAFETY: a string tensor value and a valid out-pointer.
    unsafe { check((api.GetStringTensorDataLength)(value.ptr(), &mut total))? };
    let mut content = vec![0u8; total];
    let mut offsets = vec![0usize; len];
    if len > 0 {
        // SAFETY: `content` holds `total` bytes and `offsets` one slot per element, as ORT
        // requires.
        unsafe {
            check((api.GetStringTensorContent)(
                value.ptr(),
                content.as_mut_ptr().cast::<c_void>(),
                total,
                offsets.as_mut_ptr(),
                len,
            ))?;
        }
    }
    let mut blob = BytesMut::with_capacity(total + len);
    for (i, &start) in offsets.iter().enumerate() {
        let end = offsets.get(i + 1).copied().unwrap_or(total);
        let element = content.get(start..end).ok_or_else(|| {
            Error::backend(format!("ERR ONNX output '{name}': bad string offsets"))
        })?;
        if element.contains(&0) {
            return Err(Error::backend(format!(
                "ERR ONNX output '{name}' has a string with a NUL character"
            )));
        }
        blob.put_slice(element);
        blob.put_u8(0);
    }
    Tensor::from_blob(DataType::String, shape, blob.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dtype_maps_both_ways() {
        for dtype in DataType::ALL {
            assert_eq!(data_type(element_type(dtype)), Some(dtype));
        }
        assert_eq!(data_type(TensorElementType::Uint32), None);
        assert_eq!(data_type(TensorElementType::Complex64), None);
    }
}
