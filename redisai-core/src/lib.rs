//! # redisai-core
//!
//! The RedisAI engine as a pure library: no Redis, no tokio, no native library. The Redis
//! module, the standalone server and Rust programs are three faces of this one engine.
//!
//! ## Layout
//! - [`tensor`]: dtypes, shapes, the BLOB/VALUES codecs, dim-0 concat and slice.
//! - [`args`]: the one argument cursor every face feeds.
//! - [`command`]: one module per `AI.*` command, each a typed struct with a pure `parse`.
//! - [`engine`]: [`Engine`], which runs parsed commands against a [`Keyspace`].
//! - [`backend`]: the `Backend` traits and the lazy `Registry`; runtimes live in
//!   `redisai-backends`.
//! - [`exec`]: prepared runs, the per-device run queues and their workers; [`handoff`]: what
//!   sending a run to a worker costs on this machine.
//! - [`codec`]: the RDB value payloads of tensors, models and scripts (v4 written, v0..v4
//!   read) and the commands an AOF rewrite emits.
//! - [`model`], [`stats`]: stored models and scripts, and their AI.INFO counters.
//! - [`info`]: RedisAI's INFO sections; [`config`]: load-time configuration.
//! - [`keyspace`]: the [`Keyspace`] trait and [`MemoryKeyspace`].
//! - [`reply`]: [`Reply`], which each face translates to its wire format.
//! - [`error`]: [`Error`], whose `Display` is the exact wire text.
//!
//! ```
//! use bytes::Bytes;
//! use redisai_core::{Engine, MemoryKeyspace, Reply};
//!
//! let engine = Engine::default();
//! let mut ks = MemoryKeyspace::new();
//! let argv = |s: &str| s.split(' ').map(|a| Bytes::copy_from_slice(a.as_bytes())).collect::<Vec<_>>();
//! let ok = engine.call_blocking(&argv("AI.TENSORSET t FLOAT 2 VALUES 1 2"), &mut ks, None);
//! assert_eq!(ok, Some(Reply::OK));
//! ```

pub mod args;
pub mod backend;
pub mod codec;
pub mod command;
pub mod config;
pub mod device;
pub mod engine;
pub mod error;
pub mod exec;
pub mod handoff;
pub mod info;
pub mod keyspace;
pub mod lowlevel;
#[cfg(feature = "mock")]
pub mod mock;
pub mod model;
pub mod reply;
pub mod stats;
pub mod tensor;

pub use bytes::Bytes;
pub use engine::{CallContext, Engine, EngineConfig, Outcome};
pub use error::{Error, Result};
pub use exec::{Completion, Submitted};
pub use keyspace::{Keyspace, MemoryKeyspace, Value};
pub use reply::Reply;
pub use tensor::{DataType, Tensor};
