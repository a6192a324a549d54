//! `RAI_Script` (a boxed `Arc<Script>`, as a key of type `AI_SCRIPT` holds it) and the
//! functions of `RAI_ScriptRunCtx` (a [`RunCtx`] of a script run).

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;
use std::sync::Arc;

use redis_module::raw;
use redisai_core::backend::ScriptHost;
use redisai_core::codec::ScriptRecord;
use redisai_core::lowlevel::{ApiError, ErrorCode, Run};
use redisai_core::model::Script;
use redisai_core::Error;

use super::error::RaiError;
use super::finish::OnFinish;
use super::run::{self, RunCtx};
use super::tensor::RaiTensor;
use super::{drop_box, engine, from_keyspace, new_handle, shallow_copy, status};
use crate::guard;
use crate::host::ModuleHost;
use crate::keyspace::StoredKind;
use crate::state;
use crate::types::{raw_type, string_bytes, SCRIPT_TYPE};

pub type RaiScript = Arc<Script>;

/// What a script started by another module reaches through `redis.execute`: Redis itself,
/// except on the main thread, which holds the global lock the host would wait for.
pub fn module_host() -> Option<Arc<dyn ScriptHost>> {
    if state::on_main_thread() {
        None
    } else {
        Some(Arc::new(ModuleHost::for_module()))
    }
}

/// A script under no key, compiled with no entry points; null with `err` set when it does not
/// compile. `tag` is a `RedisModuleString` (or null), as RedisAI's implementation reads it.
pub unsafe extern "C" fn create(
    device: *const c_char,
    tag: *mut raw::RedisModuleString,
    def: *const c_char,
    err: *mut RaiError,
) -> *mut RaiScript {
    guard::or(ptr::null_mut(), || {
        let created = (|| {
            let code = ErrorCode::ScriptCreate;
            let engine = engine(code)?;
            if device.is_null() || def.is_null() {
                return Err(ApiError::from_engine(
                    code,
                    &Error::backend("ERR Invalid argument"),
                ));
            }
            let record = ScriptRecord {
                device: CStr::from_ptr(device).to_string_lossy().into_owned(),
                tag: string_bytes(tag),
                source: bytes::Bytes::copy_from_slice(CStr::from_ptr(def).to_bytes()),
                entry_points: Vec::new(),
            };
            engine
                .create_script(record)
                .map_err(|e| ApiError::from_engine(code, &e))
        })();
        new_handle(created, err)
    })
}

pub unsafe extern "C" fn free(script: *mut RaiScript, _err: *mut RaiError) {
    guard::or((), || drop_box(script))
}

pub unsafe extern "C" fn get_shallow_copy(script: *mut RaiScript) -> *mut RaiScript {
    guard::or(ptr::null_mut(), || shallow_copy(script))
}

/// The script under `key`, borrowed from the key (no copy is taken).
pub unsafe extern "C" fn get_from_keyspace(
    ctx: *mut raw::RedisModuleCtx,
    key: *mut raw::RedisModuleString,
    script: *mut *mut RaiScript,
    mode: c_int,
    err: *mut RaiError,
) -> c_int {
    guard::or(1, || {
        from_keyspace(ctx, key, script.cast(), mode, err, StoredKind::Script)
    })
}

pub unsafe extern "C" fn redis_type() -> *mut raw::RedisModuleType {
    guard::or(ptr::null_mut(), || raw_type(&SCRIPT_TYPE))
}

pub unsafe extern "C" fn run_ctx_create(
    script: *mut RaiScript,
    function: *const c_char,
) -> *mut RunCtx {
    guard::or(ptr::null_mut(), || {
        let (Some(script), false) = (script.as_ref(), function.is_null()) else {
            return ptr::null_mut();
        };
        let function = CStr::from_ptr(function).to_string_lossy();
        RunCtx::new(Run::script(script.clone(), &function))
    })
}

/// The next tensor of the function's inputs.
pub unsafe extern "C" fn run_ctx_add_tensor_input(sctx: *mut RunCtx, t: *mut RaiTensor) -> c_int {
    run::add_input(sctx, t)
}

/// Each of `ts`, one after another (a list is its tensors, as in RedisAI); all or none.
pub unsafe extern "C" fn run_ctx_add_tensor_input_list(
    sctx: *mut RunCtx,
    ts: *const *mut RaiTensor,
    count: usize,
) -> c_int {
    guard::or(0, || {
        let (Some(ctx), false) = (sctx.as_mut(), ts.is_null() && count > 0) else {
            return 0;
        };
        let ts = if count == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(ts, count)
        };
        let Some(tensors) = ts.iter().map(|t| t.as_ref()).collect::<Option<Vec<_>>>() else {
            return 0;
        };
        for t in tensors {
            ctx.run.add_input(t.clone());
        }
        1
    })
}

/// The deprecated form of AddTensorInput.
pub unsafe extern "C" fn run_ctx_add_input(
    sctx: *mut RunCtx,
    t: *mut RaiTensor,
    _err: *mut RaiError,
) -> c_int {
    run::add_input(sctx, t)
}

/// The deprecated form of AddTensorInputList.
pub unsafe extern "C" fn run_ctx_add_input_list(
    sctx: *mut RunCtx,
    ts: *const *mut RaiTensor,
    len: usize,
    _err: *mut RaiError,
) -> c_int {
    run_ctx_add_tensor_input_list(sctx, ts, len)
}

pub unsafe extern "C" fn run_ctx_add_output(sctx: *mut RunCtx) -> c_int {
    run::add_output(sctx)
}

/// Runs on this thread and waits.
pub unsafe extern "C" fn run(sctx: *mut RunCtx, err: *mut RaiError) -> c_int {
    guard::or(1, || {
        status(run::run(sctx, module_host(), ErrorCode::ScriptRun), err)
    })
}

/// Queues the run; `cb` receives its finish context on another thread, where the script's
/// `redis.execute` takes the global lock. The caller leaves `sctx` alone until then.
pub unsafe extern "C" fn run_async(
    sctx: *mut RunCtx,
    cb: Option<OnFinish>,
    pd: *mut c_void,
) -> c_int {
    let host: Arc<dyn ScriptHost> = Arc::new(ModuleHost::for_module());
    run::run_async(sctx, cb, pd, Some(host))
}
