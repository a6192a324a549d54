//! AI.DAGEXECUTE, AI.DAGEXECUTE_RO and the deprecated AI.DAGRUN, AI.DAGRUN_RO
//!
//! ```text
//! AI.DAGEXECUTE[_RO] [LOAD n k..] [PERSIST n k..] [ROUTING k] [TIMEOUT t] |> op [|> op ...]
//! AI.DAGRUN[_RO]     [LOAD n k..] [PERSIST n k..] [TIMEOUT t] |> op [|> op ...]
//! ```
//! Ops: AI.TENSORSET, AI.TENSORGET, AI.MODELEXECUTE, AI.SCRIPTEXECUTE (AI.MODELRUN and
//! AI.SCRIPTRUN in AI.DAGRUN). Tensor names inside a DAG are local to it: every op output binds
//! a new version of its name (SSA), which is checked here.

use std::collections::HashSet;

use bytes::Bytes;

use super::{modelrun, scriptrun, ArgsBuilder, ModelExecute, ScriptExecute, TensorGet, TensorSet};
use crate::args::{eq_ignore_case, lossy, parse_strict_i64, Args};
use crate::error::{Error, Result};

/// Which DAG command this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DagKind {
    Execute,
    ExecuteRo,
    Run,
    RunRo,
}

impl DagKind {
    pub fn name(self) -> &'static str {
        match self {
            DagKind::Execute => "AI.DAGEXECUTE",
            DagKind::ExecuteRo => "AI.DAGEXECUTE_RO",
            DagKind::Run => "AI.DAGRUN",
            DagKind::RunRo => "AI.DAGRUN_RO",
        }
    }

    pub fn read_only(self) -> bool {
        matches!(self, DagKind::ExecuteRo | DagKind::RunRo)
    }

    fn deprecated(self) -> bool {
        matches!(self, DagKind::Run | DagKind::RunRo)
    }
}

/// One op of a DAG.
#[derive(Debug, Clone, PartialEq)]
pub enum DagOp {
    TensorSet(TensorSet),
    TensorGet(TensorGet),
    ModelExecute(ModelExecute),
    ScriptExecute(ScriptExecute),
}

impl DagOp {
    /// DAG-local tensor names the op reads.
    pub fn inputs(&self) -> &[Bytes] {
        match self {
            DagOp::TensorSet(_) => &[],
            DagOp::TensorGet(g) => std::slice::from_ref(&g.key),
            DagOp::ModelExecute(m) => &m.inputs,
            DagOp::ScriptExecute(s) => &s.inputs,
        }
    }

    /// DAG-local tensor names the op writes.
    pub fn outputs(&self) -> &[Bytes] {
        match self {
            DagOp::TensorSet(s) => std::slice::from_ref(&s.key),
            DagOp::TensorGet(_) => &[],
            DagOp::ModelExecute(m) => &m.outputs,
            DagOp::ScriptExecute(s) => &s.outputs,
        }
    }

