//! A DAG built op by op (RedisAI's DAG run context): tensors loaded under DAG-local names,
//! model and script ops over those names, TENSORSET and TENSORGET ops, or ops written as an
//! AI.DAGEXECUTE tail (`|> AI.MODELEXECUTE ... |> AI.TENSORGET ...`). It becomes the same
//! request an AI.DAGEXECUTE does.

use std::sync::Arc;

use bytes::Bytes;

use super::error::{ApiError, ErrorCode};
use super::run::reply_text;
use crate::backend::ScriptHost;
use crate::command::{parse_dag_op, DagKind};
use crate::device::queue_key;
use crate::engine::resolve_dag_op;
use crate::engine::Engine;
use crate::error::Error;
use crate::exec::{plan_dag, Completion, DagStep, OpKind, OpOutcome, Submitted};
use crate::keyspace::Keyspace;
use crate::model::{Model, Script};
use crate::tensor::Tensor;

/// A model or script op of a DAG, before it is added.
pub struct DagRunOp {
    kind: OpKind,
    inputs: Vec<Bytes>,
    outputs: Vec<Bytes>,
}

impl DagRunOp {
    pub fn model(model: Arc<Model>) -> DagRunOp {
        DagRunOp::new(OpKind::Model(model))
    }

    /// A run of `function` with the op's inputs as its tensors (no keys or args).
    pub fn script(script: Arc<Script>, function: &str) -> DagRunOp {
        DagRunOp::new(OpKind::Script {
            script,
            function: function.to_string(),
            keys: Vec::new(),
            args: Vec::new(),
            variadic: None,
        })
    }

    fn new(kind: OpKind) -> DagRunOp {
        DagRunOp {
            kind,
            inputs: Vec::new(),
            outputs: Vec::new(),
        }
    }

    pub fn add_input(&mut self, name: &[u8]) {
        self.inputs.push(Bytes::copy_from_slice(name));
    }

    pub fn add_output(&mut self, name: &[u8]) {
        self.outputs.push(Bytes::copy_from_slice(name));
    }
}

/// What a finished DAG gives: the tensor of each TENSORGET op (`None` where the op that makes
/// it did not run), and the first op error.
pub struct DagOutcome {
    pub outputs: Vec<Option<Arc<Tensor>>>,
    pub error: Option<ApiError>,
}

#[derive(Default, Clone)]
pub struct DagBuilder {
    loaded: Vec<(Bytes, Arc<Tensor>)>,
    steps: Vec<DagStep>,
}

impl DagBuilder {
    pub fn new() -> DagBuilder {
        DagBuilder::default()
    }

    /// A tensor under a DAG-local name, as LOAD does with a key. A name loads once.
    pub fn load_tensor(&mut self, name: &[u8], tensor: Arc<Tensor>) -> Result<(), ApiError> {
        if self.loaded.iter().any(|(n, _)| n.as_ref() == name) {
            return Err(ApiError::from_engine(
                ErrorCode::DagBuilder,
                &Error::DagTensorLoaded(String::from_utf8_lossy(name).into_owned()),
            ));
        }
        self.loaded.push((Bytes::copy_from_slice(name), tensor));
        Ok(())
    }

    /// Adds a model or script op. A model op must name as many inputs and outputs as the model
    /// has; refused, the op is handed back unchanged.
    pub fn add_run_op(&mut self, op: Box<DagRunOp>) -> Result<(), (Box<DagRunOp>, ApiError)> {
        if let OpKind::Model(model) = &op.kind {
            let refused = if op.inputs.len() != model.inputs.len() {
                Some(Error::OpInputsMismatch)
            // A TORCH model may learn its output count only at its first run.
            } else if !model.outputs.is_empty() && op.outputs.len() != model.outputs.len() {
                Some(Error::OpOutputsMismatch)
            } else {
                None
            };
            if let Some(e) = refused {
                return Err((op, ApiError::from_engine(ErrorCode::DagBuilder, &e)));
            }
        }
        let queue = match &op.kind {
            OpKind::Model(m) => queue_key(&m.device),
            OpKind::Script { script, .. } => queue_key(&script.device),
        };
        let DagRunOp {
            kind,
            inputs,
            outputs,
        } = *op;
        self.steps.push(DagStep::Run {
            kind,
            queue,
            inputs,
            outputs,
        });
        Ok(())
    }

    /// A TENSORSET op: `tensor` under `name` from here on.
    pub fn add_tensor_set(&mut self, name: &[u8], tensor: Arc<Tensor>) {
        self.steps.push(DagStep::TensorSet {
            name: Bytes::copy_from_slice(name),
            tensor,
        });
    }

