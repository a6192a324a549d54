//! Core's [`Keyspace`] over the Redis keys of the client's database. Tensors, models and
//! scripts are stored as module values holding the engine's `Arc`s, so a run keeps what it
//! read alive whatever happens to the key meanwhile.

use std::ffi::c_void;
use std::sync::Arc;

use bytes::Bytes;
use redis_module::{raw, RedisString};
use redisai_core::keyspace::check_kind;
use redisai_core::model::{Model, Script};
use redisai_core::{Error, Keyspace, Result, Tensor, Value};

use crate::types::{raw_type, MODEL_TYPE, SCRIPT_TYPE, TENSOR_TYPE};

/// The keyspace as seen from one context (a command, a blocked client's reply callback, a
/// locked thread-safe context). Only used while that context may touch keys.
pub struct RedisKeyspace {
    ctx: *mut raw::RedisModuleCtx,
}

impl RedisKeyspace {
    /// # Safety
    /// `ctx` is a live context that may read and write keys (the main thread, or a thread
    /// holding the global lock) for as long as this keyspace is used.
    pub unsafe fn new(ctx: *mut raw::RedisModuleCtx) -> Self {
        RedisKeyspace { ctx }
    }

    fn open(&self, key: &[u8], write: bool) -> OpenKey {
        let name = RedisString::create_from_slice(self.ctx, key);
        let mode = if write {
            raw::REDISMODULE_READ | raw::REDISMODULE_WRITE
        } else {
            raw::REDISMODULE_READ
        };
        // SAFETY: a live context (see `new`); the name outlives the call (Redis keeps its own
        // reference to it while the key is open).
        let ptr = unsafe {
            raw::RedisModule_OpenKey.expect("OpenKey")(self.ctx, name.inner, mode as i32)
        };
        OpenKey { ptr, _name: name }
    }
}

/// A key open in a context, closed on drop.
struct OpenKey {
    ptr: *mut raw::RedisModuleKey,
    _name: RedisString,
}

impl Drop for OpenKey {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: opened by RedisModule_OpenKey, closed once.
            unsafe { raw::RedisModule_CloseKey.expect("CloseKey")(self.ptr) };
        }
    }
}

impl OpenKey {
    /// The engine value under the key: `Ok(None)` when the key is empty, `WRONGTYPE` when it
    /// holds a plain Redis type or another module's.
    fn value(&self) -> Result<Option<Value>> {
        // SAFETY: an open key of a live context; a value of one of our types is the `Arc` our
        // `set` boxed.
        unsafe {
            Ok(stored(self.ptr)?.map(|(kind, value)| match kind {
                StoredKind::Tensor => Value::Tensor((*value.cast::<Arc<Tensor>>()).clone()),
                StoredKind::Model => Value::Model((*value.cast::<Arc<Model>>()).clone()),
                StoredKind::Script => Value::Script((*value.cast::<Arc<Script>>()).clone()),
            }))
        }
    }

    fn set(&self, value: Value) -> Result<()> {
        let (module_type, boxed) = match value {
            Value::Tensor(t) => (&TENSOR_TYPE, Box::into_raw(Box::new(t)).cast::<c_void>()),
            Value::Model(m) => (&MODEL_TYPE, Box::into_raw(Box::new(m)).cast::<c_void>()),
            Value::Script(s) => (&SCRIPT_TYPE, Box::into_raw(Box::new(s)).cast::<c_void>()),
        };
        // SAFETY: a key open for writing; on success Redis owns `boxed` and frees it through
        // the type's free callback, which unboxes the same `Arc` type.
        let status = unsafe {
            raw::RedisModule_ModuleTypeSetValue.expect("ModuleTypeSetValue")(
                self.ptr,
                raw_type(module_type),
                boxed,
            )
        };
        if status == raw::REDISMODULE_OK as i32 {
            Ok(())
        } else {
            // SAFETY: Redis did not take it.
            unsafe { crate::types::free_value(module_type, boxed) };
            Err(Error::WrongType)
        }
    }
}

/// Which of our types a stored value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredKind {
    Tensor,
    Model,
    Script,
}

/// The raw value of an open key (null: no key): its kind and the boxed `Arc` Redis holds.
/// `Ok(None)` when the key is empty, `WRONGTYPE` for a plain Redis type or another module's.
///
/// # Safety
/// `key` is null or a key open in a context that may read keys.
unsafe fn stored(key: *mut raw::RedisModuleKey) -> Result<Option<(StoredKind, *mut c_void)>> {
    if key.is_null() {
        return Ok(None);
    }
    // The raw code: a type this crate does not know (a newer server's) is WRONGTYPE, not a
    // panic in its conversion.
    match raw::RedisModule_KeyType.expect("KeyType")(key) as isize {
        raw::REDISMODULE_KEYTYPE_EMPTY => return Ok(None),
        raw::REDISMODULE_KEYTYPE_MODULE => {}
        _ => return Err(Error::WrongType),
    }
    let module_type = raw::RedisModule_ModuleTypeGetType.expect("ModuleTypeGetType")(key);
    let value = raw::RedisModule_ModuleTypeGetValue.expect("ModuleTypeGetValue")(key);
    let kind = if module_type == raw_type(&TENSOR_TYPE) {
        StoredKind::Tensor
    } else if module_type == raw_type(&MODEL_TYPE) {
        StoredKind::Model
    } else if module_type == raw_type(&SCRIPT_TYPE) {
        StoredKind::Script
    } else {
        return Err(Error::WrongType);
    };
    if value.is_null() {
        return Err(Error::WrongType);
    }
    Ok(Some((kind, value)))
}

/// The raw value under `name`, opened with `mode` in `ctx` (what the low-level API hands
/// another module: the boxed `Arc` itself, borrowed from the key).
///
/// # Safety
/// `ctx` is a live context that may read keys; `name` a live module string.
pub unsafe fn stored_value(
    ctx: *mut raw::RedisModuleCtx,
    name: *mut raw::RedisModuleString,
    mode: std::ffi::c_int,
) -> Result<Option<(StoredKind, *mut c_void)>> {
    let key = raw::RedisModule_OpenKey.expect("OpenKey")(ctx, name, mode);
    let found = stored(key.cast());
    if !key.is_null() {
        raw::RedisModule_CloseKey.expect("CloseKey")(key.cast());
    }
    found
}

impl Keyspace for RedisKeyspace {
    fn get(&self, key: &[u8]) -> Result<Option<Value>> {
        self.open(key, false).value()
    }

    fn set(&mut self, key: Bytes, value: Value) -> Result<()> {
        let key = self.open(&key, true);
        check_kind(key.value()?.as_ref(), &value)?;
        key.set(value)
    }

    fn delete(&mut self, key: &[u8]) -> bool {
        let key = self.open(key, true);
        if key.ptr.is_null() || matches!(key.value(), Ok(None)) {
            return false;
        }
        // SAFETY: a key open for writing.
        unsafe {
            raw::RedisModule_DeleteKey.expect("DeleteKey")(key.ptr) == raw::REDISMODULE_OK as i32
        }
    }
}
