//! `RAI_DAGRunCtx` (a [`RunInfo`] around core's [`DagBuilder`], also the finish context its
//! callback receives) and `RAI_DAGRunOp` (core's [`DagRunOp`]).

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;
use std::sync::Arc;

use redis_module::raw;
use redisai_core::backend::ScriptHost;
use redisai_core::lowlevel::{ApiError, DagBuilder, DagOutcome, DagRunOp, ErrorCode};

use super::engine;
use super::error::{report, RaiError};
use super::finish::{deliver_apart, finish_dag, Body, OnFinish, RunInfo, SendPtr};
use super::model::RaiModel;
use super::script::RaiScript;
use super::tensor::RaiTensor;
use crate::guard;
use crate::host::ModuleHost;
use crate::keyspace::RedisKeyspace;

/// The DAG of a run info (none for a model or script run's finish context).
unsafe fn builder<'a>(info: *mut RunInfo) -> Option<&'a mut DagBuilder> {
    match info.as_mut() {
        Some(RunInfo {
            body: Body::Dag(b), ..
        }) => Some(b),
        _ => None,
    }
}

unsafe fn name<'a>(s: *const c_char) -> Option<&'a [u8]> {
    (!s.is_null()).then(|| CStr::from_ptr(s).to_bytes())
}

pub unsafe extern "C" fn run_ctx_create() -> *mut RunInfo {
    guard::or(ptr::null_mut(), || {
        Box::into_raw(Box::new(RunInfo::new(Body::Dag(DagBuilder::new()))))
    })
}

pub unsafe extern "C" fn create_model_run_op(model: *mut RaiModel) -> *mut DagRunOp {
    guard::or(ptr::null_mut(), || {
        model.as_ref().map_or(ptr::null_mut(), |m| {
            Box::into_raw(Box::new(DagRunOp::model(m.clone())))
        })
    })
}

pub unsafe extern "C" fn create_script_run_op(
    script: *mut RaiScript,
    function: *const c_char,
) -> *mut DagRunOp {
    guard::or(ptr::null_mut(), || {
        match (script.as_ref(), name(function)) {
            (Some(s), Some(f)) => Box::into_raw(Box::new(DagRunOp::script(
                s.clone(),
                &String::from_utf8_lossy(f),
            ))),
            _ => ptr::null_mut(),
        }
    })
}

pub unsafe extern "C" fn run_op_add_input(op: *mut DagRunOp, input: *const c_char) -> c_int {
    guard::or(1, || match (op.as_mut(), name(input)) {
        (Some(op), Some(n)) => {
            op.add_input(n);
            0
        }
        _ => 1,
    })
}

pub unsafe extern "C" fn run_op_add_output(op: *mut DagRunOp, output: *const c_char) -> c_int {
    guard::or(1, || match (op.as_mut(), name(output)) {
        (Some(op), Some(n)) => {
            op.add_output(n);
            0
        }
        _ => 1,
    })
}

/// Adds the op, which the DAG owns from then on; refused, the caller keeps it.
pub unsafe extern "C" fn add_run_op(
    dag: *mut RunInfo,
    op: *mut DagRunOp,
    err: *mut RaiError,
) -> c_int {
    guard::or(1, || {
        let (Some(dag), false) = (builder(dag), op.is_null()) else {
            return 1;
        };
        match dag.add_run_op(Box::from_raw(op)) {
            Ok(()) => 0,
            Err((refused, e)) => {
                // The same allocation: the caller's pointer stays good.
                let _ = Box::into_raw(refused);
                report(err, &e);
                1
            }
        }
    })
}

/// A tensor under a DAG-local name (1 when the name is loaded already).
pub unsafe extern "C" fn load_tensor(
    dag: *mut RunInfo,
    n: *const c_char,
    t: *mut RaiTensor,
) -> c_int {
    guard::or(1, || match (builder(dag), name(n), t.as_ref()) {
        (Some(dag), Some(n), Some(t)) => dag.load_tensor(n, t.clone()).is_err() as c_int,
        _ => 1,
    })
}

pub unsafe extern "C" fn add_tensor_set(
    dag: *mut RunInfo,
    n: *const c_char,
    t: *mut RaiTensor,
) -> c_int {
    guard::or(1, || match (builder(dag), name(n), t.as_ref()) {
        (Some(dag), Some(n), Some(t)) => {
            dag.add_tensor_set(n, t.clone());
            0
        }
        _ => 1,
    })
}

