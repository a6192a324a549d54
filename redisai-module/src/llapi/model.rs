//! `RAI_Model` (a boxed `Arc<Model>`, as a key of type `AI__MODEL` holds it) and the functions
//! of `RAI_ModelRunCtx` (a [`RunCtx`] of a model run).

use std::ffi::{c_char, c_int, c_longlong, c_void, CStr};
use std::ptr;
use std::sync::Arc;

use redis_module::raw;
use redisai_core::codec::ModelRecord;
use redisai_core::lowlevel::{run_models, ApiError, ErrorCode, Run};
use redisai_core::model::{BackendKind, BatchOptions, Model};
use redisai_core::Error;

use super::error::{report, RaiError};
use super::finish::OnFinish;
use super::run::{self, RunCtx};
use super::tensor::RaiTensor;
use super::{c_bytes, c_names, drop_box, engine, from_keyspace, new_handle, shallow_copy, status};
use crate::guard;
use crate::keyspace::StoredKind;
use crate::types::{raw_type, string_bytes, MODEL_TYPE};

pub type RaiModel = Arc<Model>;

/// `RAI_ModelOpts`, passed by value.
#[repr(C)]
pub struct ModelOpts {
    pub batchsize: usize,
    pub minbatchsize: usize,
    pub minbatchtimeout: usize,
    /// The engine's INTRA/INTER_OP_PARALLELISM apply instead (one session per process).
    pub intra_op_parallelism: c_longlong,
    pub inter_op_parallelism: c_longlong,
}

fn backend_kind(code: c_int) -> Option<BackendKind> {
    BackendKind::ALL.into_iter().find(|b| *b as c_int == code)
}

/// A model under no key, loaded by its backend; null with `err` set when it cannot be.
/// `tag` is a `RedisModuleString` (or null), as RedisAI's implementation reads it.
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn create(
    backend: c_int,
    device: *const c_char,
    tag: *mut raw::RedisModuleString,
    opts: ModelOpts,
    ninputs: usize,
    inputs: *const *const c_char,
    noutputs: usize,
    outputs: *const *const c_char,
    def: *const c_char,
    len: usize,
    err: *mut RaiError,
) -> *mut RaiModel {
    guard::or(ptr::null_mut(), || {
        let created = (|| {
            let code = ErrorCode::ModelCreate;
            let backend = backend_kind(backend).ok_or_else(|| {
                ApiError::new(ErrorCode::UnsupportedBackend, "ERR Unsupported backend")
            })?;
            let engine = engine(code)?;
            if device.is_null() {
                return Err(ApiError::from_engine(
                    code,
                    &Error::backend("ERR unsupported device"),
                ));
            }
            let record = ModelRecord {
                backend,
                device: CStr::from_ptr(device).to_string_lossy().into_owned(),
                tag: string_bytes(tag),
                batch: BatchOptions {
                    size: opts.batchsize as u64,
                    min_size: opts.minbatchsize as u64,
                    min_timeout: opts.minbatchtimeout as u64,
                },
                inputs: c_names(inputs, ninputs),
                outputs: c_names(outputs, noutputs),
                blob: c_bytes(def, len),
            };
            engine
                .create_model(record)
                .map_err(|e| ApiError::from_engine(code, &e))
        })();
        new_handle(created, err)
    })
}

pub unsafe extern "C" fn free(model: *mut RaiModel, _err: *mut RaiError) {
    guard::or((), || drop_box(model))
}

pub unsafe extern "C" fn get_shallow_copy(model: *mut RaiModel) -> *mut RaiModel {
    guard::or(ptr::null_mut(), || shallow_copy(model))
}

/// The model under `key`, borrowed from the key (no copy is taken).
pub unsafe extern "C" fn get_from_keyspace(
    ctx: *mut raw::RedisModuleCtx,
    key: *mut raw::RedisModuleString,
    model: *mut *mut RaiModel,
    mode: c_int,
    err: *mut RaiError,
) -> c_int {
    guard::or(1, || {
        from_keyspace(ctx, key, model.cast(), mode, err, StoredKind::Model)
    })
}

/// The model's definition, in a buffer of Redis's allocator the caller frees.
pub unsafe extern "C" fn serialize(
    model: *mut RaiModel,
    buffer: *mut *mut c_char,
    len: *mut usize,
    err: *mut RaiError,
) -> c_int {
    guard::or(1, || {
        let (Some(model), false, false) = (model.as_ref(), buffer.is_null(), len.is_null()) else {
            report(
                err,
                &ApiError::new(ErrorCode::ModelSerialize, "ERR Invalid argument"),
            );
            return 1;
        };
        let blob = &model.blob;
        let Some(alloc) = raw::RedisModule_Alloc else {
            return 1;
        };
        let copy = alloc(blob.len().max(1)).cast::<u8>();
        if copy.is_null() {
            return 1;
        }
        ptr::copy_nonoverlapping(blob.as_ptr(), copy, blob.len());
        *buffer = copy.cast();
        *len = blob.len();
        0
    })
}

pub unsafe extern "C" fn redis_type() -> *mut raw::RedisModuleType {
    guard::or(ptr::null_mut(), || raw_type(&MODEL_TYPE))
}

pub unsafe extern "C" fn run_ctx_create(model: *mut RaiModel) -> *mut RunCtx {
    guard::or(ptr::null_mut(), || {
        model
            .as_ref()
            .map_or(ptr::null_mut(), |m| RunCtx::new(Run::model(m.clone())))
    })
}

/// The next input (inputs are positional: `name` is not used, as in RedisAI).
pub unsafe extern "C" fn run_ctx_add_input(
    mctx: *mut RunCtx,
    _name: *const c_char,
    t: *mut RaiTensor,
) -> c_int {
    run::add_input(mctx, t)
}

pub unsafe extern "C" fn run_ctx_add_output(mctx: *mut RunCtx, _name: *const c_char) -> c_int {
    run::add_output(mctx)
}

/// Runs on this thread and waits; several contexts of one model run as one batch.
pub unsafe extern "C" fn run(mctxs: *mut *mut RunCtx, n: c_longlong, err: *mut RaiError) -> c_int {
    guard::or(1, || {
        let ctxs: &[*mut RunCtx] = if mctxs.is_null() || n <= 0 {
            &[]
        } else {
            std::slice::from_raw_parts(mctxs, n as usize)
        };
        let result = (|| {
            let engine = engine(ErrorCode::ModelRun)?;
            // Each context once: two would be two `&mut` to one.
            if ctxs.iter().enumerate().any(|(i, c)| ctxs[..i].contains(c)) {
                return Err(ApiError::new(ErrorCode::ModelRun, "ERR Invalid argument"));
            }
            let mut runs = ctxs
                .iter()
                .map(|c| c.as_mut().map(|c| &mut c.run))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| ApiError::new(ErrorCode::ModelRun, "ERR Invalid argument"))?;
            run_models(engine, &mut runs)
        })();
        for c in ctxs {
            if let Some(c) = c.as_mut() {
                c.take_outputs();
            }
        }
        status(result, err)
    })
}

/// Queues the run; `cb` receives its finish context on another thread. The caller leaves
/// `mctx` alone until then.
pub unsafe extern "C" fn run_async(
    mctx: *mut RunCtx,
    cb: Option<OnFinish>,
    pd: *mut c_void,
) -> c_int {
    run::run_async(mctx, cb, pd, None)
}
