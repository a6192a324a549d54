//! The part of TensorFlow's C API (`tensorflow/c/c_api.h`, `tf_tensor.h`, `tf_tstring.h`) that
//! the backend calls, opened at run time from one library file.
//!
//! The library is opened with `RTLD_NOW | RTLD_LOCAL` and never `RTLD_DEEPBIND`: TensorFlow
//! exports thousands of unversioned protobuf and absl symbols, and with DEEPBIND it aborts inside
//! a process whose malloc is jemalloc (Debian's redis-server); measured in
//! `../shared/NATIVE-DEPS.md`. The functions are split over `libtensorflow_cc.so.2` and its
//! dependency `libtensorflow_framework.so.2`: `dlsym` on the handle searches both.

#![allow(non_snake_case, non_camel_case_types)] // the C API's own names

use std::ffi::{c_char, c_int, c_void};
use std::path::Path;

use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};

/// glibc's `RTLD_NODELETE`: TensorFlow's initializers have run once it is opened, so it must
/// never be unloaded, even when a symbol turns out to be missing.
const RTLD_NODELETE: c_int = 0x1000;

#[repr(C)]
pub struct TF_Status(c_void);
#[repr(C)]
pub struct TF_Buffer {
    pub data: *const c_void,
    pub length: usize,
    pub data_deallocator: Option<unsafe extern "C" fn(*mut c_void, usize)>,
}
#[repr(C)]
pub struct TF_Graph(c_void);
#[repr(C)]
pub struct TF_ImportGraphDefOptions(c_void);
#[repr(C)]
pub struct TF_Operation(c_void);
#[repr(C)]
pub struct TF_SessionOptions(c_void);
#[repr(C)]
pub struct TF_Session(c_void);
#[repr(C)]
pub struct TF_Tensor(c_void);
#[repr(C)]
pub struct TF_DeviceList(c_void);

/// `tensorflow::tstring`'s C layout: a 24-byte union (small strings inline, others on the heap).
#[repr(C, align(8))]
pub struct TF_TString {
    _raw: [u8; 24],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct TF_Output {
    pub oper: *mut TF_Operation,
    pub index: c_int,
}

/// `TF_DataType` values.
pub mod dtype {
    pub const FLOAT: i32 = 1;
    pub const DOUBLE: i32 = 2;
    pub const INT32: i32 = 3;
    pub const UINT8: i32 = 4;
    pub const INT16: i32 = 5;
    pub const INT8: i32 = 6;
    pub const STRING: i32 = 7;
    pub const INT64: i32 = 9;
    pub const BOOL: i32 = 10;
    pub const BFLOAT16: i32 = 14;
    pub const UINT16: i32 = 17;
    pub const HALF: i32 = 19;
}

/// `TF_Code` values the backend tells apart.
pub const TF_OK: c_int = 0;
pub const TF_DEADLINE_EXCEEDED: c_int = 4;

macro_rules! api {
    ($($name:ident: fn($($arg:ty),*) $(-> $ret:ty)?;)*) => {
        /// The functions, resolved once when the library is opened.
        pub struct Api {
            $(pub $name: unsafe extern "C" fn($($arg),*) $(-> $ret)?,)*
            /// Held for the life of the process: TensorFlow cannot be unloaded.
            _library: Library,
        }

        impl Api {
            /// Opens `path` and resolves every function, or says which one is missing.
            pub fn open(path: &Path) -> Result<Api, String> {
                // SAFETY: opening runs TensorFlow's initializers, which is what loading a backend
                // means; the flags are the ones measured to work next to libtorch, onnxruntime
                // and jemalloc.
                let library = unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) }
                    .map_err(|e| e.to_string())?;
                $(
                    // SAFETY: the signature is the C API's, unchanged across TF 2.x.
                    let $name = unsafe {
                        *library
                            .get::<unsafe extern "C" fn($($arg),*) $(-> $ret)?>(
                                concat!(stringify!($name), "\0").as_bytes(),
                            )
                            .map_err(|e| format!("{}: {e}", stringify!($name)))?
                    };
                )*
                Ok(Api { $($name,)* _library: library })
            }
        }
    };
}

