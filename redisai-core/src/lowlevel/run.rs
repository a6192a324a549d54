//! One model run or one script run over tensors the caller holds (RedisAI's run contexts):
//! built input by input, run on the calling thread or submitted (see [`Run::prepare`]), and
//! holding the outputs afterwards.

use std::sync::Arc;

use bytes::Bytes;

use super::error::{ApiError, ErrorCode};
use crate::backend::ScriptHost;
use crate::device::queue_key;
use crate::engine::Engine;
use crate::error::Error;
use crate::exec::{Completion, OpKind, OpOutcome, Plan, Prepared, ReplyShape, RunOp};
use crate::model::{Model, Script};
use crate::tensor::Tensor;

/// What a run runs.
#[derive(Clone)]
enum Target {
    Model(Arc<Model>),
    Script {
        script: Arc<Script>,
        function: String,
    },
}

/// One model run, or one run of a script's function: built input by input, run, and holding
/// its outputs afterwards (RedisAI's model and script run contexts).
pub struct Run {
    target: Target,
    inputs: Vec<Arc<Tensor>>,
    /// How many outputs the caller asked for.
    wanted: usize,
    outputs: Vec<Arc<Tensor>>,
}

impl Run {
    /// A run of `model`: inputs and outputs in the model's order.
    pub fn model(model: Arc<Model>) -> Run {
        Run::new(Target::Model(model))
    }

    /// A run of `function` of `script`, the inputs its tensor list (`List[Tensor]`); RedisAI's
    /// input lists are their tensors added one by one.
    pub fn script(script: Arc<Script>, function: &str) -> Run {
        Run::new(Target::Script {
            script,
            function: function.to_string(),
        })
    }

    fn new(target: Target) -> Run {
        Run {
            target,
            inputs: Vec::new(),
            wanted: 0,
            outputs: Vec::new(),
        }
    }

    pub fn is_model(&self) -> bool {
        matches!(self.target, Target::Model(_))
    }

    /// How the run's errors are coded.
    fn code(&self) -> ErrorCode {
        match self.target {
            Target::Model(_) => ErrorCode::ModelRun,
            Target::Script { .. } => ErrorCode::ScriptRun,
        }
    }

    pub fn add_input(&mut self, tensor: Arc<Tensor>) {
        self.inputs.push(tensor);
    }

    /// One more output to keep.
    pub fn add_output(&mut self) {
        self.wanted += 1;
    }

    pub fn inputs(&self) -> &[Arc<Tensor>] {
        &self.inputs
    }

    /// The outputs asked for (before a run), or those the run gave, if more.
    pub fn num_outputs(&self) -> usize {
        self.wanted.max(self.outputs.len())
    }

    /// Output `i` of the last run (`None` before a run, or past the end).
    pub fn output(&self, i: usize) -> Option<&Arc<Tensor>> {
        self.outputs.get(i)
    }

    /// The request of this run, to submit to the engine: one op over the inputs.
    pub fn prepare(&self) -> Prepared {
        let (kind, device) = match &self.target {
            Target::Model(model) => (OpKind::Model(model.clone()), &model.device),
            Target::Script { script, function } => (
                OpKind::Script {
                    script: script.clone(),
                    function: function.clone(),
                    keys: Vec::new(),
                    args: Vec::new(),
                    variadic: None,
                },
                &script.device,
            ),
        };
        let mut plan = Plan::default();
        let inputs = self
            .inputs
            .iter()
            .map(|t| plan.bind_value(t.clone()))
            .collect();
        let outputs = plan.new_slots(&vec![Bytes::new(); self.wanted]);
        plan.push_op(RunOp {
            kind,
            inputs,
            outputs,
            queue: queue_key(device),
        });
        plan.finish(None, ReplyShape::OneOp).detailed()
    }

    /// Takes the outputs of a finished run of [`Run::prepare`]'s request, or its error (then no
    /// outputs: none of an earlier run is left).
    pub fn finish(&mut self, completion: &Completion) -> Result<(), ApiError> {
        self.outputs.clear();
        let outcome = completion.detail.as_ref().and_then(|d| d.ops.first());
        self.outputs = match outcome {
            Some(OpOutcome::Done(outputs)) => outputs.clone(),
            Some(OpOutcome::Failed(e)) => return Err(ApiError::from_engine(self.code(), e)),
            _ => return Err(ApiError::new(self.code(), reply_text(completion))),
        };
        Ok(())
    }

    /// Runs now, on this thread (see [`Engine::run_here`]). `host` serves a script's
    /// `redis.execute` and `redisAI.model_execute`.
    pub fn run(
        &mut self,
        engine: &Engine,
        host: Option<Arc<dyn ScriptHost>>,
    ) -> Result<(), ApiError> {
        let completion = engine.run_here(self.prepare(), host);
        self.finish(&completion)
    }
}

/// Runs several runs of one model as one batch, on this thread: their inputs are concatenated
/// along dim 0, the model runs once, and each run gets its rows of every output. One run is a
/// plain run; none is `ERR Nothing to run`.
pub fn run_models(engine: &Engine, runs: &mut [&mut Run]) -> Result<(), ApiError> {
    let code = ErrorCode::ModelRun;
    let engine_error = |e: Error| ApiError::from_engine(code, &e);
    let (first, rest) = runs
        .split_first_mut()
        .ok_or_else(|| engine_error(Error::NothingToRun))?;
    let Target::Model(model) = &first.target else {
        return Err(engine_error(Error::BatchOfOtherRuns));
    };
    if rest.is_empty() {
        return first.run(engine, None);
    }
    let same_model = |r: &Run| matches!(&r.target, Target::Model(m) if Arc::ptr_eq(m, model));
    if rest
        .iter()
        .any(|r| !same_model(r) || r.inputs.len() != first.inputs.len())
    {
        return Err(engine_error(Error::BatchOfOtherRuns));
    }
    let joined = (0..first.inputs.len())
        .map(|k| {
            let parts: Vec<&Tensor> = runs.iter().map(|r| &*r.inputs[k]).collect();
            Tensor::concat(&parts).map(Arc::new)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(engine_error)?;
    let mut batch = Run {
        target: runs[0].target.clone(),
        inputs: joined,
        wanted: runs[0].wanted,
        outputs: Vec::new(),
    };
    for run in runs.iter_mut() {
        run.outputs.clear();
    }
    batch.run(engine, None)?;
    // Each run's rows of every output; all of them, or none.
    let rows: Vec<usize> = runs
        .iter()
        .map(|r| r.inputs.first().map_or(1, |t| t.dim0()))
        .collect();
    let total: usize = rows.iter().sum();
    if batch.outputs.iter().any(|t| t.dim0() != total) {
        return Err(engine_error(Error::BatchSizeMismatch));
    }
    let mut offset = 0;
    let mut parts = Vec::with_capacity(runs.len());
    for n in rows {
        let outputs = batch
            .outputs
            .iter()
            .map(|t| t.slice(offset, n).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| engine_error(Error::BatchSizeMismatch))?;
        parts.push(outputs);
        offset += n;
    }
    for (run, outputs) in runs.iter_mut().zip(parts) {
        run.outputs = outputs;
    }
    Ok(())
}

/// What a request that did not run its op replied (`TIMEDOUT`, an error).
pub(super) fn reply_text(completion: &Completion) -> String {
    match &completion.reply {
        crate::reply::Reply::Error(e) => e.clone(),
        crate::reply::Reply::Simple(s) => s.to_string(),
        _ => Error::Generic.to_string(),
    }
}
