//! A saved TorchScript module (AI.MODELSTORE ... TORCH): `forward` with the inputs in order,
//! under no-grad, its outputs flattened (tuples and lists of tensors become one output each).

use std::ffi::c_int;
use std::sync::OnceLock;

use redisai_core::backend::{ModelRunner, RunContext};
use redisai_core::error::{Error, Result};
use redisai_core::tensor::Tensor;

use super::convert::{sink, Collector, Inputs};
use super::ffi;

pub struct TorchModel {
    /// The shim's `Model*`.
    handle: ffi::Handle,
    /// The names of `forward`'s parameters, `self` left out.
    inputs: Vec<String>,
    /// One `""` per output tensor. Known at load time unless the return type holds a list, in
    /// which case it is set by the first successful run (and is empty until then).
    outputs: OnceLock<Vec<String>>,
    /// INTRA_OP_PARALLELISM (0: libtorch's default). libtorch keeps it per thread, so it is
    /// applied on the worker thread that runs the model, not only where the model was loaded.
    intra_op_threads: u64,
}

impl TorchModel {
    pub fn load(blob: &[u8], device_type: c_int, device_index: c_int) -> Result<TorchModel> {
        // SAFETY: the shim's loader and destructor of models.
        let handle = unsafe {
            ffi::Handle::create(
                ffi::rai_model_load,
                ffi::rai_model_free,
                blob,
                (device_type, device_index),
                "could not load the TorchScript model",
            )
        }?;
        // SAFETY: the names live in the model until it is freed; we copy them.
        let inputs = unsafe {
            (0..ffi::rai_model_num_inputs(handle.ptr))
                .map(|i| {
                    String::from_utf8_lossy(ffi::rai_model_input_name(handle.ptr, i).as_bytes())
                        .into_owned()
                })
                .collect()
        };
        let outputs = OnceLock::new();
        // SAFETY: a plain getter.
        let n = unsafe { ffi::rai_model_num_outputs(handle.ptr) };
        if let Ok(n) = usize::try_from(n) {
            let _ = outputs.set(vec![String::new(); n]);
        }
        Ok(TorchModel {
            handle,
            inputs,
            outputs,
            intra_op_threads: 0,
        })
    }

    /// Runs with this many intra-op threads (0: libtorch's default).
    pub fn with_intra_op_threads(mut self, n: u64) -> TorchModel {
        self.intra_op_threads = n;
        self
    }
}

impl ModelRunner for TorchModel {
    fn inputs(&self) -> &[String] {
        &self.inputs
    }

    fn outputs(&self) -> &[String] {
        self.outputs.get().map(Vec::as_slice).unwrap_or(&[])
    }

    fn run(&self, inputs: &[&Tensor], _ctx: &RunContext) -> Result<Vec<Tensor>> {
        super::set_threads(self.intra_op_threads, 0)?;
        let conv = Inputs::new(inputs.iter().copied())?;
        let descs = conv.descs(inputs.iter().copied());
        let mut out = Collector::default();
        // SAFETY: `descs` borrow `inputs` and `conv`, alive for the call; `out` outlives it.
        let err = unsafe {
            ffi::take_error(ffi::rai_model_run(
                self.handle.ptr,
                descs.as_ptr(),
                descs.len(),
                sink,
                out.as_ctx(),
            ))
        };
        if let Some(e) = out.error {
            return Err(e);
        }
        if let Some(e) = err {
            return Err(Error::backend(e));
        }
        let expected = self
            .outputs
            .get_or_init(|| vec![String::new(); out.tensors.len()]);
        if out.tensors.len() != expected.len() {
            return Err(Error::backend(
                "ERR Model did not generate the expected number of outputs",
            ));
        }
        Ok(out.tensors)
    }
}
