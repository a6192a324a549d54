//! Writes the fraud-detection benchmark model as ONNX (for `benches/batching.sh`), the shape of
//! RedisAI's fraud-detection demo: inputs `transaction` FLOAT [N,30] and `reference` FLOAT
//! [N,256], output `output` FLOAT [N,2], the softmax of a small dense net over their
//! concatenation: 286 -> 256 -> ReLU -> 128 -> ReLU -> 2 -> Softmax. Fixed weights (a xorshift
//! sequence, tests/support/onnx_model.rs). About 0.4 MB.
//!
//! ```text
//! cargo run --release -p redisai-backends --example make_fraud_onnx -- OUT.onnx
//! ```

#[path = "../tests/support/onnx_model.rs"]
mod onnx_model;

use anyhow::{bail, Context};
use onnx_model::{dense_layers, dense_nodes, float_value_info, model, node_with_ints, Message};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path] = &args[..] else {
        bail!("usage: make_fraud_onnx OUT.onnx");
    };
    let layers = dense_layers(&[30 + 256, 256, 128, 2], 0x9e37_79b9_7f4a_7c15);
    let graph = Message::default().str(2, "fraud").msg(
        1,
        node_with_ints(
            "Concat",
            &["transaction", "reference"],
            &["features"],
            &[("axis", 1)],
        ),
    );
    let graph = dense_nodes(graph, &layers, "features", "logits")
        .msg(
            1,
            node_with_ints("Softmax", &["logits"], &["output"], &[("axis", 1)]),
        )
        .msg(11, float_value_info("transaction", &[None, Some(30)]))
        .msg(11, float_value_info("reference", &[None, Some(256)]))
        .msg(12, float_value_info("output", &[None, Some(2)]));
    let bytes = model(graph);
    std::fs::write(path, &bytes).with_context(|| format!("writing {path}"))?;
    println!("{path} ({} bytes)", bytes.len());
    Ok(())
}
