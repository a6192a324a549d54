//! ONNX models built at test time, for models too large to check in.
//!
//! `mlp()` is the benchmark MLP of tests/fixtures/onnx/make_onnx_fixtures.py (`--mlp`): input `x`
//! FLOAT [N,256] -> MatMul+Add+Relu (1024) -> MatMul+Add+Relu (1024) -> MatMul+Add (10) -> `y`
//! FLOAT [N,10]. Same architecture; the weights come from a fixed xorshift sequence here (numpy's
//! generator there), scaled by 1/sqrt(fan-in), biases zero. About 5.3 MB.
//!
//! The benchmark generators of `examples/` (`make_mlp_onnx`, `make_mlp_torch`,
//! `make_fraud_onnx`) include this file too: the TorchScript MLP has the same weights.
//!
//! A minimal protobuf writer is enough: ONNX models are plain proto3 messages.

#![allow(dead_code)] // each test crate that includes this uses part of it

/// Protobuf wire encoding, just what ONNX models need.
#[derive(Default)]
pub struct Message(pub Vec<u8>);

impl Message {
    fn varint(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }

    pub fn int(mut self, field: u64, v: i64) -> Self {
        self.varint(field << 3);
        self.varint(v as u64);
        self
    }

    pub fn bytes(mut self, field: u64, v: &[u8]) -> Self {
        self.varint(field << 3 | 2);
        self.varint(v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }

    pub fn str(self, field: u64, v: &str) -> Self {
        self.bytes(field, v.as_bytes())
    }

    pub fn msg(self, field: u64, m: Message) -> Self {
        self.bytes(field, &m.0)
    }
}

/// ONNX TensorProto.DataType FLOAT.
pub const FLOAT: i64 = 1;

/// A ValueInfoProto for a FLOAT tensor; a dim is a size or, when `None`, the symbol `N`.
pub fn float_value_info(name: &str, dims: &[Option<i64>]) -> Message {
    let mut shape = Message::default();
    for d in dims {
        let dim = match d {
            Some(v) => Message::default().int(1, *v),
            None => Message::default().str(2, "N"),
        };
        shape = shape.msg(1, dim);
    }
    let tensor_type = Message::default().int(1, FLOAT).msg(2, shape);
    let ty = Message::default().msg(1, tensor_type);
    Message::default().str(1, name).msg(2, ty)
}

/// A NodeProto.
pub fn node(op: &str, inputs: &[&str], outputs: &[&str]) -> Message {
    let mut n = Message::default();
    for i in inputs {
        n = n.str(1, i);
    }
    for o in outputs {
        n = n.str(2, o);
    }
    n.str(4, op)
}

/// A NodeProto with INT attributes.
pub fn node_with_ints(
    op: &str,
    inputs: &[&str],
    outputs: &[&str],
    attributes: &[(&str, i64)],
) -> Message {
    let mut n = node(op, inputs, outputs);
    for (name, v) in attributes {
        // AttributeProto: name (1), i (3), type (20) = INT (2)
        n = n.msg(5, Message::default().str(1, name).int(3, *v).int(20, 2));
    }
    n
}

/// A FLOAT initializer with raw (little-endian) data.
pub fn float_initializer(name: &str, dims: &[i64], values: &[f32]) -> Message {
    let mut t = Message::default();
    for d in dims {
        t = t.int(1, *d);
    }
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.int(2, FLOAT).str(8, name).bytes(9, &raw)
}

/// A ModelProto (IR 8, opset 17) around a graph.
pub fn model(graph: Message) -> Vec<u8> {
    let opset = Message::default().str(1, "").int(2, 17);
    Message::default()
        .int(1, 8)
        .str(2, "redisai-rs tests")
        .msg(8, opset)
        .msg(7, graph)
        .0
}

/// A dense layer: `w` is [n_in, n_out] (row-major), `b` is [n_out].
pub struct Dense {
    pub n_in: i64,
    pub n_out: i64,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

/// Dense layers of the given sizes, their weights drawn from a xorshift sequence started at
/// `seed` (uniform in [-1, 1), scaled by 1/sqrt(fan-in)), layer after layer; biases zero.
pub fn dense_layers(sizes: &[i64], seed: u64) -> Vec<Dense> {
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // uniform in [-1, 1)
        (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    sizes
        .windows(2)
        .map(|pair| {
            let (n_in, n_out) = (pair[0], pair[1]);
            let scale = 1.0 / (n_in as f32).sqrt();
            Dense {
                n_in,
                n_out,
                w: (0..n_in * n_out).map(|_| next() * scale).collect(),
                b: vec![0f32; n_out as usize],
            }
        })
        .collect()
}

/// The layers of the benchmark MLP (see the module docs).
pub fn mlp_layers() -> Vec<Dense> {
    dense_layers(&[256, 1024, 1024, 10], 0x2545_f491_4f6c_dd1d)
}

/// Adds `layers` to `graph`: `input` -> MatMul+Add, with Relu between layers, -> `output`.
/// Initializers and intermediate values are named `w{i}`, `b{i}`, `mm{i}`, `pre{i}`, `h{i}`.
pub fn dense_nodes(mut graph: Message, layers: &[Dense], input: &str, output: &str) -> Message {
    let mut prev = input.to_string();
    for (i, layer) in layers.iter().enumerate() {
        let last = i + 1 == layers.len();
        let (wn, bn, mm, pre) = (
            format!("w{i}"),
            format!("b{i}"),
            format!("mm{i}"),
            format!("pre{i}"),
        );
        let out = if last {
            output.to_string()
        } else {
            format!("h{i}")
        };
        graph = graph
            .msg(
                5,
                float_initializer(&wn, &[layer.n_in, layer.n_out], &layer.w),
            )
            .msg(5, float_initializer(&bn, &[layer.n_out], &layer.b))
            .msg(1, node("MatMul", &[&prev, &wn], &[&mm]));
        if last {
            graph = graph.msg(1, node("Add", &[&mm, &bn], &[&out]));
        } else {
            graph = graph
                .msg(1, node("Add", &[&mm, &bn], &[&pre]))
                .msg(1, node("Relu", &[&pre], &[&out]));
        }
        prev = out;
    }
    graph
}

/// The benchmark MLP's graph (see the module docs); more nodes and outputs may be appended.
pub fn mlp_graph() -> Message {
    dense_nodes(Message::default().str(2, "mlp"), &mlp_layers(), "x", "y")
        .msg(11, float_value_info("x", &[None, Some(256)]))
        .msg(12, float_value_info("y", &[None, Some(10)]))
}

/// The benchmark MLP (see the module docs).
pub fn mlp() -> Vec<u8> {
    model(mlp_graph())
}
