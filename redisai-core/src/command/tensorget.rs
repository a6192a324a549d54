//! AI.TENSORGET
//!
//! ```text
//! AI.TENSORGET key [META] [BLOB | VALUES]
//! ```
//! No option means META BLOB. `BLOB VALUES` alone is refused. (The C module's option check
//! would let `META BLOB VALUES` through as META BLOB, but that takes five arguments and the
//! arity check refuses it first, so the quirk cannot be reached.)

use bytes::Bytes;

use super::ArgsBuilder;
use crate::args::{eq_ignore_case, Args};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::tensor::Tensor;

/// Which data part a TENSORGET reply carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    Blob,
    Values,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorGet {
    pub key: Bytes,
    pub meta: bool,
    pub data: Option<DataFormat>,
}

impl TensorGet {
    pub fn parse(args: &mut Args, in_dag: bool) -> Result<TensorGet> {
        if !(2..=4).contains(&args.argc()) {
            return Err(if in_dag {
                Error::WrongArityInDag("AI.TENSORGET")
            } else {
                Error::WrongArity(args.name())
            });
        }
        let key = args.next_bytes().unwrap_or_default();
        let (mut meta, mut blob, mut values) = (false, false, false);
        for a in args.rest() {
            if eq_ignore_case(a, "META") {
                meta = true;
            } else if eq_ignore_case(a, "BLOB") {
                blob = true;
            } else if eq_ignore_case(a, "VALUES") {
                values = true;
            } else {
                return Err(Error::UnsupportedFormat);
            }
        }
        if blob && values && !meta {
            return Err(Error::BlobAndValues);
        }
        let data = if blob {
            Some(DataFormat::Blob)
        } else if values {
            Some(DataFormat::Values)
        } else if meta {
            None
        } else {
            meta = true;
            Some(DataFormat::Blob)
        };
        Ok(TensorGet { key, meta, data })
    }

    pub fn to_args(&self) -> Vec<Bytes> {
        let mut b = ArgsBuilder::new("AI.TENSORGET");
        b.bytes(&self.key);
        if self.meta {
            b.str("META");
        }
        match self.data {
            Some(DataFormat::Blob) => b.str("BLOB"),
            Some(DataFormat::Values) => b.str("VALUES"),
            None => &mut b,
        };
        b.build()
    }

    /// The reply for `tensor` in the requested format.
    pub fn reply(&self, tensor: &Tensor) -> Reply {
        format_reply(tensor, self.meta, self.data)
    }
}

pub fn format_reply(tensor: &Tensor, meta: bool, data: Option<DataFormat>) -> Reply {
    let data_reply = |f: DataFormat| match f {
        DataFormat::Blob => Reply::Bulk(tensor.blob().clone()),
        DataFormat::Values => Reply::Values(tensor.clone()),
    };
    if !meta {
        return data.map_or(Reply::Null, data_reply);
    }
    let mut items = tensor.meta_reply();
    if let Some(f) = data {
        items.push(Reply::text(match f {
            DataFormat::Blob => "blob",
            DataFormat::Values => "values",
        }));
        items.push(data_reply(f));
    }
    Reply::Array(items)
}
