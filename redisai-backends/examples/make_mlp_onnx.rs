//! Writes the benchmark MLP as an ONNX model (for `benches/batching.sh`): input `x` FLOAT
//! [N,256] -> 1024 -> ReLU -> 1024 -> ReLU -> 10 -> output `y` FLOAT [N,10], dynamic batch dim,
//! fixed weights (tests/support/onnx_model.rs, the MLP of the ONNX tests). About 5.3 MB.
//!
//! ```text
//! cargo run --release -p redisai-backends --example make_mlp_onnx -- OUT.onnx [--probe]
//! ```
//!
//! `--probe` adds a second output `n`, FLOAT zeros of shape [N,N]: run with auto-batching, each
//! request's slice of it is [1,N], so `AI.TENSORGET n BLOB` is 4 bytes per request of the batch
//! the request ran in (the benchmark reads batch sizes off that).

#[path = "../tests/support/onnx_model.rs"]
mod onnx_model;

use anyhow::{bail, Context};
use onnx_model::{float_value_info, mlp_graph, model, node, node_with_ints};

fn main() -> anyhow::Result<()> {
    let mut path = None;
    let mut probe = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--probe" => probe = true,
            flag if flag.starts_with('-') => bail!("unknown flag {flag}"),
            _ if path.is_none() => path = Some(arg),
            _ => bail!("one output path only"),
        }
    }
    let path = path.context("usage: make_mlp_onnx OUT.onnx [--probe]")?;
    let mut graph = mlp_graph();
    if probe {
        graph = graph
            .msg(
                1,
                node_with_ints("Shape", &["x"], &["n0"], &[("start", 0), ("end", 1)]),
            )
            .msg(
                1,
                node_with_ints("Concat", &["n0", "n0"], &["nn"], &[("axis", 0)]),
            )
            .msg(1, node("ConstantOfShape", &["nn"], &["n"]))
            .msg(12, float_value_info("n", &[None, None]));
    }
    let bytes = model(graph);
    std::fs::write(&path, &bytes).with_context(|| format!("writing {path}"))?;
    println!("{path} ({} bytes)", bytes.len());
    Ok(())
}
