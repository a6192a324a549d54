//! A loaded TFLITE model: LiteRT's compiled model of the first signature, one tensor buffer per
//! input and output, and the run itself.
//!
//! Runs take turns: a run borrows the model's state (compiled model and buffers) from a slot and
//! gives it back when done; a run waiting for its turn gives up at its deadline, or after
//! `RunContext::max_wait` (then the engine queues it).
//!
//! Shapes follow RedisAI's TFLite backend, which resized the interpreter's input to whatever
//! shape came in: an input of the shape the model has now is copied as it is; one with as many
//! elements as the model's own input but another rank (`[1,1,28,28]` for `[1,28,28]`) is copied
//! into the model's shape; any other shape (a batch of 2 for a dynamic batch) resizes the input
//! (`Failed to resize input tensors` if LiteRT refuses, `Failed to allocate tensors` if the
//! graph cannot take it). Buffers are made again only when a shape changes.

use std::ffi::{c_char, c_int, CStr};
use std::ptr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use redisai_core::backend::{ModelRunner, RunContext};
use redisai_core::{DataType, Error, Result, Tensor};

use super::ffi::{
    self, element, Api, CompiledModelT, Layout, ModelT, Owned, RankedTensorType, SignatureT,
    TensorBufferT, TensorT,
};
use super::Runtime;
use crate::slot::Slot;

const LOAD_FAILED: &str = "Failed to load model from buffer";
const CONSTRUCT_FAILED: &str = "Failed to construct interpreter";
const ALLOCATE_FAILED: &str = "Failed to allocate tensors";
const INPUT_COUNT: &str = "Inconsistent number of inputs";
const RESIZE_FAILED: &str = "Failed to resize input tensors";
const INVOKE_FAILED: &str = "Failed to invoke TfLite";
const TYPE_MISMATCH: &str =
    "Input tensor type doesn't match the type expected by the model definition";
const UNSUPPORTED_INPUT: &str = "Unsupported input data type";

/// The signature every call uses: the first (LiteRT names a file without SignatureDefs
/// `<placeholder signature>`, over the main graph's inputs and outputs).
const SIGNATURE: ffi::ParamIndex = 0;

/// The RedisAI dtype of a LiteRT element type, if tensors here can hold it.
fn data_type(element_type: c_int) -> Option<DataType> {
    Some(match element_type {
        element::FLOAT32 => DataType::Float,
        element::FLOAT64 => DataType::Double,
        element::INT8 => DataType::Int8,
        element::INT16 => DataType::Int16,
        element::INT32 => DataType::Int32,
        element::INT64 => DataType::Int64,
        element::UINT8 => DataType::Uint8,
        element::UINT16 => DataType::Uint16,
        element::BOOL => DataType::Bool,
        element::FLOAT16 => DataType::Float16,
        element::BFLOAT16 => DataType::BFloat16,
        _ => return None,
    })
}

/// Elements of a shape; `None` for a dynamic (negative) dim or an overflow.
fn element_count(dims: &[i32]) -> Option<usize> {
    dims.iter().try_fold(1usize, |n, &d| {
        usize::try_from(d).ok().and_then(|d| n.checked_mul(d))
    })
}

fn check(status: ffi::Status, error: &str) -> Result<()> {
    if status == ffi::STATUS_OK {
        Ok(())
    } else {
        Err(Error::backend(error))
    }
}

/// The model's bytes, 64-byte aligned as TFLite likes its flatbuffers (constant tensors are
/// read in place).
struct AlignedBytes {
    chunks: Vec<Chunk>,
    len: usize,
}

#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Chunk([u8; 64]);

impl AlignedBytes {
    fn new(data: &[u8]) -> AlignedBytes {
        let mut chunks = vec![Chunk([0; 64]); data.len().div_ceil(64)];
        for (chunk, part) in chunks.iter_mut().zip(data.chunks(64)) {
            chunk.0[..part.len()].copy_from_slice(part);
        }
        AlignedBytes {
            chunks,
            len: data.len(),
        }
    }

