//! Auto-batching (spec §4.3) with the MockBackend: which requests join, MINBATCHSIZE and
//! MINBATCHTIMEOUT, slicing, the batch-size check, and no request lost at shutdown.
//!
//! The `batchsize` mock model answers, in every element, the dim 0 of the input the backend
//! actually received, so each request sees the size of the batch it ran in.

use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

use redisai_core::backend::Registry;
use redisai_core::exec::{Clock, ManualClock, SystemClock};
use redisai_core::mock::MockLoader;
use redisai_core::model::BackendKind;
use redisai_core::{
    Bytes, CallContext, Completion, Engine, EngineConfig, Keyspace, MemoryKeyspace, Outcome, Reply,
    Submitted,
};

fn argv(line: &str) -> Vec<Bytes> {
    line.split(' ')
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

fn engine() -> Engine {
    engine_with_clock(Arc::new(SystemClock))
}

fn engine_with_clock(clock: Arc<dyn Clock>) -> Engine {
    let mut registry = Registry::default();
    registry.register(Arc::new(MockLoader(BackendKind::Onnx)));
    Engine::with_clock(EngineConfig::default(), registry, clock)
}

fn call(e: &Engine, ks: &mut MemoryKeyspace, line: &str) -> Reply {
    e.call_blocking(&argv(line), ks, None)
        .expect("an AI command")
}

fn submit(e: &Engine, ks: &mut MemoryKeyspace, line: &str) -> Receiver<Completion> {
    let (tx, rx) = std::sync::mpsc::channel();
    match e.call(&argv(line), ks, CallContext::default()) {
        Some(Outcome::Run(p)) => {
            let done = tx.clone();
            if let Submitted::Done(c) = e.submit(p, None, move |c| {
                let _ = tx.send(c);
            }) {
                let _ = done.send(c);
            }
        }
        other => panic!("{other:?}"),
    }
    rx
}

/// The reply and the first element of the first stored output.
fn wait(rx: &Receiver<Completion>) -> (Reply, Option<f32>) {
    let c = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("completion");
    let first = c
        .persist
        .first()
        .and_then(|(_, t)| t.blob().get(..4))
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()));
    (c.reply, first)
}

#[test]
fn waiting_requests_run_as_one_batch() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    call(
        &e,
        &mut ks,
        "AI.MODELSTORE m ONNX CPU BATCHSIZE 4 BLOB batchsize@300",
    );
    call(&e, &mut ks, "AI.TENSORSET a FLOAT 1 2 VALUES 1 2");
    let first = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 o0");
    std::thread::sleep(Duration::from_millis(50));
    let rest: Vec<_> = (1..4)
        .map(|i| {
            submit(
                &e,
                &mut ks,
                &format!("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 o{i}"),
            )
        })
        .collect();
    assert_eq!(wait(&first), (Reply::OK, Some(1.0)));
    for rx in &rest {
        assert_eq!(wait(rx), (Reply::OK, Some(3.0)));
    }
}

#[test]
fn only_compatible_inputs_join() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    call(
        &e,
        &mut ks,
        "AI.MODELSTORE m ONNX CPU BATCHSIZE 8 BLOB batchsize@300",
    );
    call(
        &e,
        &mut ks,
        "AI.MODELSTORE other ONNX CPU BATCHSIZE 8 BLOB batchsize",
    );
    call(&e, &mut ks, "AI.TENSORSET a FLOAT 1 2");
    call(&e, &mut ks, "AI.TENSORSET wide FLOAT 1 3");
    call(&e, &mut ks, "AI.TENSORSET two FLOAT 2 2");
    call(&e, &mut ks, "AI.TENSORSET ints INT32 1 2");
    let busy = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 x");
    std::thread::sleep(Duration::from_millis(50));
    let same = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 y");
    let wide = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 wide OUTPUTS 1 z");
    let two = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 two OUTPUTS 1 w");
    let ints = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 ints OUTPUTS 1 v");
    let other = submit(&e, &mut ks, "AI.MODELEXECUTE other INPUTS 1 a OUTPUTS 1 u");
    assert_eq!(wait(&busy).1, Some(1.0));
    // `same` and `two` agree on dims after dim 0: one batch of 1 + 2 rows.
    assert_eq!(wait(&same).1, Some(3.0));
    assert_eq!(wait(&two).1, Some(3.0));
    assert_eq!(wait(&wide).1, Some(1.0));
    assert_eq!(wait(&ints).1, Some(1.0), "another input type runs alone");
    assert_eq!(wait(&other).1, Some(1.0));
}

