//! AI.SCRIPTSTORE
//!
//! ```text
//! AI.SCRIPTSTORE key device [TAG tag] ENTRY_POINTS n ep1..epn SOURCE src
//! ```
//! The device is checked by the backend, not here (as in the C module). Trailing arguments after
//! the source are ignored.

use bytes::Bytes;

use super::ArgsBuilder;
use crate::args::{parse_lenient_u64, Args};
use crate::error::{Error, Result};

/// A script to store, from AI.SCRIPTSTORE or the deprecated AI.SCRIPTSET (`legacy`, no entry
/// points).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptStore {
    pub key: Bytes,
    pub device: String,
    pub tag: Bytes,
    pub entry_points: Vec<Bytes>,
    pub source: Bytes,
    pub legacy: bool,
}

impl ScriptStore {
    pub fn parse(args: &mut Args) -> Result<ScriptStore> {
        if args.argc() < 8 {
            return Err(Error::WrongArity(args.name()));
        }
        let key = args.next_bytes().unwrap_or_default();
        let device = lossy_device(args.next());
        let tag = parse_tag(args);
        if !args.eat("ENTRY_POINTS") {
            return Err(Error::MissingEntryPoints);
        }
        let n = args
            .next()
            .and_then(|v| parse_lenient_u64(v))
            .ok_or(Error::NonNumericEntryPoints)?;
        let n = usize::try_from(n).map_err(|_| Error::MissingEntryPoints)?;
        let entry_points = args.take(n).ok_or(Error::MissingEntryPoints)?.to_vec();
        let source = parse_source(args)?;
        Ok(ScriptStore {
            key,
            device,
            tag,
            entry_points,
            source,
            legacy: false,
        })
    }

    /// The command that recreates this script: AI.SCRIPTSTORE with TAG and ENTRY_POINTS (`0`
    /// included, which SCRIPTSTORE accepts), or AI.SCRIPTSET for a legacy script, which has no
    /// entry points (the C module emitted a SCRIPTSTORE without ENTRY_POINTS it could not replay).
    pub fn to_args(&self) -> Vec<Bytes> {
        let mut b = ArgsBuilder::new(if self.legacy {
            "AI.SCRIPTSET"
        } else {
            "AI.SCRIPTSTORE"
        });
        b.bytes(&self.key)
            .str(&self.device)
            .str("TAG")
            .bytes(&self.tag);
        if !self.legacy {
            b.str("ENTRY_POINTS")
                .num(self.entry_points.len())
                .all(&self.entry_points);
        }
        b.str("SOURCE").bytes(&self.source);
        b.build()
    }
}

pub(crate) fn lossy_device(d: Option<&Bytes>) -> String {
    d.map(|d| String::from_utf8_lossy(d).into_owned())
        .unwrap_or_default()
}

pub(crate) fn parse_tag(args: &mut Args) -> Bytes {
    if args.peek_is("TAG") && args.remaining() >= 2 {
        args.next();
        args.next_bytes().unwrap_or_default()
    } else {
        Bytes::new()
    }
}

pub(crate) fn parse_source(args: &mut Args) -> Result<Bytes> {
    if args.eat("SOURCE") {
        if let Some(src) = args.next_bytes() {
            return Ok(src);
        }
    }
    Err(Error::MissingScriptSource)
}
