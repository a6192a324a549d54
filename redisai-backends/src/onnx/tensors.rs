//! [`Tensor`] ↔ ORT values, and the run itself through ORT's C API.
//!
//! Inputs: a numeric tensor whose data is aligned for its element type is handed to ORT in place
//! (ORT never writes to feeds); an unaligned one (a BLOB kept where the network put it) is copied
//! once into an ORT buffer. STRING elements are passed as the C strings they already are in the
//! blob (ORT copies them into its own strings), with no UTF-8 requirement either way.
//! Outputs are copied once into a new tensor: an output may alias an input, and ORT's buffers
//! hold their session alive, which a stored tensor must not.
//!
//! The run and the values around it use raw `OrtValue`s rather than `ort`'s `Value`: `ort` asks
//! ORT for each value's full type (shape and symbolic dims, as strings) when it wraps one, and
//! builds C strings of every input and output name per run. For a small model that was a third of
//! the time of a run; here the names are made once per model and only what a `Tensor` needs is
//! read. `ort`'s rule that a session runs through `&mut` is kept: [`run`] takes the session so.

use std::ffi::{c_char, c_void, CString};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use bytes::Bytes;
use ort::memory::{AllocationDevice, Allocator, AllocatorType, MemoryInfo, MemoryType};
use ort::session::{RunOptions, Session};
use ort::sys::{ONNXType, OrtMemoryInfoDeviceType, OrtValue};
use ort::value::{DynTensor, DynValue, Shape, TensorElementType};
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

/// An `OrtValue` we own, released on drop.
pub(crate) struct RawValue(NonNull<OrtValue>);

impl RawValue {
    fn ptr(&self) -> *mut OrtValue {
        self.0.as_ptr()
    }

    /// Gives the value to `ort` (which then releases it).
    fn into_ort(self) -> DynValue {
        let ptr = self.0;
        std::mem::forget(self);
        // SAFETY: a value we own; `from_ptr` takes that ownership over. Only non-tensor values
        // come here, which need no allocator.
        unsafe { DynValue::from_ptr(ptr, None) }
    }
}

impl Drop for RawValue {
    fn drop(&mut self) {
        // SAFETY: we own the value and nothing uses it after this.
        unsafe { (ort::api().ReleaseValue)(self.0.as_ptr()) }
    }
}

/// An input value, which may point into the data of the tensor it was made from.
pub(crate) enum InputValue<'t> {
    Raw(RawValue, PhantomData<&'t Tensor>),
    Ort(DynValue),
}

impl InputValue<'_> {
    pub(crate) fn ptr(&self) -> *const OrtValue {
        match self {
            InputValue::Raw(v, _) => v.ptr(),
            InputValue::Ort(v) => v.ptr(),
        }
    }
}

/// The memory ORT is told borrowed input data lives in: the CPU's.
pub(crate) fn cpu_memory() -> Result<MemoryInfo<'static>> {
    MemoryInfo::new(
        AllocationDevice::CPU,
        0,
        AllocatorType::Device,
        MemoryType::Default,
    )
    .map_err(ort_error)
}

