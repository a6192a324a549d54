//! Writes the benchmark MLP as a frozen TensorFlow GraphDef (for `benches/batching.sh`):
//! Placeholder `x` FLOAT [-1,256] -> MatMul+BiasAdd+Relu (1024) -> MatMul+BiasAdd+Relu (1024) ->
//! MatMul+BiasAdd (10) -> Identity `y` FLOAT [N,10]. The weights are Const nodes, the same values
//! as the ONNX MLP (`make_mlp_onnx`, tests/support/onnx_model.rs), so the models give the same
//! outputs. About 5.3 MB. No TensorFlow needed: the GraphDef is written with the protobuf writer
//! of tests/support/onnx_model.rs.
//!
//! ```text
//! cargo run --release -p redisai-backends --features tf --example make_mlp_tf -- OUT.pb [--probe]
//! ```
//!
//! `--probe` adds a second output, Identity `n`, FLOAT zeros of shape [N,N] (N = dim 0 of `x`),
//! as `make_mlp_onnx --probe`: Shape(x) -> StridedSlice [0] -> Pack [N,N] -> Fill 0.0.

#[path = "../tests/support/onnx_model.rs"]
mod onnx_model;

use anyhow::{bail, Context};
use onnx_model::Message;

/// The GraphDef's `versions.producer` (TF_GRAPH_DEF_VERSION of the writer; any TF 2 reads it).
const PRODUCER: i64 = 1286;

/// tensorflow.DataType values.
const DT_FLOAT: i64 = 1;
const DT_INT32: i64 = 3;

/// An AttrValue.
enum Attr<'a> {
    /// `type` (6)
    Type(i64),
    /// `i` (3)
    Int(i64),
    /// `b` (5)
    Bool(bool),
    /// `s` (2)
    Str(&'a str),
    /// `shape` (7): a TensorShapeProto, a dim of -1 is unknown
    Shape(&'a [i64]),
    /// `tensor` (8): a TensorProto
    Tensor(Message),
}

impl Attr<'_> {
    fn message(self) -> Message {
        let m = Message::default();
        match self {
            Attr::Type(t) => m.int(6, t),
            Attr::Int(i) => m.int(3, i),
            Attr::Bool(b) => m.int(5, b as i64),
            Attr::Str(s) => m.str(2, s),
            Attr::Shape(dims) => m.msg(7, shape(dims)),
            Attr::Tensor(t) => m.msg(8, t),
        }
    }
}

/// A TensorShapeProto: `dim` (2) entries of `size` (1).
fn shape(dims: &[i64]) -> Message {
    dims.iter().fold(Message::default(), |m, &d| {
        m.msg(2, Message::default().int(1, d))
    })
}

/// A TensorProto: `dtype` (1), `tensor_shape` (2), `tensor_content` (4, little-endian).
fn tensor(dtype: i64, dims: &[i64], content: Vec<u8>) -> Message {
    Message::default()
        .int(1, dtype)
        .msg(2, shape(dims))
        .bytes(4, &content)
}

fn float_tensor(dims: &[i64], values: &[f32]) -> Message {
    let content = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    tensor(DT_FLOAT, dims, content)
}

fn int32_tensor(dims: &[i64], values: &[i32]) -> Message {
    let content = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    tensor(DT_INT32, dims, content)
}

/// A NodeDef: `name` (1), `op` (2), `input` (3), `attr` (5, map entries of key 1, value 2).
fn node(name: &str, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>) -> Message {
    let mut n = Message::default().str(1, name).str(2, op);
    for i in inputs {
        n = n.str(3, i);
    }
    for (key, value) in attrs {
        n = n.msg(5, Message::default().str(1, key).msg(2, value.message()));
    }
    n
}

fn constant(name: &str, dtype: i64, value: Message) -> Message {
    node(
        name,
        "Const",
        &[],
        vec![("dtype", Attr::Type(dtype)), ("value", Attr::Tensor(value))],
    )
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
    let path = path.context("usage: make_mlp_tf OUT.pb [--probe]")?;

    let float = || Attr::Type(DT_FLOAT);
    let int32 = || Attr::Type(DT_INT32);
    let mut nodes = vec![node(
        "x",
        "Placeholder",
        &[],
        vec![("dtype", float()), ("shape", Attr::Shape(&[-1, 256]))],
    )];
    let layers = onnx_model::mlp_layers();
    let mut prev = "x".to_string();
    for (i, layer) in layers.iter().enumerate() {
        let (w, b, mm, pre, h) = (
            format!("mlp/w{i}"),
            format!("mlp/b{i}"),
            format!("mlp/matmul{i}"),
            format!("mlp/add{i}"),
            format!("mlp/relu{i}"),
        );
        nodes.push(constant(
            &w,
            DT_FLOAT,
            float_tensor(&[layer.n_in, layer.n_out], &layer.w),
        ));
        nodes.push(constant(
            &b,
            DT_FLOAT,
            float_tensor(&[layer.n_out], &layer.b),
        ));
        nodes.push(node(
            &mm,
            "MatMul",
            &[&prev, &w],
            vec![
                ("T", float()),
                ("transpose_a", Attr::Bool(false)),
                ("transpose_b", Attr::Bool(false)),
            ],
        ));
        nodes.push(node(
            &pre,
            "BiasAdd",
            &[&mm, &b],
            vec![("T", float()), ("data_format", Attr::Str("NHWC"))],
        ));
        prev = pre;
        if i + 1 < layers.len() {
            nodes.push(node(&h, "Relu", &[&prev], vec![("T", float())]));
            prev = h;
        }
    }
    nodes.push(node("y", "Identity", &[&prev], vec![("T", float())]));

    if probe {
        // N = Shape(x)[0] (a scalar), then Fill([N, N], 0.0).
        nodes.push(node(
            "probe/shape",
            "Shape",
            &["x"],
            vec![("T", float()), ("out_type", int32())],
        ));
        for (name, v) in [("probe/begin", 0), ("probe/end", 1), ("probe/strides", 1)] {
            nodes.push(constant(name, DT_INT32, int32_tensor(&[1], &[v])));
        }
        nodes.push(node(
            "probe/n",
            "StridedSlice",
            &["probe/shape", "probe/begin", "probe/end", "probe/strides"],
            vec![
                ("T", int32()),
                ("Index", int32()),
                ("begin_mask", Attr::Int(0)),
                ("end_mask", Attr::Int(0)),
                ("ellipsis_mask", Attr::Int(0)),
                ("new_axis_mask", Attr::Int(0)),
                ("shrink_axis_mask", Attr::Int(1)),
            ],
        ));
        nodes.push(node(
            "probe/nn",
            "Pack",
            &["probe/n", "probe/n"],
            vec![("N", Attr::Int(2)), ("T", int32()), ("axis", Attr::Int(0))],
        ));
        nodes.push(constant("probe/zero", DT_FLOAT, float_tensor(&[], &[0.0])));
        nodes.push(node(
            "probe/zeros",
            "Fill",
            &["probe/nn", "probe/zero"],
            vec![("T", float()), ("index_type", int32())],
        ));
        nodes.push(node(
            "n",
            "Identity",
            &["probe/zeros"],
            vec![("T", float())],
        ));
    }

    // GraphDef: `node` (1), `versions` (4, a VersionDef: `producer` (1)).
    let graph = nodes
        .into_iter()
        .fold(Message::default(), |g, n| g.msg(1, n))
        .msg(4, Message::default().int(1, PRODUCER));
    let bytes = graph.0;
    std::fs::write(&path, &bytes).with_context(|| format!("writing {path}"))?;
    println!("{path} ({} bytes)", bytes.len());
    Ok(())
}
