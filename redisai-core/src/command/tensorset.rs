//! AI.TENSORSET
//!
//! ```text
//! AI.TENSORSET key type [dim ...] [BLOB data | VALUES v1 .. vN]
//! ```
//! The tensor is built and validated here: parsing is pure, and a bad blob never reaches the
//! keyspace. A dim may be 0 (an empty tensor, unlike the C module): its BLOB is then empty and
//! its VALUES none at all.

use bytes::Bytes;

use super::ArgsBuilder;
use crate::args::{eq_ignore_case, parse_strict_i64, Args};
use crate::error::{Error, Result};
use crate::tensor::{DataType, Tensor};

#[derive(Debug, Clone, PartialEq)]
pub struct TensorSet {
    pub key: Bytes,
    pub tensor: Tensor,
}

impl TensorSet {
    pub fn parse(args: &mut Args, in_dag: bool) -> Result<TensorSet> {
        if args.argc() < 4 {
            return Err(if in_dag {
                Error::WrongArityInDag("AI.TENSORSET")
            } else {
                Error::WrongArity(args.name())
            });
        }
        let key = args.next_bytes().unwrap_or_default();
        let dtype = args
            .next()
            .and_then(|t| DataType::parse(t))
            .ok_or(Error::InvalidDataType)?;
        let mut shape = Vec::new();
        while let Some(a) = args.next() {
            if eq_ignore_case(a, "BLOB") {
                let data = match args.rest() {
                    [data] => data.clone(),
                    _ => return Err(Error::BlobArgument),
                };
                let tensor = Tensor::from_blob(dtype, shape, data)?;
                return Ok(TensorSet { key, tensor });
            }
            if eq_ignore_case(a, "VALUES") {
                let tensor = Tensor::from_values(dtype, shape, args.rest())?;
                return Ok(TensorSet { key, tensor });
            }
            let dim = parse_strict_i64(a)
                .filter(|&d| d >= 0)
                .ok_or(Error::InvalidShape)?;
            shape.push(usize::try_from(dim).map_err(|_| Error::TensorTooLarge)?);
        }
        let tensor = Tensor::zeros(dtype, shape)?;
        Ok(TensorSet { key, tensor })
    }

    /// `AI.TENSORSET key TYPE dims.. BLOB data`: the form used for replication and AOF.
    pub fn to_args(&self) -> Vec<Bytes> {
        tensor_set_args(&self.key, &self.tensor)
    }
}

/// The AI.TENSORSET command that recreates `tensor` under `key`.
pub fn tensor_set_args(key: &Bytes, tensor: &Tensor) -> Vec<Bytes> {
    let mut b = ArgsBuilder::new("AI.TENSORSET");
    b.bytes(key).str(tensor.dtype().name());
    for &d in tensor.shape() {
        b.num(d);
    }
    b.str("BLOB").bytes(tensor.blob());
    b.build()
}
