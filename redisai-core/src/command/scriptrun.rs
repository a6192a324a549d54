//! AI.SCRIPTRUN (deprecated)
//!
//! ```text
//! AI.SCRIPTRUN key function [TIMEOUT t] [INPUTS i.. [$ i..]] [OUTPUTS o..]
//! ```
//! Parsed into a legacy [`ScriptExecute`] with no KEYS and no ARGS. `$` marks where the inputs
//! that fill a `List[Tensor]` parameter begin.

use super::modelexecute::parse_timeout_value;
use super::ScriptExecute;
use crate::args::{eq_ignore_case, Args};
use crate::error::{Error, Result};

#[derive(PartialEq)]
enum Section {
    None,
    Inputs,
    Outputs,
}

pub fn parse(args: &mut Args, in_dag: bool) -> Result<ScriptExecute> {
    if args.argc() < 3 {
        return Err(Error::WrongArityFixed("AI.SCRIPTRUN"));
    }
    let mut cmd = ScriptExecute {
        key: args.next_bytes().unwrap_or_default(),
        function: args.next_bytes().unwrap_or_default(),
        keys: Vec::new(),
        inputs: Vec::new(),
        args: Vec::new(),
        outputs: Vec::new(),
        timeout: None,
        variadic: None,
        legacy: true,
    };
    let mut section = Section::None;
    let (mut seen_inputs, mut seen_outputs) = (false, false);
    while let Some(tok) = args.next() {
        if eq_ignore_case(tok, "TIMEOUT") {
            if cmd.timeout.is_some() {
                return Err(Error::ScriptRunTimeoutTwice);
            }
            if in_dag {
                return Err(Error::TimeoutInDag);
            }
            cmd.timeout = Some(parse_timeout_value(args.next())?);
        } else if eq_ignore_case(tok, "INPUTS") {
            if seen_outputs {
                return Err(Error::ScriptRunInputsSection);
            }
            if seen_inputs {
                return Err(Error::ScriptRunInputsKeyword);
            }
            seen_inputs = true;
            section = Section::Inputs;
        } else if eq_ignore_case(tok, "OUTPUTS") {
            if seen_outputs {
                return Err(Error::ScriptRunOutputsKeyword);
            }
            seen_outputs = true;
            section = Section::Outputs;
        } else if tok.as_ref() == b"$" {
            if section != Section::Inputs {
                return Err(Error::ScriptRunVariadicOutsideInputs);
            }
            if cmd.variadic.is_some() {
                return Err(Error::ScriptRunVariadicTwice);
            }
            cmd.variadic = Some(cmd.inputs.len());
        } else {
            match section {
                Section::Inputs => cmd.inputs.push(tok.clone()),
                Section::Outputs => cmd.outputs.push(tok.clone()),
                Section::None => return Err(Error::ScriptRunUnrecognized),
            }
        }
    }
    Ok(cmd)
}
