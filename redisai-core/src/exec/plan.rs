//! A request ready to run: its ops over DAG-local tensor slots (SSA: every output binds a new
//! slot), how each op shows in the reply, and which slots are stored under which keys.
//! AI.MODELEXECUTE and AI.SCRIPTEXECUTE are a plan of one op.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::command::DataFormat;
use crate::error::{Error, Result};
use crate::exec::completion::ReplyShape;
use crate::model::{Model, Script};
use crate::tensor::Tensor;

pub(crate) enum OpKind {
    Model(Arc<Model>),
    Script {
        script: Arc<Script>,
        function: String,
        keys: Vec<Bytes>,
        args: Vec<Bytes>,
        variadic: Option<usize>,
    },
}

/// A model or script op over slots.
pub(crate) struct RunOp {
    pub kind: OpKind,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
    /// The run queue: the upper-cased device string.
    pub queue: String,
}

/// How one op of the command shows in the reply.
pub(crate) enum Step {
    TensorSet,
    TensorGet {
        slot: usize,
        meta: bool,
        data: Option<DataFormat>,
    },
    Run(usize),
}

/// A request ready to queue: everything it reads is an `Arc` snapshot taken when it was
/// prepared, so the keyspace may change meanwhile.
pub struct Prepared {
    pub(crate) slots: Vec<Option<Arc<Tensor>>>,
    pub(crate) ops: Vec<RunOp>,
    pub(crate) steps: Vec<Step>,
    pub(crate) persist: Vec<(Bytes, usize)>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) shape: ReplyShape,
}

impl Prepared {
    /// Whether the request runs any model or script (a DAG of tensor ops only does not).
    pub fn has_runs(&self) -> bool {
        !self.ops.is_empty()
    }
}

/// Builds a [`Prepared`]: slots, ops and reply steps.
#[derive(Default)]
pub(crate) struct Plan {
    slots: Vec<Option<Arc<Tensor>>>,
    ops: Vec<RunOp>,
    pub steps: Vec<Step>,
    pub persist: Vec<(Bytes, usize)>,
}

impl Plan {
    /// A slot holding a tensor known now (a LOADed key, an input key, a DAG TENSORSET).
    pub fn bind_value(&mut self, t: Arc<Tensor>) -> usize {
        self.slots.push(Some(t));
        self.slots.len() - 1
    }

    /// One empty slot per name, filled when the op that outputs it runs.
    pub fn new_slots(&mut self, names: &[Bytes]) -> Vec<usize> {
        names
            .iter()
            .map(|_| {
                self.slots.push(None);
                self.slots.len() - 1
            })
            .collect()
    }

    /// A command's only op.
    pub fn push_op(&mut self, op: RunOp) {
        self.ops.push(op);
    }

    /// A DAG op: its inputs are the current versions of their names, its outputs bind new ones.
    pub fn dag_op(
        &mut self,
        names: &mut HashMap<Bytes, usize>,
        input_names: &[Bytes],
        output_names: &[Bytes],
        op: impl FnOnce(Vec<usize>, Vec<usize>) -> RunOp,
    ) -> Result<()> {
        let inputs = input_names
            .iter()
            .map(|n| names.get(n).copied().ok_or(Error::DagInputNotFound))
            .collect::<Result<Vec<_>>>()?;
        let outputs = self.new_slots(output_names);
        names.extend(output_names.iter().cloned().zip(outputs.iter().copied()));
        self.steps.push(Step::Run(self.ops.len()));
        self.ops.push(op(inputs, outputs));
        Ok(())
    }

    pub fn finish(self, timeout: Option<u64>, shape: ReplyShape) -> Prepared {
        Prepared {
            slots: self.slots,
            ops: self.ops,
            steps: self.steps,
            persist: self.persist,
            timeout: timeout.map(Duration::from_millis),
            shape,
        }
    }
}
