//! The engine of this redis-server process and the module's set-up: load-time arguments
//! (parsed by core), the default BACKENDSPATH, the shutdown event.

use std::ffi::{c_void, CStr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use redis_module::{raw, Context, RedisString, Status};
use redisai_core::backend::Registry;
use redisai_core::config::{default_backends_path, parse_load_args};
use redisai_core::{Engine, EngineConfig, Error, Result};

static ENGINE: OnceLock<Engine> = OnceLock::new();

/// Redis's main thread (the one that loads modules), which holds the global lock whenever it
/// runs module code.
static MAIN_THREAD: OnceLock<std::thread::ThreadId> = OnceLock::new();

/// Set when Redis announces its shutdown: finished runs no longer unblock their clients.
static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);

/// Where `scripts/bootstrap` puts the runtimes in the checkout this module was built from:
/// BACKENDSPATH when there is no `backends` folder beside the module.
const BUILT_BACKENDS_PATH: &str = env!("REDISAI_DEFAULT_BACKENDS_PATH");

/// The engine (after the module loaded).
pub fn engine() -> Result<&'static Engine> {
    ENGINE
        .get()
        .ok_or_else(|| Error::backend("ERR RedisAI is not initialized"))
}

/// Whether this is Redis's main thread.
pub fn on_main_thread() -> bool {
    MAIN_THREAD.get() == Some(&std::thread::current().id())
}

pub fn shutting_down() -> bool {
    SHUTTING_DOWN.load(Ordering::Acquire)
}

/// MODEL_CHUNK_SIZE now (models are saved in chunks of it, as AI.MODELGET sends them).
pub fn model_chunk_size() -> u64 {
    engine().map_or(redisai_core::engine::DEFAULT_MODEL_CHUNK_SIZE, |e| {
        e.config().model_chunk_size
    })
}

/// major*10000 + minor*100 + patch of this crate's version, as RedisAI numbers its module.
pub const fn module_version() -> i32 {
    let parts = [
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
    ];
    let mut version = 0;
    let mut i = 0;
    while i < parts.len() {
        let digits = parts[i].as_bytes();
        let mut n = 0;
        let mut j = 0;
        while j < digits.len() {
            n = n * 10 + (digits[j] - b'0') as i32;
            j += 1;
        }
        version = version * 100 + n;
        i += 1;
    }
    version
}

/// The path of this module's shared object, as the dynamic loader knows it.
fn module_path() -> Option<PathBuf> {
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    let here = module_path as *const c_void;
    // SAFETY: dladdr only reads the loader's tables; dli_fname is a C string it owns.
    let found = unsafe { libc::dladdr(here, &mut info) } != 0;
    if !found || info.dli_fname.is_null() {
        return None;
    }
    let name = unsafe { CStr::from_ptr(info.dli_fname) };
    Some(PathBuf::from(name.to_string_lossy().into_owned()))
}

/// RedisAI's default BACKENDSPATH, `backends` beside the module, where that folder exists;
/// otherwise the runtimes of the checkout the module was built from.
fn default_backends() -> String {
    if let Some(path) = module_path() {
        let beside = default_backends_path(&path);
        if Path::new(&beside).is_dir() {
            return beside;
        }
    }
    BUILT_BACKENDS_PATH.to_string()
}

/// `RedisModule_OnLoad`'s work: options, load-time arguments, the engine, the backends asked
/// for, the shutdown event. `Status::Err` fails the load, with the reason in the log.
pub fn init(ctx: &Context, args: &[RedisString]) -> Status {
    ctx.set_module_options(raw::ModuleOptions::HANDLE_IO_ERRORS);
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    let defaults = EngineConfig {
        backends_path: default_backends(),
        ..EngineConfig::default()
    };
    let load = match parse_load_args(&args, defaults) {
        Ok(l) => l,
        Err(e) => {
            ctx.log_warning(&e.to_string());
            return Status::Err;
        }
    };
    for notice in &load.notices {
        ctx.log_notice(notice);
    }
    // Everything that can fail happens before the engine exists: its threads must not outlive
    // a failed load (Redis unloads the module then).
    let mut registry = Registry::default();
    redisai_backends::register_all(&mut registry);
    let backends_path = load.config.backends_path.clone();
    for (kind, path) in &load.backends {
        if let Err(e) = registry.load_from(*kind, Path::new(path), &backends_path) {
            ctx.log_warning(&format!(
                "could not load the {} backend from {path}: {e}",
                kind.name()
            ));
            return Status::Err;
        }
        ctx.log_notice(&format!("{} backend loaded from {path}", kind.name()));
    }
    if ENGINE.set(Engine::new(load.config, registry)).is_err() {
        ctx.log_warning("RedisAI is already loaded in this process");
        return Status::Err;
    }
    let _ = MAIN_THREAD.set(std::thread::current().id());
    crate::llapi::export(ctx.ctx);
    // SAFETY: subscribing with a callback that lives as long as the process.
    unsafe {
        if let Some(subscribe) = raw::RedisModule_SubscribeToServerEvent {
            subscribe(
                ctx.ctx,
                raw::RedisModuleEvent {
                    id: raw::REDISMODULE_EVENT_SHUTDOWN,
                    dataver: 1,
                },
                Some(on_shutdown),
            );
        }
    }
    ctx.log_notice(&format!(
        "RedisAI (redisai-rs {}) is ready; BACKENDSPATH {backends_path}",
        redisai_core::info::REDISAI_VERSION
    ));
    Status::Ok
}

unsafe extern "C" fn on_shutdown(
    _ctx: *mut raw::RedisModuleCtx,
    _event: raw::RedisModuleEvent,
    _subevent: u64,
    _data: *mut c_void,
) {
    SHUTTING_DOWN.store(true, Ordering::Release);
}
