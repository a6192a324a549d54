//! AI.MODELRUN (deprecated)
//!
//! ```text
//! AI.MODELRUN key [TIMEOUT t] INPUTS i1 .. OUTPUTS o1 ..
//! ```
//! Parsed into a legacy [`ModelExecute`]: every argument before the first `OUTPUTS` is an input,
//! every one after it an output.

use super::modelexecute::parse_timeout_value;
use super::ModelExecute;
use crate::args::{eq_ignore_case, Args};
use crate::error::{Error, Result};

pub fn parse(args: &mut Args, in_dag: bool) -> Result<ModelExecute> {
    if args.argc() < 6 {
        return Err(Error::WrongArityFixed("AI.MODELRUN"));
    }
    let key = args.next_bytes().unwrap_or_default();
    let mut timeout = None;
    if args.eat("TIMEOUT") {
        if in_dag {
            return Err(Error::TimeoutInDag);
        }
        timeout = Some(parse_timeout_value(args.next())?);
    }
    if !args.eat("INPUTS") {
        return Err(Error::InputsNotSpecified);
    }
    let rest = args.rest();
    let out_at = rest
        .iter()
        .position(|a| eq_ignore_case(a, "OUTPUTS"))
        .unwrap_or(rest.len());
    Ok(ModelExecute {
        key,
        inputs: rest[..out_at].to_vec(),
        outputs: rest.get(out_at + 1..).unwrap_or_default().to_vec(),
        timeout,
        legacy: true,
    })
}