    fn as_ptr(&self) -> *const u8 {
        self.chunks.as_ptr().cast()
    }
}

/// What a run needs to know of an input or output.
struct Io {
    name: String,
    element_type: c_int,
    dtype: Option<DataType>,
}

/// A tensor buffer LiteRT made for one input or output, and the shape it was made for.
struct Buffer {
    handle: Owned<TensorBufferT>,
    dims: Vec<i32>,
    /// Bytes of packed data (what locking maps).
    bytes: usize,
}

/// The mutable part of a model: what one run at a time uses.
///
/// Fields drop in declaration order: buffers, then the compiled model, then the model, then the
/// bytes it reads, then (maybe) the library.
struct State {
    /// `None`: the compiled model's shape for it is unknown (a resize failed half-way); the next
    /// run sets it again.
    inputs: Vec<Option<Buffer>>,
    /// `None` after an input changed shape: made again before the run.
    outputs: Vec<Option<Buffer>>,
    compiled: Owned<CompiledModelT>,
    _model: Owned<ModelT>,
    _bytes: AlignedBytes,
    runtime: Arc<Runtime>,
}

pub(crate) struct TfliteModel {
    inputs: Vec<String>,
    outputs: Vec<String>,
    input_io: Vec<Io>,
    output_io: Vec<Io>,
    /// Each input's shape in the compiled model as loaded (dynamic dims as LiteRT set them).
    base_dims: Vec<Vec<i32>>,
    slot: Slot<State>,
}

impl TfliteModel {
    /// Loads `blob` (a `.tflite` flatbuffer) for the CPU.
    pub(crate) fn load(runtime: &Arc<Runtime>, blob: &[u8]) -> Result<TfliteModel> {
        let api = runtime.api();
        // LiteRT verifies a flatbuffer only below 2e9 bytes (and a flatbuffer cannot be larger).
        if blob.is_empty() || blob.len() >= 2_000_000_000 {
            return Err(Error::backend(LOAD_FAILED));
        }
        let bytes = AlignedBytes::new(blob);
        let mut model = ptr::null_mut();
        // SAFETY: `bytes` holds `len` bytes and outlives the model (both move into `State`,
        // which drops the model first); `model` is a valid out-pointer.
        let status = runtime.with_env(|env| unsafe {
            (api.create_model_from_buffer)(env, bytes.as_ptr().cast(), bytes.len, &mut model)
        });
        // SAFETY: a model the call made for us; `runtime` (the library) outlives it in `State`.
        let model = unsafe { Owned::new(model, api.destroy_model) };
        let model = match (status, model) {
            (ffi::STATUS_OK, Some(model)) => model,
            _ => return Err(Error::backend(LOAD_FAILED)),
        };
        let signature = signature(api, &model)?;
        let (input_io, output_io) = signature_io(api, signature)?;
        let compiled = compile(runtime, &model)?;
        let mut state = State {
            inputs: Vec::new(),
            outputs: Vec::new(),
            compiled,
            _model: model,
            _bytes: bytes,
            runtime: runtime.clone(),
        };
        let mut base_dims = Vec::with_capacity(input_io.len());
        for (i, io) in input_io.iter().enumerate() {
            let buffer = state.input_buffer(i, io.element_type)?;
            base_dims.push(buffer.dims.clone());
            state.inputs.push(Some(buffer));
        }
        state.outputs = output_io.iter().map(|_| None).collect();
        state.make_outputs(&output_io)?;
        Ok(TfliteModel {
            inputs: input_io.iter().map(|io| io.name.clone()).collect(),
            outputs: output_io.iter().map(|io| io.name.clone()).collect(),
            input_io,
            output_io,
            base_dims,
            slot: Slot::new(state),
        })
    }

