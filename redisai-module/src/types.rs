//! The data types `AI_TENSOR`, `AI__MODEL` and `AI_SCRIPT` at encoding version 4, as RedisAI
//! registers them (the names and version are part of every RDB file and DUMP payload): RDB
//! save and load (versions 0..4) through core's codec, AOF rewrite as the store commands core
//! formats, MEMORY USAGE and DEBUG DIGEST-VALUE (which the C module lacked), free.
//!
//! A value is a boxed `Arc` of the engine's `Tensor`, `Model` or `Script`.

use std::ffi::{c_int, c_void, CString};
use std::sync::Arc;

use bytes::Bytes;
use redis_module::native_types::RedisType;
use redis_module::raw;
use redisai_core::codec::{self, RdbRead, RdbWrite};
use redisai_core::model::{Model, Script};
use redisai_core::{Result, Tensor};

use crate::guard;
use crate::io::ModuleIo;
use crate::state;

/// What the three types have in common, for one set of generic callbacks.
trait Stored: Sized + 'static {
    const NAME: &'static str;
    fn load(r: &mut dyn RdbRead, encver: i32, key: &Bytes) -> Result<Self>;
    fn save(&self, w: &mut dyn RdbWrite);
    /// The command an AOF rewrite emits for it (argv, the command name first).
    fn store_args(&self, key: &Bytes) -> Vec<Bytes>;
    fn memory(&self) -> usize;
    /// What DEBUG DIGEST-VALUE compares: every field that a load restores.
    fn digest_parts(&self) -> Vec<Bytes>;
}

impl Stored for Tensor {
    const NAME: &'static str = codec::TENSOR_TYPE_NAME;

    fn load(r: &mut dyn RdbRead, encver: i32, _key: &Bytes) -> Result<Self> {
        codec::load_tensor(r, encver)
    }

    fn save(&self, w: &mut dyn RdbWrite) {
        codec::save_tensor(self, w)
    }

    fn store_args(&self, key: &Bytes) -> Vec<Bytes> {
        codec::aof::tensor_set_args(key, self)
    }

    fn memory(&self) -> usize {
        let offsets = match self.dtype() {
            redisai_core::DataType::String => self.len() * std::mem::size_of::<usize>(),
            _ => 0,
        };
        std::mem::size_of::<Tensor>() + self.shape().len() * 8 + self.blob().len() + offsets
    }

    fn digest_parts(&self) -> Vec<Bytes> {
        let mut parts = vec![Bytes::from_static(self.dtype().name().as_bytes())];
        parts.extend(self.shape().iter().map(|d| Bytes::from(d.to_string())));
        parts.push(self.blob().clone());
        parts
    }
}

impl Stored for Model {
    const NAME: &'static str = codec::MODEL_TYPE_NAME;

    fn load(r: &mut dyn RdbRead, encver: i32, key: &Bytes) -> Result<Self> {
        let record = codec::load_model(r, encver)?;
        state::engine()?.build_model(key, record)
    }

    fn save(&self, w: &mut dyn RdbWrite) {
        codec::save_model(&self.record(), state::model_chunk_size(), w)
    }

    fn store_args(&self, key: &Bytes) -> Vec<Bytes> {
        self.store_args(key, state::model_chunk_size())
    }

    fn memory(&self) -> usize {
        let names: usize = self
            .inputs
            .iter()
            .chain(&self.outputs)
            .map(|n| n.len())
            .sum();
        std::mem::size_of::<Model>() + self.blob.len() + self.tag.len() + names
    }

    fn digest_parts(&self) -> Vec<Bytes> {
        let mut parts = vec![
            Bytes::from_static(self.backend.name().as_bytes()),
            Bytes::from(self.device.clone()),
            self.tag.clone(),
            Bytes::from(format!(
                "{} {} {}",
                self.batch.size, self.batch.min_size, self.batch.min_timeout
            )),
        ];
        parts.extend(self.inputs.iter().cloned());
        parts.push(Bytes::from_static(b"|"));
        parts.extend(self.outputs.iter().cloned());
        parts.push(self.blob.clone());
        parts
    }
}

