//! A compiled TorchScript script (AI.SCRIPTSTORE / AI.SCRIPTSET) and its calls
//! (AI.SCRIPTEXECUTE / AI.SCRIPTRUN).
//!
//! An entry point is called as `f(tensors: List[Tensor], keys: List[str], args: List[str])`.
//! Any other function gets RedisAI's "best effort" mapping of the input tensors onto its
//! parameters: a `Tensor` parameter takes the next tensor, a `List[Tensor]` parameter takes all
//! the remaining ones (from the `$` marker of AI.SCRIPTRUN when there is one) and ends the
//! mapping.

use std::ffi::c_int;

use bytes::Bytes;
use redisai_core::backend::{RunContext, ScriptCall, ScriptRunner};
use redisai_core::error::{Error, Result};
use redisai_core::tensor::Tensor;

use super::convert::{sink, Collector, Inputs};
use super::ffi::{self, RaiArg, RaiStr, ARG_STR_LIST, ARG_TENSOR, ARG_TENSOR_LIST, KIND_OTHER};
use super::host::HostSlot;

pub struct TorchScript {
    /// The shim's `Script*`.
    handle: ffi::Handle,
    entry_points: Vec<String>,
}

/// Parameter kinds as the shim reports them.
const KIND_TENSOR: c_int = ARG_TENSOR;
const KIND_TENSOR_LIST: c_int = ARG_TENSOR_LIST;
const KIND_STR_LIST: c_int = ARG_STR_LIST;

impl TorchScript {
    /// Compiles `source` and checks each entry point, with RedisAI's texts (no `ERR`).
    pub fn compile(
        source: &str,
        device_type: c_int,
        device_index: c_int,
        entry_points: &[String],
    ) -> Result<TorchScript> {
        let script = TorchScript {
            // SAFETY: the shim's compiler and destructor of scripts.
            handle: unsafe {
                ffi::Handle::create(
                    ffi::rai_script_compile,
                    ffi::rai_script_free,
                    source.as_bytes(),
                    (device_type, device_index),
                    "could not compile the TorchScript script",
                )
            }?,
            entry_points: entry_points.to_vec(),
        };
        for ep in entry_points {
            let Some(kinds) = script.signature(ep) else {
                return Err(Error::backend(format!(
                    "Function {ep} does not exist in the given script."
                )));
            };
            if kinds.len() != 3 {
                return Err(Error::backend(format!(
                    "Wrong number of inputs in function {ep}. Expected 3 but was {}",
                    kinds.len()
                )));
            }
            if kinds != [KIND_TENSOR_LIST, KIND_STR_LIST, KIND_STR_LIST] {
                return Err(Error::backend(format!(
                    "Wrong inputs type in function {ep}. Expected signature similar to: \
                     def {ep}(tensors: List[Tensor], keys: List[str], args: List[str])"
                )));
            }
        }
        Ok(script)
    }

    /// The parameter kinds of `function`, or `None` if the script has no such function.
    fn signature(&self, function: &str) -> Option<Vec<c_int>> {
        let mut kinds = vec![KIND_OTHER; 8];
        loop {
            let mut nargs = 0usize;
            // SAFETY: `kinds` has room for `kinds.len()` values.
            let found = unsafe {
                ffi::rai_script_signature(
                    self.handle.ptr,
                    function.as_ptr().cast(),
                    function.len(),
                    kinds.as_mut_ptr(),
                    kinds.len(),
                    &mut nargs,
                )
            };
            if found == 0 {
                return None;
            }
            if nargs <= kinds.len() {
                kinds.truncate(nargs);
                return Some(kinds);
            }
            kinds = vec![KIND_OTHER; nargs];
        }
    }

    /// RedisAI's "best effort" arguments for a function that is not an entry point.
    fn best_effort_args(&self, call: &ScriptCall) -> Result<Vec<RaiArg>> {
        let f = call.function;
        let kinds = self
            .signature(f)
            .ok_or_else(|| Error::backend(format!("Function does not exist: {f}")))?;
        let n = call.inputs.len();
        if kinds.len() > n {
            return Err(Error::backend(format!(
                "Wrong number of inputs provided to function: {f}"
            )));
        }
        let mut args = Vec::with_capacity(kinds.len());
        let mut next = 0usize;
        for kind in kinds {
            match kind {
                KIND_TENSOR => {
                    if next >= n {
                        return Err(Error::backend(format!(
                            "Wrong number of inputs provided to function: {f}"
                        )));
                    }
                    args.push(RaiArg {
                        kind: ARG_TENSOR,
                        start: next,
                        count: 1,
                    });
                    next += 1;
                }
                KIND_TENSOR_LIST => {
                    // AI.SCRIPTRUN's `$` says where the list begins; otherwise (or if it points
                    // back at tensors already taken) the list is the rest.
                    let start = call
                        .variadic
                        .filter(|&v| v >= next && v <= n)
                        .unwrap_or(next);
                    args.push(RaiArg {
                        kind: ARG_TENSOR_LIST,
                        start,
                        count: n - start,
                    });
                    break;
                }
                _ => {
                    return Err(Error::backend(format!(
                        "Unsupported input type in function definition: {f}"
                    )))
                }
            }
        }
        Ok(args)
    }
}

impl ScriptRunner for TorchScript {
    fn run(&self, call: &ScriptCall, ctx: &RunContext) -> Result<Vec<Tensor>> {
        let f = call.function;
        let is_entry = self.entry_points.iter().any(|ep| ep == f);
        let args = if is_entry {
            vec![
                RaiArg {
                    kind: ARG_TENSOR_LIST,
                    start: 0,
                    count: call.inputs.len(),
                },
                RaiArg {
                    kind: ARG_STR_LIST,
                    start: 0,
                    count: call.keys.len(),
                },
                RaiArg {
                    kind: ARG_STR_LIST,
                    start: call.keys.len(),
                    count: call.args.len(),
                },
            ]
        } else {
            self.best_effort_args(call)?
        };
        let strs: Vec<RaiStr> = call
            .keys
            .iter()
            .chain(call.args.iter())
            .map(|b: &Bytes| RaiStr::new(b))
            .collect();
        let conv = Inputs::new(call.inputs.iter().copied())?;
        let descs = conv.descs(call.inputs.iter().copied());
        let slot = HostSlot(ctx.host);
        let mut out = Collector::default();
        // SAFETY: every pointer borrows a local that outlives the call; the shim keeps the host
        // slot's address only for the duration of the call.
        let err = unsafe {
            ffi::take_error(ffi::rai_script_run(
                self.handle.ptr,
                f.as_ptr().cast(),
                f.len(),
                descs.as_ptr(),
                descs.len(),
                strs.as_ptr(),
                strs.len(),
                args.as_ptr(),
                args.len(),
                c_int::from(call.outputs > 0),
                sink,
                out.as_ctx(),
                slot.as_ptr(),
            ))
        };
        if let Some(e) = out.error {
            return Err(e);
        }
        if let Some(e) = err {
            return Err(Error::backend(e));
        }
        if call.outputs > 0 && out.tensors.len() != call.outputs {
            return Err(Error::backend(format!(
                "Function returned unexpected number of outputs - {f}"
            )));
        }
        Ok(out.tensors)
    }
}
