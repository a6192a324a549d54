//! `RAI_Script` (a boxed `Arc<Script>`, as a key of type `AI_SCRIPT` holds it) and
//! `RAI_ScriptRunCtx` (core's [`ScriptRun`] with its outputs boxed for C callers).

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;
use std::sync::Arc;

use redis_module::raw;
use redisai_core::backend::ScriptHost;
use redisai_core::codec::ScriptRecord;
use redisai_core::lowlevel::{ApiError, ErrorCode, ScriptRun};
use redisai_core::model::Script;
use redisai_core::{Completion, Error, Submitted};

use super::error::{report, RaiError};
use super::finish::{deliver_apart, finish_single, Body, OnFinish, RunInfo, SendPtr};
use super::tensor::{borrowed, RaiTensor};
use super::{engine, from_keyspace, status};
use crate::guard;
use crate::host::ModuleHost;
use crate::keyspace::StoredKind;
use crate::state;
use crate::types::{raw_type, string_bytes, SCRIPT_TYPE};

pub type RaiScript = Arc<Script>;

pub struct ScriptRunCtx {
    run: ScriptRun,
    outputs: Vec<RaiTensor>,
}

impl ScriptRunCtx {
    fn finish(&mut self, completion: &Completion) -> Result<(), ApiError> {
        let result = self.run.finish(completion);
        self.take_outputs();
        result
    }

    fn take_outputs(&mut self) {
        let run = &self.run;
        self.outputs = (0..run.num_outputs())
            .map_while(|i| run.output(i).cloned())
            .collect();
    }
}

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
        match created {
            Ok(script) => Box::into_raw(Box::new(Arc::new(script))),
            Err(e) => {
                report(err, &e);
                ptr::null_mut()
            }
        }
    })
}

pub unsafe extern "C" fn free(script: *mut RaiScript, _err: *mut RaiError) {
    guard::or((), || {
        if !script.is_null() {
            drop(Box::from_raw(script));
        }
    })
}

pub unsafe extern "C" fn get_shallow_copy(script: *mut RaiScript) -> *mut RaiScript {
    guard::or(ptr::null_mut(), || {
        script
            .as_ref()
            .map_or(ptr::null_mut(), |s| Box::into_raw(Box::new(s.clone())))
    })
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
        match from_keyspace(ctx, key, mode, StoredKind::Script) {
            Ok(value) if !script.is_null() => {
                *script = value.cast();
                0
            }
            Ok(_) => 1,
            Err(e) => {
                report(err, &e);
                1
            }
        }
    })
}

pub unsafe extern "C" fn redis_type() -> *mut raw::RedisModuleType {
    guard::or(ptr::null_mut(), || raw_type(&SCRIPT_TYPE))
}

pub unsafe extern "C" fn run_ctx_create(
    script: *mut RaiScript,
    function: *const c_char,
) -> *mut ScriptRunCtx {
    guard::or(ptr::null_mut(), || {
        let (Some(script), false) = (script.as_ref(), function.is_null()) else {
            return ptr::null_mut();
        };
        let function = CStr::from_ptr(function).to_string_lossy();
        Box::into_raw(Box::new(ScriptRunCtx {
            run: ScriptRun::new(script.clone(), &function),
            outputs: Vec::new(),
        }))
    })
}

/// The next tensor of the function's inputs.
pub unsafe extern "C" fn run_ctx_add_tensor_input(
    sctx: *mut ScriptRunCtx,
    t: *mut RaiTensor,
) -> c_int {
    guard::or(0, || match (sctx.as_mut(), t.as_ref()) {
        (Some(sctx), Some(t)) => {
            sctx.run.add_input(t.clone());
            1
        }
        _ => 0,
    })
}

