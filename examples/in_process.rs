//! The engine in-process: a Rust program stores and reads tensors with `redisai-core` alone,
//! no Redis and no server. Run it with `cargo run -p redisai-examples --example in_process`.

use redisai_core::command::{tensor_reply, DataFormat};
use redisai_core::{Bytes, DataType, Engine, MemoryKeyspace, Reply, Tensor};

fn argv(line: &str) -> Vec<Bytes> {
    line.split_whitespace()
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

fn main() -> anyhow::Result<()> {
    let engine = Engine::default();
    let mut keyspace = MemoryKeyspace::new();

    // Typed API: build a tensor from little-endian bytes and store it.
    let blob: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let tensor = Tensor::from_blob(DataType::Float, vec![2, 2], Bytes::from(blob))?;
    engine.tensor_set(&mut keyspace, Bytes::from_static(b"a"), tensor)?;

    let a = engine.tensor_get(&keyspace, b"a")?;
    println!("a: dtype {} shape {:?}", a.dtype().name(), a.shape());
    println!(
        "a as VALUES: {:?}",
        tensor_reply(&a, false, Some(DataFormat::Values))
    );

    // The same commands a Redis client would send, answered by the same engine.
    for line in [
        "AI.TENSORSET b INT8 3 VALUES -1 0 1",
        "AI.TENSORGET b META VALUES",
        "AI.TENSORSET names STRING 2 VALUES first second",
        "AI.TENSORGET names VALUES",
        "AI.TENSORGET missing",
    ] {
        let reply = engine.call_blocking(&argv(line), &mut keyspace, None);
        println!(
            "{line}\n  -> {}",
            show(reply.as_ref().unwrap_or(&Reply::Null))
        );
    }
    Ok(())
}

fn show(r: &Reply) -> String {
    match r {
        Reply::Simple(s) => s.to_string(),
        Reply::Status(s) => s.clone(),
        Reply::Error(e) => format!("(error) {e}"),
        Reply::Int(i) => i.to_string(),
        Reply::Double(d) => d.to_string(),
        Reply::Bulk(b) => format!("{:?}", String::from_utf8_lossy(b)),
        Reply::Null => "(nil)".into(),
        Reply::Array(items) => format!(
            "[{}]",
            items.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        Reply::Values(t) => show(&t.values_reply()),
        Reply::Map(pairs) => format!(
            "{{{}}}",
            pairs
                .iter()
                .map(|(k, v)| format!("{}: {}", show(k), show(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
