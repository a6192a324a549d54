//! The C ABI of `shim/torch_shim.cpp` (see the comments there), and the little helpers that make
//! its results Rust values. Every shim function catches its C++ exceptions: an error comes back
//! as a malloc'd string, freed here.

use redisai_core::Error;
use std::ffi::{c_char, c_int, c_void, CStr};

/// A byte string, borrowed for the duration of a call.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RaiStr {
    pub ptr: *const c_char,
    pub len: usize,
}

impl RaiStr {
    pub fn new(bytes: &[u8]) -> RaiStr {
        RaiStr {
            ptr: bytes.as_ptr().cast(),
            len: bytes.len(),
        }
    }

    /// # Safety
    /// `ptr` must point to `len` readable bytes for the returned lifetime.
    pub unsafe fn as_bytes<'a>(self) -> &'a [u8] {
        if self.len == 0 || self.ptr.is_null() {
            return &[];
        }
        std::slice::from_raw_parts(self.ptr.cast(), self.len)
    }
}

/// A tensor as plain data: `c10::ScalarType` code, dims, row-major bytes.
#[repr(C)]
pub struct RaiInput {
    pub scalar_type: c_int,
    pub dims: *const i64,
    pub ndims: usize,
    pub data: *const c_void,
    pub nbytes: usize,
}

/// One argument of a script call.
#[repr(C)]
pub struct RaiArg {
    pub kind: c_int,
    pub start: usize,
    pub count: usize,
}

pub const ARG_TENSOR: c_int = 0;
pub const ARG_TENSOR_LIST: c_int = 1;
pub const ARG_STR_LIST: c_int = 2;
/// A parameter kind `rai_script_signature` reports for any other type.
pub const KIND_OTHER: c_int = 3;

pub type TensorSink = unsafe extern "C" fn(
    ctx: *mut c_void,
    scalar_type: c_int,
    dims: *const i64,
    ndims: usize,
    data: *const c_void,
    nbytes: usize,
) -> c_int;

pub type ExecCallback = unsafe extern "C" fn(
    host: *mut c_void,
    argv: *const RaiStr,
    argc: usize,
    builder: *mut c_void,
    err: *mut c_void,
) -> c_int;

pub type ModelCallback = unsafe extern "C" fn(
    host: *mut c_void,
    key: RaiStr,
    inputs: *const RaiInput,
    ninputs: usize,
    noutputs: i64,
    out_list: *mut c_void,
    err: *mut c_void,
) -> c_int;

// Linked from the static library build.rs compiles (`redisai_torch_shim`).
unsafe extern "C" {
    pub fn rai_free(p: *mut c_void);
    pub fn rai_init(exec: ExecCallback, model: ModelCallback) -> *mut c_char;
    pub fn rai_set_threads(intra: i64, inter: i64) -> *mut c_char;

    pub fn rai_model_load(
        data: *const c_void,
        len: usize,
        device_type: c_int,
        device_index: c_int,
        out: *mut *mut c_void,
    ) -> *mut c_char;
    pub fn rai_model_free(m: *mut c_void);
    pub fn rai_model_num_inputs(m: *const c_void) -> usize;
    pub fn rai_model_input_name(m: *const c_void, i: usize) -> RaiStr;
    pub fn rai_model_num_outputs(m: *const c_void) -> i64;
    pub fn rai_model_run(
        m: *mut c_void,
        inputs: *const RaiInput,
        ninputs: usize,
        sink: TensorSink,
        ctx: *mut c_void,
    ) -> *mut c_char;

    pub fn rai_script_compile(
        src: *const c_void,
        len: usize,
        device_type: c_int,
        device_index: c_int,
        out: *mut *mut c_void,
    ) -> *mut c_char;
    pub fn rai_script_free(s: *mut c_void);
    pub fn rai_script_signature(
        s: *const c_void,
        name: *const c_char,
        len: usize,
        kinds: *mut c_int,
        cap: usize,
        nargs: *mut usize,
    ) -> c_int;
    #[allow(clippy::too_many_arguments)]
    pub fn rai_script_run(
        s: *mut c_void,
        name: *const c_char,
        len: usize,
        tensors: *const RaiInput,
        ntensors: usize,
        strs: *const RaiStr,
        nstrs: usize,
        args: *const RaiArg,
        nargs: usize,
        collect: c_int,
        sink: TensorSink,
        ctx: *mut c_void,
        host: *mut c_void,
    ) -> *mut c_char;

    pub fn rai_string_set(s: *mut c_void, p: *const c_char, len: usize);
    pub fn rai_reply_none(b: *mut c_void);
    pub fn rai_reply_str(b: *mut c_void, p: *const c_char, len: usize);
    pub fn rai_reply_int(b: *mut c_void, v: i64);
    pub fn rai_reply_list_begin(b: *mut c_void);
    pub fn rai_reply_list_end(b: *mut c_void);
    pub fn rai_tensor_list_push(list: *mut c_void, t: *const RaiInput) -> *mut c_char;

    pub fn rai_module_from_source(
        src: *const c_char,
        len: usize,
        names: *const RaiStr,
        params: *const RaiInput,
        nparams: usize,
        out: *mut *mut c_void,
        out_len: *mut usize,
    ) -> *mut c_char;
}

