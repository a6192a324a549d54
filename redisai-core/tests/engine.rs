//! The engine end to end with the MockBackend: stores, runs, run queues, TIMEOUT, AI.INFO, DAGs.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redisai_core::backend::{Registry, ScriptHost};
use redisai_core::exec::ManualClock;
use redisai_core::mock::MockLoader;
use redisai_core::model::BackendKind;
use redisai_core::{
    Bytes, CallContext, Engine, EngineConfig, Keyspace, MemoryKeyspace, Outcome, Reply, Result,
    Submitted, Tensor,
};

fn argv(line: &str) -> Vec<Bytes> {
    line.split(' ')
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

fn engine_with(config: EngineConfig) -> Engine {
    let mut registry = Registry::default();
    registry.register(Arc::new(MockLoader(BackendKind::Onnx)));
    registry.register(Arc::new(MockLoader(BackendKind::Torch)));
    Engine::new(config, registry)
}

fn engine() -> Engine {
    engine_with(EngineConfig::default())
}

fn call(e: &Engine, ks: &mut MemoryKeyspace, line: &str) -> Reply {
    e.call_blocking(&argv(line), ks, None)
        .expect("an AI command")
}

fn err(text: &str) -> Reply {
    Reply::Error(text.into())
}

fn values(e: &Engine, ks: &mut MemoryKeyspace, key: &str) -> Reply {
    call(e, ks, &format!("AI.TENSORGET {key} VALUES"))
}

fn doubles(v: &[f64]) -> Reply {
    Reply::Array(v.iter().map(|&d| Reply::Double(d)).collect())
}

#[test]
fn store_get_del_model() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    assert_eq!(
        call(
            &e,
            &mut ks,
            "AI.MODELSTORE m ONNX CPU TAG v1 BATCHSIZE 4 BLOB add"
        ),
        Reply::OK
    );
    let meta = call(&e, &mut ks, "AI.MODELGET m META");
    let Reply::Array(items) = meta else {
        panic!("{meta:?}")
    };
    assert_eq!(items.len(), 16);
    assert_eq!(items[1], Reply::text("ONNX"));
    assert_eq!(items[3], Reply::text("CPU"));
    assert_eq!(items[5], Reply::text("v1"));
    assert_eq!(items[7], Reply::Int(4));
    assert_eq!(
        items[11],
        Reply::Array(vec![Reply::text("in0"), Reply::text("in1")])
    );
    assert_eq!(call(&e, &mut ks, "AI.MODELGET m BLOB"), Reply::text("add"));
    // A key of another type is refused; the model stays.
    assert_eq!(
        call(&e, &mut ks, "AI.TENSORSET m FLOAT 1"),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    assert_eq!(ks.get(b"m").unwrap().unwrap().type_name(), "AI__MODEL");
    assert_eq!(call(&e, &mut ks, "AI.MODELDEL m"), Reply::OK);
    assert_eq!(
        call(&e, &mut ks, "AI.MODELGET m"),
        err("ERR model key is empty")
    );
    assert_eq!(
        call(&e, &mut ks, "AI.MODELDEL m"),
        err("ERR model key is empty")
    );
    assert_eq!(
        call(&e, &mut ks, "AI.INFO m"),
        err("ERR cannot find run info for key")
    );
}

#[test]
fn backends_not_compiled_say_so() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    assert_eq!(
        call(
            &e,
            &mut ks,
            "AI.MODELSTORE m TF CPU INPUTS 1 a OUTPUTS 1 b BLOB x"
        ),
        err("ERR Could not load backend: TF support is not compiled into this build")
    );
    assert!(ks.is_empty());
    assert_eq!(
        call(&e, &mut ks, "AI.MODELSTORE m ONNX CPU BLOB nonsense"),
        err("ERR mock: unknown program")
    );
    assert_eq!(
        call(&e, &mut ks, "AI.MODELSTORE m ONNX TPU BLOB add"),
        err("ERR Invalid DEVICE")
    );
}

