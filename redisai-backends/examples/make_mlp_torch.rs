//! Writes the benchmark MLP as a TorchScript module (for `benches/batching.sh`), built with the
//! backend's C++ shim (no Python torch): `forward(x)` with `x` FLOAT [N,256] -> 1024 -> ReLU ->
//! 1024 -> ReLU -> 10, returning FLOAT [N,10]. The weights are module parameters, the same
//! values as the ONNX MLP (`make_mlp_onnx`, tests/support/onnx_model.rs), so both models give
//! the same outputs. About 5.3 MB.
//!
//! ```text
//! cargo run --release -p redisai-backends --features torch --example make_mlp_torch -- OUT.pt [--probe]
//! ```
//!
//! `--probe` returns a second output, FLOAT zeros of shape [N,N], as `make_mlp_onnx --probe`.

#[path = "../tests/support/onnx_model.rs"]
mod onnx_model;

use anyhow::{bail, Context};
use bytes::Bytes;
use redisai_core::tensor::{DataType, Tensor};

fn floats(shape: &[i64], values: &[f32]) -> anyhow::Result<Tensor> {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let shape = shape.iter().map(|&d| d as usize).collect();
    Ok(Tensor::from_blob(
        DataType::Float,
        shape,
        Bytes::from(data),
    )?)
}

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
    let path = path.context("usage: make_mlp_torch OUT.pt [--probe]")?;

    let layers = onnx_model::mlp_layers();
    let mut names = Vec::new();
    let mut tensors = Vec::new();
    let mut body = String::from("def forward(self, x):\n    h = x\n");
    for (i, layer) in layers.iter().enumerate() {
        names.push((format!("w{i}"), format!("b{i}")));
        tensors.push((
            floats(&[layer.n_in, layer.n_out], &layer.w)?,
            floats(&[layer.n_out], &layer.b)?,
        ));
        body += &format!("    h = h.matmul(self.w{i}) + self.b{i}\n");
        if i + 1 < layers.len() {
            body += "    h = torch.relu(h)\n";
        }
    }
    body += if probe {
        "    return h, torch.zeros([x.shape[0], x.shape[0]])\n"
    } else {
        "    return h\n"
    };
    let params: Vec<(&str, &Tensor)> = names
        .iter()
        .zip(&tensors)
        .flat_map(|((wn, bn), (w, b))| [(wn.as_str(), w), (bn.as_str(), b)])
        .collect();
    let bytes = redisai_backends::torch_module_from_source_with_params(&body, &params)
        .context("building the TorchScript module")?;
    std::fs::write(&path, &bytes).with_context(|| format!("writing {path}"))?;
    println!("{path} ({} bytes)", bytes.len());
    Ok(())
}
