//! # redisai-backends
//!
//! The runtimes behind redisai-core's `Backend` trait, each behind a cargo feature. A backend
//! whose feature is off is still registered, under the same name, as "not compiled": it names
//! itself and answers a clear error, so the adapters carry no `cfg`.
//!
//! ## Layout
//! - `onnx`: ONNX Runtime (`ort`, library loaded at run time).
//! - `torch`: libtorch (`tch`) and TorchScript scripts (a C++ shim).
//! - TF and TFLITE are not built yet: always "not compiled".

use std::sync::Arc;

use redisai_core::backend::{BackendLoader, NotCompiled, Registry};
use redisai_core::model::BackendKind;

#[cfg(feature = "onnx")]
mod onnx;
#[cfg(not(feature = "onnx"))]
mod onnx {
    use super::*;
    pub fn loader() -> Arc<dyn BackendLoader> {
        Arc::new(NotCompiled(BackendKind::Onnx))
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
    pub fn loader() -> Arc<dyn BackendLoader> {
        Arc::new(NotCompiled(BackendKind::Torch))
    }
}

/// Every backend's loader, compiled or not.
pub fn loaders() -> Vec<Arc<dyn BackendLoader>> {
    vec![
        Arc::new(NotCompiled(BackendKind::Tf)),
        Arc::new(NotCompiled(BackendKind::Tflite)),
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
