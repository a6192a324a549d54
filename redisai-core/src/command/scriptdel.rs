//! AI.SCRIPTDEL
//!
//! ```text
//! AI.SCRIPTDEL key
//! ```

use bytes::Bytes;

use super::ArgsBuilder;
use crate::args::Args;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptDel {
    pub key: Bytes,
}

impl ScriptDel {
    pub fn parse(args: &mut Args) -> Result<ScriptDel> {
        if args.argc() != 2 {
            return Err(Error::WrongArity(args.name()));
        }
        Ok(ScriptDel {
            key: args.next_bytes().unwrap_or_default(),
        })
    }

    pub fn to_args(&self) -> Vec<Bytes> {
        let mut b = ArgsBuilder::new("AI.SCRIPTDEL");
        b.bytes(&self.key);
        b.build()
    }
}