/// Each of `ts`, one after another (a list is its tensors, as in RedisAI).
pub unsafe extern "C" fn run_ctx_add_tensor_input_list(
    sctx: *mut ScriptRunCtx,
    ts: *const *mut RaiTensor,
    count: usize,
) -> c_int {
    guard::or(0, || {
        let (Some(sctx), false) = (sctx.as_mut(), ts.is_null() && count > 0) else {
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
            sctx.run.add_input(t.clone());
        }
        1
    })
}

/// The deprecated form of AddTensorInput.
pub unsafe extern "C" fn run_ctx_add_input(
    sctx: *mut ScriptRunCtx,
    t: *mut RaiTensor,
    _err: *mut RaiError,
) -> c_int {
    run_ctx_add_tensor_input(sctx, t)
}

/// The deprecated form of AddTensorInputList.
pub unsafe extern "C" fn run_ctx_add_input_list(
    sctx: *mut ScriptRunCtx,
    ts: *const *mut RaiTensor,
    len: usize,
    _err: *mut RaiError,
) -> c_int {
    run_ctx_add_tensor_input_list(sctx, ts, len)
}

pub unsafe extern "C" fn run_ctx_add_output(sctx: *mut ScriptRunCtx) -> c_int {
    guard::or(0, || match sctx.as_mut() {
        Some(sctx) => {
            sctx.run.add_output();
            1
        }
        None => 0,
    })
}

pub unsafe extern "C" fn run_ctx_num_outputs(sctx: *mut ScriptRunCtx) -> usize {
    guard::or(0, || sctx.as_ref().map_or(0, |s| s.run.num_outputs()))
}

pub unsafe extern "C" fn run_ctx_output_tensor(
    sctx: *mut ScriptRunCtx,
    i: usize,
) -> *mut RaiTensor {
    guard::or(ptr::null_mut(), || {
        sctx.as_mut()
            .map_or(ptr::null_mut(), |s| borrowed(&mut s.outputs, i))
    })
}

pub unsafe extern "C" fn run_ctx_free(sctx: *mut ScriptRunCtx) {
    guard::or((), || {
        if !sctx.is_null() {
            drop(Box::from_raw(sctx));
        }
    })
}

/// Runs and waits.
pub unsafe extern "C" fn run(sctx: *mut ScriptRunCtx, err: *mut RaiError) -> c_int {
    guard::or(1, || {
        let Some(sctx) = sctx.as_mut() else {
            return 1;
        };
        let result = engine(ErrorCode::ScriptRun).and_then(|e| sctx.run.run(e, module_host()));
        sctx.take_outputs();
        status(result, err)
    })
}

/// Queues the run; `cb` receives its finish context on another thread. The caller leaves
/// `sctx` alone until then.
pub unsafe extern "C" fn run_async(
    sctx: *mut ScriptRunCtx,
    cb: Option<OnFinish>,
    pd: *mut c_void,
) -> c_int {
    guard::or(1, || {
        let (Some(ctx), Some(cb), Ok(engine)) = (sctx.as_ref(), cb, engine(ErrorCode::ScriptRun))
        else {
            return 1;
        };
        let prepared = ctx.run.prepare();
        let info = SendPtr(Box::into_raw(Box::new(RunInfo::new(Body::Script(sctx)))));
        let (run, pd) = (SendPtr(sctx), SendPtr(pd));
        let host: Arc<dyn ScriptHost> = Arc::new(ModuleHost::for_module());
        match engine.submit(prepared, Some(host), move |c| {
            complete(run, info, cb, pd, &c)
        }) {
            Submitted::Done(c) => deliver_apart(move || complete(run, info, cb, pd, &c)),
            Submitted::Queued => {}
        }
        0
    })
}

fn complete(
    run: SendPtr<ScriptRunCtx>,
    info: SendPtr<RunInfo>,
    cb: OnFinish,
    pd: SendPtr<c_void>,
    completion: &Completion,
) {
    // SAFETY: the caller of run_async leaves the context alone until the callback.
    unsafe {
        let result = (*run.0).finish(completion);
        finish_single(info, result, cb, pd);
    }
}