    /// The shape input `i` gets for a tensor of `shape` (see the module docs).
    fn target_dims(&self, i: usize, shape: &[usize], current: Option<&[i32]>) -> Result<Vec<i32>> {
        let dims = shape
            .iter()
            .map(|&d| i32::try_from(d))
            .collect::<std::result::Result<Vec<i32>, _>>()
            .map_err(|_| Error::backend(RESIZE_FAILED))?;
        let base = &self.base_dims[i];
        let copy_into_base = || {
            dims.len() != base.len()
                && element_count(&dims).is_some()
                && element_count(&dims) == element_count(base)
        };
        if current != Some(dims.as_slice()) && copy_into_base() {
            return Ok(base.clone());
        }
        // LiteRT reports shapes in fixed arrays of MAX_RANK dims.
        if dims.len() > ffi::MAX_RANK {
            return Err(Error::backend(RESIZE_FAILED));
        }
        Ok(dims)
    }

    fn run_state(&self, state: &mut State, inputs: &[&Tensor]) -> Result<Vec<Tensor>> {
        for (tensor, io) in inputs.iter().zip(&self.input_io) {
            match io.dtype {
                None => return Err(Error::backend(UNSUPPORTED_INPUT)),
                Some(dtype) if dtype != tensor.dtype() => {
                    return Err(Error::backend(TYPE_MISMATCH))
                }
                Some(_) => {}
            }
        }
        for (i, tensor) in inputs.iter().enumerate() {
            let current = state.inputs[i].as_ref().map(|b| b.dims.as_slice());
            let dims = self.target_dims(i, tensor.shape(), current)?;
            if current == Some(dims.as_slice()) {
                continue;
            }
            // Until made again, what is left says nothing of the compiled model's shapes.
            state.inputs[i] = None;
            state.outputs.iter_mut().for_each(|o| *o = None);
            state.resize(i, &dims)?;
            state.inputs[i] = Some(state.input_buffer(i, self.input_io[i].element_type)?);
        }
        if state.outputs.iter().any(Option::is_none) {
            state.make_outputs(&self.output_io)?;
        }
        let api = state.runtime.api();
        let mut input_handles = Vec::with_capacity(inputs.len());
        for (tensor, buffer) in inputs.iter().zip(&state.inputs) {
            let buffer = buffer
                .as_ref()
                .ok_or_else(|| Error::backend(RESIZE_FAILED))?;
            write(api, buffer, tensor.blob())?;
            input_handles.push(buffer.handle.as_ptr());
        }
        let mut output_handles = state
            .outputs
            .iter()
            .map(|b| b.as_ref().map(|b| b.handle.as_ptr()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::backend(ALLOCATE_FAILED))?;
        // SAFETY: the compiled model and every buffer are alive and used by this run only (the
        // state is borrowed exclusively); the arrays hold as many handles as the counts passed,
        // one per signature input and output, made for this compiled model's current shapes.
        let status = unsafe {
            (api.run_compiled_model)(
                state.compiled.as_ptr(),
                SIGNATURE,
                input_handles.len(),
                input_handles.as_mut_ptr(),
                output_handles.len(),
                output_handles.as_mut_ptr(),
            )
        };
        check(status, INVOKE_FAILED)?;
        state
            .outputs
            .iter()
            .zip(&self.output_io)
            .map(|(buffer, io)| {
                let buffer = buffer
                    .as_ref()
                    .ok_or_else(|| Error::backend(ALLOCATE_FAILED))?;
                read(api, buffer, io)
            })
            .collect()
    }
}

impl ModelRunner for TfliteModel {
    fn inputs(&self) -> &[String] {
        &self.inputs
    }

    fn outputs(&self) -> &[String] {
        &self.outputs
    }

    /// Runs the model on the CPU. A deadline is honoured while waiting for the model's turn and
    /// before the run starts; LiteRT cannot stop a run under way.
    fn run(&self, inputs: &[&Tensor], ctx: &RunContext) -> Result<Vec<Tensor>> {
        if inputs.len() != self.input_io.len() {
            return Err(Error::backend(INPUT_COUNT));
        }
        let mut turn = self.slot.take(ctx.deadline, ctx.max_wait)?;
        if ctx.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Error::RunTimedOut);
        }
        self.run_state(turn.get()?, inputs)
    }
}

