//! AI.SCRIPTSET (deprecated)
//!
//! ```text
//! AI.SCRIPTSET key device [TAG tag] SOURCE src
//! ```

use super::scriptstore::{lossy_device, parse_source, parse_tag};
use super::ScriptStore;
use crate::args::Args;
use crate::error::{Error, Result};

pub fn parse(args: &mut Args) -> Result<ScriptStore> {
    if args.argc() != 5 && args.argc() != 7 {
        return Err(Error::WrongArity(args.name()));
    }
    let key = args.next_bytes().unwrap_or_default();
    let device = lossy_device(args.next());
    let tag = parse_tag(args);
    let source = parse_source(args)?;
    Ok(ScriptStore {
        key,
        device,
        tag,
        entry_points: Vec::new(),
        source,
        legacy: true,
    })
}
