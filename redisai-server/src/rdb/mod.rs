//! Redis's own persistence formats, in pure Rust: whole RDB files and DUMP payloads.
//!
//! ## Layout
//! - [`encodings`]: listpack and ziplist.
//! - [`lzf`], [`crc64`]: the compression and checksum Redis uses.

pub mod crc64;
pub mod encodings;
pub mod lzf;
