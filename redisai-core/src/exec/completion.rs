//! What a finished request hands back to its face: the reply, and the tensors to store.

use std::sync::Arc;

use bytes::Bytes;

use crate::error::Error;
use crate::keyspace::{Keyspace, Value};
use crate::reply::Reply;
use crate::tensor::Tensor;

/// How a request's reply is shaped, which decides what a failed store does to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyShape {
    /// AI.MODELEXECUTE, AI.SCRIPTEXECUTE and their deprecated forms: one reply for one op.
    OneOp,
    /// A DAG: one reply per op, in an array.
    Dag,
}

/// A finished request: its reply, and the tensors to store (already checked: empty unless
/// every op succeeded).
#[derive(Debug)]
pub struct Completion {
    pub reply: Reply,
    pub persist: Vec<(Bytes, Arc<Tensor>)>,
    pub(crate) shape: ReplyShape,
    /// What each op did, when the request asked for it (see [`Prepared::detailed`]).
    ///
    /// [`Prepared::detailed`]: crate::exec::Prepared::detailed
    pub detail: Option<RunDetail>,
}

/// What a request's ops did, as tensors rather than a reply: for callers that use the outputs
/// themselves (the low-level API of other Redis modules).
#[derive(Debug, Default)]
pub struct RunDetail {
    /// Per op, in the order of the request's model and script ops.
    pub ops: Vec<OpOutcome>,
    /// The tensor of each TENSORGET step, in order (`None` where its op did not run).
    pub gets: Vec<Option<Arc<Tensor>>>,
    pub timed_out: bool,
}

#[derive(Debug)]
pub enum OpOutcome {
    NotRun,
    Done(Vec<Arc<Tensor>>),
    Failed(Error),
}

impl RunDetail {
    /// The first op error, with the index of its op.
    pub fn first_error(&self) -> Option<(usize, &Error)> {
        self.ops.iter().enumerate().find_map(|(i, o)| match o {
            OpOutcome::Failed(e) => Some((i, e)),
            _ => None,
        })
    }
}

impl Completion {
    /// A completion that only carries an error.
    pub fn error(e: Error) -> Completion {
        Completion {
            reply: e.into(),
            persist: Vec::new(),
            shape: ReplyShape::OneOp,
            detail: None,
        }
    }

    /// Stores the outputs in `ks` and returns the final reply and the keys written (which the
    /// module replicates as AI.TENSORSET). A key that became another type meanwhile stops the
    /// stores: a DAG appends the error to its reply array, a single command replies it.
    pub fn apply(self, ks: &mut dyn Keyspace) -> (Reply, Vec<(Bytes, Arc<Tensor>)>) {
        let mut stored = Vec::with_capacity(self.persist.len());
        let mut reply = self.reply;
        for (key, tensor) in self.persist {
            if let Err(e) = ks.set(key.clone(), Value::Tensor(tensor.clone())) {
                reply = match reply {
                    Reply::Array(mut items) if self.shape == ReplyShape::Dag => {
                        items.push(e.into());
                        Reply::Array(items)
                    }
                    _ => e.into(),
                };
                break;
            }
            stored.push((key, tensor));
        }
        (reply, stored)
    }
}
