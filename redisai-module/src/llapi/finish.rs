//! `RAI_OnFinishCtx`: what an asynchronous run hands its callback. For a DAG it is the DAG
//! context itself (RedisAI's run info, which the caller frees with DAGFree); for a model or
//! script run it is made for the callback and gone when the callback returns. The callback
//! runs on an engine worker, or on a thread of its own when nothing had to be queued, never on
//! the thread that started the run (that thread may hold the global lock, or a lock the
//! callback takes).

use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use redisai_core::lowlevel::{ApiError, DagBuilder, DagOutcome};
use redisai_core::Tensor;

use super::error::{report, RaiError};
use super::run::RunCtx;
use super::tensor::RaiTensor;
use crate::guard;

/// The callback another module passes: `void (*)(RAI_OnFinishCtx *, void *private_data)`.
pub type OnFinish = unsafe extern "C" fn(*mut RunInfo, *mut c_void);

/// A raw pointer handed to the thread that finishes a run: the caller promised not to touch
/// what it points to until the callback.
pub struct SendPtr<T>(pub *mut T);

// By hand: derived, they would ask `T: Copy`.
impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SendPtr<T> {}

// SAFETY: see the type's documentation; the pointee is used by one thread at a time.
unsafe impl<T> Send for SendPtr<T> {}

pub enum Body {
    Dag(DagBuilder),
    /// A model or script run (its context stays the caller's).
    Run(*mut RunCtx),
}

const IDLE: u8 = 0;
const RUNNING: u8 = 1;
/// Its callback has it (and may call DAGFree).
const IN_CALLBACK: u8 = 2;
/// DAGFree came while the DAG ran or its callback had it: freed when the callback returns.
const FREE_ASKED: u8 = 3;

pub struct RunInfo {
    pub body: Body,
    /// The tensor of each TENSORGET op of a finished DAG (none where its producer failed).
    outputs: Vec<Option<Box<RaiTensor>>>,
    /// The first op error of the run.
    error: RaiError,
    /// IDLE, RUNNING, IN_CALLBACK or FREE_ASKED (a DAG's; a single run's stays IDLE).
    pub state: AtomicU8,
}

impl RunInfo {
    pub fn new(body: Body) -> RunInfo {
        RunInfo {
            body,
            outputs: Vec::new(),
            error: RaiError::new(),
            state: AtomicU8::new(IDLE),
        }
    }