/// Names as the C strings ORT's `Run` takes, made once per model.
pub(crate) struct CNames {
    _owned: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

// SAFETY: `ptrs` point into the heap buffers of `_owned`, which are neither changed nor freed
// while the struct lives; reading them from any thread is sound.
unsafe impl Send for CNames {}
unsafe impl Sync for CNames {}

impl CNames {
    pub(crate) fn new(names: &[String]) -> Result<CNames> {
        let owned = names
            .iter()
            .map(|n| {
                CString::new(n.as_str())
                    .map_err(|_| Error::backend(format!("ERR ONNX: name {n:?} has a NUL")))
            })
            .collect::<Result<Vec<_>>>()?;
        let ptrs = owned.iter().map(|c| c.as_ptr()).collect();
        Ok(CNames {
            _owned: owned,
            ptrs,
        })
    }
}

/// Runs `session` on `inputs` (one per input name, in order) for every output name. Outputs ORT
/// produced are owned by the result, also when the run fails.
pub(crate) fn run(
    session: &mut Session,
    options: &RunOptions,
    input_names: &CNames,
    inputs: &[*const OrtValue],
    output_names: &CNames,
) -> Result<Vec<RawValue>> {
    if inputs.len() != input_names.ptrs.len() {
        // ORT would read past the names.
        return Err(Error::backend(format!(
            "ERR Expected {} inputs but got {}",
            input_names.ptrs.len(),
            inputs.len()
        )));
    }
    let mut outputs: Vec<*mut OrtValue> = vec![ptr::null_mut(); output_names.ptrs.len()];
    // SAFETY: the session is borrowed exclusively for the call, as `ort` requires; the name and
    // value arrays have the lengths passed, and the names are NUL-terminated strings that live
    // through the call; `outputs` has one slot per output name.
    let status = unsafe {
        (ort::api().Run)(
            session.ptr().cast_mut(),
            options.ptr(),
            input_names.ptrs.as_ptr(),
            inputs.as_ptr(),
            inputs.len(),
            output_names.ptrs.as_ptr(),
            outputs.len(),
            outputs.as_mut_ptr(),
        )
    };
    let outputs: Vec<RawValue> = outputs
        .into_iter()
        .filter_map(|p| NonNull::new(p).map(RawValue))
        .collect();
    // SAFETY: the status `Run` just returned.
    unsafe { check(status) }?;
    if outputs.len() != output_names.ptrs.len() {
        return Err(Error::backend("ERR ONNX: the run left an output unset"));
    }
    Ok(outputs)
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

/// An ORT value for `tensor`: borrowed when possible, else one copy. `cpu`: [`cpu_memory`].
pub(crate) fn input<'t>(tensor: &'t Tensor, cpu: &MemoryInfo<'_>) -> Result<InputValue<'t>> {
    let ty = element_type(tensor.dtype());
    let shape = ort_shape(tensor)?;
    Ok(match tensor.dtype() {
        DataType::String => InputValue::Ort(string_input(tensor, ty, &shape)?),
        dtype => {
            let data = tensor.blob();
            if !data.is_empty() && data.as_ptr().align_offset(dtype.size()) == 0 {
                InputValue::Raw(borrowed_input(data, ty, &shape, cpu)?, PhantomData)
            } else {
                InputValue::Ort(copied_input(data, ty, shape)?)
            }
        }
    })
}

/// A value over `data` itself. The caller (`InputValue`'s lifetime) keeps `data` alive.
fn borrowed_input(
    data: &[u8],
    ty: TensorElementType,
    shape: &[i64],
    cpu: &MemoryInfo<'_>,
) -> Result<RawValue> {
    let mut value: *mut OrtValue = ptr::null_mut();
    // SAFETY: `data` is valid for `data.len()` bytes and outlives the value (see InputValue);
    // ORT does not write to run inputs, so handing it a `*mut` to shared data is sound in
    // practice; the memory info is copied into the value.
    unsafe {
        check((ort::api().CreateTensorWithDataAsOrtValue)(
            cpu.ptr(),
            data.as_ptr().cast_mut().cast::<c_void>(),
            data.len(),
            shape.as_ptr(),
            shape.len(),
            ty.into(),
            &mut value,
        ))?;
    }
    NonNull::new(value)
        .map(RawValue)
        .ok_or_else(|| Error::backend("ERR ONNX: no tensor created"))
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

/// What a run's output becomes.
pub(crate) enum Output {
    Tensor(Tensor),
    /// Not a tensor (an ONNX-ML ZipMap's sequence of maps): its type, for error texts.
    Other(String),
}

/// A RedisAI tensor from an output, if it is a tensor. `name` is for error texts.
pub(crate) fn output(name: &str, value: RawValue) -> Result<Output> {
    let api = ort::api();
    let mut kind = ONNXType::ONNX_TYPE_UNKNOWN;
    // SAFETY: a value we own and a valid out-pointer.
    unsafe { check((api.GetValueType)(value.ptr(), &mut kind))? };
    if kind != ONNXType::ONNX_TYPE_TENSOR {
        return Ok(Output::Other(value.into_ort().dtype().to_string()));
    }
    let (ty, dims) = type_and_shape(&value)?;
    let dtype = data_type(ty).ok_or_else(|| {
        Error::backend(format!(
            "ERR ONNX output '{name}' has element type {ty:?}, which tensors here cannot hold"
        ))
    })?;
    let shape = dims
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<usize>, _>>()
        .map_err(|_| Error::backend(format!("ERR ONNX output '{name}' has a negative dim")))?;
    let len = shape_len(&shape)?;
    if dtype == DataType::String {
        return string_output(name, &value, shape, len).map(Output::Tensor);
    }
    let mut memory: *const ort::sys::OrtMemoryInfo = ptr::null();
    // SAFETY: a tensor value and a valid out-pointer; the memory info belongs to the value.
    unsafe { check((api.GetTensorMemoryInfo)(value.ptr(), &mut memory))? };
    if memory.is_null() || !cpu_accessible(memory) {
        return Err(Error::backend(format!(
            "ERR ONNX output '{name}' is not in CPU memory"
        )));
    }
    let bytes = len.checked_mul(dtype.size()).ok_or(Error::TensorTooLarge)?;
    let mut src: *mut c_void = ptr::null_mut();
    // SAFETY: a tensor value and a valid out-pointer.
    unsafe { check((api.GetTensorMutableData)(value.ptr(), &mut src))? };
    let data = if bytes == 0 {
        Bytes::new()
    } else if src.is_null() {
        return Err(Error::backend(format!(
            "ERR ONNX output '{name}' has no data"
        )));
    } else {
        // SAFETY: ORT holds `len` elements of `dtype.size()` bytes at `src` for as long as
        // `value` lives, which covers this copy.
        Bytes::copy_from_slice(unsafe { std::slice::from_raw_parts(src.cast::<u8>(), bytes) })
    };
    Tensor::from_blob(dtype, shape, data).map(Output::Tensor)
}

/// Whether the CPU can read memory of this kind: CPU memory, or host memory a device shares
/// (CUDA pinned), as `ort`'s `MemoryInfo::is_cpu_accessible` decides.
fn cpu_accessible(memory: *const ort::sys::OrtMemoryInfo) -> bool {
    let api = ort::api();
    let mut device = OrtMemoryInfoDeviceType::OrtMemoryInfoDeviceType_CPU;
    // SAFETY: `memory` is a valid memory info, read only.
    unsafe { (api.MemoryInfoGetDeviceType)(memory, &mut device) };
    device == OrtMemoryInfoDeviceType::OrtMemoryInfoDeviceType_CPU
        // SAFETY: as above.
        || unsafe { (api.MemoryInfoGetDeviceMemType)(memory) }
            == ort::sys::OrtDeviceMemoryType::OrtDeviceMemoryType_HOST_ACCESSIBLE
}

/// A tensor value's element type and dims (read in place: nothing is allocated).
fn type_and_shape(value: &RawValue) -> Result<(TensorElementType, &[i64])> {
    let mut ty = ort::sys::ONNXTensorElementDataType::ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    let mut dims: *const i64 = ptr::null();
    let mut count = 0usize;
    // SAFETY: a tensor value and valid out-pointers.
    unsafe {
        check((ort::api().GetTensorElementTypeAndShapeDataReference)(
            value.ptr(),
            &mut ty,
            &mut dims,
            &mut count,
        ))?;
    }
    let dims = if count == 0 || dims.is_null() {
        &[][..]
    } else {
        // SAFETY: ORT's `count` dims at `dims` live as long as the value, which outlives the
        // borrow returned.
        unsafe { std::slice::from_raw_parts(dims, count) }
    };
    Ok((TensorElementType::from(ty), dims))
}

fn string_output(name: &str, value: &RawValue, shape: Vec<usize>, len: usize) -> Result<Tensor> {
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
    let elements = offsets
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = offsets.get(i + 1).copied().unwrap_or(total);
            content.get(start..end).ok_or_else(|| {
                Error::backend(format!("ERR ONNX output '{name}': bad string offsets"))
            })
        })
        .collect::<Result<Vec<&[u8]>>>()?;
    Tensor::from_c_strings(shape, elements).map_err(|e| match e {
        Error::NulInString => Error::backend(format!(
            "ERR ONNX output '{name}' has a string with a NUL character"
        )),
        e => e,
    })
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
