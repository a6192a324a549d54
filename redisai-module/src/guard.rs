//! No panic may cross into Redis: unwinding out of an `extern "C"` callback aborts
//! redis-server, and the crate's command trampoline does not catch it. Every entry point runs
//! under one of these.

use std::panic::{catch_unwind, AssertUnwindSafe};

use redis_module::{Context, RedisError, RedisResult, RedisString};

/// A command handler whose panic becomes an error reply.
pub fn guarded(
    handler: fn(&Context, Vec<RedisString>) -> RedisResult,
) -> impl Fn(&Context, Vec<RedisString>) -> RedisResult {
    move |ctx, args| {
        catch_unwind(AssertUnwindSafe(|| handler(ctx, args))).unwrap_or_else(|panic| {
            let message = panic_message(&panic);
            log_warning(&format!("an AI command failed unexpectedly: {message}"));
            Err(RedisError::String(format!(
                "ERR the command failed unexpectedly: {message}"
            )))
        })
    }
}

/// Runs `f`; a panic is logged and `fallback` returned instead (type callbacks, the reply
/// callback of a blocked client, INFO).
pub fn or<R>(fallback: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        log_warning(&format!(
            "redisai: a callback failed unexpectedly: {}",
            panic_message(&panic)
        ));
        fallback
    })
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown".into())
}

/// Logs to the Redis log from any thread.
pub fn log_warning(message: &str) {
    redis_module::MODULE_CONTEXT.log_warning(message);
}
