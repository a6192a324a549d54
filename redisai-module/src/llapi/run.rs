//! `RAI_ModelRunCtx` and `RAI_ScriptRunCtx`: both are core's [`Run`] with its outputs boxed for
//! C callers. The functions of either kind of context that do the same thing are here once.

use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::Arc;

use redisai_core::backend::ScriptHost;
use redisai_core::lowlevel::{ApiError, ErrorCode, Run};
use redisai_core::{Completion, Submitted};

use super::engine;
use super::finish::{deliver_apart, finish_single, Body, OnFinish, RunInfo, SendPtr};
use super::tensor::RaiTensor;
use crate::guard;

pub struct RunCtx {
    pub run: Run,
    /// The last run's outputs, where C callers borrow them from.
    outputs: Vec<RaiTensor>,
}

impl RunCtx {
    pub fn new(run: Run) -> *mut RunCtx {
        Box::into_raw(Box::new(RunCtx {
            run,
            outputs: Vec::new(),
        }))
    }

    /// Takes what a finished run gave (nothing when it failed).
    pub fn finish(&mut self, completion: &Completion) -> Result<(), ApiError> {
        let result = self.run.finish(completion);
        self.take_outputs();
        result
    }

    pub fn take_outputs(&mut self) {
        let run = &self.run;
        self.outputs = (0..run.num_outputs())
            .map_while(|i| run.output(i).cloned())
            .collect();
    }
}

/// The next input (inputs are positional).
pub unsafe fn add_input(ctx: *mut RunCtx, t: *mut RaiTensor) -> c_int {
    guard::or(0, || match (ctx.as_mut(), t.as_ref()) {
        (Some(ctx), Some(t)) => {
            ctx.run.add_input(t.clone());
            1
        }
        _ => 0,
    })
}

/// One more output to keep.
pub unsafe fn add_output(ctx: *mut RunCtx) -> c_int {
    guard::or(0, || match ctx.as_mut() {
        Some(ctx) => {
            ctx.run.add_output();
            1
        }
        None => 0,
    })
}

pub unsafe extern "C" fn num_outputs(ctx: *mut RunCtx) -> usize {
    guard::or(0, || ctx.as_ref().map_or(0, |c| c.run.num_outputs()))
}

/// Output `i` of the last run, borrowed from the context (which keeps it until its next run);
/// null before a run or past the end.
pub unsafe extern "C" fn output_tensor(ctx: *mut RunCtx, i: usize) -> *mut RaiTensor {
    guard::or(ptr::null_mut(), || {
        ctx.as_mut()
            .and_then(|c| c.outputs.get_mut(i))
            .map_or(ptr::null_mut(), |t| t as *mut RaiTensor)
    })
}

pub unsafe extern "C" fn free(ctx: *mut RunCtx) {
    guard::or((), || {
        if !ctx.is_null() {
            drop(Box::from_raw(ctx));
        }
    })
}

/// Runs on this thread and waits; `host` serves a script's `redis.execute`. Errors before the
/// run are coded `code`.
pub unsafe fn run(
    ctx: *mut RunCtx,
    host: Option<Arc<dyn ScriptHost>>,
    code: ErrorCode,
) -> Result<(), ApiError> {
    let Some(ctx) = ctx.as_mut() else {
        return Err(ApiError::new(code, "ERR Invalid argument"));
    };
    let result = engine(code).and_then(|e| ctx.run.run(e, host));
    ctx.take_outputs();
    result
}

/// Queues the run; `cb` receives its finish context on another thread. The caller leaves
/// `ctx` alone until then. 0, or 1 when it could not be queued (no callback, no engine).
pub unsafe fn run_async(
    ctx: *mut RunCtx,
    cb: Option<OnFinish>,
    pd: *mut c_void,
    host: Option<Arc<dyn ScriptHost>>,
) -> c_int {
    guard::or(1, || {
        let (Some(run), Some(cb), Ok(engine)) = (ctx.as_ref(), cb, engine(ErrorCode::ModelRun))
        else {
            return 1;
        };
        let prepared = run.run.prepare();
        let info = SendPtr(Box::into_raw(Box::new(RunInfo::new(Body::Run(ctx)))));
        let (ctx, pd) = (SendPtr(ctx), SendPtr(pd));
        match engine.submit(prepared, host, move |c| complete(ctx, info, cb, pd, &c)) {
            Submitted::Done(c) => deliver_apart(move || complete(ctx, info, cb, pd, &c)),
            Submitted::Queued => {}
        }
        0
    })
}

fn complete(
    ctx: SendPtr<RunCtx>,
    info: SendPtr<RunInfo>,
    cb: OnFinish,
    pd: SendPtr<c_void>,
    completion: &Completion,
) {
    // SAFETY: the caller of run_async leaves the context alone until the callback.
    unsafe {
        let result = (*ctx.0).finish(completion);
        finish_single(info, result, cb, pd);
    }
}
