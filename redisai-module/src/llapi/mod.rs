//! The low-level API RedisAI exports to other modules (spec §7, LLAPI version 1): the
//! `RedisAI_*` functions a module built against RedisAI's `redisai.h` imports with
//! `RedisModule_GetSharedAPI`. Each is a thin C face of core's [`redisai_core::lowlevel`]:
//! pointers in, core calls, codes and pointers out, no panic across.
//!
//! - `error`: `RAI_Error`; `tensor`: `RAI_Tensor`; `model` and `script`: models, scripts
//!   and the functions of their run contexts; `run`: what both kinds of run context share;
//!   `dag`: DAGs; `finish`: what an asynchronous run hands its callback.

mod dag;
mod error;
mod finish;
mod model;
mod run;
mod script;
mod tensor;

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;
use std::sync::Arc;

use bytes::Bytes;
use redis_module::raw;
use redisai_core::lowlevel::{ApiError, ErrorCode};
use redisai_core::{Engine, Error};

use crate::keyspace::{stored_value, StoredKind};
use crate::state;
use error::{report, RaiError};

/// The LLAPI version this module implements.
const LLAPI_VERSION: c_int = 1;

unsafe extern "C" fn get_llapi_version() -> c_int {
    LLAPI_VERSION
}

/// The engine, or the error a call answers before RedisAI is up.
fn engine(code: ErrorCode) -> Result<&'static Engine, ApiError> {
    state::engine().map_err(|e| ApiError::from_engine(code, &e))
}

/// 0 (REDISMODULE_OK), or 1 with the error recorded in `err`.
unsafe fn status(result: Result<(), ApiError>, err: *mut RaiError) -> c_int {
    match result {
        Ok(()) => 0,
        Err(e) => {
            report(err, &e);
            1
        }
    }
}

/// `n` C strings as names.
unsafe fn c_names(names: *const *const c_char, n: usize) -> Vec<Bytes> {
    if names.is_null() || n == 0 {
        return Vec::new();
    }
    std::slice::from_raw_parts(names, n)
        .iter()
        .filter(|p| !p.is_null())
        .map(|p| Bytes::copy_from_slice(CStr::from_ptr(*p).to_bytes()))
        .collect()
}

unsafe fn c_bytes(data: *const c_char, len: usize) -> Bytes {
    if data.is_null() || len == 0 {
        return Bytes::new();
    }
    Bytes::copy_from_slice(std::slice::from_raw_parts(data.cast::<u8>(), len))
}

/// GetModelFromKeyspace / GetScriptFromKeyspace: the raw value of a model or script key into
/// `out`, borrowed from the key (0), or 1 with the error in `err`: an empty key is `EKEYEMPTY`,
/// another type `WRONGTYPE` coded as a run error.
unsafe fn from_keyspace(
    ctx: *mut raw::RedisModuleCtx,
    key: *mut raw::RedisModuleString,
    out: *mut *mut c_void,
    mode: c_int,
    err: *mut RaiError,
    want: StoredKind,
) -> c_int {
    let (code, empty) = match want {
        StoredKind::Script => (ErrorCode::ScriptRun, Error::ScriptKeyEmpty),
        _ => (ErrorCode::ModelRun, Error::ModelKeyEmpty),
    };
    let found = if ctx.is_null() || key.is_null() {
        Err(ApiError::from_engine(code, &empty))
    } else {
        match stored_value(ctx, key, mode) {
            Ok(Some((kind, value))) if kind == want => Ok(value),
            Ok(Some(_)) | Err(Error::WrongType) => {
                Err(ApiError::from_engine(code, &Error::WrongType))
            }
            Ok(None) => Err(ApiError::from_engine(code, &empty)),
            Err(e) => Err(ApiError::from_engine(code, &e)),
        }
    };
    match found {
        Ok(value) if !out.is_null() => {
            *out = value;
            0
        }
        Ok(_) => 1,
        Err(e) => {
            report(err, &e);
            1
        }
    }
}

/// A model or script just created, as a new handle; null with the error in `err`.
unsafe fn new_handle<T>(created: Result<T, ApiError>, err: *mut RaiError) -> *mut Arc<T> {
    match created {
        Ok(value) => Box::into_raw(Box::new(Arc::new(value))),
        Err(e) => {
            report(err, &e);
            ptr::null_mut()
        }
    }
}

/// Frees what a `*Free` function is handed (null: nothing).
unsafe fn drop_box<T>(p: *mut T) {
    if !p.is_null() {
        drop(Box::from_raw(p));
    }
}

/// A `*GetShallowCopy`: another handle of the same value (null for null).
unsafe fn shallow_copy<T>(p: *mut Arc<T>) -> *mut Arc<T> {
    p.as_ref()
        .map_or(ptr::null_mut(), |v| Box::into_raw(Box::new(v.clone())))
}