api! {
    TF_Version: fn() -> *const c_char;
    TF_NewStatus: fn() -> *mut TF_Status;
    TF_DeleteStatus: fn(*mut TF_Status);
    TF_GetCode: fn(*const TF_Status) -> c_int;
    TF_Message: fn(*const TF_Status) -> *const c_char;
    TF_NewBufferFromString: fn(*const c_void, usize) -> *mut TF_Buffer;
    TF_DeleteBuffer: fn(*mut TF_Buffer);
    TF_NewGraph: fn() -> *mut TF_Graph;
    TF_DeleteGraph: fn(*mut TF_Graph);
    TF_NewImportGraphDefOptions: fn() -> *mut TF_ImportGraphDefOptions;
    TF_DeleteImportGraphDefOptions: fn(*mut TF_ImportGraphDefOptions);
    TF_ImportGraphDefOptionsSetDefaultDevice: fn(*mut TF_ImportGraphDefOptions, *const c_char);
    TF_GraphImportGraphDef: fn(*mut TF_Graph, *const TF_Buffer, *const TF_ImportGraphDefOptions, *mut TF_Status);
    TF_GraphOperationByName: fn(*mut TF_Graph, *const c_char) -> *mut TF_Operation;
    TF_OperationOpType: fn(*mut TF_Operation) -> *const c_char;
    TF_OperationNumOutputs: fn(*mut TF_Operation) -> c_int;
    TF_NewSessionOptions: fn() -> *mut TF_SessionOptions;
    TF_DeleteSessionOptions: fn(*mut TF_SessionOptions);
    TF_SetConfig: fn(*mut TF_SessionOptions, *const c_void, usize, *mut TF_Status);
    TF_NewSession: fn(*mut TF_Graph, *const TF_SessionOptions, *mut TF_Status) -> *mut TF_Session;
    TF_CloseSession: fn(*mut TF_Session, *mut TF_Status);
    TF_DeleteSession: fn(*mut TF_Session, *mut TF_Status);
    TF_SessionListDevices: fn(*mut TF_Session, *mut TF_Status) -> *mut TF_DeviceList;
    TF_DeviceListCount: fn(*const TF_DeviceList) -> c_int;
    TF_DeviceListType: fn(*const TF_DeviceList, c_int, *mut TF_Status) -> *const c_char;
    TF_DeleteDeviceList: fn(*mut TF_DeviceList);
    TF_SessionRun: fn(
        *mut TF_Session,
        *const TF_Buffer,
        *const TF_Output,
        *const *mut TF_Tensor,
        c_int,
        *const TF_Output,
        *mut *mut TF_Tensor,
        c_int,
        *const *const TF_Operation,
        c_int,
        *mut TF_Buffer,
        *mut TF_Status
    );
    TF_AllocateTensor: fn(c_int, *const i64, c_int, usize) -> *mut TF_Tensor;
    TF_NewTensor: fn(
        c_int,
        *const i64,
        c_int,
        *mut c_void,
        usize,
        Option<unsafe extern "C" fn(*mut c_void, usize, *mut c_void)>,
        *mut c_void
    ) -> *mut TF_Tensor;
    TF_DeleteTensor: fn(*mut TF_Tensor);
    TF_TensorType: fn(*const TF_Tensor) -> c_int;
    TF_NumDims: fn(*const TF_Tensor) -> c_int;
    TF_Dim: fn(*const TF_Tensor, c_int) -> i64;
    TF_TensorByteSize: fn(*const TF_Tensor) -> usize;
    TF_TensorData: fn(*const TF_Tensor) -> *mut c_void;
    TF_StringInit: fn(*mut TF_TString);
    TF_StringCopy: fn(*mut TF_TString, *const c_char, usize);
    TF_StringGetDataPointer: fn(*const TF_TString) -> *const c_char;
    TF_StringGetSize: fn(*const TF_TString) -> usize;
}
