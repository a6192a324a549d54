//! AI.MODELDEL
//!
//! ```text
//! AI.MODELDEL key
//! ```

use bytes::Bytes;

use super::ArgsBuilder;
use crate::args::Args;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelDel {
    pub key: Bytes,
}

impl ModelDel {
    pub fn parse(args: &mut Args) -> Result<ModelDel> {
        if args.argc() != 2 {
            return Err(Error::WrongArity(args.name()));
        }
        Ok(ModelDel {
            key: args.next_bytes().unwrap_or_default(),
        })
    }

    pub fn to_args(&self) -> Vec<Bytes> {
        let mut b = ArgsBuilder::new("AI.MODELDEL");
        b.bytes(&self.key);
        b.build()
    }
}