impl Stored for Script {
    const NAME: &'static str = codec::SCRIPT_TYPE_NAME;

    fn load(r: &mut dyn RdbRead, encver: i32, key: &Bytes) -> Result<Self> {
        let record = codec::load_script(r, encver)?;
        state::engine()?.build_script(key, record)
    }

    fn save(&self, w: &mut dyn RdbWrite) {
        codec::save_script(&self.record(), w)
    }

    fn store_args(&self, key: &Bytes) -> Vec<Bytes> {
        self.store_args(key)
    }

    fn memory(&self) -> usize {
        let entry_points: usize = self.entry_points.iter().map(|e| e.len()).sum();
        std::mem::size_of::<Script>() + self.source.len() + self.tag.len() + entry_points
    }

    fn digest_parts(&self) -> Vec<Bytes> {
        let mut parts = vec![
            Bytes::from(self.device.clone()),
            self.tag.clone(),
            self.source.clone(),
        ];
        parts.extend(self.entry_points.iter().cloned());
        parts
    }
}

/// The bytes of a module string (empty for a null one).
///
/// # Safety
/// `s` is null or a live module string.
pub unsafe fn string_bytes(s: *const raw::RedisModuleString) -> Bytes {
    if s.is_null() {
        return Bytes::new();
    }
    let mut len = 0usize;
    let ptr = raw::RedisModule_StringPtrLen.expect("StringPtrLen")(s, &mut len);
    if ptr.is_null() {
        return Bytes::new();
    }
    Bytes::copy_from_slice(std::slice::from_raw_parts(ptr.cast::<u8>(), len))
}

unsafe extern "C" fn rdb_load<T: Stored>(
    io: *mut raw::RedisModuleIO,
    encver: c_int,
) -> *mut c_void {
    guard::or(std::ptr::null_mut(), || {
        // SAFETY: Redis passes a live IO context; the key name is available in Redis >= 7.0
        // (and null where it is not: the value then loads without a name for its stats).
        let key = unsafe {
            match raw::RedisModule_GetKeyNameFromIO {
                Some(f) => string_bytes(f(io)),
                None => Bytes::new(),
            }
        };
        match T::load(&mut ModuleIo(io), encver, &key) {
            Ok(value) => Box::into_raw(Box::new(Arc::new(value))).cast::<c_void>(),
            Err(e) => {
                guard::log_warning(&format!(
                    "redisai: cannot load {} value of key '{}' (encoding version {encver}): {e}",
                    T::NAME,
                    String::from_utf8_lossy(&key)
                ));
                std::ptr::null_mut()
            }
        }
    })
}

unsafe extern "C" fn rdb_save<T: Stored>(io: *mut raw::RedisModuleIO, value: *mut c_void) {
    guard::or((), || {
        // SAFETY: a value of this type is the boxed Arc that `RedisKeyspace::set` stored.
        let value = unsafe { &*value.cast::<Arc<T>>() };
        value.save(&mut ModuleIo(io));
    })
}

unsafe extern "C" fn aof_rewrite<T: Stored>(
    aof: *mut raw::RedisModuleIO,
    key: *mut raw::RedisModuleString,
    value: *mut c_void,
) {
    guard::or((), || {
        // SAFETY: as in rdb_save; the key is live for the call.
        let (value, key) = unsafe { (&*value.cast::<Arc<T>>(), string_bytes(key)) };
        let argv = value.store_args(&key);
        let Some((name, args)) = argv.split_first() else {
            return;
        };
        let Ok(name) = CString::new(name.to_vec()) else {
            return;
        };
        // SAFETY: strings created without a context are freed by us after EmitAOF, which takes
        // its own references; "v" is (RedisModuleString **argv, size_t argc).
        unsafe {
            let create = raw::RedisModule_CreateString.expect("CreateString");
            let strings: Vec<*mut raw::RedisModuleString> = args
                .iter()
                .map(|a| create(std::ptr::null_mut(), a.as_ptr().cast(), a.len()))
                .collect();
            raw::RedisModule_EmitAOF.expect("EmitAOF")(
                aof,
                name.as_ptr(),
                c"v".as_ptr(),
                strings.as_ptr(),
                strings.len(),
            );
            let free = raw::RedisModule_FreeString.expect("FreeString");
            for s in strings {
                free(std::ptr::null_mut(), s);
            }
        }
    })
}

