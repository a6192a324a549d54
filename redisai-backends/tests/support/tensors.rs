//! FLOAT and INT64 tensors to and from Rust values, for the backends' test binaries.

#![allow(dead_code)] // each test binary uses what it needs

use bytes::Bytes;
use redisai_core::{DataType, Tensor};

pub fn floats(shape: Vec<usize>, values: &[f32]) -> Tensor {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    Tensor::from_blob(DataType::Float, shape, Bytes::from(data)).unwrap()
}

pub fn to_floats(t: &Tensor) -> Vec<f32> {
    assert_eq!(t.dtype(), DataType::Float);
    t.blob()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

pub fn to_i64s(t: &Tensor) -> Vec<i64> {
    assert_eq!(t.dtype(), DataType::Int64);
    t.blob()
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}
