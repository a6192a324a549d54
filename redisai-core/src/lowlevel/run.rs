//! One model run or one script run over tensors the caller holds (RedisAI's run contexts):
//! built input by input, run on the engine's queues (or on the calling thread when cheap), and
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

/// A run of one model.
pub struct ModelRun {
    model: Arc<Model>,
    inputs: Vec<Arc<Tensor>>,
    /// How many outputs the caller asked for.
    wanted: usize,
    outputs: Vec<Arc<Tensor>>,
}

impl ModelRun {
    pub fn new(model: Arc<Model>) -> ModelRun {
        ModelRun {
            model,
            inputs: Vec::new(),
            wanted: 0,
            outputs: Vec::new(),
        }
    }

    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// The next input, in the model's input order.
    pub fn add_input(&mut self, tensor: Arc<Tensor>) {
        self.inputs.push(tensor);
    }

    /// One more output to keep, in the model's output order.
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

    /// The request of this run, to submit to the engine.
    pub fn prepare(&self) -> Prepared {
        one_op(
            OpKind::Model(self.model.clone()),
            queue_key(&self.model.device),
            &self.inputs,
            self.wanted,
        )
    }

    /// Takes the outputs of a finished run of [`ModelRun::prepare`]'s request, or its error
    /// (then no outputs: none of an earlier run is left).
    pub fn finish(&mut self, completion: &Completion) -> Result<(), ApiError> {
        self.outputs.clear();
        self.outputs = op_outputs(completion, ErrorCode::ModelRun)?;
        Ok(())
    }

    /// Runs now, on this thread (see [`Engine::run_here`]).
    pub fn run(&mut self, engine: &Engine) -> Result<(), ApiError> {
        let completion = engine.run_here(self.prepare(), None);
        self.finish(&completion)
    }
}

/// Runs several runs of one model as one batch, and waits: their inputs are concatenated along
/// dim 0, the model runs once, and each run gets its rows of every output. One run is a plain
/// run; none is `ERR Nothing to run`.
pub fn run_models(engine: &Engine, runs: &mut [&mut ModelRun]) -> Result<(), ApiError> {
    let code = ErrorCode::ModelRun;
    let engine_error = |e: Error| ApiError::from_engine(code, &e);
    let (first, rest) = runs
        .split_first_mut()
        .ok_or_else(|| engine_error(Error::NothingToRun))?;
    if rest.is_empty() {
        return first.run(engine);
    }
    if rest
        .iter()
        .any(|r| !Arc::ptr_eq(&r.model, &first.model) || r.inputs.len() != first.inputs.len())
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
    let mut batch = ModelRun {
        model: runs[0].model.clone(),
        inputs: joined,
        wanted: runs[0].wanted,
        outputs: Vec::new(),
    };
    batch.run(engine)?;
    let mut offset = 0;
    for run in runs.iter_mut() {
        let rows = run.inputs.first().map_or(1, |t| t.dim0());
        run.outputs = batch
            .outputs
            .iter()
            .map(|t| t.slice(offset, rows).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| engine_error(Error::BatchSizeMismatch))?;
        offset += rows;
    }
    Ok(())
}

/// A run of one function of a script.
pub struct ScriptRun {
    script: Arc<Script>,
    function: String,
    inputs: Vec<Arc<Tensor>>,
    wanted: usize,
    outputs: Vec<Arc<Tensor>>,
}

impl ScriptRun {
    pub fn new(script: Arc<Script>, function: &str) -> ScriptRun {
        ScriptRun {
            script,
            function: function.to_string(),
            inputs: Vec::new(),
            wanted: 0,
            outputs: Vec::new(),
        }
    }

    pub fn script(&self) -> &Arc<Script> {
        &self.script
    }

    /// The next tensor of the function's tensor list (`List[Tensor]`); RedisAI's input lists
    /// are their tensors added one by one.
    pub fn add_input(&mut self, tensor: Arc<Tensor>) {
        self.inputs.push(tensor);
    }

    pub fn add_output(&mut self) {
        self.wanted += 1;
    }

    pub fn num_outputs(&self) -> usize {
        self.wanted.max(self.outputs.len())
    }

    pub fn output(&self, i: usize) -> Option<&Arc<Tensor>> {
        self.outputs.get(i)
    }

    pub fn prepare(&self) -> Prepared {
        one_op(
            OpKind::Script {
                script: self.script.clone(),
                function: self.function.clone(),
                keys: Vec::new(),
                args: Vec::new(),
                variadic: None,
            },
            queue_key(&self.script.device),
            &self.inputs,
            self.wanted,
        )
    }

    pub fn finish(&mut self, completion: &Completion) -> Result<(), ApiError> {
        self.outputs.clear();
        self.outputs = op_outputs(completion, ErrorCode::ScriptRun)?;
        Ok(())
    }

    /// Runs now, on this thread (see [`Engine::run_here`]). `host` serves the script's
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

/// A request of one op over the given tensors, with `outputs` output slots.
fn one_op(kind: OpKind, queue: String, inputs: &[Arc<Tensor>], outputs: usize) -> Prepared {
    let mut plan = Plan::default();
    let inputs = inputs.iter().map(|t| plan.bind_value(t.clone())).collect();
    let outputs = plan.new_slots(&vec![Bytes::new(); outputs]);
    plan.push_op(RunOp {
        kind,
        inputs,
        outputs,
        queue,
    });
    plan.finish(None, ReplyShape::OneOp).detailed()
}

/// The outputs of a one-op request, or its error coded `code`.
fn op_outputs(completion: &Completion, code: ErrorCode) -> Result<Vec<Arc<Tensor>>, ApiError> {
    let outcome = completion.detail.as_ref().and_then(|d| d.ops.first());
    match outcome {
        Some(OpOutcome::Done(outputs)) => Ok(outputs.clone()),
        Some(OpOutcome::Failed(e)) => Err(ApiError::from_engine(code, e)),
        _ => Err(ApiError::new(code, reply_text(completion))),
    }
}

/// What a request that did not run its op replied (`TIMEDOUT`, an error).
pub(super) fn reply_text(completion: &Completion) -> String {
    match &completion.reply {
        crate::reply::Reply::Error(e) => e.clone(),
        crate::reply::Reply::Simple(s) => s.to_string(),
        _ => Error::Generic.to_string(),
    }
}