#[test]
fn minbatchsize_waits_for_partners() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    call(
        &e,
        &mut ks,
        "AI.MODELSTORE m ONNX CPU BATCHSIZE 4 MINBATCHSIZE 2 BLOB batchsize",
    );
    call(&e, &mut ks, "AI.TENSORSET a FLOAT 1 1");
    let first = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 x");
    std::thread::sleep(Duration::from_millis(100));
    assert!(matches!(first.try_recv(), Err(TryRecvError::Empty)));
    // Other work on the queue is not held up by the waiting batch.
    call(&e, &mut ks, "AI.MODELSTORE plain ONNX CPU BLOB identity:1");
    assert_eq!(
        call(&e, &mut ks, "AI.MODELEXECUTE plain INPUTS 1 a OUTPUTS 1 p"),
        Reply::OK
    );
    let second = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 y");
    assert_eq!(wait(&first), (Reply::OK, Some(2.0)));
    assert_eq!(wait(&second), (Reply::OK, Some(2.0)));
}

#[test]
fn minbatchtimeout_runs_what_it_has() {
    let clock = Arc::new(ManualClock::default());
    let e = engine_with_clock(clock.clone());
    let mut ks = MemoryKeyspace::new();
    call(
        &e,
        &mut ks,
        "AI.MODELSTORE m ONNX CPU BATCHSIZE 8 MINBATCHSIZE 4 MINBATCHTIMEOUT 150 BLOB batchsize",
    );
    call(&e, &mut ks, "AI.TENSORSET a FLOAT 1 1");
    let a = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 x");
    let b = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 y");
    // The clock stands still: however long the worker looks, the batch is not due.
    std::thread::sleep(Duration::from_millis(50));
    assert!(matches!(a.try_recv(), Err(TryRecvError::Empty)));
    clock.advance(Duration::from_millis(149));
    e.wake_queues();
    std::thread::sleep(Duration::from_millis(50));
    assert!(matches!(a.try_recv(), Err(TryRecvError::Empty)));
    // Counted from the first request: due now, and it runs with the two it has.
    clock.advance(Duration::from_millis(2));
    e.wake_queues();
    assert_eq!(wait(&a), (Reply::OK, Some(2.0)));
    assert_eq!(wait(&b), (Reply::OK, Some(2.0)));
}

#[test]
fn a_request_with_no_rows_runs_alone() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    call(
        &e,
        &mut ks,
        "AI.MODELSTORE m ONNX CPU BATCHSIZE 4 BLOB batchsize@300",
    );
    // Waits for a partner for 10 s, unless a request cannot join a batch.
    call(
        &e,
        &mut ks,
        "AI.MODELSTORE lonely ONNX CPU BATCHSIZE 4 MINBATCHSIZE 2 MINBATCHTIMEOUT 10000 BLOB batchsize",
    );
    call(&e, &mut ks, "AI.TENSORSET a FLOAT 1 2");
    call(&e, &mut ks, "AI.TENSORSET empty FLOAT 0 2");
    let busy = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 x");
    std::thread::sleep(Duration::from_millis(50));
    let y = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 y");
    let none = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 empty OUTPUTS 1 n");
    let z = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 z");
    assert_eq!(wait(&busy), (Reply::OK, Some(1.0)));
    // The two one-row requests still run as one batch, around the empty one.
    assert_eq!(wait(&y), (Reply::OK, Some(2.0)));
    assert_eq!(wait(&z), (Reply::OK, Some(2.0)));
    let c = none.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(c.reply, Reply::OK);
    assert_eq!(c.persist[0].1.shape(), &[0, 2]);

    let started = std::time::Instant::now();
    let alone = submit(
        &e,
        &mut ks,
        "AI.MODELEXECUTE lonely INPUTS 1 empty OUTPUTS 1 l",
    );
    let c = alone.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(c.reply, Reply::OK);
    assert_eq!(c.persist[0].1.shape(), &[0, 2]);
    assert!(started.elapsed() < Duration::from_secs(5));
    let Reply::Array(info) = call(&e, &mut ks, "AI.INFO lonely") else {
        panic!()
    };
    // samples += dim 0 of the first output: 0.
    assert_eq!((&info[13], &info[15]), (&Reply::Int(0), &Reply::Int(1)));
}

