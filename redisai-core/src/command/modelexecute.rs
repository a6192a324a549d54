//! AI.MODELEXECUTE
//!
//! ```text
//! AI.MODELEXECUTE key INPUTS n i1..in OUTPUTS m o1..om [TIMEOUT t]
//! ```
//! Counts are checked against the model at prepare time (the model is not known here).

use bytes::Bytes;

use super::ArgsBuilder;
use crate::args::{lossy, parse_strict_i64, Args};
use crate::error::{Error, Result};

/// A model run, from AI.MODELEXECUTE or the deprecated AI.MODELRUN (`legacy`), as a command or
/// as a DAG op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelExecute {
    pub key: Bytes,
    pub inputs: Vec<Bytes>,
    pub outputs: Vec<Bytes>,
    /// Milliseconds.
    pub timeout: Option<u64>,
    pub legacy: bool,
}

impl ModelExecute {
    pub fn parse(args: &mut Args, in_dag: bool) -> Result<ModelExecute> {
        if args.argc() < 8 {
            return Err(Error::WrongArityFixed("AI.MODELEXECUTE"));
        }
        let key = args.next_bytes().unwrap_or_default();
        if !args.eat("INPUTS") {
            return Err(Error::InputsNotSpecified);
        }
        let n = args
            .next()
            .and_then(|v| parse_strict_i64(v))
            .ok_or(Error::InvalidInputCount)?;
        if n <= 0 {
            return Err(Error::InputCountPositive);
        }
        let inputs = take(args, n, Error::ModelExecuteInputsArgs)?;
        if !args.eat("OUTPUTS") {
            return Err(Error::OutputsNotSpecified);
        }
        let m = args
            .next()
            .and_then(|v| parse_strict_i64(v))
            .ok_or(Error::InvalidOutputCount)?;
        if m <= 0 {
            return Err(Error::OutputCountPositive);
        }
        let outputs = take(args, m, Error::ModelExecuteOutputsArgs)?;
        let timeout = parse_timeout_tail(args, in_dag)?;
        Ok(ModelExecute {
            key,
            inputs,
            outputs,
            timeout,
            legacy: false,
        })
    }

    pub fn to_args(&self) -> Vec<Bytes> {
        if self.legacy {
            let mut b = ArgsBuilder::new("AI.MODELRUN");
            b.bytes(&self.key);
            if let Some(t) = self.timeout {
                b.str("TIMEOUT").num(t);
            }
            b.str("INPUTS").all(&self.inputs);
            b.str("OUTPUTS").all(&self.outputs);
            return b.build();
        }
        let mut b = ArgsBuilder::new("AI.MODELEXECUTE");
        b.bytes(&self.key);
        b.str("INPUTS").num(self.inputs.len()).all(&self.inputs);
        b.str("OUTPUTS").num(self.outputs.len()).all(&self.outputs);
        if let Some(t) = self.timeout {
            b.str("TIMEOUT").num(t);
        }
        b.build()
    }
}

fn take(args: &mut Args, n: i64, too_few: Error) -> Result<Vec<Bytes>> {
    let n = usize::try_from(n).map_err(|_| too_few.clone())?;
    Ok(args.take(n).ok_or(too_few)?.to_vec())
}

/// A strict integer > 0, in milliseconds.
pub(crate) fn parse_timeout_value(v: Option<&Bytes>) -> Result<u64> {
    v.and_then(|v| parse_strict_i64(v))
        .filter(|&t| t > 0)
        .map(|t| t as u64)
        .ok_or(Error::InvalidTimeout)
}

/// The optional `TIMEOUT t` that may end AI.MODELEXECUTE, and nothing after it.
fn parse_timeout_tail(args: &mut Args, in_dag: bool) -> Result<Option<u64>> {
    let Some(tok) = args.next() else {
        return Ok(None);
    };
    if !crate::args::eq_ignore_case(tok, "TIMEOUT") {
        return Err(Error::InvalidArgument(lossy(tok)));
    }
    if args.is_empty() {
        return Err(Error::NoTimeoutValue);
    }
    let t = parse_timeout_value(args.next())?;
    if let Some(extra) = args.next() {
        return Err(Error::InvalidArgument(lossy(extra)));
    }
    // A DAG op refuses TIMEOUT once its whole grammar parsed, as in the C module.
    if in_dag {
        return Err(Error::TimeoutInDag);
    }
    Ok(Some(t))
}
