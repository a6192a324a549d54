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
}

impl Completion {
    /// A completion that only carries an error.
    pub fn error(e: Error) -> Completion {
        Completion {
            reply: e.into(),
            persist: Vec::new(),
            shape: ReplyShape::OneOp,
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