/// The model's first signature.
fn signature(api: &Api, model: &Owned<ModelT>) -> Result<*mut SignatureT> {
    let mut count = 0;
    // SAFETY: a live model and a valid out-pointer.
    let status = unsafe { (api.get_num_model_signatures)(model.as_ptr(), &mut count) };
    check(status, CONSTRUCT_FAILED)?;
    if count == 0 {
        return Err(Error::backend(CONSTRUCT_FAILED));
    }
    let mut signature = ptr::null_mut();
    // SAFETY: as above; the signature belongs to the model and lives as long as it.
    let status = unsafe { (api.get_model_signature)(model.as_ptr(), SIGNATURE, &mut signature) };
    check(status, CONSTRUCT_FAILED)?;
    if signature.is_null() {
        return Err(Error::backend(CONSTRUCT_FAILED));
    }
    Ok(signature)
}

/// The signature's inputs and outputs, in order.
fn signature_io(api: &Api, signature: *mut SignatureT) -> Result<(Vec<Io>, Vec<Io>)> {
    let mut inputs = 0;
    let mut outputs = 0;
    // SAFETY: a live signature (its model is alive) and valid out-pointers.
    let status = unsafe { (api.get_num_signature_inputs)(signature, &mut inputs) };
    check(status, CONSTRUCT_FAILED)?;
    // SAFETY: as above.
    let status = unsafe { (api.get_num_signature_outputs)(signature, &mut outputs) };
    check(status, CONSTRUCT_FAILED)?;
    let inputs = (0..inputs)
        .map(|i| io(api, signature, i, true))
        .collect::<Result<Vec<_>>>()?;
    let outputs = (0..outputs)
        .map(|i| io(api, signature, i, false))
        .collect::<Result<Vec<_>>>()?;
    Ok((inputs, outputs))
}

/// Name and element type of the `index`-th input (or output) of `signature`. The name is the
/// tensor's, as RedisAI's TFLite interpreter named inputs and outputs (a SignatureDef's own
/// names, such as `x` for `serving_default_x:0`, only stand in for a tensor without a name).
/// LiteRT keeps a signature's inputs and outputs in the order of its graph's, the interpreter's.
fn io(api: &Api, signature: *mut SignatureT, index: usize, input: bool) -> Result<Io> {
    let (get_name, get_tensor) = if input {
        (
            api.get_signature_input_name,
            api.get_signature_input_tensor_by_index,
        )
    } else {
        (
            api.get_signature_output_name,
            api.get_signature_output_tensor_by_index,
        )
    };
    let mut tensor: *mut TensorT = ptr::null_mut();
    // SAFETY: a live signature (its model is alive), an index below its count, a valid
    // out-pointer.
    check(
        unsafe { get_tensor(signature, index, &mut tensor) },
        CONSTRUCT_FAILED,
    )?;
    if tensor.is_null() {
        return Err(Error::backend(CONSTRUCT_FAILED));
    }
    let mut name = ptr::null();
    // SAFETY: a live tensor of the model and a valid out-pointer.
    check(
        unsafe { (api.get_tensor_name)(tensor, &mut name) },
        CONSTRUCT_FAILED,
    )?;
    // SAFETY: LiteRT returns a NUL-terminated name owned by the model, alive here (or null).
    let mut name = unsafe { owned_name(name) };
    if name.is_empty() {
        let mut alias = ptr::null();
        // SAFETY: as for the tensor above.
        check(
            unsafe { get_name(signature, index, &mut alias) },
            CONSTRUCT_FAILED,
        )?;
        // SAFETY: as for the tensor's name.
        name = unsafe { owned_name(alias) };
    }
    let mut type_id = -1;
    // SAFETY: a live tensor of the model and a valid out-pointer.
    check(
        unsafe { (api.get_tensor_type_id)(tensor, &mut type_id) },
        CONSTRUCT_FAILED,
    )?;
    if type_id != ffi::RANKED_TENSOR_TYPE {
        return Err(Error::backend(format!(
            "ERR TFLITE: tensor '{name}' has no fixed rank"
        )));
    }
    let mut ty = RankedTensorType {
        element_type: 0,
        layout: Layout::zeroed(),
    };
    // SAFETY: a ranked tensor and a valid out-pointer to the struct LiteRT fills.
    check(
        unsafe { (api.get_ranked_tensor_type)(tensor, &mut ty) },
        CONSTRUCT_FAILED,
    )?;
    Ok(Io {
        name,
        element_type: ty.element_type,
        dtype: data_type(ty.element_type),
    })
}

