//! AI.INFO
//!
//! ```text
//! AI.INFO key [RESETSTAT]
//! ```
//! A third argument other than RESETSTAT is ignored, as in the C module.

use bytes::Bytes;

use super::ArgsBuilder;
use crate::args::{eq_ignore_case, Args};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub key: Bytes,
    pub reset: bool,
}

impl Info {
    pub fn parse(args: &mut Args) -> Result<Info> {
        if !(2..=3).contains(&args.argc()) {
            return Err(Error::WrongArity(args.name()));
        }
        let key = args.next_bytes().unwrap_or_default();
        let reset = args.next().is_some_and(|a| eq_ignore_case(a, "RESETSTAT"));
        Ok(Info { key, reset })
    }

    pub fn to_args(&self) -> Vec<Bytes> {
        let mut b = ArgsBuilder::new("AI.INFO");
        b.bytes(&self.key);
        if self.reset {
            b.str("RESETSTAT");
        }
        b.build()
    }
}