    /// A TENSORGET op: the tensor under `name` at this point is one of the DAG's outputs.
    pub fn add_tensor_get(&mut self, name: &[u8]) {
        self.steps.push(DagStep::TensorGet {
            name: Bytes::copy_from_slice(name),
            meta: false,
            data: None,
        });
    }

    /// Ops written as AI.DAGEXECUTE writes them after its keys, split at spaces: each starts with
    /// `|>`. Models and scripts are looked up in `ks` now. All the ops are added, or none.
    pub fn add_ops_from_str(&mut self, text: &str, ks: &dyn Keyspace) -> Result<(), ApiError> {
        let builder_error = |e: Error| ApiError::from_engine(ErrorCode::DagBuilder, &e);
        let tokens: Vec<Bytes> = text
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(|t| Bytes::copy_from_slice(t.as_bytes()))
            .collect();
        let Some((first, rest)) = tokens.split_first() else {
            return Err(builder_error(Error::DagOpPrefix));
        };
        if first.as_ref() != b"|>" {
            return Err(builder_error(Error::DagOpPrefix));
        }
        let steps = rest
            .split(|t| t.as_ref() == b"|>")
            .map(|argv| {
                let op = parse_dag_op(argv, DagKind::Execute)?;
                resolve_dag_op(ks, op)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(builder_error)?;
        self.steps.extend(steps);
        Ok(())
    }

    /// Ops added so far (loaded tensors are not ops).
    pub fn num_ops(&self) -> usize {
        self.steps.len()
    }

    /// TENSORGET ops added so far: the outputs a run of the DAG gives.
    pub fn num_outputs(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s, DagStep::TensorGet { .. }))
            .count()
    }

    /// Queues the DAG: `ERR DAG is empty` with no ops, `ERR INPUT key cannot be found in DAG`
    /// when an op reads a name nothing binds before it. Its outcome comes back at once when
    /// there was nothing to queue (`Ok(Some(..))`); otherwise `on_done` receives it on the
    /// worker that finishes the DAG (`Ok(None)`). The builder may go meanwhile. `host` serves
    /// the scripts' `redis.execute` and `redisAI.model_execute`.
    pub fn submit(
        &self,
        engine: &Engine,
        host: Option<Arc<dyn ScriptHost>>,
        on_done: impl FnOnce(DagOutcome) + Send + 'static,
    ) -> Result<Option<DagOutcome>, ApiError> {
        let prepared = plan_dag(self.loaded.clone(), self.steps.clone(), &[], None)
            .map_err(|e| ApiError::from_engine(ErrorCode::DagRun, &e))?
            .detailed();
        // An op's error is coded by what the op runs.
        let codes: Vec<ErrorCode> = self
            .steps
            .iter()
            .filter_map(|s| match s {
                DagStep::Run {
                    kind: OpKind::Model(_),
                    ..
                } => Some(ErrorCode::ModelRun),
                DagStep::Run { .. } => Some(ErrorCode::ScriptRun),
                _ => None,
            })
            .collect();
        let for_worker = codes.clone();
        Ok(
            match engine.submit(prepared, host, move |c| on_done(outcome(&for_worker, &c))) {
                Submitted::Done(c) => Some(outcome(&codes, &c)),
                Submitted::Queued => None,
            },
        )
    }

    /// Runs the DAG and waits for it.
    pub fn run(
        &self,
        engine: &Engine,
        host: Option<Arc<dyn ScriptHost>>,
    ) -> Result<DagOutcome, ApiError> {
        let (tx, rx) = std::sync::mpsc::channel();
        match self.submit(engine, host, move |o| {
            let _ = tx.send(o);
        })? {
            Some(o) => Ok(o),
            None => rx
                .recv()
                .map_err(|_| ApiError::from_engine(ErrorCode::DagRun, &Error::Generic)),
        }
    }
}

/// The outputs and first error of a finished DAG whose run ops' errors are coded `codes`.
fn outcome(codes: &[ErrorCode], completion: &Completion) -> DagOutcome {
    let Some(detail) = &completion.detail else {
        return DagOutcome {
            outputs: Vec::new(),
            error: Some(ApiError::new(ErrorCode::DagRun, reply_text(completion))),
        };
    };
    let error = match detail.first_error() {
        Some((i, e)) => Some(ApiError::from_engine(
            codes.get(i).copied().unwrap_or(ErrorCode::DagRun),
            e,
        )),
        None if detail.timed_out => Some(ApiError::new(ErrorCode::DagRun, "TIMEDOUT")),
        None if detail.ops.iter().any(|o| matches!(o, OpOutcome::NotRun)) => {
            Some(ApiError::new(ErrorCode::DagRun, reply_text(completion)))
        }
        None => None,
    };
    DagOutcome {
        outputs: detail.gets.clone(),
        error,
    }
}
