//! The backend a test binary tests (its crate root names it: `const KIND: BackendKind`),
//! loaded once from what scripts/bootstrap installed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use redisai_core::backend::{Backend, BackendLoader};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn loader() -> Arc<dyn BackendLoader> {
    redisai_backends::loaders()
        .into_iter()
        .find(|l| l.kind() == crate::KIND)
        .expect("a loader for every backend")
}

pub fn library() -> PathBuf {
    repo_root()
        .join(".deps/backends")
        .join(loader().default_file())
}

/// The backend, loaded once for the whole test binary; `None` (after a note) when the library
/// is absent and this is not CI.
pub fn backend() -> Option<Arc<dyn Backend>> {
    static BACKEND: OnceLock<Option<Arc<dyn Backend>>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let lib = library();
            if !lib.exists() {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("{} is missing: run scripts/bootstrap", lib.display());
                }
                // Straight to stderr: the test harness would swallow eprintln! of a passing test.
                let _ = writeln!(
                    std::io::stderr(),
                    "note: {} is missing (run scripts/bootstrap); skipping the {} tests",
                    lib.display(),
                    crate::KIND.name()
                );
                return None;
            }
            Some(loader().load(&lib).expect("the runtime loads"))
        })
        .clone()
}

#[allow(unused_macros)]
macro_rules! backend_or_skip {
    () => {
        match backend() {
            Some(b) => b,
            None => return,
        }
    };
}
