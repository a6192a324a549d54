//! Runs never hold Redis's main thread, except cheap model runs that the engine takes on the
//! spot (see `Engine::run_here_or_submit`: a run of a few microseconds costs less than blocking
//! and unblocking the client). A queued run blocks its client; the worker that finishes it
//! unblocks the client, and the reply callback, on the main thread, stores the outputs,
//! replicates them as AI.TENSORSET and replies.
//!
//! The client is blocked only once the engine has said the run is queued. A worker may finish
//! the run before that, so the hand-over goes through [`Pending`]: whichever of the two comes
//! second (the block, or the completion) does the delivery.

use std::ffi::{c_int, c_void};
use std::sync::{Arc, Mutex};

use redis_module::{raw, Context};
use redisai_core::command::tensor_set_args;
use redisai_core::exec::Prepared;
use redisai_core::{Completion, Submitted};

use crate::guard;
use crate::host::ModuleHost;
use crate::keyspace::RedisKeyspace;
use crate::reply;
use crate::state;

/// A blocked client handle; Redis allows unblocking it from any thread.
struct Blocked(*mut raw::RedisModuleBlockedClient);

// SAFETY: RedisModule_UnblockClient is thread-safe; the handle is used once, by whoever
// delivers the completion.
unsafe impl Send for Blocked {}

enum Pending {
    /// Queued, and the client not blocked yet.
    Waiting,
    /// Finished before the client was blocked: the main thread replies at once.
    Finished(Completion),
    /// The client is blocked: the worker that finishes the run unblocks it.
    Blocked(Blocked),
    Delivered,
}

/// What a blocked client's reply callback receives. An `Option` so the callback can take
/// the completion while Redis still owns (and later frees) the box.
type PrivateData = Option<Completion>;

/// Runs `prepared` for the client of `ctx` (in a command handler, on the main thread).
pub fn run(ctx: &Context, prepared: Prepared, host: Arc<ModuleHost>) {
    let engine = match state::engine() {
        Ok(e) => e,
        Err(e) => return finish(ctx.ctx, Completion::error(e)),
    };
    let pending = Arc::new(Mutex::new(Pending::Waiting));
    let for_worker = pending.clone();
    let submitted =
        engine.run_here_or_submit(prepared, Some(host), move |c| deliver(&for_worker, c));
    let done = match submitted {
        Submitted::Done(c) => Some(c),
        Submitted::Queued => {
            let Ok(mut state) = pending.lock() else {
                return;
            };
            match std::mem::replace(&mut *state, Pending::Delivered) {
                Pending::Finished(c) => Some(c),
                _ => {
                    // SAFETY: the command's context, on the main thread; no block timeout.
                    let bc = unsafe {
                        raw::RedisModule_BlockClient.expect("BlockClient")(
                            ctx.ctx,
                            Some(reply_callback),
                            None,
                            Some(free_private_data),
                            0,
                        )
                    };
                    // SAFETY: a fresh handle. SLOWLOG and latency count the run's time.
                    unsafe {
                        if let Some(start) = raw::RedisModule_BlockedClientMeasureTimeStart {
                            start(bc);
                        }
                    }
                    *state = Pending::Blocked(Blocked(bc));
                    None
                }
            }
        }
    };
    if let Some(c) = done {
        finish(ctx.ctx, c);
    }
}

/// The engine's callback for a queued run, on the worker that finished it.
fn deliver(pending: &Mutex<Pending>, completion: Completion) {
    let Ok(mut state) = pending.lock() else {
        return;
    };
    match std::mem::replace(&mut *state, Pending::Delivered) {
        Pending::Waiting => *state = Pending::Finished(completion),
        Pending::Blocked(Blocked(bc)) => {
            drop(state);
            if state::shutting_down() {
                // The process is exiting; nobody will read this reply.
                return;
            }
            let data: Box<PrivateData> = Box::new(Some(completion));
            // SAFETY: the handle of a client blocked by `run`, unblocked exactly once; Redis
            // passes the box to the reply callback and then to `free_private_data`.
            unsafe {
                if let Some(end) = raw::RedisModule_BlockedClientMeasureTimeEnd {
                    end(bc);
                }
                raw::RedisModule_UnblockClient.expect("UnblockClient")(
                    bc,
                    Box::into_raw(data).cast::<c_void>(),
                );
            }
        }
        other => *state = other,
    }
}

/// On the main thread, after the worker unblocked the client (not called if the client
/// disconnected meanwhile: its outputs are then not stored, as in RedisAI).
unsafe extern "C" fn reply_callback(
    ctx: *mut raw::RedisModuleCtx,
    _argv: *mut *mut raw::RedisModuleString,
    _argc: c_int,
) -> c_int {
    let replied = guard::or(false, || {
        // SAFETY: the private data is the box `deliver` passed to UnblockClient.
        let data = unsafe {
            raw::RedisModule_GetBlockedClientPrivateData.expect("GetBlockedClientPrivateData")(ctx)
                .cast::<PrivateData>()
        };
        let completion = (!data.is_null())
            .then(|| unsafe { (*data).take() })
            .flatten();
        match completion {
            Some(c) => finish(ctx, c),
            None => unsafe { reply::send(ctx, &redisai_core::Error::Generic.into()) },
        }
        true
    });
    if !replied {
        // The client must get an answer, whatever failed.
        // SAFETY: the reply callback's own context.
        unsafe {
            reply::send(
                ctx,
                &redisai_core::Reply::Error("ERR the run's reply failed unexpectedly".into()),
            )
        };
    }
    raw::REDISMODULE_OK as c_int
}

unsafe extern "C" fn free_private_data(_ctx: *mut raw::RedisModuleCtx, data: *mut c_void) {
    if !data.is_null() {
        guard::or((), || {
            drop(unsafe { Box::from_raw(data.cast::<PrivateData>()) })
        });
    }
}

/// Stores the outputs, replicates each stored tensor as AI.TENSORSET (the run itself is never
/// replicated: spec §4.5), and replies.
fn finish(ctx: *mut raw::RedisModuleCtx, completion: Completion) {
    // SAFETY: a command's or a reply callback's context, on the main thread.
    let mut ks = unsafe { RedisKeyspace::new(ctx) };
    let (reply, stored) = completion.apply(&mut ks);
    let context = Context::new(ctx);
    for (key, tensor) in &stored {
        let argv = tensor_set_args(key, tensor);
        let args: Vec<&[u8]> = argv[1..].iter().map(|a| a.as_ref()).collect();
        context.replicate("AI.TENSORSET", args.as_slice());
    }
    // SAFETY: as above.
    unsafe { reply::send(ctx, &reply) };
}
