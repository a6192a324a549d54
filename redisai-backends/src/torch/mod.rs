//! The TORCH backend: TorchScript models (AI.MODELSTORE) and scripts (AI.SCRIPTSTORE) on
//! libtorch 2.13.0.
//!
//! ## Layout
//! - `ffi`: the C ABI of `shim/torch_shim.cpp`, a small C++ translation unit built by `build.rs`
//!   that does what `tch` cannot: compile TorchScript source with `redis`/`redisAI` in scope,
//!   read schemas, register the `redis.execute` / `redisAI.model_execute` operators, load a saved
//!   module from memory with its `forward` argument names.
//! - `convert`: our tensors to and from libtorch (one copy each way).
//! - `model`: [`ModelRunner`] over a saved module.
//! - `script`: [`ScriptRunner`] over a compilation unit: entry points and RedisAI's "best effort"
//!   argument mapping.
//! - `host`: the callbacks of the custom operators into the caller's [`ScriptHost`].
//!
//! ## Library
//! libtorch is linked at build time (torch-sys, `LIBTORCH` from the workspace's
//! `.cargo/config.toml`, filled by `scripts/bootstrap`), so [`TorchLoader::load`] loads nothing:
//! it checks that the path names the libtorch this process runs on, `libtorch_cpu.so` as mapped
//! into it (`/proc/self/maps`: Linux), or a directory holding it, and refuses anything else.
//! `scripts/bootstrap` links `.deps/backends/redisai_torch/libtorch_cpu.so` (the default file
//! under the default BACKENDSPATH) to it. INFO reports `Torch_version:NA`, as RedisAI does.
//!
//! [`ScriptHost`]: redisai_core::backend::ScriptHost

mod convert;
mod ffi;
mod host;
#[cfg(target_arch = "x86_64")]
mod mkl;
mod model;
mod script;

use std::ffi::c_int;
use std::os::unix::fs::MetadataExt;
use std::panic::catch_unwind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redisai_core::backend::{
    Backend, BackendLoader, ModelConfig, ModelRunner, ScriptConfig, ScriptRunner,
};
use redisai_core::device::Device;
use redisai_core::error::{Error, Result};
use redisai_core::model::BackendKind;
use redisai_core::tensor::Tensor;

/// The loader `lib.rs` registers.
pub fn loader() -> Arc<dyn BackendLoader> {
    Arc::new(TorchLoader)
}

/// Builds a module from TorchScript source (`def forward(self, ...)` and other methods) and
/// returns it saved, as `torch.jit.save` would write it. For test fixtures: no Python needed.
pub fn module_from_source(source: &str) -> Result<Vec<u8>> {
    module_from_source_with_params(source, &[])
}

/// As [`module_from_source`], with tensors registered as the module's parameters first, so that
/// the methods can use them as `self.<name>` (a model's weights, for generated benchmark models).
pub fn module_from_source_with_params(source: &str, params: &[(&str, &Tensor)]) -> Result<Vec<u8>> {
    let names: Vec<ffi::RaiStr> = params
        .iter()
        .map(|(name, _)| ffi::RaiStr::new(name.as_bytes()))
        .collect();
    let inputs = convert::Inputs::new(params.iter().map(|(_, t)| *t))?;
    let descs = inputs.descs(params.iter().map(|(_, t)| *t));
    let mut out = std::ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: the shim copies the source and the parameters (which `params` keeps alive, their
    // dims held by `inputs`) and returns a malloc'd buffer of `len` bytes.
    unsafe {
        if let Some(e) = ffi::take_error(ffi::rai_module_from_source(
            source.as_ptr().cast(),
            source.len(),
            names.as_ptr(),
            descs.as_ptr(),
            descs.len(),
            &mut out,
            &mut len,
        )) {
            return Err(Error::backend(e));
        }
        let bytes = if out.is_null() {
            Vec::new()
        } else {
            std::slice::from_raw_parts(out.cast::<u8>(), len).to_vec()
        };
        ffi::rai_free(out);
        Ok(bytes)
    }
}

/// Loads the TORCH backend (libtorch is already linked in).
pub struct TorchLoader;

impl BackendLoader for TorchLoader {
    fn kind(&self) -> BackendKind {
        BackendKind::Torch
    }

    fn default_file(&self) -> &'static str {
        "redisai_torch/libtorch_cpu.so"
    }

    /// libtorch is linked at build time: `path` is not opened, only checked to be the libtorch
    /// in this process ([`check_libtorch_path`]). RedisAI's `LOADBACKEND TORCH <path>` and the
    /// default BACKENDSPATH file both end up here.
    fn load(&self, path: &Path) -> Result<Arc<dyn Backend>> {
        check_libtorch_path(path)?;
        // SAFETY: registers the operators once per process; the callbacks are 'static fns.
        let err =
            unsafe { ffi::take_error(ffi::rai_init(host::exec_callback, host::model_callback)) };
        if let Some(e) = err {
            return Err(Error::backend(e));
        }
        Ok(Arc::new(TorchBackend))
    }
}

