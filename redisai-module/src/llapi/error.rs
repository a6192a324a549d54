//! `RAI_Error`: a code and its text, as another module holds and reads it. The first error
//! reported into one wins, as in RedisAI.

use std::ffi::{c_char, c_int, CString};
use std::ptr;

use redisai_core::lowlevel::{ApiError, ErrorCode};

use crate::guard;

pub struct RaiError {
    code: ErrorCode,
    detail: Option<CString>,
    one_line: Option<CString>,
}

impl RaiError {
    pub fn new() -> RaiError {
        RaiError {
            code: ErrorCode::Ok,
            detail: None,
            one_line: None,
        }
    }

    pub fn is_set(&self) -> bool {
        self.code != ErrorCode::Ok
    }

    /// Records `e` unless an error is recorded already.
    pub fn set(&mut self, e: &ApiError) {
        if self.is_set() {
            return;
        }
        self.code = e.code;
        self.detail = Some(c_text(&e.detail));
        self.one_line = Some(c_text(&e.one_line()));
    }

    /// Records what `other` holds unless an error is recorded already.
    pub fn absorb(&mut self, other: &RaiError) {
        if !self.is_set() && other.is_set() {
            self.code = other.code;
            self.detail = other.detail.clone();
            self.one_line = other.one_line.clone();
        }
    }
}

/// A C string of `text` (a NUL inside, which C could not see past, becomes a space).
fn c_text(text: &str) -> CString {
    CString::new(text.replace('\0', " ")).unwrap_or_default()
}

/// Records `e` in the caller's error, when it passed one.
///
/// # Safety
/// `err` is null or a live `RAI_Error`.
pub unsafe fn report(err: *mut RaiError, e: &ApiError) {
    if let Some(err) = err.as_mut() {
        err.set(e);
    }
}

pub unsafe extern "C" fn init_error(err: *mut *mut RaiError) -> c_int {
    guard::or(1, || {
        if err.is_null() {
            return 1;
        }
        *err = Box::into_raw(Box::new(RaiError::new()));
        0
    })
}

pub unsafe extern "C" fn clear_error(err: *mut RaiError) {
    guard::or((), || {
        if let Some(err) = err.as_mut() {
            *err = RaiError::new();
        }
    })
}

pub unsafe extern "C" fn free_error(err: *mut RaiError) {
    guard::or((), || {
        if !err.is_null() {
            drop(Box::from_raw(err));
        }
    })
}

/// The text, or null when no error is recorded.
pub unsafe extern "C" fn get_error(err: *mut RaiError) -> *const c_char {
    guard::or(ptr::null(), || {
        err.as_ref()
            .and_then(|e| e.detail.as_ref())
            .map_or(ptr::null(), |d| d.as_ptr())
    })
}

pub unsafe extern "C" fn get_error_one_line(err: *mut RaiError) -> *const c_char {
    guard::or(ptr::null(), || {
        err.as_ref()
            .and_then(|e| e.one_line.as_ref())
            .map_or(ptr::null(), |d| d.as_ptr())
    })
}

pub unsafe extern "C" fn get_error_code(err: *mut RaiError) -> c_int {
    guard::or(ErrorCode::Ok as c_int, || {
        err.as_ref().map_or(ErrorCode::Ok, |e| e.code) as c_int
    })
}

/// `dest` becomes a copy of `src` (whatever `dest` held).
pub unsafe extern "C" fn clone_error(dest: *mut RaiError, src: *const RaiError) {
    guard::or((), || {
        if let (Some(dest), Some(src)) = (dest.as_mut(), src.as_ref()) {
            dest.code = src.code;
            dest.detail = src.detail.clone();
            dest.one_line = src.one_line.clone();
        }
    })
}
