//! The low-level API: runs and DAGs over the tensors, models and scripts a program holds, not
//! over key names, whose completions hand back the output tensors. It is what RedisAI exports to
//! other Redis modules (its LLAPI, spec §7): `redisai-module` exports it over C, and a Rust
//! program calls it directly.
//!
//! - [`Run`]: one model or script run (RedisAI's run contexts); [`run_models`], a batch of them.
//! - [`DagBuilder`]: a DAG built op by op, or from a `|> op |> op` string.
//! - [`ApiError`]: an error with RedisAI's numeric code.
//!
//! Runs go through the engine's queues like any command: batching, devices and AI.INFO
//! counters are the same.

mod dag;
mod error;
mod run;

pub use dag::{DagBuilder, DagOutcome, DagRunOp};
pub use error::{ApiError, ErrorCode};
pub use run::{run_models, Run};
