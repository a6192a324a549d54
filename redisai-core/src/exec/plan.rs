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

#[derive(Clone)]
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

/// A DAG op with its model or script looked up: what [`plan_dag`] builds a request from. The
/// AI.DAGEXECUTE family and the low-level API's DAGs both come down to these.
#[derive(Clone)]
pub(crate) enum DagStep {
    TensorSet {
        name: Bytes,
        tensor: Arc<Tensor>,
    },
    TensorGet {
        name: Bytes,
        meta: bool,
        data: Option<DataFormat>,
    },
    Run {
        kind: OpKind,
        queue: String,
        inputs: Vec<Bytes>,
        outputs: Vec<Bytes>,
    },
}

/// A DAG's request: the loaded tensors bind their names, every op reads the current version of
/// its input names (`ERR INPUT key cannot be found in DAG` otherwise) and binds new versions of
/// its outputs (SSA), and PERSIST stores the final versions.
pub(crate) fn plan_dag(
    loaded: Vec<(Bytes, Arc<Tensor>)>,
    steps: Vec<DagStep>,
    persist: &[Bytes],
    timeout: Option<u64>,
) -> Result<Prepared> {
    if steps.is_empty() {
        return Err(Error::DagEmpty);
    }
    let mut plan = Plan::default();
    let mut names: HashMap<Bytes, usize> = HashMap::new();
    for (name, tensor) in loaded {
        let slot = plan.bind_value(tensor);
        names.insert(name, slot);
    }
    for step in steps {
        match step {
            DagStep::TensorSet { name, tensor } => {
                let slot = plan.bind_value(tensor);
                names.insert(name, slot);
                plan.steps.push(Step::TensorSet);
            }
            DagStep::TensorGet { name, meta, data } => {
                let slot = *names.get(&name).ok_or(Error::DagInputNotFound)?;
                plan.steps.push(Step::TensorGet { slot, meta, data });
            }
            DagStep::Run {
                kind,
                queue,
                inputs,
                outputs,
            } => plan.dag_op(&mut names, &inputs, &outputs, |inputs, outputs| RunOp {
                kind,
                inputs,
                outputs,
                queue,
            })?,
        }
    }
    plan.persist = persist
        .iter()
        .map(|k| Ok((k.clone(), *names.get(k).ok_or(Error::DagPersistNotFound)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(plan.finish(timeout, ReplyShape::Dag))
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
    pub(crate) detailed: bool,
}

impl Prepared {
    /// Whether the request runs any model or script (a DAG of tensor ops only does not).
    pub fn has_runs(&self) -> bool {
        !self.ops.is_empty()
    }

    /// Its completion also says what each op did, as tensors ([`Completion::detail`]).
    ///
    /// [`Completion::detail`]: crate::exec::Completion::detail
    pub fn detailed(mut self) -> Prepared {
        self.detailed = true;
        self
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
    fn dag_op(
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
            detailed: false,
        }
    }
}