#[test]
fn a_model_that_drops_the_batch_dim_fails_every_participant() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    call(
        &e,
        &mut ks,
        "AI.MODELSTORE m ONNX CPU BATCHSIZE 2 MINBATCHSIZE 2 BLOB dropbatch",
    );
    call(&e, &mut ks, "AI.TENSORSET a FLOAT 1 1");
    let a = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 x");
    let b = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 y");
    let expected = Reply::Error("ERR Model did not generate the expected batch size".into());
    assert_eq!(wait(&a), (expected.clone(), None));
    assert_eq!(wait(&b), (expected, None));
    let Reply::Array(info) = call(&e, &mut ks, "AI.INFO m") else {
        panic!()
    };
    assert_eq!((&info[15], &info[17]), (&Reply::Int(2), &Reply::Int(2)));
}

#[test]
fn a_backend_error_or_panic_reaches_every_participant() {
    for (program, text) in [
        ("fail", "ERR mock failure"),
        ("panic", "ERR the backend failed unexpectedly"),
    ] {
        let e = engine();
        let mut ks = MemoryKeyspace::new();
        call(
            &e,
            &mut ks,
            &format!("AI.MODELSTORE m ONNX CPU BATCHSIZE 2 MINBATCHSIZE 2 BLOB {program}"),
        );
        call(&e, &mut ks, "AI.TENSORSET a FLOAT 1 1");
        let a = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 x");
        let b = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 y");
        let expected = Reply::Error(text.into());
        assert_eq!(wait(&a), (expected.clone(), None), "{program}");
        assert_eq!(wait(&b), (expected, None), "{program}");
    }
}

#[test]
fn batched_results_equal_unbatched_ones() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    call(
        &e,
        &mut ks,
        "AI.MODELSTORE add ONNX CPU BATCHSIZE 4 MINBATCHSIZE 3 MINBATCHTIMEOUT 2000 BLOB add",
    );
    for i in 0..3 {
        call(
            &e,
            &mut ks,
            &format!("AI.TENSORSET a{i} FLOAT 1 2 VALUES {i} {}", 10 * i),
        );
        call(
            &e,
            &mut ks,
            &format!("AI.TENSORSET b{i} FLOAT 1 2 VALUES 100 {i}"),
        );
    }
    let runs: Vec<_> = (0..3)
        .map(|i| {
            submit(
                &e,
                &mut ks,
                &format!("AI.MODELEXECUTE add INPUTS 2 a{i} b{i} OUTPUTS 1 c{i}"),
            )
        })
        .collect();
    for (i, rx) in runs.iter().enumerate() {
        let c = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(c.reply, Reply::OK);
        let (reply, _) = c.apply(&mut ks);
        assert_eq!(reply, Reply::OK);
        let t = ks.tensor(format!("c{i}").as_bytes()).unwrap();
        assert_eq!(t.shape(), &[1, 2]);
        let v: Vec<f32> = t
            .blob()
            .chunks(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(v, vec![100.0 + i as f32, 11.0 * i as f32]);
    }
}

#[test]
fn shutdown_runs_a_batch_still_waiting() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    call(
        &e,
        &mut ks,
        "AI.MODELSTORE m ONNX CPU BATCHSIZE 4 MINBATCHSIZE 4 BLOB batchsize",
    );
    call(&e, &mut ks, "AI.TENSORSET a FLOAT 1 1");
    let a = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 x");
    std::thread::sleep(Duration::from_millis(50));
    drop(ks);
    drop(e);
    assert_eq!(wait(&a), (Reply::OK, Some(1.0)));
}

#[test]
fn a_request_waiting_for_partners_times_out_at_its_timeout() {
    // MINBATCHSIZE without MINBATCHTIMEOUT waits for partners forever; the request's TIMEOUT
    // still ends the wait (RedisAI's DAG TIMEOUT test on a MINBATCHSIZE 2 model).
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    call(
        &e,
        &mut ks,
        "AI.MODELSTORE m ONNX CPU BATCHSIZE 2 MINBATCHSIZE 2 BLOB batchsize",
    );
    call(&e, &mut ks, "AI.TENSORSET a FLOAT 1 2");
    let started = std::time::Instant::now();
    let alone = submit(
        &e,
        &mut ks,
        "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 x TIMEOUT 50",
    );
    let c = alone.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(c.reply, Reply::Simple("TIMEDOUT"));
    assert!(started.elapsed() < Duration::from_secs(5));
    let dag = submit(
        &e,
        &mut ks,
        "AI.DAGEXECUTE LOAD 1 a TIMEOUT 20 |> AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 o |> AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 o",
    );
    let c = dag.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(c.reply, Reply::Simple("TIMEDOUT"));
}