    pub fn to_args(&self) -> Vec<Bytes> {
        match self {
            DagOp::TensorSet(c) => c.to_args(),
            DagOp::TensorGet(c) => c.to_args(),
            DagOp::ModelExecute(c) => c.to_args(),
            DagOp::ScriptExecute(c) => c.to_args(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dag {
    pub kind: DagKind,
    pub load: Vec<Bytes>,
    pub persist: Vec<Bytes>,
    pub routing: Option<Bytes>,
    /// Milliseconds; a TIMEOUT of 0 or less means none, as in the C module.
    pub timeout: Option<u64>,
    pub ops: Vec<DagOp>,
}

impl Dag {
    pub fn parse(args: &mut Args, kind: DagKind) -> Result<Dag> {
        if kind.deprecated() {
            if args.argc() < 4 {
                return Err(Error::WrongArityFixed(kind.name()));
            }
        } else if args.argc() < 6 {
            return Err(Error::DagMissingArguments(kind.name()));
        }
        let mut dag = Dag {
            kind,
            load: Vec::new(),
            persist: Vec::new(),
            routing: None,
            timeout: None,
            ops: Vec::new(),
        };
        let (mut seen_load, mut seen_persist, mut seen_timeout) = (false, false, false);
        while let Some(tok) = args.next() {
            let unexpected = || Error::DagUnexpected(lossy(tok));
            if tok.as_ref() == b"|>" && !args.is_empty() {
                break;
            } else if eq_ignore_case(tok, "LOAD") && !seen_load {
                seen_load = true;
                dag.load = key_list(
                    args,
                    Error::DagLoadMissing,
                    Error::DagLoadCount,
                    Error::DagLoadArgs,
                    None,
                )?;
            } else if eq_ignore_case(tok, "PERSIST") && !seen_persist {
                if kind.read_only() {
                    return Err(Error::DagPersistReadOnly);
                }
                seen_persist = true;
                dag.persist = key_list(
                    args,
                    Error::DagPersistMissing,
                    Error::DagPersistCount,
                    Error::DagPersistArgs,
                    Some(Error::DagPersistUnique),
                )?;
            } else if eq_ignore_case(tok, "ROUTING") && dag.routing.is_none() {
                dag.routing = Some(args.next_bytes().ok_or(Error::DagMissingRouting)?);
            } else if eq_ignore_case(tok, "TIMEOUT") && !seen_timeout {
                seen_timeout = true;
                let t = args.next().ok_or(Error::NoTimeoutValue)?;
                let t = parse_strict_i64(t).ok_or(Error::InvalidTimeout)?;
                dag.timeout = (t > 0).then_some(t as u64);
            } else {
                return Err(unexpected());
            }
        }
        if !kind.deprecated()
            && dag.load.is_empty()
            && dag.persist.is_empty()
            && dag.routing.is_none()
        {
            return Err(Error::DagNeedsKeys);
        }
        // No ops is `ERR DAG is empty`, but only after the LOAD keys were looked up (the
        // engine does both, in RedisAI's order: a missing LOAD key is reported first).
        let rest = args.rest();
        if !rest.is_empty() {
            for op_argv in rest.split(|a| a.as_ref() == b"|>") {
                dag.ops.push(parse_dag_op(op_argv, kind)?);
            }
            dag.check_names()?;
        }
        Ok(dag)
    }

    /// SSA check: every op input is loaded or produced by an earlier op; every PERSIST name is
    /// bound at the end.
    fn check_names(&self) -> Result<()> {
        let mut bound: HashSet<&Bytes> = self.load.iter().collect();
        for op in &self.ops {
            if op.inputs().iter().any(|i| !bound.contains(i)) {
                return Err(Error::DagInputNotFound);
            }
            bound.extend(op.outputs());
        }
        if self.persist.iter().any(|p| !bound.contains(p)) {
            return Err(Error::DagPersistNotFound);
        }
        Ok(())
    }

    pub fn to_args(&self) -> Vec<Bytes> {
        let mut b = ArgsBuilder::new(self.kind.name());
        if !self.load.is_empty() {
            b.str("LOAD").num(self.load.len()).all(&self.load);
        }
        if !self.persist.is_empty() {
            b.str("PERSIST").num(self.persist.len()).all(&self.persist);
        }
        if let Some(r) = &self.routing {
            b.str("ROUTING").bytes(r);
        }
        if let Some(t) = self.timeout {
            b.str("TIMEOUT").num(t);
        }
        for op in &self.ops {
            b.str("|>").all(&op.to_args());
        }
        b.build()
    }
}

/// `n k1..kn` after LOAD or PERSIST. With `duplicate`, the keys that are there are checked for
/// repeats before their number is (the C module's order: `PERSIST 3 a a` is a duplicate).
fn key_list(
    args: &mut Args,
    missing: Error,
    bad: Error,
    too_few: Error,
    duplicate: Option<Error>,
) -> Result<Vec<Bytes>> {
    if args.remaining() < 2 {
        return Err(missing);
    }
    let n = args
        .next()
        .and_then(|v| parse_strict_i64(v))
        .filter(|&n| n > 0)
        .ok_or(bad)?;
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    let keys = args.take(n.min(args.remaining())).unwrap_or_default();
    if let Some(dup) = duplicate {
        if keys.iter().collect::<HashSet<_>>().len() != keys.len() {
            return Err(dup);
        }
    }
    if keys.len() != n {
        return Err(too_few);
    }
    Ok(keys.to_vec())
}

/// One op of a DAG (its argv, `|>` left out), as a DAG of `kind` accepts it.
pub fn parse_dag_op(argv: &[Bytes], kind: DagKind) -> Result<DagOp> {
    let mut args = Args::new(argv);
    let name = argv.first().map(|n| n.as_ref()).unwrap_or_default();
    let is = |n: &str| eq_ignore_case(name, n);
    if is("AI.TENSORSET") {
        return Ok(DagOp::TensorSet(TensorSet::parse(&mut args, true)?));
    }
    if is("AI.TENSORGET") {
        return Ok(DagOp::TensorGet(TensorGet::parse(&mut args, true)?));
    }
    if kind.deprecated() {
        if is("AI.MODELRUN") {
            return Ok(DagOp::ModelExecute(modelrun::parse(&mut args, true)?));
        }
        if is("AI.SCRIPTRUN") {
            return Ok(DagOp::ScriptExecute(scriptrun::parse(&mut args, true)?));
        }
        if is("AI.MODELEXECUTE") {
            return Err(Error::DagNewOpInDagRun("AI.MODELEXECUTE"));
        }
        if is("AI.SCRIPTEXECUTE") {
            return Err(Error::DagNewOpInDagRun("AI.SCRIPTEXECUTE"));
        }
    } else {
        if is("AI.MODELEXECUTE") {
            return Ok(DagOp::ModelExecute(ModelExecute::parse(&mut args, true)?));
        }
        if is("AI.SCRIPTEXECUTE") {
            if kind.read_only() {
                return Err(Error::DagScriptInReadOnly);
            }
            return Ok(DagOp::ScriptExecute(ScriptExecute::parse(&mut args, true)?));
        }
        if is("AI.MODELRUN") {
            return Err(Error::DagDeprecatedOp("AI.MODELRUN"));
        }
        if is("AI.SCRIPTRUN") {
            return Err(Error::DagDeprecatedOp("AI.SCRIPTRUN"));
        }
    }
    Err(Error::DagUnsupportedOp)
}
