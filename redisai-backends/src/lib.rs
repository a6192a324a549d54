//! # redisai-backends
//!
//! The runtimes behind redisai-core's `Backend` trait, each behind a cargo feature. A backend
//! whose feature is off is still registered, under the same name, as "not compiled": it names
//! itself and answers a clear error, so the adapters carry no `cfg`.
//!
//! ## Layout
//! - `onnx`: ONNX Runtime (`ort`, library loaded at run time).
//! - `torch`: libtorch (`tch`) and TorchScript scripts (a C++ shim).
//! - `tf`: TensorFlow's C API (frozen GraphDefs), library opened at run time.
//! - `tflite`: LiteRT's C API (`.tflite` flatbuffers), library opened at run time.

use std::sync::Arc;

#[cfg(any(feature = "onnx", feature = "tf", feature = "tflite"))]
mod library;
#[cfg(any(feature = "onnx", feature = "tflite"))]
mod slot;

use redisai_core::backend::{BackendLoader, Registry};

#[cfg(feature = "onnx")]
mod onnx;
#[cfg(not(feature = "onnx"))]
mod onnx {
    use super::*;
    use redisai_core::backend::NotCompiled;
    use redisai_core::model::BackendKind;
    pub fn loader() -> Arc<dyn BackendLoader> {
        Arc::new(NotCompiled(BackendKind::Onnx))
    }
}

#[cfg(feature = "tf")]
mod tf;
/// TensorFlow's C API as the TF backend calls it (for benches/tf_overhead.rs's bare session).
#[cfg(feature = "tf")]
#[doc(hidden)]
pub use tf::ffi as tf_c_api;
#[cfg(not(feature = "tf"))]
mod tf {
    use super::*;
    use redisai_core::backend::NotCompiled;
    use redisai_core::model::BackendKind;
    pub fn loader() -> Arc<dyn BackendLoader> {
        Arc::new(NotCompiled(BackendKind::Tf))
    }
}

#[cfg(feature = "tflite")]
mod tflite;
#[cfg(not(feature = "tflite"))]
mod tflite {
    use super::*;
    use redisai_core::backend::NotCompiled;
    use redisai_core::model::BackendKind;
    pub fn loader() -> Arc<dyn BackendLoader> {
        Arc::new(NotCompiled(BackendKind::Tflite))
    }
}

#[cfg(feature = "torch")]
mod torch;
/// Builds a TorchScript module from source and returns it saved (for test fixtures).
#[cfg(feature = "torch")]
pub use torch::module_from_source as torch_module_from_source;
/// The same, with tensors registered as the module's parameters (weights of generated models).
#[cfg(feature = "torch")]
pub use torch::module_from_source_with_params as torch_module_from_source_with_params;
#[cfg(not(feature = "torch"))]
mod torch {
    use super::*;
    use redisai_core::backend::NotCompiled;
    use redisai_core::model::BackendKind;
    pub fn loader() -> Arc<dyn BackendLoader> {
        Arc::new(NotCompiled(BackendKind::Torch))
    }
}

/// Every backend's loader, compiled or not.
pub fn loaders() -> Vec<Arc<dyn BackendLoader>> {
    vec![
        tf::loader(),
        tflite::loader(),
        torch::loader(),
        onnx::loader(),
    ]
}

/// Registers every backend's loader in `registry`.
pub fn register_all(registry: &mut Registry) {
    for loader in loaders() {
        registry.register(loader);
    }
}
