//! # redisai-module
//!
//! The redisai-rs engine inside a real Redis: `redis-server --loadmodule redisai.so`. A thin
//! face: every `AI.*` behaviour (grammar, error texts, flags and key positions, execution,
//! batching, the RDB payloads, INFO fields, load-time arguments) is `redisai-core`'s; this crate
//! translates between it and the Redis module API.
//!
//! ## Layout
//! - `command`: the one handler of every `AI.*` command: key positions, the engine call,
//!   replication of stores, and runs.
//! - `blocking`: a run that is not done at once blocks its client; its completion is stored,
//!   replicated and replied on the main thread.
//! - `keyspace`: [`redisai_core::Keyspace`] over Redis keys.
//! - `types`: the data types `AI_TENSOR`, `AI__MODEL`, `AI_SCRIPT` (RDB, AOF, MEMORY USAGE,
//!   DEBUG DIGEST-VALUE) over core's codec; `io`: the codec's streams over `RedisModuleIO`.
//! - `reply`: a core `Reply` as Redis replies.
//! - `host`: what a TorchScript script reaches (`redis.execute`, `redisAI.model_execute`).
//! - `info`: the `ai_*` INFO sections; `state`: the engine of this process and its set-up.
//! - `llapi`: the `RedisAI_*` C API other modules import (RedisAI's low-level API), over
//!   core's `lowlevel`.
//! - `guard`: no panic crosses into Redis; `alloc`: Redis's allocator, so `used_memory` counts
//!   what the engine holds.

mod alloc;
mod blocking;
mod command;
mod guard;
mod host;
mod info;
mod io;
mod keyspace;
mod llapi;
mod reply;
mod state;
mod types;

use redis_module::{redis_module, Context, InfoContext, RedisResult, RedisString, Status};

use crate::guard::guarded;
use crate::types::{MODEL_TYPE, SCRIPT_TYPE, TENSOR_TYPE};

/// The module's version as Redis shows it (`MODULE LIST`): major*10000 + minor*100 + patch.
const MODULE_VERSION: i32 = state::module_version();

fn init(ctx: &Context, args: &[RedisString]) -> Status {
    guard::or(Status::Err, || state::init(ctx, args))
}

fn ai_info(ctx: &InfoContext, for_crash_report: bool) {
    guard::or((), || info::add_sections(ctx, for_crash_report))
}

fn ai(ctx: &Context, args: Vec<RedisString>) -> RedisResult {
    command::ai_command(ctx, args)
}

/// Flags and the key range of a command, from core's declaration.
fn flags(name: &str) -> &'static str {
    redisai_core::command::command_spec(name.as_bytes()).map_or("", |s| s.module_flags())
}

fn first_key(name: &str) -> i32 {
    redisai_core::command::command_spec(name.as_bytes()).map_or(0, |s| s.keys.0 as i32)
}

fn last_key(name: &str) -> i32 {
    redisai_core::command::command_spec(name.as_bytes()).map_or(0, |s| s.keys.1 as i32)
}

fn key_step(name: &str) -> i32 {
    redisai_core::command::command_spec(name.as_bytes()).map_or(0, |s| s.keys.2 as i32)
}