#[test]
fn model_chunks_follow_model_chunk_size() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    call(&e, &mut ks, "AI.MODELSTORE m ONNX CPU BLOB identity:1");
    assert_eq!(call(&e, &mut ks, "AI.CONFIG MODEL_CHUNK_SIZE 4"), Reply::OK);
    assert_eq!(
        call(&e, &mut ks, "AI.MODELGET m BLOB"),
        Reply::Array(vec![
            Reply::text("iden"),
            Reply::text("tity"),
            Reply::text(":1")
        ])
    );
    // An exact multiple ends with an empty chunk, as RedisAI's replies and RDB files do.
    call(&e, &mut ks, "AI.CONFIG MODEL_CHUNK_SIZE 5");
    assert_eq!(
        call(&e, &mut ks, "AI.MODELGET m BLOB"),
        Reply::Array(vec![
            Reply::text("ident"),
            Reply::text("ity:1"),
            Reply::text("")
        ])
    );
    assert_eq!(
        call(&e, &mut ks, "AI.CONFIG GET MODEL_CHUNK_SIZE"),
        Reply::Int(5)
    );
    // Chunked upload: the chunks are joined.
    call(&e, &mut ks, "AI.MODELSTORE m2 ONNX CPU BLOB ad d");
    assert_eq!(call(&e, &mut ks, "AI.MODELGET m2 BLOB"), Reply::text("add"));
}

