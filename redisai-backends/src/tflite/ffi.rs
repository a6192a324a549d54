//! The part of LiteRT 2.3's C API (`litert/c/*.h`) this backend calls, written by hand and
//! resolved at run time from the library file (`dlopen` with `RTLD_NOW | RTLD_LOCAL`).
//!
//! LiteRT's C API changes between releases: these declarations follow the headers of the
//! `google-ai-edge/LiteRT` sources from just after v2.2.0 (v2.3.0 is not tagged there), whose
//! declarations of these functions and types are unchanged since v2.2.0, and were checked against
//! `libLiteRt.so` of the PyPI wheel `ai-edge-litert==2.3.0` by a C program that ran the MNIST and
//! MobileNet test models through them (resize, batch of 2, errors).
//!
//! Every handle is an opaque pointer; [`Owned`] destroys one on drop.

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::path::Path;
use std::ptr::NonNull;

use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};

/// `LiteRtStatus`: 0 is success.
pub type Status = c_int;
pub const STATUS_OK: Status = 0;

/// `LiteRtParamIndex`.
pub type ParamIndex = usize;

/// `kLiteRtHwAcceleratorCpu` (a `LiteRtHwAcceleratorSet` bit).
pub const HW_ACCELERATOR_CPU: c_int = 1;

/// `LiteRtTensorBufferLockMode`.
pub const LOCK_READ: c_int = 0;
pub const LOCK_WRITE: c_int = 1;

/// `kLiteRtRankedTensorType` (`LiteRtTensorTypeId`).
pub const RANKED_TENSOR_TYPE: c_int = 0;

/// `LiteRtEnvOptionTag` values.
pub const ENV_OPTION_AUTO_REGISTER_ACCELERATORS: c_int = 24;
pub const ENV_OPTION_MIN_LOGGER_SEVERITY: c_int = 25;
/// `kLiteRtAnyTypeInt`.
pub const ANY_TYPE_INT: c_int = 2;
/// `kLiteRtLogSeverityWarning`.
pub const LOG_SEVERITY_WARNING: i64 = 2;

/// `LiteRtElementType` values (TfLiteType numbers).
pub mod element {
    use std::ffi::c_int;
    pub const FLOAT32: c_int = 1;
    pub const INT32: c_int = 2;
    pub const UINT8: c_int = 3;
    pub const INT64: c_int = 4;
    pub const BOOL: c_int = 6;
    pub const INT16: c_int = 7;
    pub const INT8: c_int = 9;
    pub const FLOAT16: c_int = 10;
    pub const FLOAT64: c_int = 11;
    pub const UINT16: c_int = 17;
    pub const BFLOAT16: c_int = 19;
}

/// `LITERT_TENSOR_MAX_RANK`.
pub const MAX_RANK: usize = 8;

macro_rules! handles {
    ($($name:ident),* $(,)?) => {
        $(
            /// An opaque LiteRT object.
            #[repr(C)]
            pub struct $name {
                _opaque: [u8; 0],
            }
        )*
    };
}

handles!(
    EnvironmentT,
    ModelT,
    SignatureT,
    TensorT,
    OptionsT,
    CompiledModelT,
    TensorBufferT,
    TensorBufferRequirementsT,
);

/// `LiteRtLayout`: a bit-field word (`rank : 7`, `has_strides : 1`, lowest bits first as GCC
/// and Clang lay them out), then the dims and strides. 68 bytes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Layout {
    bits: c_uint,
    pub dimensions: [i32; MAX_RANK],
    pub strides: [u32; MAX_RANK],
}

impl Layout {
    /// An all-zero layout (rank 0), the storage LiteRT fills in.
    pub fn zeroed() -> Layout {
        Layout {
            bits: 0,
            dimensions: [0; MAX_RANK],
            strides: [0; MAX_RANK],
        }
    }

    /// The dims (dynamic ones are negative).
    pub fn dims(&self) -> &[i32] {
        let rank = (self.bits & 0x7f) as usize;
        &self.dimensions[..rank.min(MAX_RANK)]
    }
}

/// `LiteRtRankedTensorType`. 72 bytes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RankedTensorType {
    pub element_type: c_int,
    pub layout: Layout,
}

