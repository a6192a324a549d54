//! A request in flight: its ops, the state the ops share (slots, results), the per-device
//! share of its ops that sits in a run queue, and how its completion reaches the face.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;

use crate::backend::ScriptHost;
use crate::command::tensor_reply;
use crate::error::Error;
use crate::exec::completion::{Completion, OpOutcome, ReplyShape, RunDetail};
use crate::exec::lock;
use crate::exec::plan::{OpKind, RunOp, Step};
use crate::exec::queue::RunQueue;
use crate::reply::Reply;
use crate::tensor::Tensor;

pub(crate) enum OpResult {
    NotRun,
    Ok { micros: u64, samples: i64 },
    Err(Error),
}

pub(crate) struct State {
    pub slots: Vec<Option<Arc<Tensor>>>,
    pub results: Vec<OpResult>,
    /// Device shares waiting for an input another device produces.
    pub parked: Vec<DeviceOps>,
    pub shares_left: usize,
    pub failed: bool,
    pub timed_out: bool,
}

pub(crate) type OnDone = Box<dyn FnOnce(Completion) + Send>;

/// Where a finished request's completion goes.
pub(crate) enum Delivery {
    /// The submitting thread may still take it (a run on that thread, a plan with nothing to
    /// run): it is kept here instead of being handed to a callback on the caller's own stack.
    Held(Option<Completion>),
    /// Queued work: the face's callback, called on the worker that finishes the request.
    Callback(OnDone),
    Delivered,
}

pub(crate) struct Request {
    pub ops: Vec<RunOp>,
    pub steps: Vec<Step>,
    pub persist: Vec<(Bytes, usize)>,
    pub shape: ReplyShape,
    /// The completion carries a [`RunDetail`].
    pub detailed: bool,
    pub deadline: Option<Instant>,
    pub host: Option<Arc<dyn ScriptHost>>,
    pub state: Mutex<State>,
    pub delivery: Mutex<Delivery>,
}

impl Request {
    /// The completion held for the submitting thread, if the request has finished; otherwise
    /// `on_done` takes over delivery (atomically: a worker finishing meanwhile sees one or the
    /// other).
    pub fn take_or_hand_over(&self, on_done: OnDone) -> Option<Completion> {
        let mut d = lock(&self.delivery);
        match std::mem::replace(&mut *d, Delivery::Delivered) {
            Delivery::Held(Some(c)) => Some(c),
            Delivery::Held(None) => {
                *d = Delivery::Callback(on_done);
                None
            }
            other => {
                *d = other;
                None
            }
        }
    }
}

/// The ops of one request that run on one device, in order: what a run queue holds.
pub(crate) struct DeviceOps {
    pub request: Arc<Request>,
    pub ops: Vec<usize>,
    pub next: usize,
    pub queue: Arc<RunQueue>,
    /// When the request was queued: MINBATCHTIMEOUT counts from the first request's.
    pub queued: Instant,
}

pub(crate) fn requeue(shares: Vec<DeviceOps>) {
    for s in shares {
        let q = s.queue.clone();
        q.push_front(s);
    }
}

/// A device share is done (all its ops ran, or the request failed or timed out).
pub(crate) fn finish_share(share: DeviceOps) {
    let request = share.request;
    let (last, parked) = {
        let mut state = lock(&request.state);
        state.shares_left -= 1;
        (state.shares_left == 0, std::mem::take(&mut state.parked))
    };
    // Shares waiting on this one's outputs see the failure or timeout and finish too.
    requeue(parked);
    if last {
        finish(&request);
    }
}

/// Builds the completion, records the stats of the ops that ran, and delivers it.
pub(crate) fn finish(request: &Request) {
    let state = lock(&request.state);
    for (op, result) in request.ops.iter().zip(&state.results) {
        let stats = match &op.kind {
            OpKind::Model(m) => m.stats.stats(),
            OpKind::Script { script, .. } => script.stats.stats(),
        };
        match result {
            OpResult::NotRun => {}
            OpResult::Ok { micros, samples } => stats.record_ok(*micros, *samples),
            OpResult::Err(_) => stats.record_error(),
        }
    }
    let completion = completion(request, &state);
    drop(state);
    let mut delivery = lock(&request.delivery);
    match std::mem::replace(&mut *delivery, Delivery::Delivered) {
        Delivery::Held(_) => *delivery = Delivery::Held(Some(completion)),
        Delivery::Callback(on_done) => {
            drop(delivery);
            on_done(completion);
        }
        Delivery::Delivered => {}
    }
}

fn completion(request: &Request, state: &State) -> Completion {
    let mut c = reply_completion(request, state);
    if request.detailed {
        c.detail = Some(detail(request, state));
    }
    c
}

fn detail(request: &Request, state: &State) -> RunDetail {
    let ops = request
        .ops
        .iter()
        .zip(&state.results)
        .map(|(op, result)| match result {
            OpResult::NotRun => OpOutcome::NotRun,
            OpResult::Err(e) => OpOutcome::Failed(e.clone()),
            OpResult::Ok { .. } => OpOutcome::Done(
                op.outputs
                    .iter()
                    .filter_map(|&s| state.slots[s].clone())
                    .collect(),
            ),
        })
        .collect();
    let gets = request
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::TensorGet { slot, .. } => Some(state.slots[*slot].clone()),
            _ => None,
        })
        .collect();
    RunDetail {
        ops,
        gets,
        timed_out: state.timed_out,
    }
}

fn reply_completion(request: &Request, state: &State) -> Completion {
    let shape = request.shape;
    if state.timed_out {
        return Completion {
            reply: Reply::Simple("TIMEDOUT"),
            persist: Vec::new(),
            shape,
            detail: None,
        };
    }
    if shape == ReplyShape::OneOp {
        return match state.results.first() {
            Some(OpResult::Err(e)) => Completion {
                reply: e.clone().into(),
                persist: Vec::new(),
                shape,
                detail: None,
            },
            _ => Completion {
                reply: Reply::OK,
                persist: persisted(request, state),
                shape,
                detail: None,
            },
        };
    }
    let replies = request
        .steps
        .iter()
        .map(|s| match s {
            Step::TensorSet => Reply::OK,
            Step::TensorGet { slot, meta, data } => match &state.slots[*slot] {
                Some(t) => tensor_reply(t, *meta, *data),
                None => Reply::Simple("NA"),
            },
            Step::Run(i) => match &state.results[*i] {
                OpResult::NotRun => Reply::Simple("NA"),
                OpResult::Ok { .. } => Reply::OK,
                OpResult::Err(e) => e.clone().into(),
            },
        })
        .collect();
    Completion {
        reply: Reply::Array(replies),
        persist: if state.failed {
            Vec::new()
        } else {
            persisted(request, state)
        },
        shape,
        detail: None,
    }
}

fn persisted(request: &Request, state: &State) -> Vec<(Bytes, Arc<Tensor>)> {
    request
        .persist
        .iter()
        .filter_map(|(key, slot)| Some((key.clone(), state.slots[*slot].clone()?)))
        .collect()
}