#[test]
fn model_execute_stores_outputs_and_counts() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    call(&e, &mut ks, "AI.MODELSTORE m ONNX CPU BLOB add");
    call(&e, &mut ks, "AI.TENSORSET a FLOAT 2 VALUES 1 2");
    call(&e, &mut ks, "AI.TENSORSET b FLOAT 2 VALUES 10 20");
    assert_eq!(
        call(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c"),
        Reply::OK
    );
    assert_eq!(values(&e, &mut ks, "c"), doubles(&[11.0, 22.0]));
    assert_eq!(
        call(&e, &mut ks, "AI.MODELRUN m INPUTS a b OUTPUTS d"),
        Reply::OK
    );
    assert_eq!(values(&e, &mut ks, "d"), doubles(&[11.0, 22.0]));
    assert_eq!(
        call(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 c"),
        err("Number of keys given as INPUTS here does not match model definition")
    );
    // As in RedisAI, the INPUTS count is compared with the model before OUTPUTS is read.
    assert_eq!(
        call(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 3 a b c OUTPUTS c"),
        err("Number of keys given as INPUTS here does not match model definition")
    );
    // ... but a count of 0 is refused as a count first.
    assert_eq!(
        call(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 0 a b OUTPUTS 1 c"),
        err("ERR Input count must be a positive integer")
    );
    assert_eq!(
        call(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS c"),
        err("ERR Invalid argument for output_count")
    );
    assert_eq!(
        call(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 2 c d"),
        err("Number of keys given as OUTPUTS here does not match model definition")
    );
    assert_eq!(
        call(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 2 a nope OUTPUTS 1 c"),
        err("ERR tensor key is empty or in a different shard")
    );
    // The output key's type is checked before queueing: one reply, nothing changed.
    call(&e, &mut ks, "AI.MODELSTORE other ONNX CPU BLOB add");
    assert_eq!(
        call(
            &e,
            &mut ks,
            "AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 other"
        ),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    // A backend error: one line, nothing stored.
    call(&e, &mut ks, "AI.MODELSTORE f ONNX CPU BLOB fail");
    assert_eq!(
        call(&e, &mut ks, "AI.MODELEXECUTE f INPUTS 1 a OUTPUTS 1 z"),
        err("ERR mock failure")
    );
    assert!(ks.get(b"z").unwrap().is_none());

    let info = call(&e, &mut ks, "AI.INFO m");
    let Reply::Array(items) = info else {
        panic!("{info:?}")
    };
    assert_eq!(items[3], Reply::text("MODEL"));
    assert_eq!(items[13], Reply::Int(4), "samples: dim0 of two runs");
    assert_eq!(items[15], Reply::Int(2), "calls");
    assert_eq!(items[17], Reply::Int(0), "errors");
    let Reply::Array(items) = call(&e, &mut ks, "AI.INFO f") else {
        panic!()
    };
    assert_eq!((&items[15], &items[17]), (&Reply::Int(1), &Reply::Int(1)));
    assert_eq!(call(&e, &mut ks, "AI.INFO m RESETSTAT"), Reply::OK);
    let Reply::Array(items) = call(&e, &mut ks, "AI.INFO m") else {
        panic!()
    };
    assert_eq!(items[15], Reply::Int(0));
    let Reply::Array(scan) = call(&e, &mut ks, "AI._MODELSCAN") else {
        panic!()
    };
    assert_eq!(scan.len(), 3);
}

#[test]
fn executing_commands_are_refused_in_transactions() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    let ctx = CallContext {
        in_transaction: true,
    };
    let r = e.call(
        &argv("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 b"),
        &mut ks,
        ctx,
    );
    assert!(matches!(r, Some(Outcome::Reply(Reply::Error(t)))
        if t == "ERR Cannot run RedisAI command within a transaction or a LUA script"));
}

/// Submits a command and returns a receiver of its reply (applied to `ks` by the test).
fn submit(e: &Engine, ks: &mut MemoryKeyspace, line: &str) -> std::sync::mpsc::Receiver<Reply> {
    let (tx, rx) = std::sync::mpsc::channel();
    match e.call(&argv(line), ks, CallContext::default()) {
        Some(Outcome::Run(p)) => {
            let done = tx.clone();
            // The test keyspace is not shared with workers: only the reply is checked here.
            if let Submitted::Done(c) = e.submit(p, None, move |c| {
                let _ = tx.send(c.reply);
            }) {
                let _ = done.send(c.reply);
            }
        }
        other => panic!("{other:?}"),
    }
    rx
}

#[test]
fn timeout_expires_in_the_queue() {
    let clock = Arc::new(ManualClock::default());
    let mut registry = Registry::default();
    registry.register(Arc::new(MockLoader(BackendKind::Onnx)));
    let e = Engine::with_clock(EngineConfig::default(), registry, clock.clone());
    let mut ks = MemoryKeyspace::new();
    call(
        &e,
        &mut ks,
        "AI.MODELSTORE slow ONNX CPU BLOB identity:1@200",
    );
    call(&e, &mut ks, "AI.TENSORSET a FLOAT 1");
    let first = submit(&e, &mut ks, "AI.MODELEXECUTE slow INPUTS 1 a OUTPUTS 1 b");
    let second = submit(
        &e,
        &mut ks,
        "AI.MODELEXECUTE slow INPUTS 1 a OUTPUTS 1 c TIMEOUT 50",
    );
    let third = submit(
        &e,
        &mut ks,
        "AI.MODELEXECUTE slow INPUTS 1 a OUTPUTS 1 d TIMEOUT 500",
    );
    // While the first runs, 100 ms pass on the engine's clock: the second is past its deadline
    // when a worker takes it, the third is not.
    clock.advance(Duration::from_millis(100));
    assert_eq!(first.recv().unwrap(), Reply::OK);
    assert_eq!(second.recv().unwrap(), Reply::Simple("TIMEDOUT"));
    assert_eq!(third.recv().unwrap(), Reply::OK);
    // The timed-out op never ran: it counts nothing.
    let Reply::Array(items) = call(&e, &mut ks, "AI.INFO slow") else {
        panic!()
    };
    assert_eq!(items[15], Reply::Int(2));
}

#[test]
fn model_deleted_while_running_completes() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    call(
        &e,
        &mut ks,
        "AI.MODELSTORE slow ONNX CPU BLOB identity:1@100",
    );
    call(&e, &mut ks, "AI.TENSORSET a FLOAT 1 VALUES 7");
    let rx = submit(&e, &mut ks, "AI.MODELEXECUTE slow INPUTS 1 a OUTPUTS 1 b");
    assert_eq!(call(&e, &mut ks, "AI.MODELDEL slow"), Reply::OK);
    assert_eq!(rx.recv().unwrap(), Reply::OK);
}

#[test]
fn devices_run_in_parallel() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    call(&e, &mut ks, "AI.MODELSTORE c ONNX CPU BLOB identity:1@300");
    call(
        &e,
        &mut ks,
        "AI.MODELSTORE g ONNX CPU:1 BLOB identity:1@300",
    );
    call(&e, &mut ks, "AI.TENSORSET a FLOAT 1 VALUES 3");
    let start = Instant::now();
    let reply = call(
        &e,
        &mut ks,
        "AI.DAGEXECUTE LOAD 1 a PERSIST 2 x y |> AI.MODELEXECUTE c INPUTS 1 a OUTPUTS 1 x |> AI.MODELEXECUTE g INPUTS 1 a OUTPUTS 1 y",
    );
    let took = start.elapsed();
    assert_eq!(reply, Reply::Array(vec![Reply::OK, Reply::OK]));
    assert!(took < Duration::from_millis(550), "{took:?}");
    assert_eq!(values(&e, &mut ks, "y"), doubles(&[3.0]));
    let mut queues = e.queue_names();
    queues.sort();
    assert_eq!(queues, vec!["CPU", "CPU:1"]);
}

#[test]
fn dag_chains_across_devices_and_reports_per_op() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    call(&e, &mut ks, "AI.MODELSTORE add ONNX CPU BLOB add");
    call(
        &e,
        &mut ks,
        "AI.MODELSTORE id ONNX CPU:2 BLOB identity:1@20",
    );
    call(&e, &mut ks, "AI.MODELSTORE fail ONNX CPU BLOB fail");
    // A chain whose second op waits for the first op's output from another device.
    let reply = call(
        &e,
        &mut ks,
        "AI.DAGEXECUTE PERSIST 1 out |> AI.TENSORSET a FLOAT 1 VALUES 2 |> AI.MODELEXECUTE id INPUTS 1 a OUTPUTS 1 b |> AI.MODELEXECUTE add INPUTS 2 a b OUTPUTS 1 out |> AI.TENSORGET out VALUES",
    );
    assert_eq!(
        reply,
        Reply::Array(vec![Reply::OK, Reply::OK, Reply::OK, doubles(&[4.0])])
    );
    assert_eq!(values(&e, &mut ks, "out"), doubles(&[4.0]));
    // The first failing op's error in its slot, NA after it, nothing persisted.
    let reply = call(
        &e,
        &mut ks,
        "AI.DAGEXECUTE PERSIST 1 never |> AI.TENSORSET a FLOAT 1 VALUES 2 |> AI.MODELEXECUTE fail INPUTS 1 a OUTPUTS 1 b |> AI.MODELEXECUTE add INPUTS 2 a b OUTPUTS 1 never |> AI.TENSORGET never VALUES |> AI.TENSORGET a VALUES",
    );
    assert_eq!(
        reply,
        Reply::Array(vec![
            Reply::OK,
            err("ERR mock failure"),
            Reply::Simple("NA"),
            Reply::Simple("NA"),
            doubles(&[2.0]),
        ])
    );
    assert!(ks.get(b"never").unwrap().is_none());
    // Names are local: nothing but PERSIST reaches the keyspace.
    assert!(ks.get(b"a").unwrap().is_none());
    assert_eq!(
        call(&e, &mut ks, "AI.DAGEXECUTE ROUTING r |> AI.TENSORSET a FLOAT 1 |> AI.MODELEXECUTE nope INPUTS 1 a OUTPUTS 1 b"),
        err("ERR model key is empty")
    );
}

#[test]
fn dag_persist_onto_another_type_appends_the_error() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    call(&e, &mut ks, "AI.MODELSTORE m ONNX CPU BLOB add");
    let reply = call(
        &e,
        &mut ks,
        "AI.DAGEXECUTE PERSIST 1 m |> AI.TENSORSET m FLOAT 1 VALUES 1",
    );
    assert_eq!(
        reply,
        Reply::Array(vec![
            Reply::OK,
            err("WRONGTYPE Operation against a key holding the wrong kind of value")
        ])
    );
}

struct FakeHost(Mutex<Vec<Vec<Bytes>>>);

impl ScriptHost for FakeHost {
    fn execute(&self, argv: &[Bytes]) -> Reply {
        self.0.lock().unwrap().push(argv.to_vec());
        Reply::OK
    }

    fn model_execute(
        &self,
        _key: &[u8],
        _inputs: &[Tensor],
        _outputs: usize,
    ) -> Result<Vec<Tensor>> {
        Ok(Vec::new())
    }
}

#[test]
fn scripts_store_run_and_reach_the_host() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    assert_eq!(
        call(
            &e,
            &mut ks,
            "AI.SCRIPTSTORE s CPU ENTRY_POINTS 1 nope SOURCE identity"
        ),
        err("Function nope does not exist in the given script.")
    );
    let src = "identity\nset";
    let mut line = argv("AI.SCRIPTSTORE s CPU TAG t ENTRY_POINTS 2 identity set SOURCE x");
    *line.last_mut().unwrap() = Bytes::from(src);
    assert_eq!(e.call_blocking(&line, &mut ks, None), Some(Reply::OK));
    assert_eq!(ks.get(b"s").unwrap().unwrap().type_name(), "AI_SCRIPT");
    let Reply::Array(meta) = call(&e, &mut ks, "AI.SCRIPTGET s META") else {
        panic!()
    };
    assert_eq!(meta[4], Reply::text("Entry Points"));
    assert_eq!(call(&e, &mut ks, "AI.SCRIPTGET s SOURCE"), Reply::text(src));
    call(&e, &mut ks, "AI.TENSORSET a INT32 2 VALUES 1 2");
    assert_eq!(
        call(
            &e,
            &mut ks,
            "AI.SCRIPTEXECUTE s identity INPUTS 1 a OUTPUTS 1 b"
        ),
        Reply::OK
    );
    assert_eq!(
        values(&e, &mut ks, "b"),
        Reply::Array(vec![Reply::Int(1), Reply::Int(2)])
    );
    let host = Arc::new(FakeHost(Mutex::new(Vec::new())));
    let reply = e.call_blocking(
        &argv("AI.SCRIPTEXECUTE s set KEYS 1 k ARGS 1 v"),
        &mut ks,
        Some(host.clone()),
    );
    assert_eq!(reply, Some(Reply::OK));
    assert_eq!(*host.0.lock().unwrap(), vec![argv("SET k v")]);
    let Reply::Array(info) = call(&e, &mut ks, "AI.INFO s") else {
        panic!()
    };
    assert_eq!(info[13], Reply::Int(-1), "scripts report -1 samples");
    assert_eq!(info[15], Reply::Int(2));
    assert_eq!(call(&e, &mut ks, "AI.SCRIPTDEL s"), Reply::OK);
    assert_eq!(
        call(&e, &mut ks, "AI.SCRIPTGET s"),
        err("ERR script key is empty")
    );
}

#[test]
fn restoring_a_model_resets_its_stats() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    call(&e, &mut ks, "AI.MODELSTORE m ONNX CPU BLOB identity:1");
    call(&e, &mut ks, "AI.TENSORSET a FLOAT 1");
    call(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 b");
    call(
        &e,
        &mut ks,
        "AI.MODELSTORE m ONNX CPU TAG new BLOB identity:1",
    );
    let Reply::Array(info) = call(&e, &mut ks, "AI.INFO m") else {
        panic!()
    };
    assert_eq!(info[9], Reply::text("new"));
    assert_eq!(info[15], Reply::Int(0));
}

#[test]
fn a_panicking_backend_fails_the_request_not_the_engine() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    call(&e, &mut ks, "AI.MODELSTORE p ONNX CPU BLOB panic");
    call(&e, &mut ks, "AI.MODELSTORE ok ONNX CPU BLOB identity:1");
    call(&e, &mut ks, "AI.TENSORSET a FLOAT 1 VALUES 5");
    assert_eq!(
        call(&e, &mut ks, "AI.MODELEXECUTE p INPUTS 1 a OUTPUTS 1 b"),
        err("ERR the backend failed unexpectedly")
    );
    // The same worker still serves its queue.
    assert_eq!(
        call(&e, &mut ks, "AI.MODELEXECUTE ok INPUTS 1 a OUTPUTS 1 b"),
        Reply::OK
    );
    assert_eq!(values(&e, &mut ks, "b"), doubles(&[5.0]));
}

