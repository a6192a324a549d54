//! What a TorchScript script reaches, from the worker thread that runs it: `redis.execute`
//! runs its command through Redis itself (under the global lock, as the caller's ACL user, in
//! the caller's database, replicated), `redisAI.model_execute` looks the model up the same way
//! and runs it through core.

use std::ffi::CStr;

use bytes::Bytes;
use redis_module::{
    raw, CallOptionsBuilder, CallReply, CallResult, Context, ContextGuard, ThreadSafeContext,
};
use redisai_core::backend::ScriptHost;
use redisai_core::{Keyspace, Reply, Result, Tensor};

use crate::keyspace::RedisKeyspace;

pub struct ModuleHost {
    /// The ACL user of the client that ran the script; none for a run another module started
    /// (the low-level API), whose commands run unrestricted, as that module's own calls do.
    user: Option<String>,
    db: i32,
}

impl ModuleHost {
    /// The host of a script run for the client of `ctx` (in its command, on the main thread).
    pub fn for_caller(ctx: &Context) -> ModuleHost {
        // SAFETY: the command's own context.
        let db = unsafe { raw::RedisModule_GetSelectedDb.map_or(0, |f| f(ctx.ctx)) };
        ModuleHost {
            user: Some(ctx.get_current_user().to_string_lossy()),
            db,
        }
    }

    /// The host of a run another module started through the low-level API: database 0, no
    /// ACL user.
    pub fn for_module() -> ModuleHost {
        ModuleHost { user: None, db: 0 }
    }

    /// The global lock, in the caller's database.
    fn lock(tsc: &ThreadSafeContext<redis_module::DetachedFromClient>, db: i32) -> ContextGuard {
        let guard = tsc.lock();
        // SAFETY: a thread-safe context whose lock this thread holds.
        unsafe {
            if let Some(select) = raw::RedisModule_SelectDb {
                select(guard.ctx, db);
            }
        }
        guard
    }
}

impl ScriptHost for ModuleHost {
    fn execute(&self, argv: &[Bytes]) -> Reply {
        let Some((name, args)) = argv.split_first() else {
            return Reply::Error("Invalid argument".into());
        };
        let name = String::from_utf8_lossy(name).into_owned();
        let tsc = ThreadSafeContext::new();
        let guard = ModuleHost::lock(&tsc, self.db);
        let mut options = CallOptionsBuilder::new().replicate();
        let _as_caller = match &self.user {
            Some(name) => {
                let user = guard.create_string(name.as_str());
                let Ok(as_caller) = guard.authenticate_user(&user) else {
                    return Reply::Error(format!("ERR user '{name}' cannot run commands"));
                };
                options = options.verify_acl();
                Some(as_caller)
            }
            None => None,
        };
        let options = options.build();
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
        let result: CallResult = guard.call_ext(&name, &options, args.as_slice());
        match result {
            // RedisModule_Call answers nothing when it could not call (unknown command, wrong
            // arity, ACL): RedisAI raises strerror(errno) then.
            Ok(CallReply::Unknown) => Reply::Error(last_os_error()),
            other => convert(other),
        }
    }

    fn model_execute(&self, key: &[u8], inputs: &[Tensor], outputs: usize) -> Result<Vec<Tensor>> {
        let model = {
            let tsc = ThreadSafeContext::new();
            let guard = ModuleHost::lock(&tsc, self.db);
            // SAFETY: this thread holds the global lock until `guard` drops.
            let ks = unsafe { RedisKeyspace::new(guard.ctx) };
            ks.model(key)?
        };
        model.execute_from_script(inputs, outputs, self)
    }
}

fn last_os_error() -> String {
    let errno = std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EINVAL);
    // SAFETY: strerror returns a C string that stays valid until the next strerror call on
    // this thread; it is copied at once.
    let text = unsafe { CStr::from_ptr(libc::strerror(errno)) };
    text.to_string_lossy().into_owned()
}

/// A command's reply as core's reply (what the TorchScript shim turns into script values).
fn convert(result: CallResult) -> Reply {
    match result {
        Err(e) => Reply::Error(e.to_string()),
        Ok(reply) => match reply {
            CallReply::Unknown | CallReply::Null(_) => Reply::Null,
            CallReply::I64(i) => Reply::Int(i.to_i64()),
            CallReply::String(s) => Reply::Bulk(Bytes::copy_from_slice(s.as_bytes())),
            CallReply::Bool(b) => Reply::Int(b.to_bool() as i64),
            CallReply::Double(d) => Reply::Double(d.to_double()),
            CallReply::BigNumber(n) => Reply::Bulk(Bytes::from(n.to_string().unwrap_or_default())),
            CallReply::VerbatimString(v) => Reply::Bulk(Bytes::from(
                v.to_parts().map(|(_, b)| b).unwrap_or_default(),
            )),
            CallReply::Array(a) => Reply::Array(a.iter().map(convert).collect()),
            CallReply::Set(s) => Reply::Array(s.iter().map(convert).collect()),
            CallReply::Map(m) => Reply::Array(
                m.iter()
                    .flat_map(|(k, v)| [convert(k), convert(v)])
                    .collect(),
            ),
        },
    }
}
