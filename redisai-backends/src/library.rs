//! What the backends that open their runtime from a file share.

use std::path::Path;

/// Same file, symlinks resolved where the files exist: a second load of the library a process
/// already holds returns the same backend, any other file is refused.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