/// An engine whose runs of at most `inline_run_max_us` run on the caller, with `model` (a mock
/// program) stored as `m`; and this thread's name.
fn inline_engine(inline_run_max_us: u64, model: &str) -> (Engine, MemoryKeyspace, String) {
    let e = engine_with(EngineConfig {
        inline_run_max_us: Some(inline_run_max_us),
        ..EngineConfig::default()
    });
    let mut ks = MemoryKeyspace::new();
    call(
        &e,
        &mut ks,
        &format!("AI.MODELSTORE m ONNX CPU BLOB {model}"),
    );
    let here = std::thread::current().name().unwrap_or("").to_string();
    (e, ks, here)
}

/// The thread that ran `AI.MODELEXECUTE <model> INPUTS 1 <input>`.
fn ran_on(e: &Engine, ks: &mut MemoryKeyspace, model: &str, input: &str) -> String {
    let line = format!("AI.MODELEXECUTE {model} INPUTS 1 {input} OUTPUTS 1 who");
    assert_eq!(call(e, ks, &line), Reply::OK);
    let Reply::Values(t) = call(e, ks, "AI.TENSORGET who VALUES") else {
        panic!()
    };
    let Reply::Bulk(name) = t.value_reply(0) else {
        panic!("{t:?}")
    };
    String::from_utf8_lossy(&name).into_owned()
}

