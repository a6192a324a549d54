//! Bakes in the default BACKENDSPATH: `.deps/backends` of this checkout.
fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let backends = dir.parent().unwrap_or(dir).join(".deps").join("backends");
    println!(
        "cargo:rustc-env=REDISAI_DEFAULT_BACKENDS_PATH={}",
        backends.display()
    );
    println!("cargo:rerun-if-changed=build.rs");
}
