//! AI.SCRIPTEXECUTE
//!
//! ```text
//! AI.SCRIPTEXECUTE key function [KEYS n k..] [INPUTS n t..] [ARGS n a..] [OUTPUTS n o..]
//!     [TIMEOUT t]
//! ```
//! Sections in any order, each at most once; as a command (not in a DAG) the first one must be
//! KEYS or INPUTS. TIMEOUT must come last.

use bytes::Bytes;

use super::modelexecute::parse_timeout_value;
use super::ArgsBuilder;
use crate::args::{eq_ignore_case, lossy, parse_strict_i64, Args};
use crate::error::{Error, Result};

/// A script run, from AI.SCRIPTEXECUTE or the deprecated AI.SCRIPTRUN (`legacy`), as a command
/// or as a DAG op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptExecute {
    pub key: Bytes,
    pub function: Bytes,
    pub keys: Vec<Bytes>,
    pub inputs: Vec<Bytes>,
    pub args: Vec<Bytes>,
    pub outputs: Vec<Bytes>,
    /// Milliseconds.
    pub timeout: Option<u64>,
    /// AI.SCRIPTRUN: the index in `inputs` where a `$` variadic marker stood.
    pub variadic: Option<usize>,
    pub legacy: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Keys,
    Inputs,
    Args,
    Outputs,
}

impl ScriptExecute {
    pub fn parse(args: &mut Args, in_dag: bool) -> Result<ScriptExecute> {
        if args.argc() < 3 {
            return Err(Error::WrongArityFixed("AI.SCRIPTEXECUTE"));
        }
        let key = args.next_bytes().unwrap_or_default();
        let function = args.next_bytes().unwrap_or_default();
        if !(in_dag || args.peek_is("KEYS") || args.peek_is("INPUTS")) {
            return Err(Error::KeysOrInputsFirst);
        }
        let mut cmd = ScriptExecute {
            key,
            function,
            keys: Vec::new(),
            inputs: Vec::new(),
            args: Vec::new(),
            outputs: Vec::new(),
            timeout: None,
            variadic: None,
            legacy: false,
        };
        let mut seen: Vec<Scope> = Vec::new();
        while let Some(tok) = args.next() {
            let (scope, name) = if eq_ignore_case(tok, "KEYS") {
                (Scope::Keys, "KEYS")
            } else if eq_ignore_case(tok, "INPUTS") {
                (Scope::Inputs, "INPUTS")
            } else if eq_ignore_case(tok, "ARGS") {
                (Scope::Args, "ARGS")
            } else if eq_ignore_case(tok, "OUTPUTS") {
                (Scope::Outputs, "OUTPUTS")
            } else if eq_ignore_case(tok, "TIMEOUT") {
                if args.is_empty() {
                    return Err(Error::ScriptNoTimeoutValue);
                }
                let t = parse_timeout_value(args.next())?;
                if !args.is_empty() {
                    return Err(Error::ScriptExecuteParse);
                }
                // Refused only once the whole op parsed, as in the C module.
                if in_dag {
                    return Err(Error::TimeoutInDag);
                }
                cmd.timeout = Some(t);
                break;
            } else {
                return Err(Error::ScriptExecuteUnexpected(lossy(tok)));
            };
            if seen.contains(&scope) {
                return Err(Error::ScopeAlreadyEncountered(name));
            }
            seen.push(scope);
            let list = match scope {
                Scope::Keys => {
                    if args.remaining() < 2 {
                        return Err(Error::MissingKeysArgs);
                    }
                    section(args, true, Error::InvalidKeysCount, Error::KeysArgs)?
                }
                Scope::Inputs => section(
                    args,
                    false,
                    Error::ScriptInputsCount,
                    Error::ScriptInputsArgs,
                )?,
                Scope::Args => section(args, false, Error::ScriptArgsCount, Error::ScriptArgsArgs)?,
                Scope::Outputs => section(
                    args,
                    false,
                    Error::ScriptOutputsCount,
                    Error::ScriptOutputsArgs,
                )?,
            };
            *match scope {
                Scope::Keys => &mut cmd.keys,
                Scope::Inputs => &mut cmd.inputs,
                Scope::Args => &mut cmd.args,
                Scope::Outputs => &mut cmd.outputs,
            } = list;
        }
        Ok(cmd)
    }

    pub fn to_args(&self) -> Vec<Bytes> {
        if self.legacy {
            return self.to_scriptrun_args();
        }
        let mut b = ArgsBuilder::new("AI.SCRIPTEXECUTE");
        b.bytes(&self.key).bytes(&self.function);
        if !self.keys.is_empty() {
            b.str("KEYS").num(self.keys.len()).all(&self.keys);
        }
        b.str("INPUTS").num(self.inputs.len()).all(&self.inputs);
        if !self.args.is_empty() {
            b.str("ARGS").num(self.args.len()).all(&self.args);
        }
        if !self.outputs.is_empty() {
            b.str("OUTPUTS").num(self.outputs.len()).all(&self.outputs);
        }
        if let Some(t) = self.timeout {
            b.str("TIMEOUT").num(t);
        }
        b.build()
    }

    fn to_scriptrun_args(&self) -> Vec<Bytes> {
        let mut b = ArgsBuilder::new("AI.SCRIPTRUN");
        b.bytes(&self.key).bytes(&self.function);
        if let Some(t) = self.timeout {
            b.str("TIMEOUT").num(t);
        }
        if !self.inputs.is_empty() || self.variadic.is_some() {
            b.str("INPUTS");
            for (i, input) in self.inputs.iter().enumerate() {
                if self.variadic == Some(i) {
                    b.str("$");
                }
                b.bytes(input);
            }
            if self.variadic == Some(self.inputs.len()) {
                b.str("$");
            }
        }
        if !self.outputs.is_empty() {
            b.str("OUTPUTS").all(&self.outputs);
        }
        b.build()
    }
}

/// `n item1..itemn` after a section keyword (whose presence the caller checked).
fn section(
    args: &mut Args,
    positive: bool,
    bad_count: Error,
    too_few: Error,
) -> Result<Vec<Bytes>> {
    let Some(count) = args.next() else {
        return Err(Error::ScriptExecuteInvalidArgs);
    };
    let n = parse_strict_i64(count)
        .filter(|&n| if positive { n > 0 } else { n >= 0 })
        .ok_or(bad_count)?;
    let n = usize::try_from(n).map_err(|_| too_few.clone())?;
    Ok(args.take(n).ok_or(too_few)?.to_vec())
}
