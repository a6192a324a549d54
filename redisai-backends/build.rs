//! Build script. The TORCH backend compiles its C++ shim (TorchScript source,
//! custom operators, model schemas) against the libtorch that `torch-sys` found, and makes the
//! crate's own tests and examples find libtorch at run time (rpath). The ONNX backend compiles
//! the allocator entry points that BACKEND_MEMORY_LIMIT needs (`shim/ort_alloc.cpp`).
//!
//! libtorch is located by torch-sys from `LIBTORCH`, which the workspace's `.cargo/config.toml`
//! sets to `.deps/libtorch/torch` (filled by `scripts/bootstrap`). torch-sys tells this script
//! where the libraries are (`DEP_TCH_LIBTORCH_LIB`, from its `links = "tch"`); this script passes
//! the same directory on as `DEP_REDISAI_TORCH_LIBTORCH_LIB` to packages depending on this one,
//! because an rpath given here (`rustc-link-arg`) only reaches this package's own binaries: a
//! binary crate (redisai-server) must emit `-Wl,-rpath,<dir>` from its own build script.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "torch")]
    torch::build();
    #[cfg(feature = "onnx")]
    onnx::build();
}

/// ONNX: the allocator entry points that throw for BACKEND_MEMORY_LIMIT (a few lines of C++;
/// see the file).
#[cfg(feature = "onnx")]
mod onnx {
    const SHIM: &str = "shim/ort_alloc.cpp";

    pub fn build() {
        println!("cargo:rerun-if-changed={SHIM}");
        cc::Build::new()
            .cpp(true)
            .std("c++17")
            .flag_if_supported("-fexceptions")
            .file(SHIM)
            .compile("redisai_ort_alloc");
    }
}

#[cfg(feature = "torch")]
mod torch {
    use std::path::PathBuf;

    const SHIM: &str = "shim/torch_shim.cpp";

    pub fn build() {
        println!("cargo:rerun-if-changed={SHIM}");
        println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
        let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
            panic!("torch-sys did not report the libtorch lib dir (DEP_TCH_LIBTORCH_LIB): run scripts/bootstrap");
        };
        let lib = PathBuf::from(lib);
        let include = lib.parent().map(|p| p.join("include")).unwrap_or_default();
        if !include.join("torch").is_dir() {
            panic!(
                "libtorch headers not found in {}: run scripts/bootstrap (it unzips libtorch into .deps/libtorch)",
                include.display()
            );
        }
        cc::Build::new()
            .cpp(true)
            .std("c++17")
            .define("_GLIBCXX_USE_CXX11_ABI", "1")
            // torch 2.13's headers warn a lot (C++20 bit-field initializers)
            .warnings(false)
            .flag_if_supported("-w")
            .include(&include)
            .include(include.join("torch/csrc/api/include"))
            .file(SHIM)
            .compile("redisai_torch_shim");
        // Tests and examples of this package find libtorch without LD_LIBRARY_PATH.
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        // For dependents' build scripts: DEP_REDISAI_TORCH_LIBTORCH_LIB.
        println!("cargo:libtorch_lib={}", lib.display());
    }
}