/// A copy of a C string LiteRT owns ("" for null).
///
/// # Safety
/// `name` must be null or a NUL-terminated string alive for the call.
unsafe fn owned_name(name: *const c_char) -> String {
    if name.is_null() {
        return String::new();
    }
    // SAFETY: forwarded.
    unsafe { CStr::from_ptr(name) }
        .to_string_lossy()
        .into_owned()
}

/// The compiled model of `model` for the CPU.
fn compile(runtime: &Runtime, model: &Owned<ModelT>) -> Result<Owned<CompiledModelT>> {
    let api = runtime.api();
    let mut options = ptr::null_mut();
    // SAFETY: a valid out-pointer.
    let status = unsafe { (api.create_options)(&mut options) };
    // SAFETY: options the call made for us, destroyed at the end of this function (LiteRT
    // reads them while creating the compiled model only; the caller keeps ownership).
    let options = unsafe { Owned::new(options, api.destroy_options) };
    let options = match (status, options) {
        (ffi::STATUS_OK, Some(options)) => options,
        _ => return Err(Error::backend(CONSTRUCT_FAILED)),
    };
    // SAFETY: live options.
    let status = unsafe {
        (api.set_options_hardware_accelerators)(options.as_ptr(), ffi::HW_ACCELERATOR_CPU)
    };
    check(status, CONSTRUCT_FAILED)?;
    let mut compiled = ptr::null_mut();
    // SAFETY: live environment, model and options; a valid out-pointer. The compiled model
    // refers to the model, which `State` keeps alive longer.
    let status = runtime.with_env(|env| unsafe {
        (api.create_compiled_model)(env, model.as_ptr(), options.as_ptr(), &mut compiled)
    });
    // SAFETY: a compiled model the call made for us; the library outlives it (see `State`).
    let compiled = unsafe { Owned::new(compiled, api.destroy_compiled_model) };
    match (status, compiled) {
        (ffi::STATUS_OK, Some(compiled)) => Ok(compiled),
        _ => Err(Error::backend(CONSTRUCT_FAILED)),
    }
}

impl State {
    /// Resizes input `i` of the compiled model to `dims` (as TFLite's non-strict resize: any
    /// shape the graph's ops accept).
    fn resize(&mut self, i: usize, dims: &[i32]) -> Result<()> {
        let api = self.runtime.api();
        // SAFETY: a live compiled model, an input index below the signature's count, and
        // `dims.len()` dims at `dims`.
        let status = unsafe {
            (api.compiled_model_resize_input_tensor_non_strict)(
                self.compiled.as_ptr(),
                SIGNATURE,
                i,
                dims.as_ptr(),
                dims.len(),
            )
        };
        check(status, RESIZE_FAILED)
    }

    /// A buffer for input `i` in the compiled model's current shape.
    fn input_buffer(&self, i: usize, element_type: c_int) -> Result<Buffer> {
        let api = self.runtime.api();
        let mut layout = Layout::zeroed();
        // SAFETY: a live compiled model, an input index below the signature's count, and a
        // valid out-pointer.
        let status = unsafe {
            (api.get_compiled_model_input_tensor_layout)(
                self.compiled.as_ptr(),
                SIGNATURE,
                i,
                &mut layout,
            )
        };
        check(status, ALLOCATE_FAILED)?;
        self.buffer(i, true, element_type, layout)
    }