/// Takes ownership of a shim error string: `None` for success (null).
///
/// # Safety
/// `p` is null or a string returned by a shim function, not freed yet.
pub unsafe fn take_error(p: *mut c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    let s = CStr::from_ptr(p).to_string_lossy().trim().to_string();
    rai_free(p.cast());
    Some(s)
}

/// Sets the C++ `std::string` behind `err` (callbacks report their exception text this way).
///
/// # Safety
/// `err` is the `std::string*` the shim passed to the callback.
pub unsafe fn set_string(err: *mut c_void, msg: &str) {
    rai_string_set(err, msg.as_ptr().cast(), msg.len());
}

/// An object the shim allocated (a `Model*` or a `Script*`), freed once by its own free function.
pub struct Handle {
    pub ptr: *mut c_void,
    free: unsafe extern "C" fn(*mut c_void),
}

/// A shim constructor over bytes and a device: `rai_model_load`, `rai_script_compile`.
pub type Constructor =
    unsafe extern "C" fn(*const c_void, usize, c_int, c_int, *mut *mut c_void) -> *mut c_char;

impl Handle {
    /// # Safety
    /// `ptr` must come from the shim's constructor matching `free`, and be freed nowhere else.
    unsafe fn new(ptr: *mut c_void, free: unsafe extern "C" fn(*mut c_void)) -> Handle {
        Handle { ptr, free }
    }

    /// Builds an object with `make` over `bytes` (read during the call only), owned with its
    /// matching `free`; the shim's error text, or `what` if it returned nothing.
    ///
    /// # Safety
    /// `free` must be the shim's destructor for what `make` creates.
    pub unsafe fn create(
        make: Constructor,
        free: unsafe extern "C" fn(*mut c_void),
        bytes: &[u8],
        device: (c_int, c_int),
        what: &str,
    ) -> Result<Handle, Error> {
        let mut raw = std::ptr::null_mut();
        // SAFETY: `bytes` is valid for the call; the shim copies what it keeps.
        let err = unsafe {
            take_error(make(
                bytes.as_ptr().cast(),
                bytes.len(),
                device.0,
                device.1,
                &mut raw,
            ))
        };
        if let Some(e) = err {
            return Err(Error::backend(e));
        }
        if raw.is_null() {
            return Err(Error::backend(what));
        }
        // SAFETY: `raw` comes from `make`, whose objects `free` releases.
        Ok(unsafe { Handle::new(raw, free) })
    }
}

// SAFETY: a loaded torch::jit::Module and a compilation unit's functions may run from several
// threads at once (TorchScript supports concurrent calls); the object is only freed on drop.
unsafe impl Send for Handle {}
unsafe impl Sync for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: `new`'s contract: allocated by the shim, freed here once.
        unsafe { (self.free)(self.ptr) }
    }
}
