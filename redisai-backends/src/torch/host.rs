//! `redis.execute` and `redisAI.model_execute` from inside TorchScript: the shim's operators call
//! these functions, which reach the [`ScriptHost`] of the script run in progress.
//!
//! The host travels as an opaque pointer: [`HostSlot`] lives on the stack of
//! `ScriptRunner::run`, the shim keeps its address in a C++ thread-local for the duration of the
//! call (TorchScript runs the operators on the calling thread), and hands it back to each
//! callback. No global state: concurrent runs on other threads see their own host.

use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::Bytes;
use redisai_core::backend::ScriptHost;
use redisai_core::reply::{format_double, Reply};
use redisai_core::tensor::Tensor;

use super::convert::{desc, scalar_type, tensor_from_raw};
use super::ffi::{self, RaiInput, RaiStr};

/// What the shim's thread-local points to while a script runs.
pub struct HostSlot<'a>(pub Option<&'a dyn ScriptHost>);

impl HostSlot<'_> {
    pub fn as_ptr(&self) -> *mut c_void {
        (self as *const Self).cast_mut().cast()
    }
}

const NO_HOST: &str = "is not available: this script runs without access to the keyspace";

/// # Safety
/// `host` is null or the pointer of a live [`HostSlot`].
unsafe fn host_of<'a>(host: *mut c_void) -> Option<&'a dyn ScriptHost> {
    if host.is_null() {
        return None;
    }
    (*host.cast::<HostSlot<'a>>()).0
}

/// `redis.execute(cmd, args)`.
pub unsafe extern "C" fn exec_callback(
    host: *mut c_void,
    argv: *const RaiStr,
    argc: usize,
    builder: *mut c_void,
    err: *mut c_void,
) -> c_int {
    let r = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        let host = host_of(host).ok_or_else(|| format!("redis.execute {NO_HOST}"))?;
        let argv: Vec<Bytes> = if argc == 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts(argv, argc)
                .iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect()
        };
        let reply = host.execute(&argv);
        if let Reply::Error(text) = &reply {
            return Err(format!("Redis command returned an error: {text}"));
        }
        build_reply(builder, &reply);
        Ok(())
    }));
    finish(r, err, "redis.execute")
}

/// Builds the TorchScript value of a reply: null → None, strings → str, integers → int,
/// arrays (and maps, flattened as RESP2 sends them) → List[Any], doubles → str as Redis
/// formats them for RESP2.
unsafe fn build_reply(b: *mut c_void, reply: &Reply) {
    match reply {
        Reply::Null => ffi::rai_reply_none(b),
        Reply::Simple(s) => str_reply(b, s.as_bytes()),
        Reply::Status(s) | Reply::Error(s) => str_reply(b, s.as_bytes()),
        Reply::Bulk(data) => str_reply(b, data),
        Reply::Int(v) => ffi::rai_reply_int(b, *v),
        Reply::Double(v) => str_reply(b, format_double(*v).as_bytes()),
        Reply::Array(items) => {
            ffi::rai_reply_list_begin(b);
            for item in items {
                build_reply(b, item);
            }
            ffi::rai_reply_list_end(b);
        }
        Reply::Values(t) => {
            ffi::rai_reply_list_begin(b);
            for i in 0..t.len() {
                build_reply(b, &t.value_reply(i));
            }
            ffi::rai_reply_list_end(b);
        }
        Reply::Map(pairs) => {
            ffi::rai_reply_list_begin(b);
            for (k, v) in pairs {
                build_reply(b, k);
                build_reply(b, v);
            }
            ffi::rai_reply_list_end(b);
        }
    }
}

unsafe fn str_reply(b: *mut c_void, s: &[u8]) {
    ffi::rai_reply_str(b, s.as_ptr().cast(), s.len());
}

/// `redisAI.model_execute(key, inputs, num_outputs)`.
pub unsafe extern "C" fn model_callback(
    host: *mut c_void,
    key: RaiStr,
    inputs: *const RaiInput,
    ninputs: usize,
    noutputs: i64,
    out_list: *mut c_void,
    err: *mut c_void,
) -> c_int {
    let r = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        let host = host_of(host).ok_or_else(|| format!("redisAI.model_execute {NO_HOST}"))?;
        let descs: &[RaiInput] = if ninputs == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(inputs, ninputs)
        };
        let tensors = descs
            .iter()
            .map(|d| tensor_from_raw(d.scalar_type, d.dims, d.ndims, d.data, d.nbytes))
            .collect::<Result<Vec<Tensor>, _>>()
            .map_err(|e| e.to_string())?;
        let noutputs = usize::try_from(noutputs)
            .map_err(|_| "redisAI.model_execute: num_outputs must not be negative".to_string())?;
        let outputs = host
            .model_execute(key.as_bytes(), &tensors, noutputs)
            .map_err(|e| e.to_string())?;
        for t in &outputs {
            let st = scalar_type(t.dtype()).map_err(|e| e.to_string())?;
            let dims = t
                .shape()
                .iter()
                .map(|&d| i64::try_from(d).map_err(|_| "tensor too large".to_string()))
                .collect::<Result<Vec<i64>, String>>()?;
            let d = desc(t, &dims, st);
            if let Some(e) = ffi::take_error(ffi::rai_tensor_list_push(out_list, &d)) {
                return Err(e);
            }
        }
        Ok(())
    }));
    finish(r, err, "redisAI.model_execute")
}

unsafe fn finish(
    r: std::thread::Result<Result<(), String>>,
    err: *mut c_void,
    what: &str,
) -> c_int {
    match r {
        Ok(Ok(())) => 0,
        Ok(Err(msg)) => {
            ffi::set_string(err, &msg);
            1
        }
        Err(_) => {
            ffi::set_string(err, &format!("{what}: internal error (panic)"));
            1
        }
    }
}