#[test]
fn cheap_runs_run_on_the_calling_thread() {
    let (e, mut ks, here) = inline_engine(100_000, "thread");
    call(
        &e,
        &mut ks,
        "AI.MODELSTORE b ONNX CPU BATCHSIZE 4 BLOB thread",
    );
    call(&e, &mut ks, "AI.MODELSTORE g ONNX CPU:1 BLOB thread");
    call(&e, &mut ks, "AI.TENSORSET small FLOAT 1");
    call(&e, &mut ks, "AI.TENSORSET big FLOAT 20000");
    // Its cost is unknown before the first run, which a worker does.
    assert_eq!(ran_on(&e, &mut ks, "m", "small"), "redisai-CPU-1");
    assert_eq!(ran_on(&e, &mut ks, "m", "small"), here);
    // Stats count it like any run.
    let Reply::Array(info) = call(&e, &mut ks, "AI.INFO m") else {
        panic!()
    };
    assert_eq!(info[15], Reply::Int(2));
    // Large inputs, batching models and other devices always go through their queue.
    assert_eq!(ran_on(&e, &mut ks, "m", "big"), "redisai-CPU-1");
    for _ in 0..3 {
        assert_eq!(ran_on(&e, &mut ks, "b", "small"), "redisai-CPU-1");
        assert_eq!(ran_on(&e, &mut ks, "g", "small"), "redisai-CPU:1-1");
    }
    // A DAG of one model op is one run; with two ops it goes through the queue.
    let reply = call(
        &e,
        &mut ks,
        "AI.DAGEXECUTE LOAD 1 small |> AI.MODELEXECUTE m INPUTS 1 small OUTPUTS 1 w |> AI.TENSORGET w VALUES",
    );
    let bulk = |s: &str| Reply::Array(vec![Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))]);
    assert_eq!(reply, Reply::Array(vec![Reply::OK, bulk(&here)]));
    let reply = call(
        &e,
        &mut ks,
        "AI.DAGEXECUTE LOAD 1 small |> AI.MODELEXECUTE m INPUTS 1 small OUTPUTS 1 w |> AI.MODELEXECUTE m INPUTS 1 small OUTPUTS 1 v |> AI.TENSORGET v VALUES",
    );
    assert_eq!(
        reply,
        Reply::Array(vec![Reply::OK, Reply::OK, bulk("redisai-CPU-1")])
    );
}