pub unsafe extern "C" fn add_tensor_get(dag: *mut RunInfo, n: *const c_char) -> c_int {
    guard::or(1, || match (builder(dag), name(n)) {
        (Some(dag), Some(n)) => {
            dag.add_tensor_get(n);
            0
        }
        _ => 1,
    })
}

/// Ops written as AI.DAGEXECUTE writes them (`|> AI.MODELEXECUTE ... |> AI.TENSORGET ...`);
/// models and scripts are looked up in database 0 now (the caller holds the global lock, as
/// RedisAI requires). All of them are added, or none.
pub unsafe extern "C" fn add_ops_from_string(
    dag: *mut RunInfo,
    text: *const c_char,
    err: *mut RaiError,
) -> c_int {
    guard::or(1, || {
        let (Some(dag), Some(text)) = (builder(dag), name(text)) else {
            return 1;
        };
        let text = String::from_utf8_lossy(text);
        let (Some(get_ctx), Some(free_ctx)) = (
            raw::RedisModule_GetThreadSafeContext,
            raw::RedisModule_FreeThreadSafeContext,
        ) else {
            return 1;
        };
        let ctx = get_ctx(ptr::null_mut());
        // SAFETY: a context of database 0 used under the caller's global lock, freed below.
        let added = dag.add_ops_from_str(&text, &RedisKeyspace::new(ctx));
        free_ctx(ctx);
        match added {
            Ok(()) => 0,
            Err(e) => {
                report(err, &e);
                1
            }
        }
    })
}

pub unsafe extern "C" fn num_ops(dag: *mut RunInfo) -> usize {
    guard::or(0, || builder(dag).map_or(0, |d| d.num_ops()))
}

/// Queues the DAG; `cb` receives the DAG as its finish context on another thread. The caller
/// frees the DAG (DAGFree) in or after the callback.
pub unsafe extern "C" fn run(
    dag: *mut RunInfo,
    cb: Option<OnFinish>,
    pd: *mut c_void,
    err: *mut RaiError,
) -> c_int {
    guard::or(1, || {
        let Some(cb) = cb else {
            return 1;
        };
        // Through the pointer, field by field, and a copy of the ops: once queued, the DAG is
        // the finishing thread's (it writes the outcome, and a DAGFree in the callback frees
        // it), maybe before this call returns.
        if dag.is_null() {
            return 1;
        }
        let state = &*ptr::addr_of!((*dag).state);
        if !RunInfo::start(state) {
            report(
                err,
                &ApiError::new(ErrorCode::DagRun, "ERR DAG is already running"),
            );
            return 1;
        }
        let Some(builder) = builder(dag).map(|b| b.clone()) else {
            RunInfo::stop(state);
            return 1;
        };
        let (ptr_info, pd) = (SendPtr(dag), SendPtr(pd));
        let host: Option<Arc<dyn ScriptHost>> = Some(Arc::new(ModuleHost::for_module()));
        let submitted = engine(ErrorCode::DagRun).and_then(|engine| {
            builder.submit(engine, host, move |o| complete(ptr_info, o, cb, pd))
        });
        match submitted {
            Ok(Some(outcome)) => deliver_apart(move || complete(ptr_info, outcome, cb, pd)),
            Ok(None) => {}
            Err(e) => {
                RunInfo::stop(state);
                report(err, &e);
                return 1;
            }
        }
        0
    })
}

fn complete(info: SendPtr<RunInfo>, outcome: DagOutcome, cb: OnFinish, pd: SendPtr<c_void>) {
    // SAFETY: the DAG is running: its caller leaves it alone until the callback.
    unsafe { finish_dag(info, outcome, cb, pd) }
}

/// Frees an op that was not added.
pub unsafe extern "C" fn run_op_free(op: *mut DagRunOp) {
    guard::or((), || {
        if !op.is_null() {
            drop(Box::from_raw(op));
        }
    })
}

pub unsafe extern "C" fn free(dag: *mut RunInfo) {
    guard::or((), || {
        if !dag.is_null() {
            RunInfo::free(dag);
        }
    })
}