/// `LiteRtAny` with its union read as the `int64_t` member. 16 bytes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Any {
    pub kind: c_int,
    pub int_value: i64,
}

/// `LiteRtEnvOption`. 24 bytes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct EnvOption {
    pub tag: c_int,
    pub value: Any,
}

const _: () = {
    assert!(std::mem::size_of::<Layout>() == 68);
    assert!(std::mem::size_of::<RankedTensorType>() == 72);
    assert!(std::mem::size_of::<Any>() == 16);
    assert!(std::mem::size_of::<EnvOption>() == 24);
};

macro_rules! api {
    ($($field:ident = $symbol:literal: fn($($arg:ty),* $(,)?) $(-> $ret:ty)?;)*) => {
        /// The functions, resolved from one library that this struct keeps open.
        pub struct Api {
            $(pub $field: unsafe extern "C" fn($($arg),*) $(-> $ret)?,)*
            /// Declared last: dropped (closed) after everything else here.
            _library: Library,
        }

        impl Api {
            /// Opens the library at `path` and resolves every function; the error names what
            /// failed.
            pub fn open(path: &Path) -> Result<Api, String> {
                // SAFETY: opening a library runs its initialisers; LiteRT's only set up static
                // registries. RTLD_LOCAL keeps its symbols out of the process's namespace.
                let library = unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }
                    .map_err(|e| e.to_string())?;
                $(
                    // SAFETY: the type is the function's C signature in LiteRT 2.3's headers;
                    // the pointer stays valid while `_library` keeps the library open.
                    let $field = unsafe {
                        *library
                            .get::<unsafe extern "C" fn($($arg),*) $(-> $ret)?>($symbol)
                            .map_err(|e| format!("{}: {e}", $symbol))?
                    };
                )*
                Ok(Api { $($field,)* _library: library })
            }
        }
    };
}