/// Every function of RedisAI's `RedisAI_Initialize`, under its shared-API name.
macro_rules! api_table {
    ($($name:literal => $f:expr),* $(,)?) => {
        [$(($name, $f as *const c_void)),*]
    };
}

fn table() -> Vec<(&'static str, *const c_void)> {
    api_table![
        "InitError" => error::init_error as unsafe extern "C" fn(_) -> _,
        "ClearError" => error::clear_error as unsafe extern "C" fn(_),
        "FreeError" => error::free_error as unsafe extern "C" fn(_),
        "GetError" => error::get_error as unsafe extern "C" fn(_) -> _,
        "GetErrorOneLine" => error::get_error_one_line as unsafe extern "C" fn(_) -> _,
        "GetErrorCode" => error::get_error_code as unsafe extern "C" fn(_) -> _,
        "CloneError" => error::clone_error as unsafe extern "C" fn(_, _),
        "GetLLAPIVersion" => get_llapi_version as unsafe extern "C" fn() -> _,
        "TensorCreate" => tensor::create as unsafe extern "C" fn(_, _, _) -> _,
        "TensorCreateByConcatenatingTensors" => tensor::create_by_concatenating as unsafe extern "C" fn(_, _) -> _,
        "TensorCreateBySlicingTensor" => tensor::create_by_slicing as unsafe extern "C" fn(_, _, _) -> _,
        "TensorLength" => tensor::length as unsafe extern "C" fn(_) -> _,
        "TensorDataSize" => tensor::data_size as unsafe extern "C" fn(_) -> _,
        "TensorFree" => tensor::free as unsafe extern "C" fn(_),
        "TensorSetData" => tensor::set_data as unsafe extern "C" fn(_, _, _) -> _,
        "TensorSetValueFromLongLong" => tensor::set_value_from_long_long as unsafe extern "C" fn(_, _, _) -> _,
        "TensorSetValueFromDouble" => tensor::set_value_from_double as unsafe extern "C" fn(_, _, _) -> _,
        "TensorGetValueAsDouble" => tensor::get_value_as_double as unsafe extern "C" fn(_, _, _) -> _,
        "TensorGetValueAsLongLong" => tensor::get_value_as_long_long as unsafe extern "C" fn(_, _, _) -> _,
        "TensorGetShallowCopy" => tensor::get_shallow_copy as unsafe extern "C" fn(_) -> _,
        "TensorNumDims" => tensor::num_dims as unsafe extern "C" fn(_) -> _,
        "TensorDim" => tensor::dim as unsafe extern "C" fn(_, _) -> _,
        "TensorByteSize" => tensor::byte_size as unsafe extern "C" fn(_) -> _,
        "TensorData" => tensor::data as unsafe extern "C" fn(_) -> _,
        "TensorRedisType" => tensor::redis_type as unsafe extern "C" fn() -> _,
        "ModelCreate" => model::create as unsafe extern "C" fn(_, _, _, _, _, _, _, _, _, _, _) -> _,
        "ModelFree" => model::free as unsafe extern "C" fn(_, _),
        "ModelRunCtxCreate" => model::run_ctx_create as unsafe extern "C" fn(_) -> _,
        "GetModelFromKeyspace" => model::get_from_keyspace as unsafe extern "C" fn(_, _, _, _, _) -> _,
        "ModelRunCtxAddInput" => model::run_ctx_add_input as unsafe extern "C" fn(_, _, _) -> _,
        "ModelRunCtxAddOutput" => model::run_ctx_add_output as unsafe extern "C" fn(_, _) -> _,
        "ModelRunCtxNumOutputs" => run::num_outputs as unsafe extern "C" fn(_) -> _,
        "ModelRunCtxOutputTensor" => run::output_tensor as unsafe extern "C" fn(_, _) -> _,
        "ModelRunCtxFree" => run::free as unsafe extern "C" fn(_),
        "ModelRun" => model::run as unsafe extern "C" fn(_, _, _) -> _,
        "ModelGetShallowCopy" => model::get_shallow_copy as unsafe extern "C" fn(_) -> _,
        "ModelSerialize" => model::serialize as unsafe extern "C" fn(_, _, _, _) -> _,
        "ModelRedisType" => model::redis_type as unsafe extern "C" fn() -> _,
        "ModelRunAsync" => model::run_async as unsafe extern "C" fn(_, _, _) -> _,
        "GetAsModelRunCtx" => finish::get_as_model_run_ctx as unsafe extern "C" fn(_, _) -> _,
        "ScriptCreate" => script::create as unsafe extern "C" fn(_, _, _, _) -> _,
        "GetScriptFromKeyspace" => script::get_from_keyspace as unsafe extern "C" fn(_, _, _, _, _) -> _,
        "ScriptFree" => script::free as unsafe extern "C" fn(_, _),
        "ScriptRunCtxCreate" => script::run_ctx_create as unsafe extern "C" fn(_, _) -> _,
        "ScriptRunCtxAddInput" => script::run_ctx_add_input as unsafe extern "C" fn(_, _, _) -> _,
        "ScriptRunCtxAddTensorInput" => script::run_ctx_add_tensor_input as unsafe extern "C" fn(_, _) -> _,
        "ScriptRunCtxAddInputList" => script::run_ctx_add_input_list as unsafe extern "C" fn(_, _, _, _) -> _,
        "ScriptRunCtxAddTensorInputList" => script::run_ctx_add_tensor_input_list as unsafe extern "C" fn(_, _, _) -> _,
        "ScriptRunCtxAddOutput" => script::run_ctx_add_output as unsafe extern "C" fn(_) -> _,
        "ScriptRunCtxNumOutputs" => run::num_outputs as unsafe extern "C" fn(_) -> _,
        "ScriptRunCtxOutputTensor" => run::output_tensor as unsafe extern "C" fn(_, _) -> _,
        "ScriptRunCtxFree" => run::free as unsafe extern "C" fn(_),
        "ScriptRun" => script::run as unsafe extern "C" fn(_, _) -> _,
        "ScriptGetShallowCopy" => script::get_shallow_copy as unsafe extern "C" fn(_) -> _,
        "ScriptRedisType" => script::redis_type as unsafe extern "C" fn() -> _,
        "ScriptRunAsync" => script::run_async as unsafe extern "C" fn(_, _, _) -> _,
        "GetAsScriptRunCtx" => finish::get_as_script_run_ctx as unsafe extern "C" fn(_, _) -> _,
        "DAGRunCtxCreate" => dag::run_ctx_create as unsafe extern "C" fn() -> _,
        "DAGCreateModelRunOp" => dag::create_model_run_op as unsafe extern "C" fn(_) -> _,
        "DAGCreateScriptRunOp" => dag::create_script_run_op as unsafe extern "C" fn(_, _) -> _,
        "DAGRunOpAddInput" => dag::run_op_add_input as unsafe extern "C" fn(_, _) -> _,
        "DAGRunOpAddOutput" => dag::run_op_add_output as unsafe extern "C" fn(_, _) -> _,
        "DAGAddRunOp" => dag::add_run_op as unsafe extern "C" fn(_, _, _) -> _,
        "DAGLoadTensor" => dag::load_tensor as unsafe extern "C" fn(_, _, _) -> _,
        "DAGAddTensorSet" => dag::add_tensor_set as unsafe extern "C" fn(_, _, _) -> _,
        "DAGAddTensorGet" => dag::add_tensor_get as unsafe extern "C" fn(_, _) -> _,
        "DAGAddOpsFromString" => dag::add_ops_from_string as unsafe extern "C" fn(_, _, _) -> _,
        "DAGNumOps" => dag::num_ops as unsafe extern "C" fn(_) -> _,
        "DAGRun" => dag::run as unsafe extern "C" fn(_, _, _, _) -> _,
        "DAGNumOutputs" => finish::dag_num_outputs as unsafe extern "C" fn(_) -> _,
        "DAGOutputTensor" => finish::dag_output_tensor as unsafe extern "C" fn(_, _) -> _,
        "DAGRunError" => finish::dag_run_error as unsafe extern "C" fn(_) -> _,
        "DAGGetError" => finish::dag_get_error as unsafe extern "C" fn(_) -> _,
        "DAGRunOpFree" => dag::run_op_free as unsafe extern "C" fn(_),
        "DAGFree" => dag::free as unsafe extern "C" fn(_),
    ]
    .to_vec()
}

/// Exports the API (at load, after the engine exists). A name Redis refuses (another module
/// exported it first) is logged; the module still loads.
pub fn export(ctx: *mut raw::RedisModuleCtx) {
    let Some(export) = (unsafe { raw::RedisModule_ExportSharedAPI }) else {
        crate::guard::log_warning("redisai: this Redis has no shared API; LLAPI not exported");
        return;
    };
    for (name, f) in table() {
        let Ok(full) = CString::new(format!("RedisAI_{name}")) else {
            continue;
        };
        // Redis keeps the name's pointer, not a copy: the name lives as long as the process
        // (each is exported once).
        let full = Box::leak(full.into_boxed_c_str());
        // SAFETY: the load's context; `f` is one of the functions above.
        let status = unsafe { export(ctx, full.as_ptr(), f.cast_mut()) };
        if status != raw::REDISMODULE_OK as c_int {
            crate::guard::log_warning(&format!("redisai: could not export {name}"));
        }
    }
}