    /// Output buffers for every output lacking one, in the shapes of the current inputs (LiteRT
    /// allocates the graph for them first).
    fn make_outputs(&mut self, io: &[Io]) -> Result<()> {
        let api = self.runtime.api();
        let mut layouts = vec![Layout::zeroed(); io.len()];
        // SAFETY: a live compiled model and storage for one layout per signature output.
        let status = unsafe {
            (api.get_compiled_model_output_tensor_layouts)(
                self.compiled.as_ptr(),
                SIGNATURE,
                layouts.len(),
                layouts.as_mut_ptr(),
                true,
            )
        };
        check(status, ALLOCATE_FAILED)?;
        for (j, (layout, io)) in layouts.into_iter().zip(io).enumerate() {
            if self.outputs[j].is_none() {
                self.outputs[j] = Some(self.buffer(j, false, io.element_type, layout)?);
            }
        }
        Ok(())
    }

    /// A managed buffer for input (or output) `index`, as its requirements ask.
    fn buffer(
        &self,
        index: usize,
        input: bool,
        element_type: c_int,
        layout: Layout,
    ) -> Result<Buffer> {
        let api = self.runtime.api();
        let get_requirements = if input {
            api.get_compiled_model_input_buffer_requirements
        } else {
            api.get_compiled_model_output_buffer_requirements
        };
        let mut requirements = ptr::null_mut();
        // SAFETY: a live compiled model, an index below the count, a valid out-pointer. The
        // requirements belong to the compiled model (not destroyed here).
        let status = unsafe {
            get_requirements(self.compiled.as_ptr(), SIGNATURE, index, &mut requirements)
        };
        check(status, ALLOCATE_FAILED)?;
        if requirements.is_null() {
            return Err(Error::backend(ALLOCATE_FAILED));
        }
        let ty = RankedTensorType {
            element_type,
            layout,
        };
        let mut handle = ptr::null_mut();
        // SAFETY: the environment, the type (read during the call) and the requirements are
        // alive; a valid out-pointer.
        let status = self.runtime.with_env(|env| unsafe {
            (api.create_managed_tensor_buffer_from_requirements)(
                env,
                &ty,
                requirements,
                &mut handle,
            )
        });
        // SAFETY: a buffer the call made for us; `State` drops it before the library.
        let handle = unsafe { Owned::new(handle, api.destroy_tensor_buffer) };
        let handle = match (status, handle) {
            (ffi::STATUS_OK, Some(handle)) => handle,
            _ => return Err(Error::backend(ALLOCATE_FAILED)),
        };
        let mut bytes = 0;
        // SAFETY: a live buffer and a valid out-pointer.
        let status = unsafe { (api.get_tensor_buffer_packed_size)(handle.as_ptr(), &mut bytes) };
        check(status, ALLOCATE_FAILED)?;
        Ok(Buffer {
            handle,
            dims: layout.dims().to_vec(),
            bytes,
        })
    }
}

/// Copies `data` into an input buffer of exactly that many bytes.
fn write(api: &Api, buffer: &Buffer, data: &[u8]) -> Result<()> {
    if data.len() != buffer.bytes {
        return Err(Error::backend(format!(
            "ERR TFLITE: input of {} bytes for a model input of {} bytes",
            data.len(),
            buffer.bytes
        )));
    }
    if data.is_empty() {
        return Ok(());
    }
    let mut host = ptr::null_mut();
    // SAFETY: a live buffer, used by this run only, and a valid out-pointer.
    let status =
        unsafe { (api.lock_tensor_buffer)(buffer.handle.as_ptr(), &mut host, ffi::LOCK_WRITE) };
    check(status, INVOKE_FAILED)?;
    if !host.is_null() {
        // SAFETY: while locked, `host` maps the buffer's `bytes` packed bytes (checked equal to
        // `data.len()`), which do not overlap `data`.
        unsafe { ptr::copy_nonoverlapping(data.as_ptr(), host.cast::<u8>(), data.len()) };
    }
    // SAFETY: the buffer we locked above.
    let unlocked = unsafe { (api.unlock_tensor_buffer)(buffer.handle.as_ptr()) };
    if host.is_null() {
        return Err(Error::backend(INVOKE_FAILED));
    }
    check(unlocked, INVOKE_FAILED)
}

