//! A loaded ONNX model: its session, its input and output names, and the run itself.
//!
//! `ort` runs a session through `&mut`, so concurrent runs take turns: a run borrows the session
//! from a slot and gives it back when done. A run waiting for its turn gives up at its deadline
//! (a plain mutex could not), so a queue of runs behind a slow one still times out on time.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ort::memory::MemoryInfo;
use ort::session::Session;
use redisai_core::backend::{ModelRunner, RunContext};
use redisai_core::{Error, Result, Tensor};

use super::alloc::HeldWeights;
use super::deadline::{self, Control, Stopped};
use super::panic_error;
use super::tensors::{self, CNames, Output};
use crate::slot::Slot;

pub(crate) struct OnnxModel {
    /// The weights' bytes, counted in `onnxruntime_memory` while the model lives.
    _weights: HeldWeights,
    slot: Slot<Session>,
    inputs: Vec<String>,
    outputs: Vec<String>,
    input_names: CNames,
    output_names: CNames,
    /// Where borrowed input data is said to live.
    cpu: MemoryInfo<'static>,
    /// Stops a run at its deadline or at MODEL_EXECUTION_TIMEOUT; runs take turns on it as on
    /// the session.
    control: Arc<Control>,
}

impl OnnxModel {
    /// `weights`: the model's bytes, counted while it lives. `limit`: MODEL_EXECUTION_TIMEOUT
    /// (`None`: runs may take any time).
    pub(crate) fn new(
        session: Session,
        weights: HeldWeights,
        limit: Option<Duration>,
    ) -> Result<OnnxModel> {
        let inputs: Vec<String> = session
            .inputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        let outputs: Vec<String> = session
            .outputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        Ok(OnnxModel {
            input_names: CNames::new(&inputs)?,
            output_names: CNames::new(&outputs)?,
            cpu: tensors::cpu_memory()?,
            slot: Slot::new(session),
            inputs,
            outputs,
            control: Control::new(limit)?,
            _weights: weights,
        })
    }

    fn run_session(
        &self,
        inputs: &[&Tensor],
        until: Option<Instant>,
        max_wait: Option<Duration>,
    ) -> Result<Vec<Tensor>> {
        let values = inputs
            .iter()
            .map(|t| tensors::input(t, &self.cpu))
            .collect::<Result<Vec<_>>>()?;
        let feeds: Vec<_> = values.iter().map(|v| v.ptr()).collect();
        let mut session = self.slot.take(until, max_wait)?;
        let session = session.get()?;
        let running = self.control.begin();
        let registration = until.map(|d| running.deadline(d)).transpose()?;
        let outputs = tensors::run(
            session,
            self.control.options(),
            &self.input_names,
            &feeds,
            &self.output_names,
        );
        drop(registration);
        let outputs = match (outputs, running.end()) {
            (Err(_), Some(Stopped::Deadline)) => return Err(deadline::timed_out()),
            // MODEL_EXECUTION_TIMEOUT: ORT's own text, as RedisAI replies.
            (outputs, _) => outputs?,
        };
        // Non-tensor outputs (an ONNX-ML ZipMap's sequence of maps) have no RedisAI type: they
        // are left out, as RedisAI leaves their keys unwritten. Only trailing ones can be left
        // out without shifting later outputs onto the wrong keys.
        let mut tensors = Vec::with_capacity(self.outputs.len());
        let mut skipped: Option<(&str, String)> = None;
        for (name, value) in self.outputs.iter().zip(outputs) {
            match tensors::output(name, value)? {
                Output::Other(ty) => {
                    skipped.get_or_insert((name, ty));
                }
                Output::Tensor(tensor) => {
                    if let Some((skipped, ty)) = &skipped {
                        return Err(Error::backend(format!(
                            "ERR ONNX output '{skipped}' is not a tensor ({ty}), and tensor outputs follow it"
                        )));
                    }
                    tensors.push(tensor);
                }
            }
        }
        Ok(tensors)
    }
}

impl ModelRunner for OnnxModel {
    fn inputs(&self) -> &[String] {
        &self.inputs
    }

    fn outputs(&self) -> &[String] {
        &self.outputs
    }

    /// Runs the model. With `ctx.deadline`, a run still going at the deadline is terminated and
    /// fails with `Error::RunTimedOut` (also when the deadline has passed before it
    /// starts). A run longer than the model's MODEL_EXECUTION_TIMEOUT fails with ORT's text.
    fn run(&self, inputs: &[&Tensor], ctx: &RunContext) -> Result<Vec<Tensor>> {
        if inputs.len() != self.inputs.len() {
            return Err(Error::backend(format!(
                "ERR Expected {} inputs but got {}",
                self.inputs.len(),
                inputs.len()
            )));
        }
        catch_unwind(AssertUnwindSafe(|| {
            self.run_session(inputs, ctx.deadline, ctx.max_wait)
        }))
        .unwrap_or_else(|p| Err(panic_error("running the model", p)))
    }
}
