//! Auto-batching (spec §4.3): which queued shares run together, and running them as one
//! backend call (inputs joined along dim 0 in queue order, outputs sliced back).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::RunContext;
use crate::error::{Error, Result};
use crate::exec::lock;
use crate::exec::plan::OpKind;
use crate::exec::request::DeviceOps;
use crate::exec::worker::{guarded, record, run_next, Place};
use crate::model::{BackendKind, Model};
use crate::tensor::Tensor;

/// What a worker runs next.
pub(crate) enum Job {
    Single(DeviceOps),
    /// Shares whose next op is the same model, with compatible inputs: one backend call.
    Batch(Vec<DeviceOps>),
}

pub(crate) enum NextJob {
    Run(Job),
    /// Nothing runnable; wake at this instant at the latest (a batch's MINBATCHTIMEOUT).
    WaitUntil(Option<Instant>),
}

/// The next op of `share`, if it is a model op that takes part in batching, with its inputs
/// (all present) and its batch size (dim 0 shared by every input, else 0).
fn batchable(share: &DeviceOps, now: Instant) -> Option<(Arc<Model>, Vec<Arc<Tensor>>, usize)> {
    let request = &share.request;
    let op = &request.ops[*share.ops.get(share.next)?];
    let OpKind::Model(model) = &op.kind else {
        return None;
    };
    if model.batch.size == 0 || request.deadline.is_some_and(|d| now >= d) {
        return None;
    }
    let state = lock(&request.state);
    if state.failed || state.timed_out {
        return None;
    }
    let inputs: Vec<Arc<Tensor>> = op
        .inputs
        .iter()
        .map(|&s| state.slots[s].clone())
        .collect::<Option<_>>()?;
    let dim0 = inputs.first().filter(|t| !t.shape().is_empty())?.dim0();
    let size = if inputs
        .iter()
        .all(|t| !t.shape().is_empty() && t.dim0() == dim0)
    {
        dim0
    } else {
        0
    };
    Some((model.clone(), inputs, size))
}

/// Same number of inputs, and per input the same type, rank and dims after dim 0.
fn compatible(a: &[Arc<Tensor>], b: &[Arc<Tensor>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.dtype() == y.dtype()
                && x.shape().len() == y.shape().len()
                && x.shape()[1..] == y.shape()[1..]
        })
}

/// Chooses the next job from the queue: a lone op, or a batch gathered in queue order until
/// its total dim 0 reaches BATCHSIZE (a threshold, not a cap, as in RedisAI).
pub(crate) fn select(q: &mut VecDeque<DeviceOps>, closing: bool, now: Instant) -> NextJob {
    let mut wake: Option<Instant> = None;
    let mut waiting = vec![false; q.len()];
    for i in 0..q.len() {
        if waiting[i] {
            continue;
        }
        let Some((model, inputs, size)) = batchable(&q[i], now).filter(|(m, _, n)| {
            // Runs alone: a batch size of 0 (inputs disagree on dim 0) or already a full batch.
            *n > 0 && (*n as u64) < m.batch.size
        }) else {
            return match q.remove(i) {
                Some(share) => NextJob::Run(Job::Single(share)),
                None => NextJob::WaitUntil(wake),
            };
        };
        let mut members = vec![i];
        let mut total = size as u64;
        for j in i + 1..q.len() {
            if total >= model.batch.size {
                break;
            }
            if waiting[j] {
                continue;
            }
            if let Some((m, ins, n)) = batchable(&q[j], now) {
                // The same model object: re-storing a model makes a new one.
                if Arc::ptr_eq(&m, &model) && n > 0 && compatible(&inputs, &ins) {
                    members.push(j);
                    total += n as u64;
                }
            }
        }
        let batch = model.batch;
        let deadline =
            (batch.min_timeout > 0).then(|| q[i].queued + Duration::from_millis(batch.min_timeout));
        let enough = batch.min_size == 0
            || total >= batch.min_size
            || closing
            || deadline.is_some_and(|d| now >= d);
        if enough {
            let mut shares: Vec<DeviceOps> = Vec::with_capacity(members.len());
            for &m in members.iter().rev() {
                shares.extend(q.remove(m));
            }
            shares.reverse();
            return NextJob::Run(Job::Batch(shares));
        }
        // Wake at the batch's MINBATCHTIMEOUT, or at the first TIMEOUT of a waiting request
        // (then it leaves the batch and times out alone).
        for &m in &members {
            waiting[m] = true;
        }
        let timeouts = members.iter().filter_map(|&m| q[m].request.deadline);
        if let Some(d) = deadline.into_iter().chain(timeouts).min() {
            wake = Some(wake.map_or(d, |w: Instant| w.min(d)));
        }
    }
    NextJob::WaitUntil(wake)
}

/// Runs one model op for several requests. Every participant gets the batch's error.
pub(crate) fn run_batch(shares: Vec<DeviceOps>) {
    let mut ready: Vec<(DeviceOps, Vec<Arc<Tensor>>, usize)> = Vec::with_capacity(shares.len());
    let mut model = None;
    for share in shares {
        let now = share.queue.clock.now();
        match batchable(&share, now) {
            Some((m, inputs, n)) => {
                model = Some(m);
                ready.push((share, inputs, n));
            }
            // Failed or timed out meanwhile: the single path finishes it.
            None => run_next(share, Place::Worker),
        }
    }
    let Some(model) = model else {
        return;
    };
    let total: usize = ready.iter().map(|r| r.2).sum();
    let n_inputs = ready.first().map_or(0, |r| r.1.len());
    let joined: Result<Vec<Tensor>> = (0..n_inputs)
        .map(|k| Tensor::concat(&ready.iter().map(|r| &*r.1[k]).collect::<Vec<_>>()))
        .collect();
    let deadline = ready.iter().filter_map(|r| r.0.request.deadline).min();
    let started = Instant::now();
    let outcome = joined.and_then(|inputs| {
        let refs: Vec<&Tensor> = inputs.iter().collect();
        guarded(|| {
            model.runner.run(
                &refs,
                &RunContext {
                    deadline,
                    host: None,
                    max_wait: None,
                },
            )
        })
    });
    let micros = started.elapsed().as_micros() as u64;
    // TF, as in RedisAI: a scalar output is not batched (every request gets it whole), and the
    // mismatch has its own text.
    let tf = model.backend == BackendKind::Tf;
    let outputs = outcome.and_then(|outs| {
        let mismatch = |t: &Tensor| match t.shape().is_empty() {
            true => !tf,
            false => t.dim0() != total,
        };
        if outs.iter().any(mismatch) {
            return Err(Error::backend(if tf {
                "ERR Tensorflow batching error: model did not generate the expected batch size"
            } else {
                "ERR Model did not generate the expected batch size"
            }));
        }
        Ok(outs)
    });
    let mut offset = 0;
    for (share, _, n) in ready {
        let mine = match &outputs {
            Ok(outs) => outs
                .iter()
                .map(|t| match t.shape().is_empty() {
                    true => Ok(t.clone()),
                    false => t.slice(offset, n),
                })
                .collect(),
            Err(e) => Err(e.clone()),
        };
        offset += n;
        record(share, mine, micros);
    }
}