/// A tensor with an output buffer's shape and data.
fn read(api: &Api, buffer: &Buffer, io: &Io) -> Result<Tensor> {
    let dtype = io.dtype.ok_or_else(|| {
        Error::backend(format!(
            "ERR TFLITE output '{}' has element type {}, which tensors here cannot hold",
            io.name, io.element_type
        ))
    })?;
    let shape = buffer
        .dims
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<std::result::Result<Vec<usize>, _>>()
        .map_err(|_| {
            Error::backend(format!(
                "ERR TFLITE output '{}' has a dynamic dim after the run",
                io.name
            ))
        })?;
    let expected = element_count(&buffer.dims).and_then(|n| n.checked_mul(dtype.size()));
    if expected != Some(buffer.bytes) {
        return Err(Error::backend(format!(
            "ERR TFLITE output '{}': {} bytes for shape {:?}",
            io.name, buffer.bytes, buffer.dims
        )));
    }
    let data = if buffer.bytes == 0 {
        Bytes::new()
    } else {
        let mut host = ptr::null_mut();
        // SAFETY: a live buffer, used by this run only, and a valid out-pointer.
        let status =
            unsafe { (api.lock_tensor_buffer)(buffer.handle.as_ptr(), &mut host, ffi::LOCK_READ) };
        check(status, INVOKE_FAILED)?;
        let data = (!host.is_null()).then(|| {
            // SAFETY: while locked, `host` maps the buffer's `bytes` packed bytes.
            Bytes::copy_from_slice(unsafe {
                std::slice::from_raw_parts(host.cast::<u8>(), buffer.bytes)
            })
        });
        // SAFETY: the buffer we locked above.
        let unlocked = unsafe { (api.unlock_tensor_buffer)(buffer.handle.as_ptr()) };
        check(unlocked, INVOKE_FAILED)?;
        data.ok_or_else(|| Error::backend(INVOKE_FAILED))?
    };
    Tensor::from_blob(dtype, shape, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_types_map_to_distinct_dtypes() {
        let all = [
            element::FLOAT32,
            element::FLOAT64,
            element::INT8,
            element::INT16,
            element::INT32,
            element::INT64,
            element::UINT8,
            element::UINT16,
            element::BOOL,
            element::FLOAT16,
            element::BFLOAT16,
        ];
        let dtypes: std::collections::HashSet<_> =
            all.iter().map(|&t| data_type(t).unwrap()).collect();
        assert_eq!(dtypes.len(), all.len());
        // kLiteRtElementTypeTfString has no tensor here.
        assert_eq!(data_type(5), None);
    }

    #[test]
    fn aligned_bytes_keep_the_data() {
        let data: Vec<u8> = (0..200u8).collect();
        let bytes = AlignedBytes::new(&data);
        assert_eq!(bytes.as_ptr() as usize % 64, 0);
        // SAFETY: `bytes` holds at least `len` initialised bytes.
        let copy = unsafe { std::slice::from_raw_parts(bytes.as_ptr(), bytes.len) };
        assert_eq!(copy, &data[..]);
    }

    #[test]
    fn element_counts() {
        assert_eq!(element_count(&[1, 28, 28]), Some(784));
        assert_eq!(element_count(&[]), Some(1));
        assert_eq!(element_count(&[-1, 3]), None);
    }
}