#[test]
fn slow_models_and_a_zero_threshold_use_the_queue() {
    let e = engine_with(EngineConfig {
        inline_run_max_us: Some(1_000),
        ..EngineConfig::default()
    });
    let mut ks = MemoryKeyspace::new();
    call(&e, &mut ks, "AI.MODELSTORE slow ONNX CPU BLOB thread@5");
    call(&e, &mut ks, "AI.TENSORSET a FLOAT 1");
    for _ in 0..3 {
        assert_eq!(ran_on(&e, &mut ks, "slow", "a"), "redisai-CPU-1");
    }
    let e = engine_with(EngineConfig {
        inline_run_max_us: Some(0),
        ..EngineConfig::default()
    });
    call(&e, &mut ks, "AI.MODELSTORE m ONNX CPU BLOB thread");
    for _ in 0..3 {
        assert_eq!(ran_on(&e, &mut ks, "m", "a"), "redisai-CPU-1");
    }
}

#[test]
fn a_cheap_run_does_not_wait_on_the_caller_behind_a_queued_one() {
    let (e, mut ks, here) = inline_engine(100_000, "nap");
    call(&e, &mut ks, "AI.TENSORSET now FLOAT 1 VALUES 0");
    // Large, so it is queued; its first element makes the run last 400 ms.
    let mut big = vec![0u8; 4 * 20_000];
    big[..4].copy_from_slice(&400f32.to_le_bytes());
    let big = Tensor::from_blob(redisai_core::DataType::Float, vec![20_000], big.into()).unwrap();
    e.tensor_set(&mut ks, Bytes::from_static(b"big"), big)
        .unwrap();
    assert_eq!(ran_on(&e, &mut ks, "m", "now"), "redisai-CPU-1");
    assert_eq!(ran_on(&e, &mut ks, "m", "now"), here);
    let slow = submit(&e, &mut ks, "AI.MODELEXECUTE m INPUTS 1 big OUTPUTS 1 x");
    std::thread::sleep(Duration::from_millis(50));
    // A worker is running m: this run queues behind it instead of blocking this thread.
    assert_eq!(ran_on(&e, &mut ks, "m", "now"), "redisai-CPU-1");
    assert_eq!(slow.recv().unwrap(), Reply::OK);
    assert_eq!(ran_on(&e, &mut ks, "m", "now"), here);
}