// One handler for every command (argv[0] tells the engine which); flags and key ranges are
// core's. Names in lower case, as RedisAI registered them (COMMAND lists them so). The
// ACL-category field must stay empty: Redis 7.0 has no API to set categories.
redis_module! {
    name: "ai",
    version: MODULE_VERSION,
    allocator: (alloc::ModuleAlloc, alloc::ModuleAlloc),
    data_types: [TENSOR_TYPE, MODEL_TYPE, SCRIPT_TYPE],
    init: init,
    info: ai_info,
    commands: [
        ["ai.tensorset", guarded(ai), flags("AI.TENSORSET"), first_key("AI.TENSORSET"), last_key("AI.TENSORSET"), key_step("AI.TENSORSET"), ""],
        ["ai.tensorget", guarded(ai), flags("AI.TENSORGET"), first_key("AI.TENSORGET"), last_key("AI.TENSORGET"), key_step("AI.TENSORGET"), ""],
        ["ai.modelstore", guarded(ai), flags("AI.MODELSTORE"), first_key("AI.MODELSTORE"), last_key("AI.MODELSTORE"), key_step("AI.MODELSTORE"), ""],
        ["ai.modelset", guarded(ai), flags("AI.MODELSET"), first_key("AI.MODELSET"), last_key("AI.MODELSET"), key_step("AI.MODELSET"), ""],
        ["ai.modelget", guarded(ai), flags("AI.MODELGET"), first_key("AI.MODELGET"), last_key("AI.MODELGET"), key_step("AI.MODELGET"), ""],
        ["ai.modeldel", guarded(ai), flags("AI.MODELDEL"), first_key("AI.MODELDEL"), last_key("AI.MODELDEL"), key_step("AI.MODELDEL"), ""],
        ["ai.modelrun", guarded(ai), flags("AI.MODELRUN"), first_key("AI.MODELRUN"), last_key("AI.MODELRUN"), key_step("AI.MODELRUN"), ""],
        ["ai.modelexecute", guarded(ai), flags("AI.MODELEXECUTE"), first_key("AI.MODELEXECUTE"), last_key("AI.MODELEXECUTE"), key_step("AI.MODELEXECUTE"), ""],
        ["ai._modelscan", guarded(ai), flags("AI._MODELSCAN"), first_key("AI._MODELSCAN"), last_key("AI._MODELSCAN"), key_step("AI._MODELSCAN"), ""],
        ["ai.scriptset", guarded(ai), flags("AI.SCRIPTSET"), first_key("AI.SCRIPTSET"), last_key("AI.SCRIPTSET"), key_step("AI.SCRIPTSET"), ""],
        ["ai.scriptstore", guarded(ai), flags("AI.SCRIPTSTORE"), first_key("AI.SCRIPTSTORE"), last_key("AI.SCRIPTSTORE"), key_step("AI.SCRIPTSTORE"), ""],
        ["ai.scriptget", guarded(ai), flags("AI.SCRIPTGET"), first_key("AI.SCRIPTGET"), last_key("AI.SCRIPTGET"), key_step("AI.SCRIPTGET"), ""],
        ["ai.scriptdel", guarded(ai), flags("AI.SCRIPTDEL"), first_key("AI.SCRIPTDEL"), last_key("AI.SCRIPTDEL"), key_step("AI.SCRIPTDEL"), ""],
        ["ai.scriptrun", guarded(ai), flags("AI.SCRIPTRUN"), first_key("AI.SCRIPTRUN"), last_key("AI.SCRIPTRUN"), key_step("AI.SCRIPTRUN"), ""],
        ["ai.scriptexecute", guarded(ai), flags("AI.SCRIPTEXECUTE"), first_key("AI.SCRIPTEXECUTE"), last_key("AI.SCRIPTEXECUTE"), key_step("AI.SCRIPTEXECUTE"), ""],
        ["ai._scriptscan", guarded(ai), flags("AI._SCRIPTSCAN"), first_key("AI._SCRIPTSCAN"), last_key("AI._SCRIPTSCAN"), key_step("AI._SCRIPTSCAN"), ""],
        ["ai.info", guarded(ai), flags("AI.INFO"), first_key("AI.INFO"), last_key("AI.INFO"), key_step("AI.INFO"), ""],
        ["ai.config", guarded(ai), flags("AI.CONFIG"), first_key("AI.CONFIG"), last_key("AI.CONFIG"), key_step("AI.CONFIG"), ""],
        ["ai.dagrun", guarded(ai), flags("AI.DAGRUN"), first_key("AI.DAGRUN"), last_key("AI.DAGRUN"), key_step("AI.DAGRUN"), ""],
        ["ai.dagrun_ro", guarded(ai), flags("AI.DAGRUN_RO"), first_key("AI.DAGRUN_RO"), last_key("AI.DAGRUN_RO"), key_step("AI.DAGRUN_RO"), ""],
        ["ai.dagexecute", guarded(ai), flags("AI.DAGEXECUTE"), first_key("AI.DAGEXECUTE"), last_key("AI.DAGEXECUTE"), key_step("AI.DAGEXECUTE"), ""],
        ["ai.dagexecute_ro", guarded(ai), flags("AI.DAGEXECUTE_RO"), first_key("AI.DAGEXECUTE_RO"), last_key("AI.DAGEXECUTE_RO"), key_step("AI.DAGEXECUTE_RO"), ""],
    ],
}