    /// Marks a DAG (its `state`) running; false when it runs already.
    pub fn start(state: &AtomicU8) -> bool {
        state
            .compare_exchange(IDLE, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Back to idle after a DAGRun that queued nothing.
    pub fn stop(state: &AtomicU8) {
        state.store(IDLE, Ordering::Release);
    }

    /// DAGFree: now when idle, else by the thread that finishes the run, once the callback
    /// returned (a DAGFree inside the callback is the usual case).
    ///
    /// # Safety
    /// `info` came from `Box::into_raw` and is freed once.
    pub unsafe fn free(info: *mut RunInfo) {
        // Only through the atomic: the finishing thread may be writing the other fields.
        let state = &*ptr::addr_of!((*info).state);
        let mut current = state.load(Ordering::Acquire);
        loop {
            if current == IDLE {
                drop(Box::from_raw(info));
                return;
            }
            match state.compare_exchange(current, FREE_ASKED, Ordering::AcqRel, Ordering::Acquire) {
                Ok(RUNNING) => {
                    guard::log_warning(
                        "redisai: DAGFree of a running DAG; it is freed when it finishes",
                    );
                    return;
                }
                Ok(_) => return,
                Err(now) => current = now,
            }
        }
    }
}

/// Hands a finished DAG to its callback.
///
/// # Safety
/// `info` is the running DAG; nothing else touches it until the callback.
pub unsafe fn finish_dag(
    info: SendPtr<RunInfo>,
    outcome: DagOutcome,
    cb: OnFinish,
    pd: SendPtr<c_void>,
) {
    let info = info.0;
    // Field by field through the pointer: DAGFree may read `state` meanwhile.
    let mut outputs: Vec<Option<Box<RaiTensor>>> = outcome
        .outputs
        .into_iter()
        .map(|t| t.map(Box::new))
        .collect();
    // One per TENSORGET op, also when the DAG did not get to run them.
    if let Body::Dag(dag) = &*ptr::addr_of!((*info).body) {
        outputs.resize_with(dag.num_outputs().max(outputs.len()), || None);
    }
    (*info).outputs = outputs;
    (*info).error = RaiError::new();
    if let Some(e) = &outcome.error {
        (*info).error.set(e);
    }
    let state = &*ptr::addr_of!((*info).state);
    // RUNNING, or FREE_ASKED when DAGFree came during the run: it stays asked.
    let _ = state.compare_exchange(RUNNING, IN_CALLBACK, Ordering::AcqRel, Ordering::Acquire);
    cb(info, pd.0);
    if state.swap(IDLE, Ordering::AcqRel) == FREE_ASKED {
        drop(Box::from_raw(info));
    }
}

/// Hands a finished model or script run to its callback; the finish context goes after it.
///
/// # Safety
/// `info` came from `Box::into_raw`; its run context is not touched by the caller until the
/// callback returned.
pub unsafe fn finish_single(
    info: SendPtr<RunInfo>,
    result: Result<(), ApiError>,
    cb: OnFinish,
    pd: SendPtr<c_void>,
) {
    let info = info.0;
    if let Err(e) = &result {
        (*info).error.set(e);
    }
    // A DAGFree of this context (a caller's mistake) then only asks: it goes after the callback.
    (*info).state.store(IN_CALLBACK, Ordering::Release);
    cb(info, pd.0);
    drop(Box::from_raw(info));
}

/// Delivers on a thread of its own what finished without being queued.
pub fn deliver_apart(f: impl FnOnce() + Send + 'static) {
    std::thread::spawn(move || guard::or((), f));
}

/// The run context of a model run's finish context; the op's error goes into `err`.
pub unsafe extern "C" fn get_as_model_run_ctx(fc: *mut RunInfo, err: *mut RaiError) -> *mut RunCtx {
    guard::or(ptr::null_mut(), || run_ctx(fc, err, true))
}

pub unsafe extern "C" fn get_as_script_run_ctx(
    fc: *mut RunInfo,
    err: *mut RaiError,
) -> *mut RunCtx {
    guard::or(ptr::null_mut(), || run_ctx(fc, err, false))
}

/// The run context of a finish context of a model run (`model`) or a script run, with its
/// error copied into `err`; null and `EFINISHCTX` for the other kind.
unsafe fn run_ctx(fc: *mut RunInfo, err: *mut RaiError, model: bool) -> *mut RunCtx {
    match fc.as_ref() {
        Some(RunInfo {
            body: Body::Run(ctx),
            error,
            ..
        }) if ctx.as_ref().is_some_and(|c| c.run.is_model() == model) => {
            if let Some(err) = err.as_mut() {
                err.absorb(error);
            }
            *ctx
        }
        _ => {
            report(err, &not_ctx(!model));
            ptr::null_mut()
        }
    }
}

fn not_ctx(script: bool) -> ApiError {
    use redisai_core::lowlevel::ErrorCode;
    let e = if script {
        redisai_core::Error::FinishCtxNotScript
    } else {
        redisai_core::Error::FinishCtxNotModel
    };
    ApiError::from_engine(ErrorCode::FinishCtx, &e)
}

/// How many TENSORGET ops the DAG has (0 for a model or script run).
pub unsafe extern "C" fn dag_num_outputs(fc: *mut RunInfo) -> usize {
    guard::or(0, || match fc.as_ref() {
        Some(RunInfo {
            body: Body::Dag(dag),
            outputs,
            ..
        }) => dag.num_outputs().max(outputs.len()),
        _ => 0,
    })
}

/// The tensor of TENSORGET op `i`, borrowed until DAGFree; null past the end or where the op
/// that makes it failed. (Callers write through it with TensorData, so it comes from a
/// mutable borrow.)
pub unsafe extern "C" fn dag_output_tensor(fc: *mut RunInfo, i: usize) -> *const RaiTensor {
    guard::or(ptr::null(), || {
        if fc.is_null() {
            return ptr::null();
        }
        // The outputs alone: the finishing thread may still be on `state`.
        let outputs = &mut *ptr::addr_of_mut!((*fc).outputs);
        outputs
            .get_mut(i)
            .and_then(Option::as_mut)
            .map_or(ptr::null(), |t| &mut **t as *mut Arc<Tensor> as *const _)
    })
}

pub unsafe extern "C" fn dag_run_error(fc: *mut RunInfo) -> c_int {
    guard::or(0, || fc.as_ref().is_some_and(|i| i.error.is_set()) as c_int)
}

/// The run's first op error (code OK and no text when there was none), owned by the finish
/// context.
pub unsafe extern "C" fn dag_get_error(fc: *mut RunInfo) -> *const RaiError {
    guard::or(ptr::null(), || {
        fc.as_ref()
            .map_or(ptr::null(), |i| &i.error as *const RaiError)
    })
}
