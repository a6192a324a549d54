//! AI.MODELGET
//!
//! ```text
//! AI.MODELGET key [META] [BLOB]
//! ```
//! Only BLOB: the blob; only META: the metadata; neither or both: metadata and blob. Unknown
//! option words are ignored, as in the C module.

use bytes::Bytes;

use super::ArgsBuilder;
use crate::args::{eq_ignore_case, Args};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelGet {
    pub key: Bytes,
    pub meta: bool,
    pub blob: bool,
}

impl ModelGet {
    pub fn parse(args: &mut Args) -> Result<ModelGet> {
        if !(2..=4).contains(&args.argc()) {
            return Err(Error::WrongArity(args.name()));
        }
        let key = args.next_bytes().unwrap_or_default();
        let rest = args.rest();
        let meta = rest.iter().any(|a| eq_ignore_case(a, "META"));
        let blob = rest.iter().any(|a| eq_ignore_case(a, "BLOB"));
        Ok(if meta == blob {
            ModelGet {
                key,
                meta: true,
                blob: true,
            }
        } else {
            ModelGet { key, meta, blob }
        })
    }

    pub fn to_args(&self) -> Vec<Bytes> {
        let mut b = ArgsBuilder::new("AI.MODELGET");
        b.bytes(&self.key);
        if self.meta {
            b.str("META");
        }
        if self.blob {
            b.str("BLOB");
        }
        b.build()
    }
}
