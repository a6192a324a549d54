//! What a model is made of, as far as the grammar and the keyspace know it. The runnable part is
//! a backend's business.

/// The four backends of RedisAI, numbered as the RDB encoding numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    Tf = 0,
    Tflite = 1,
    Torch = 2,
    Onnx = 3,
}

impl BackendKind {
    pub const ALL: [BackendKind; 4] = [
        BackendKind::Tf,
        BackendKind::Tflite,
        BackendKind::Torch,
        BackendKind::Onnx,
    ];

    /// `TF`, `TFLITE`, `TORCH`, `ONNX`, case-insensitively.
    pub fn parse(name: &[u8]) -> Option<BackendKind> {
        BackendKind::ALL
            .into_iter()
            .find(|b| name.eq_ignore_ascii_case(b.name().as_bytes()))
    }

    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Tf => "TF",
            BackendKind::Tflite => "TFLITE",
            BackendKind::Torch => "TORCH",
            BackendKind::Onnx => "ONNX",
        }
    }
}

/// Auto-batching options of a model (0 = off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchOptions {
    pub size: u64,
    pub min_size: u64,
    /// Milliseconds.
    pub min_timeout: u64,
}
