//! The handler of every `AI.*` command. Core parses and answers; this file only reports keys
//! when Redis asks (getkeys-api), says where the command comes from (MULTI, Lua, AOF loading
//! refuse runs), replicates successful stores verbatim, and hands runs to `blocking`.

use std::sync::Arc;

use bytes::Bytes;
use redis_module::{Context, ContextFlags, RedisResult, RedisString, RedisValue};
use redisai_core::command::{command_spec, key_positions, Propagation};
use redisai_core::{CallContext, Outcome, Reply};

use crate::blocking;
use crate::host::ModuleHost;
use crate::keyspace::RedisKeyspace;
use crate::reply;
use crate::state;

pub fn ai_command(ctx: &Context, args: Vec<RedisString>) -> RedisResult {
    let argv: Vec<Bytes> = args
        .iter()
        .map(|a| Bytes::copy_from_slice(a.as_slice()))
        .collect();
    if ctx.is_keys_position_request() {
        for position in key_positions(&argv).unwrap_or_default() {
            if position < argv.len() {
                ctx.key_at_pos(position as i32);
            }
        }
        return Ok(RedisValue::NoReply);
    }
    let engine = match state::engine() {
        Ok(e) => e,
        Err(e) => return send(ctx, &Reply::from(e)),
    };
    // Where this client cannot be blocked (MULTI/EXEC, Lua, AOF loading, a call from another
    // module), runs are refused as RedisAI refuses them in a transaction.
    let in_transaction = ctx.get_flags().contains(ContextFlags::DENY_BLOCKING)
        || ctx.get_flags().contains(ContextFlags::MULTI)
        || ctx.get_flags().contains(ContextFlags::LUA);
    // SAFETY: the command's own context, on the main thread.
    let mut ks = unsafe { RedisKeyspace::new(ctx.ctx) };
    let Some(outcome) = engine.call(&argv, &mut ks, CallContext { in_transaction }) else {
        return send(ctx, &Reply::Error("ERR unknown command".into()));
    };
    match outcome {
        Outcome::Reply(r) => {
            let verbatim =
                command_spec(&argv[0]).is_some_and(|s| s.propagation == Propagation::Verbatim);
            if verbatim && !r.is_error() {
                ctx.replicate_verbatim();
            }
            send(ctx, &r)
        }
        Outcome::Run(prepared) => {
            let host = Arc::new(ModuleHost::for_caller(ctx));
            blocking::run(ctx, prepared, host);
            Ok(RedisValue::NoReply)
        }
    }
}

fn send(ctx: &Context, r: &Reply) -> RedisResult {
    // SAFETY: the command's own context, on the main thread.
    unsafe { reply::send(ctx.ctx, r) };
    Ok(RedisValue::NoReply)
}
