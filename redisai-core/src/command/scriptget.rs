//! AI.SCRIPTGET
//!
//! ```text
//! AI.SCRIPTGET key [META] [SOURCE]
//! ```
//! Only SOURCE: the source; only META: the metadata; neither or both: metadata and source.

use bytes::Bytes;

use super::ArgsBuilder;
use crate::args::{eq_ignore_case, Args};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptGet {
    pub key: Bytes,
    pub meta: bool,
    pub source: bool,
}

impl ScriptGet {
    pub fn parse(args: &mut Args) -> Result<ScriptGet> {
        if !(2..=4).contains(&args.argc()) {
            return Err(Error::WrongArity(args.name()));
        }
        let key = args.next_bytes().unwrap_or_default();
        let rest = args.rest();
        let meta = rest.iter().any(|a| eq_ignore_case(a, "META"));
        let source = rest.iter().any(|a| eq_ignore_case(a, "SOURCE"));
        Ok(if meta == source {
            ScriptGet {
                key,
                meta: true,
                source: true,
            }
        } else {
            ScriptGet { key, meta, source }
        })
    }

    pub fn to_args(&self) -> Vec<Bytes> {
        let mut b = ArgsBuilder::new("AI.SCRIPTGET");
        b.bytes(&self.key);
        if self.meta {
            b.str("META");
        }
        if self.source {
            b.str("SOURCE");
        }
        b.build()
    }
}