api! {
    create_environment = "LiteRtCreateEnvironment":
        fn(c_int, *const EnvOption, *mut *mut EnvironmentT) -> Status;
    destroy_environment = "LiteRtDestroyEnvironment": fn(*mut EnvironmentT);

    create_model_from_buffer = "LiteRtCreateModelFromBuffer":
        fn(*mut EnvironmentT, *const c_void, usize, *mut *mut ModelT) -> Status;
    destroy_model = "LiteRtDestroyModel": fn(*mut ModelT);
    get_num_model_signatures = "LiteRtGetNumModelSignatures":
        fn(*mut ModelT, *mut ParamIndex) -> Status;
    get_model_signature = "LiteRtGetModelSignature":
        fn(*mut ModelT, ParamIndex, *mut *mut SignatureT) -> Status;
    get_num_signature_inputs = "LiteRtGetNumSignatureInputs":
        fn(*mut SignatureT, *mut ParamIndex) -> Status;
    get_num_signature_outputs = "LiteRtGetNumSignatureOutputs":
        fn(*mut SignatureT, *mut ParamIndex) -> Status;
    get_signature_input_name = "LiteRtGetSignatureInputName":
        fn(*mut SignatureT, ParamIndex, *mut *const c_char) -> Status;
    get_signature_output_name = "LiteRtGetSignatureOutputName":
        fn(*mut SignatureT, ParamIndex, *mut *const c_char) -> Status;
    get_signature_input_tensor_by_index = "LiteRtGetSignatureInputTensorByIndex":
        fn(*mut SignatureT, ParamIndex, *mut *mut TensorT) -> Status;
    get_signature_output_tensor_by_index = "LiteRtGetSignatureOutputTensorByIndex":
        fn(*mut SignatureT, ParamIndex, *mut *mut TensorT) -> Status;
    get_tensor_name = "LiteRtGetTensorName": fn(*mut TensorT, *mut *const c_char) -> Status;
    get_tensor_type_id = "LiteRtGetTensorTypeId": fn(*mut TensorT, *mut c_int) -> Status;
    get_ranked_tensor_type = "LiteRtGetRankedTensorType":
        fn(*mut TensorT, *mut RankedTensorType) -> Status;

    create_options = "LiteRtCreateOptions": fn(*mut *mut OptionsT) -> Status;
    destroy_options = "LiteRtDestroyOptions": fn(*mut OptionsT);
    set_options_hardware_accelerators = "LiteRtSetOptionsHardwareAccelerators":
        fn(*mut OptionsT, c_int) -> Status;

    create_compiled_model = "LiteRtCreateCompiledModel":
        fn(*mut EnvironmentT, *mut ModelT, *mut OptionsT, *mut *mut CompiledModelT) -> Status;
    destroy_compiled_model = "LiteRtDestroyCompiledModel": fn(*mut CompiledModelT);
    get_compiled_model_input_tensor_layout = "LiteRtGetCompiledModelInputTensorLayout":
        fn(*mut CompiledModelT, ParamIndex, ParamIndex, *mut Layout) -> Status;
    get_compiled_model_output_tensor_layouts = "LiteRtGetCompiledModelOutputTensorLayouts":
        fn(*mut CompiledModelT, ParamIndex, usize, *mut Layout, bool) -> Status;
    get_compiled_model_input_buffer_requirements =
        "LiteRtGetCompiledModelInputBufferRequirements":
        fn(*mut CompiledModelT, ParamIndex, ParamIndex, *mut *mut TensorBufferRequirementsT)
            -> Status;
    get_compiled_model_output_buffer_requirements =
        "LiteRtGetCompiledModelOutputBufferRequirements":
        fn(*mut CompiledModelT, ParamIndex, ParamIndex, *mut *mut TensorBufferRequirementsT)
            -> Status;
    compiled_model_resize_input_tensor_non_strict =
        "LiteRtCompiledModelResizeInputTensorNonStrict":
        fn(*mut CompiledModelT, ParamIndex, ParamIndex, *const c_int, usize) -> Status;
    run_compiled_model = "LiteRtRunCompiledModel":
        fn(*mut CompiledModelT, ParamIndex, usize, *mut *mut TensorBufferT, usize,
           *mut *mut TensorBufferT) -> Status;

    create_managed_tensor_buffer_from_requirements =
        "LiteRtCreateManagedTensorBufferFromRequirements":
        fn(*mut EnvironmentT, *const RankedTensorType, *mut TensorBufferRequirementsT,
           *mut *mut TensorBufferT) -> Status;
    destroy_tensor_buffer = "LiteRtDestroyTensorBuffer": fn(*mut TensorBufferT);
    get_tensor_buffer_packed_size = "LiteRtGetTensorBufferPackedSize":
        fn(*mut TensorBufferT, *mut usize) -> Status;
    lock_tensor_buffer = "LiteRtLockTensorBuffer":
        fn(*mut TensorBufferT, *mut *mut c_void, c_int) -> Status;
    unlock_tensor_buffer = "LiteRtUnlockTensorBuffer": fn(*mut TensorBufferT) -> Status;
}

/// A LiteRT object we own, destroyed on drop with the function it was made for.
pub struct Owned<T> {
    ptr: NonNull<T>,
    destroy: unsafe extern "C" fn(*mut T),
}

// SAFETY: LiteRT objects are not tied to the thread that made them; whoever shares one between
// threads serialises its use (a model's objects live behind its lock).
unsafe impl<T> Send for Owned<T> {}

impl<T> Owned<T> {
    /// Takes ownership of `ptr` (`None` if null).
    ///
    /// # Safety
    /// `ptr` must be an object nobody else destroys, `destroy` its destructor, and the library
    /// both come from must stay open while the returned value lives.
    pub unsafe fn new(ptr: *mut T, destroy: unsafe extern "C" fn(*mut T)) -> Option<Owned<T>> {
        NonNull::new(ptr).map(|ptr| Owned { ptr, destroy })
    }

    pub fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        // SAFETY: we own the object (see `new`) and nothing uses it after this.
        unsafe { (self.destroy)(self.ptr.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_keeps_rank_in_the_low_bits() {
        let mut layout = Layout::zeroed();
        assert_eq!(layout.dims(), &[] as &[i32]);
        // rank 4, has_strides set: the dims stop at the rank.
        layout.bits = 4 | 0x80;
        layout.dimensions[..5].copy_from_slice(&[2, 224, 224, 3, 9]);
        assert_eq!(layout.dims(), &[2, 224, 224, 3]);
    }
}