unsafe extern "C" fn mem_usage<T: Stored>(value: *const c_void) -> usize {
    guard::or(0, || {
        // SAFETY: as in rdb_save.
        let value = unsafe { &*value.cast::<Arc<T>>() };
        std::mem::size_of::<Arc<T>>() + value.memory()
    })
}

unsafe extern "C" fn digest<T: Stored>(md: *mut raw::RedisModuleDigest, value: *mut c_void) {
    guard::or((), || {
        // SAFETY: as in rdb_save; the digest context is live for the call.
        unsafe {
            let value = &*value.cast::<Arc<T>>();
            let add = raw::RedisModule_DigestAddStringBuffer.expect("DigestAddStringBuffer");
            for part in value.digest_parts() {
                add(md, part.as_ptr().cast(), part.len());
            }
            raw::RedisModule_DigestEndSequence.expect("DigestEndSequence")(md);
        }
    })
}

unsafe extern "C" fn free<T: Stored>(value: *mut c_void) {
    if !value.is_null() {
        // SAFETY: the boxed Arc stored by `RedisKeyspace::set` or returned by rdb_load.
        guard::or((), || {
            drop(unsafe { Box::from_raw(value.cast::<Arc<T>>()) })
        });
    }
}

/// Frees a boxed value that Redis did not take.
///
/// # Safety
/// `value` is the box of the type `module_type` stands for, not owned by Redis.
pub unsafe fn free_value(module_type: &RedisType, value: *mut c_void) {
    if std::ptr::eq(module_type, &TENSOR_TYPE) {
        free::<Tensor>(value)
    } else if std::ptr::eq(module_type, &MODEL_TYPE) {
        free::<Model>(value)
    } else {
        free::<Script>(value)
    }
}

const fn methods<T: Stored>() -> raw::RedisModuleTypeMethods {
    raw::RedisModuleTypeMethods {
        version: raw::REDISMODULE_TYPE_METHOD_VERSION as u64,
        rdb_load: Some(rdb_load::<T>),
        rdb_save: Some(rdb_save::<T>),
        aof_rewrite: Some(aof_rewrite::<T>),
        mem_usage: Some(mem_usage::<T>),
        digest: Some(digest::<T>),
        free: Some(free::<T>),
        aux_load: None,
        aux_save: None,
        aux_save_triggers: 0,
        free_effort: None,
        unlink: None,
        copy: None,
        defrag: None,
        mem_usage2: None,
        free_effort2: None,
        unlink2: None,
        copy2: None,
        aux_save2: None,
    }
}

pub static TENSOR_TYPE: RedisType = RedisType::new(
    codec::TENSOR_TYPE_NAME,
    codec::ENCODING_VERSION,
    methods::<Tensor>(),
);
pub static MODEL_TYPE: RedisType = RedisType::new(
    codec::MODEL_TYPE_NAME,
    codec::ENCODING_VERSION,
    methods::<Model>(),
);
pub static SCRIPT_TYPE: RedisType = RedisType::new(
    codec::SCRIPT_TYPE_NAME,
    codec::ENCODING_VERSION,
    methods::<Script>(),
);

/// The handle Redis gave `t` at load. Read without `RefCell::borrow`, whose counter is not
/// atomic: the low-level API asks for the types from any thread.
pub fn raw_type(t: &RedisType) -> *mut raw::RedisModuleType {
    // SAFETY: written once when the module loads, before any thread of ours exists or another
    // module can call the API; only read afterwards.
    unsafe { *t.raw_type.as_ptr() }
}