/// The library of libtorch's CPU code, which a path given to the loader must name.
const LIBTORCH_FILE: &str = "libtorch_cpu.so";

/// Checks that `path` is the libtorch this process runs on: the `libtorch_cpu.so` file mapped
/// into it (through any symlink), or a directory whose `libtorch_cpu.so` is that file (libtorch's
/// `lib` directory, BACKENDSPATH's `redisai_torch`). Files are compared canonicalized, or by
/// device and inode (a hard link, a bind mount).
fn check_libtorch_path(path: &Path) -> Result<()> {
    let refuse = |why: String| Error::backend(format!("ERR TORCH: {}: {why}", path.display()));
    let given = std::fs::canonicalize(path).map_err(|e| refuse(e.to_string()))?;
    let file = if given.is_dir() {
        std::fs::canonicalize(given.join(LIBTORCH_FILE))
            .map_err(|_| refuse(format!("no {LIBTORCH_FILE} in this directory")))?
    } else {
        given
    };
    let loaded = loaded_libtorch().map_err(refuse)?;
    let same_file = |a: &Path, b: &Path| match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    };
    if file == loaded || same_file(&file, &loaded) {
        return Ok(());
    }
    Err(refuse(format!(
        "not the libtorch this process runs on ({})",
        loaded.display()
    )))
}

/// The `libtorch_cpu.so` mapped into this process, canonicalized (as `/proc/self/maps` names it).
fn loaded_libtorch() -> std::result::Result<PathBuf, String> {
    let maps = std::fs::read_to_string("/proc/self/maps")
        .map_err(|e| format!("cannot read /proc/self/maps: {e}"))?;
    // `address perms offset dev inode path`: the path is the rest of the line from its first `/`
    // (the other fields hold none).
    maps.lines()
        .filter_map(|line| line.find('/').map(|i| Path::new(&line[i..])))
        .find(|p| p.file_name().is_some_and(|n| n == LIBTORCH_FILE))
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()))
        .ok_or_else(|| format!("{LIBTORCH_FILE} is not loaded in this process"))
}

/// libtorch, loaded.
pub struct TorchBackend;

impl Backend for TorchBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Torch
    }

    fn info(&self, _worker_threads: usize) -> Vec<(String, String)> {
        vec![("Torch_version".into(), "NA".into())]
    }

    fn load_model(&self, blob: &[u8], config: &ModelConfig) -> Result<Arc<dyn ModelRunner>> {
        let (device_type, device_index) = device_args(config.device)?;
        set_threads(config.intra_op_threads, config.inter_op_threads)?;
        Ok(Arc::new(
            model::TorchModel::load(blob, device_type, device_index)?
                .with_intra_op_threads(config.intra_op_threads),
        ))
    }

    fn compile_script(&self, source: &str, config: &ScriptConfig) -> Result<Arc<dyn ScriptRunner>> {
        let (device_type, device_index) = device_args(config.device)?;
        Ok(Arc::new(script::TorchScript::compile(
            source,
            device_type,
            device_index,
            config.entry_points,
        )?))
    }
}

/// The shim's device arguments; a GPU needs a libtorch built with CUDA (ours, from the
/// bootstrap, is not).
fn device_args(device: Device) -> Result<(c_int, c_int)> {
    match device {
        Device::Cpu => Ok((0, 0)),
        Device::Gpu(n) => {
            let cuda = catch_unwind(tch::Cuda::is_available).unwrap_or(false);
            if !cuda {
                return Err(Error::backend("GPU requested but Torch couldn't find CUDA"));
            }
            let index = c_int::try_from(n).map_err(|_| Error::InvalidDevice)?;
            Ok((1, index))
        }
    }
}

/// Intra/inter-op threads from the configuration (0 = libtorch's default), set when they differ
/// from the current ones. The inter-op pool can be sized only once per process and before any
/// parallel work: after that a different value fails with RedisAI's text, and never panics.
fn set_threads(intra: u64, inter: u64) -> Result<()> {
    let intra = i64::try_from(intra).unwrap_or(i64::MAX);
    let inter = i64::try_from(inter).unwrap_or(i64::MAX);
    if intra == 0 && inter == 0 {
        return Ok(());
    }
    // SAFETY: plain values in, a shim error string out.
    match unsafe { ffi::take_error(ffi::rai_set_threads(intra, inter)) } {
        Some(e) => Err(Error::backend(e)),
        None => Ok(()),
    }
}