#[test]
fn a_model_with_heavy_runs_goes_back_to_its_queue() {
    let (e, mut ks, here) = inline_engine(1_000, "nap");
    call(&e, &mut ks, "AI.TENSORSET now FLOAT 1 VALUES 0");
    call(&e, &mut ks, "AI.TENSORSET heavy FLOAT 1 VALUES 100");
    assert_eq!(ran_on(&e, &mut ks, "m", "now"), "redisai-CPU-1");
    assert_eq!(ran_on(&e, &mut ks, "m", "now"), here);
    // Nothing tells a heavy input from a light one before the run...
    assert_eq!(ran_on(&e, &mut ks, "m", "heavy"), here);
    // ...but after a run 100× the threshold, the model's runs are queued for a while, even
    // though its mean is still below the threshold.
    for _ in 0..5 {
        assert_eq!(ran_on(&e, &mut ks, "m", "now"), "redisai-CPU-1");
    }
}

#[test]
fn the_inline_threshold_is_set_or_measured_within_bounds() {
    assert_eq!(inline_engine(7, "thread").0.inline_run_max_us(), 7);
    assert_eq!(inline_engine(7, "thread").0.measured_handoff_us(), None);
    let e = engine();
    let bounds = redisai_core::exec::AUTO_INLINE_US;
    // Measured in the background: the lower bound until then, the measurement clamped after.
    assert!(bounds.contains(&e.inline_run_max_us()));
    let started = std::time::Instant::now();
    let handoff = loop {
        if let Some(us) = e.measured_handoff_us() {
            break us;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never measured"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(handoff > 0);
    assert_eq!(
        e.inline_run_max_us(),
        handoff.clamp(*bounds.start(), *bounds.end())
    );
}

/// Submits `line` through `submit` or `run_here_or_submit`; the completion's reply and the
/// thread its callback ran on (`None`: it came back as `Done`, no callback).
fn submitted_on(
    e: &Engine,
    ks: &mut MemoryKeyspace,
    line: &str,
    here_if_cheap: bool,
) -> (Reply, Option<String>) {
    let Some(Outcome::Run(p)) = e.call(&argv(line), ks, CallContext::default()) else {
        panic!("{line} runs nothing")
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let on_done = move |c: redisai_core::Completion| {
        let name = std::thread::current().name().unwrap_or("").to_string();
        let _ = tx.send((c, name));
    };
    let submitted = if here_if_cheap {
        e.run_here_or_submit(p, None, on_done)
    } else {
        e.submit(p, None, on_done)
    };
    match submitted {
        Submitted::Done(c) => {
            assert!(rx.try_recv().is_err(), "Done, and the callback ran too");
            (c.apply(ks).0, None)
        }
        Submitted::Queued => {
            let (c, name) = rx.recv_timeout(Duration::from_secs(10)).expect("callback");
            (c.apply(ks).0, Some(name))
        }
    }
}

#[test]
fn submit_calls_back_only_for_queued_work_and_never_on_the_caller() {
    let (e, mut ks, here) = inline_engine(100_000, "thread");
    call(&e, &mut ks, "AI.TENSORSET a FLOAT 1 VALUES 1");
    let run = "AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 who";
    // Plain submit queues every run, even a cheap one: the callback runs on a worker.
    for _ in 0..3 {
        let (reply, on) = submitted_on(&e, &mut ks, run, false);
        assert_eq!(reply, Reply::OK);
        let on = on.expect("queued");
        assert_ne!(on, here);
        assert!(on.starts_with("redisai-CPU-"), "{on}");
    }
    // A cheap run the face lets run here comes back done, without a callback.
    let (reply, on) = submitted_on(&e, &mut ks, run, true);
    assert_eq!((reply, on), (Reply::OK, None));
    assert_eq!(
        call(&e, &mut ks, "AI.TENSORGET who VALUES"),
        Reply::Array(vec![Reply::Bulk(Bytes::from(here.clone()))])
    );
    // A DAG with nothing to run is done at once, through either door.
    let dag =
        "AI.DAGEXECUTE PERSIST 1 t |> AI.TENSORSET t FLOAT 1 VALUES 2 |> AI.TENSORGET t VALUES";
    for here_if_cheap in [false, true] {
        let (reply, on) = submitted_on(&e, &mut ks, dag, here_if_cheap);
        assert_eq!(on, None);
        assert_eq!(
            reply,
            Reply::Array(vec![Reply::OK, Reply::Array(vec![Reply::Double(2.0)])])
        );
        assert_eq!(values(&e, &mut ks, "t"), doubles(&[2.0]));
    }
}

#[test]
fn an_empty_dag_reports_its_load_keys_first() {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    // As RedisAI: the LOAD keys are looked up before the missing ops are noticed.
    assert_eq!(
        call(&e, &mut ks, "AI.DAGEXECUTE ROUTING t LOAD 1 t"),
        err("ERR tensor key is empty or in a different shard")
    );
    call(&e, &mut ks, "AI.TENSORSET t FLOAT 1");
    assert_eq!(
        call(&e, &mut ks, "AI.DAGEXECUTE ROUTING t LOAD 1 t"),
        err("ERR DAG is empty")
    );
    assert_eq!(
        call(&e, &mut ks, "AI.DAGRUN PERSIST 1 x"),
        err("ERR DAG is empty")
    );
}
