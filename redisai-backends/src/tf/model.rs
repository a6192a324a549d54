//! A loaded TF model: a frozen GraphDef imported into a graph, one session on it, and the
//! user's input and output nodes. `TF_SessionRun` is thread-safe, so concurrent runs share the
//! session without a lock.

use std::ffi::{c_int, CStr, CString};
use std::ptr;
use std::time::Instant;

use redisai_core::backend::{ModelConfig, ModelRunner, RunContext};
use redisai_core::device::Device;
use redisai_core::{Error, Result, Tensor};

use super::ffi::{
    TF_Buffer, TF_Graph, TF_Operation, TF_Output, TF_Session, TF_Tensor, TF_DEADLINE_EXCEEDED,
};
use super::tensors::{self, OwnedTensor};
use super::{Status, Tf};

pub(crate) struct TfModel {
    tf: &'static Tf,
    graph: *mut TF_Graph,
    session: *mut TF_Session,
    inputs: Vec<String>,
    outputs: Vec<String>,
    feeds: Vec<TF_Output>,
    fetches: Vec<TF_Output>,
}

// SAFETY: the graph is only read after import and TF_SessionRun may be called from any thread
// concurrently; the raw pointers are owned by this value and freed once, in Drop.
unsafe impl Send for TfModel {}
// SAFETY: as above.
unsafe impl Sync for TfModel {}

impl Drop for TfModel {
    fn drop(&mut self) {
        let api = &self.tf.api;
        let status = Status::new(self.tf);
        // SAFETY: both pointers are live and freed once, the session before its graph.
        unsafe {
            if !self.session.is_null() {
                (api.TF_CloseSession)(self.session, status.ptr);
                (api.TF_DeleteSession)(self.session, status.ptr);
            }
            (api.TF_DeleteGraph)(self.graph);
        }
    }
}

/// `name` or `name:index`: the operation and its output port. A whole name that is an operation
/// wins over a `:index` reading of it.
fn find_output(tf: &Tf, graph: *mut TF_Graph, name: &str) -> Option<(*mut TF_Operation, c_int)> {
    let lookup = |n: &str| -> *mut TF_Operation {
        let Ok(c) = CString::new(n) else {
            return ptr::null_mut();
        };
        // SAFETY: graph is live and c is NUL-terminated.
        unsafe { (tf.api.TF_GraphOperationByName)(graph, c.as_ptr()) }
    };
    let op = lookup(name);
    if !op.is_null() {
        return Some((op, 0));
    }
    let (base, index) = name.rsplit_once(':')?;
    let index: c_int = index.parse().ok()?;
    let op = lookup(base);
    // SAFETY: op is a live operation of the graph.
    let outputs = if op.is_null() {
        0
    } else {
        unsafe { (tf.api.TF_OperationNumOutputs)(op) }
    };
    (index >= 0 && index < outputs).then_some((op, index))
}

/// Appends `v` as a protobuf varint.
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A ConfigProto: `device_count {"GPU": 0}` on CPU, the thread pools' sizes when set.
fn config_proto(config: &ModelConfig) -> Vec<u8> {
    let mut proto = Vec::new();
    if config.device == Device::Cpu {
        // field 1 (map<string,int32> device_count), entry {key "GPU", value 0}
        proto.extend_from_slice(&[0x0a, 0x07, 0x0a, 0x03, b'G', b'P', b'U', 0x10, 0x00]);
    }
    let clamp = |n: u64| n.min(i32::MAX as u64);
    if config.intra_op_threads > 0 {
        proto.push(0x10); // field 2: intra_op_parallelism_threads
        varint(&mut proto, clamp(config.intra_op_threads));
    }
    if config.inter_op_threads > 0 {
        proto.push(0x28); // field 5: inter_op_parallelism_threads
        varint(&mut proto, clamp(config.inter_op_threads));
    }
    proto
}

/// A RunOptions with `timeout_in_ms` (field 2), for a run with a deadline.
fn run_options(ms: u64) -> Vec<u8> {
    let mut proto = vec![0x10];
    varint(&mut proto, ms.max(1));
    proto
}

