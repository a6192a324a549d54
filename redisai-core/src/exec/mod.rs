//! Execution: prepared requests (AI.MODELEXECUTE and AI.SCRIPTEXECUTE are a DAG of one op),
//! the per-device run queues and their worker threads.
//!
//! A request is split into one share per device; a share is a queue item. A worker pops a
//! share, runs its next op if the op's inputs are there, and pushes the share back to the front
//! of its queue; a share whose next op waits on another device's output is parked on its
//! request and re-queued when an op of that request finishes. Workers sleep on a condvar: no
//! polling. When the last share finishes, the request's [`Completion`] is delivered.
//!
//! ## Layout
//! - `plan`: [`Prepared`], the ops over DAG-local slots, and its builder.
//! - `scheduler`: [`Scheduler`], the queues by device, and submission ([`Submitted`]).
//! - `queue`: one device's queue and its workers' wait.
//! - `batch`: which queued requests run as one batch, and running a batch.
//! - `worker`: running one op, then re-queueing, parking or finishing its share.
//! - `request`: a request in flight, and how its completion is delivered.
//! - `inline`: which runs are cheap enough for the submitting thread.
//! - `completion`: [`Completion`], what a face stores and replies.
//! - `clock`: [`Clock`], so tests can move time.

mod batch;
mod clock;
mod completion;
mod inline;
mod plan;
mod queue;
mod request;
mod scheduler;
mod worker;

pub use clock::{Clock, ManualClock, SystemClock};
pub use completion::{Completion, OpOutcome, ReplyShape, RunDetail};
pub use inline::AUTO_INLINE_US;
pub use plan::Prepared;
pub(crate) use plan::{plan_dag, DagStep, OpKind, Plan, RunOp};
pub use scheduler::{Placement, Scheduler, Submitted};
pub use worker::{worker_threads, WorkerThread};

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `m`, also after a thread panicked holding it: what the engine guards stays usable (a
/// request's state, a queue), so one bug does not strand every client of a device.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
