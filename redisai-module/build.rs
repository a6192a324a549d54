//! Bakes in the fallback BACKENDSPATH (`.deps/backends` of this checkout) and the rpath to
//! libtorch, so `redis-server --loadmodule` needs no environment variable.
fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let backends = dir.parent().unwrap_or(dir).join(".deps").join("backends");
    println!(
        "cargo:rustc-env=REDISAI_DEFAULT_BACKENDS_PATH={}",
        backends.display()
    );
    println!("cargo:rerun-if-changed=build.rs");
    // libtorch is linked at build time (torch-sys): the module finds it through its rpath.
    println!("cargo:rerun-if-env-changed=DEP_REDISAI_TORCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_REDISAI_TORCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
}