impl TfModel {
    pub(crate) fn load(tf: &'static Tf, blob: &[u8], config: &ModelConfig) -> Result<TfModel> {
        let api = &tf.api;
        // No names is possible: a model from a v0 RDB payload has none (the grammar asks for
        // them in every new store).
        // SAFETY: TF_NewGraph has no preconditions; ownership goes to `model` at once, whose
        // Drop frees it on every error path below.
        let graph = unsafe { (api.TF_NewGraph)() };
        if graph.is_null() {
            return Err(Error::backend("ERR TF could not create a graph"));
        }
        let mut model = TfModel {
            tf,
            graph,
            session: ptr::null_mut(),
            inputs: config.inputs.to_vec(),
            outputs: config.outputs.to_vec(),
            feeds: Vec::new(),
            fetches: Vec::new(),
        };
        let status = Status::new(tf);
        let device = match config.device {
            Device::Cpu => None,
            Device::Gpu(n) => Some(format!("/device:GPU:{n}")),
        };
        // The import only reads the buffer: it points into `blob`, no copy of the model.
        let buffer = TF_Buffer {
            data: blob.as_ptr().cast(),
            length: blob.len(),
            data_deallocator: None,
        };
        // SAFETY: `buffer` and `blob` outlive the call; the options are freed after it.
        unsafe {
            let opts = (api.TF_NewImportGraphDefOptions)();
            if let Some(d) = &device {
                let d = CString::new(d.as_str()).unwrap_or_default();
                (api.TF_ImportGraphDefOptionsSetDefaultDevice)(opts, d.as_ptr());
            }
            (api.TF_GraphImportGraphDef)(graph, &buffer, opts, status.ptr);
            (api.TF_DeleteImportGraphDefOptions)(opts);
        }
        status.check()?;
        for name in config.inputs {
            let op = find_output(tf, graph, name)
                .filter(|(op, _)| {
                    // SAFETY: op is a live operation; its type name is a static C string.
                    let ty = unsafe { CStr::from_ptr((api.TF_OperationOpType)(*op)) };
                    ty.to_bytes() == b"Placeholder"
                })
                .ok_or_else(|| {
                    Error::backend(format!(
                        "ERR Input node named \"{name}\" not found in TF graph."
                    ))
                })?;
            model.feeds.push(TF_Output {
                oper: op.0,
                index: op.1,
            });
        }
        for name in config.outputs {
            let op = find_output(tf, graph, name).ok_or_else(|| {
                Error::backend(format!(
                    "ERR Output node named \"{name}\" not found in TF graph"
                ))
            })?;
            model.fetches.push(TF_Output {
                oper: op.0,
                index: op.1,
            });
        }
        let proto = config_proto(config);
        // SAFETY: the options are freed right after the session is created (TF copies them).
        unsafe {
            let opts = (api.TF_NewSessionOptions)();
            (api.TF_SetConfig)(opts, proto.as_ptr().cast(), proto.len(), status.ptr);
            if status.check().is_ok() {
                model.session = (api.TF_NewSession)(graph, opts, status.ptr);
            }
            (api.TF_DeleteSessionOptions)(opts);
        }
        status.check()?;
        if model.session.is_null() {
            return Err(Error::backend("ERR TF could not create a session"));
        }
        if let Device::Gpu(_) = config.device {
            if !model.has_gpu() {
                return Err(Error::backend(
                    "ERR GPU requested but TF couldn't find CUDA",
                ));
            }
        }
        Ok(model)
    }

    /// Whether the session sees a GPU (this TensorFlow build may have no CUDA at all).
    fn has_gpu(&self) -> bool {
        let api = &self.tf.api;
        let status = Status::new(self.tf);
        // SAFETY: the list is read within its count and freed once.
        unsafe {
            let list = (api.TF_SessionListDevices)(self.session, status.ptr);
            if list.is_null() {
                return false;
            }
            let found = (0..(api.TF_DeviceListCount)(list)).any(|i| {
                let ty = (api.TF_DeviceListType)(list, i, status.ptr);
                !ty.is_null() && CStr::from_ptr(ty).to_bytes() == b"GPU"
            });
            (api.TF_DeleteDeviceList)(list);
            found
        }
    }
}

impl ModelRunner for TfModel {
    fn inputs(&self) -> &[String] {
        &self.inputs
    }

    fn outputs(&self) -> &[String] {
        &self.outputs
    }

    fn run(&self, inputs: &[&Tensor], ctx: &RunContext) -> Result<Vec<Tensor>> {
        if inputs.len() != self.feeds.len() {
            return Err(Error::backend(format!(
                "ERR Expected {} inputs but got {}",
                self.feeds.len(),
                inputs.len()
            )));
        }
        let options = match ctx.deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(Error::RunTimedOut);
                }
                Some(run_options(left.as_millis().try_into().unwrap_or(u64::MAX)))
            }
            None => None,
        };
        let tf = self.tf;
        let api = &tf.api;
        let fed = inputs
            .iter()
            .map(|t| tensors::input(tf, t))
            .collect::<Result<Vec<OwnedTensor>>>()?;
        let fed_ptrs: Vec<*mut TF_Tensor> = fed.iter().map(|t| t.ptr).collect();
        let mut out: Vec<*mut TF_Tensor> = vec![ptr::null_mut(); self.fetches.len()];
        let status = Status::new(tf);
        // SAFETY: inputs/outputs arrays have the lengths passed; the session is live; TF fills
        // `out` with tensors this side then owns (each wrapped at once below).
        unsafe {
            let opts = options
                .as_ref()
                .map(|o| (api.TF_NewBufferFromString)(o.as_ptr().cast(), o.len()))
                .unwrap_or(ptr::null_mut());
            (api.TF_SessionRun)(
                self.session,
                opts,
                self.feeds.as_ptr(),
                fed_ptrs.as_ptr(),
                self.feeds.len() as c_int,
                self.fetches.as_ptr(),
                out.as_mut_ptr(),
                self.fetches.len() as c_int,
                ptr::null(),
                0,
                ptr::null_mut(),
                status.ptr,
            );
            if !opts.is_null() {
                (api.TF_DeleteBuffer)(opts);
            }
        }
        let owned: Vec<Option<OwnedTensor>> = out
            .into_iter()
            .map(|p| OwnedTensor::from_raw(tf, p))
            .collect();
        if status.code() == TF_DEADLINE_EXCEEDED && ctx.deadline.is_some() {
            return Err(Error::RunTimedOut);
        }
        status.check()?;
        owned
            .iter()
            .map(|t| match t {
                Some(t) => tensors::output(t),
                None => Err(Error::backend("ERR TF returned no tensor for an output")),
            })
            .collect()
    }
}
