//! The low-level API (spec §7) with the MockBackend: model and script runs over tensors the
//! caller holds, batched runs, DAGs built op by op and from a string, error codes and texts, and
//! the AI.INFO counters such runs leave.

use std::sync::Arc;

use redisai_core::backend::Registry;
use redisai_core::lowlevel::{run_models, ApiError, DagBuilder, DagRunOp, ErrorCode, Run};
use redisai_core::mock::MockLoader;
use redisai_core::model::BackendKind;
use redisai_core::{
    Bytes, DataType, Engine, EngineConfig, Keyspace, MemoryKeyspace, Reply, Tensor,
};

fn engine() -> Engine {
    let mut registry = Registry::default();
    registry.register(Arc::new(MockLoader(BackendKind::Onnx)));
    registry.register(Arc::new(MockLoader(BackendKind::Torch)));
    Engine::new(EngineConfig::default(), registry)
}

fn call(e: &Engine, ks: &mut MemoryKeyspace, line: &str) -> Reply {
    let argv: Vec<Bytes> = line
        .split(' ')
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect();
    e.call_blocking(&argv, ks, None).expect("an AI command")
}

/// An engine with model `m` (a+b), script `s` (functions identity and fail) and tensors `a`
/// and `b` ([2,2] FLOAT 2 3 2 3).
fn setup() -> (Engine, MemoryKeyspace) {
    let e = engine();
    let mut ks = MemoryKeyspace::new();
    for line in [
        "AI.MODELSTORE m ONNX CPU BLOB add",
        "AI.SCRIPTSTORE s CPU ENTRY_POINTS 1 identity SOURCE identity",
        "AI.TENSORSET a FLOAT 2 2 VALUES 2 3 2 3",
        "AI.TENSORSET b FLOAT 2 2 VALUES 2 3 2 3",
    ] {
        assert_eq!(call(&e, &mut ks, line), Reply::OK, "{line}");
    }
    (e, ks)
}

fn floats(t: &Tensor) -> Vec<f64> {
    (0..t.len()).map(|i| t.get_f64(i).unwrap()).collect()
}

fn info_field(e: &Engine, ks: &mut MemoryKeyspace, key: &str, field: &str) -> Reply {
    let Reply::Array(items) = call(e, ks, &format!("AI.INFO {key}")) else {
        panic!("no info");
    };
    let at = items
        .iter()
        .position(|r| *r == Reply::text(field))
        .expect(field);
    items[at + 1].clone()
}

#[test]
fn a_model_run_keeps_its_outputs_and_counts_in_ai_info() {
    let (e, mut ks) = setup();
    let mut run = Run::model(ks.model(b"m").unwrap());
    run.add_input(ks.tensor(b"a").unwrap());
    run.add_input(ks.tensor(b"b").unwrap());
    run.add_output();
    assert_eq!(run.num_outputs(), 1);
    assert!(run.output(0).is_none());
    run.run(&e, None).unwrap();
    assert_eq!(floats(run.output(0).unwrap()), [4.0, 6.0, 4.0, 6.0]);
    assert!(run.output(1).is_none());

    let mut empty = Run::model(ks.model(b"m").unwrap());
    let err = empty.run(&e, None).unwrap_err();
    assert_eq!(err.code, ErrorCode::ModelRun);
    assert_eq!(info_field(&e, &mut ks, "m", "calls"), Reply::Int(2));
    assert_eq!(info_field(&e, &mut ks, "m", "errors"), Reply::Int(1));
    assert_eq!(info_field(&e, &mut ks, "m", "samples"), Reply::Int(2));
}

#[test]
fn a_failed_rerun_leaves_no_outputs_of_the_run_before() {
    let (e, ks) = setup();
    let mut run = Run::model(ks.model(b"m").unwrap());
    run.add_input(ks.tensor(b"a").unwrap());
    run.add_input(ks.tensor(b"b").unwrap());
    run.add_output();
    run.run(&e, None).unwrap();
    assert!(run.output(0).is_some());
    // A third input: the mock refuses it.
    run.add_input(ks.tensor(b"a").unwrap());
    assert!(run.run(&e, None).is_err());
    assert!(run.output(0).is_none());
}

/// A synchronous run runs on the calling thread, as RedisAI's did (the mock model `thread`
/// answers the name of the thread it ran on).
#[test]
fn a_synchronous_run_runs_on_the_calling_thread() {
    let (e, mut ks) = setup();
    assert_eq!(
        call(&e, &mut ks, "AI.MODELSTORE where ONNX CPU BLOB thread"),
        Reply::OK
    );
    let mut run = Run::model(ks.model(b"where").unwrap());
    run.add_input(ks.tensor(b"a").unwrap());
    run.add_output();
    let ran_on = std::thread::Builder::new()
        .name("llapi-caller".into())
        .spawn(move || {
            run.run(&e, None).unwrap();
            run.output(0).unwrap().string_at(0).unwrap().to_vec()
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(ran_on, b"llapi-caller");
}

/// A synchronous run runs on the calling thread: a queue worker may make one inside a
/// completion callback (the only worker of its queue would otherwise wait for itself).
#[test]
fn a_synchronous_run_inside_a_completion_callback_does_not_wait_for_the_queue() {
    let (e, ks) = setup();
    let e = Arc::new(e);
    let model = ks.model(b"m").unwrap();
    let (a, b) = (ks.tensor(b"a").unwrap(), ks.tensor(b"b").unwrap());
    let mut first = Run::model(model.clone());
    first.add_input(a.clone());
    first.add_input(b.clone());
    first.add_output();
    let (tx, rx) = std::sync::mpsc::channel();
    let engine = e.clone();
    let inner = move || {
        let mut second = Run::model(model);
        second.add_input(a);
        second.add_input(b);
        second.add_output();
        let _ = tx.send(
            second
                .run(&engine, None)
                .map(|()| floats(second.output(0).unwrap())),
        );
    };
    match e.submit(first.prepare(), None, move |_| inner()) {
        redisai_core::Submitted::Queued => {}
        redisai_core::Submitted::Done(c) => panic!("not queued: {:?}", c.reply),
    }
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the run in the callback finished");
    assert_eq!(got.unwrap(), [4.0, 6.0, 4.0, 6.0]);
}

#[test]
fn a_backend_that_cannot_load_is_coded_backend_not_loaded() {
    let e = ApiError::from_engine(
        ErrorCode::ModelCreate,
        &redisai_core::Error::BackendNotCompiled("TF"),
    );
    assert_eq!(e.code, ErrorCode::BackendNotLoaded);
    let e = ApiError::from_engine(ErrorCode::ModelCreate, &redisai_core::Error::Generic);
    assert_eq!(e.code, ErrorCode::ModelCreate);
}

#[test]
fn runs_of_one_model_batch_into_one_run() {
    let (e, ks) = setup();
    let model = ks.model(b"m").unwrap();
    let one_row = Arc::new(
        Tensor::from_values(
            DataType::Float,
            vec![1, 2],
            &[b"1".as_slice().into(), b"2".as_slice().into()],
        )
        .unwrap(),
    );
    let mut first = Run::model(model.clone());
    first.add_input(ks.tensor(b"a").unwrap());
    first.add_input(ks.tensor(b"b").unwrap());
    first.add_output();
    let mut second = Run::model(model);
    second.add_input(one_row.clone());
    second.add_input(one_row);
    second.add_output();
    run_models(&e, &mut [&mut first, &mut second]).unwrap();
    assert_eq!(floats(first.output(0).unwrap()), [4.0, 6.0, 4.0, 6.0]);
    assert_eq!(first.output(0).unwrap().shape(), [2, 2]);
    assert_eq!(floats(second.output(0).unwrap()), [2.0, 4.0]);

    let err = run_models(&e, &mut []).unwrap_err();
    assert_eq!(
        (err.code, err.detail.as_str()),
        (ErrorCode::ModelRun, "ERR Nothing to run")
    );
}

#[test]
fn a_script_run_of_a_missing_function_fails_as_a_script_run() {
    let (e, mut ks) = setup();
    let script = ks.script(b"s").unwrap();
    let mut bad = Run::script(script.clone(), "no_such_function");
    bad.add_input(ks.tensor(b"a").unwrap());
    assert_eq!(bad.run(&e, None).unwrap_err().code, ErrorCode::ScriptRun);

    let mut run = Run::script(script, "identity");
    run.add_input(ks.tensor(b"a").unwrap());
    run.add_input(ks.tensor(b"b").unwrap());
    run.add_output();
    run.add_output();
    run.run(&e, None).unwrap();
    assert_eq!(floats(run.output(1).unwrap()), [2.0, 3.0, 2.0, 3.0]);
    assert_eq!(info_field(&e, &mut ks, "s", "calls"), Reply::Int(2));
    assert_eq!(info_field(&e, &mut ks, "s", "errors"), Reply::Int(1));
}

fn run_dag(e: &Engine, dag: &DagBuilder) -> redisai_core::lowlevel::DagOutcome {
    dag.run(e, None).expect("a runnable DAG")
}

#[test]
fn a_dag_checks_its_ops_as_they_are_added() {
    let (e, ks) = setup();
    let mut dag = DagBuilder::new();
    dag.load_tensor(b"input", ks.tensor(b"a").unwrap()).unwrap();
    let err = dag
        .load_tensor(b"input", ks.tensor(b"b").unwrap())
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::DagBuilder);

    let mut op = Box::new(DagRunOp::model(ks.model(b"m").unwrap()));
    op.add_input(b"input");
    let (mut op, err) = dag.add_run_op(op).unwrap_err();
    assert_eq!(
        err.detail,
        "Number of keys given as INPUTS does not match model definition"
    );
    op.add_input(b"input");
    let (_, err) = dag.add_run_op(op).unwrap_err();
    assert_eq!(
        err.detail,
        "Number of keys given as OUTPUTS does not match model definition"
    );
    assert_eq!(dag.num_ops(), 0);

    let err = dag.run(&e, None).err().unwrap();
    assert_eq!(
        (err.code, err.detail.as_str()),
        (ErrorCode::DagRun, "ERR DAG is empty")
    );
    dag.add_tensor_get(b"not there");
    let err = dag.run(&e, None).err().unwrap();
    assert_eq!(err.detail, "ERR INPUT key cannot be found in DAG");
}

#[test]
fn a_dag_from_a_string_adds_all_its_ops_or_none() {
    let (e, ks) = setup();
    let mut dag = DagBuilder::new();
    dag.load_tensor(b"input1", ks.tensor(b"a").unwrap())
        .unwrap();
    let err = dag.add_ops_from_str("bad string", &ks).unwrap_err();
    assert_eq!(err.detail, "DAG op should start with: '|>' ");
    dag.add_tensor_set(b"input2", ks.tensor(b"b").unwrap());
    let err = dag
        .add_ops_from_str(
            "|> AI.MODELEXECUTE m INPUTS 2 input1 input2 OUTPUTS 1 output |> bad_op no_tensor",
            &ks,
        )
        .unwrap_err();
    assert_eq!(err.detail, "Unsupported command within DAG");
    assert_eq!(dag.num_ops(), 1);
    dag.add_ops_from_str(
        "|> AI.MODELEXECUTE m INPUTS 2 input1 input2 OUTPUTS 1 output |> AI.TENSORGET output",
        &ks,
    )
    .unwrap();
    dag.add_tensor_get(b"input1");
    assert_eq!((dag.num_ops(), dag.num_outputs()), (4, 2));
    let outcome = run_dag(&e, &dag);
    assert!(outcome.error.is_none());
    assert_eq!(outcome.outputs.len(), 2);
    assert_eq!(
        floats(outcome.outputs[0].as_ref().unwrap()),
        [4.0, 6.0, 4.0, 6.0]
    );
    assert_eq!(
        floats(outcome.outputs[1].as_ref().unwrap()),
        [2.0, 3.0, 2.0, 3.0]
    );
}

#[test]
fn a_failing_script_op_fails_the_dag_with_a_script_code() {
    let (e, ks) = setup();
    let mut dag = DagBuilder::new();
    dag.add_tensor_set(b"input1", ks.tensor(b"a").unwrap());
    let mut op = Box::new(DagRunOp::script(ks.script(b"s").unwrap(), "no_function"));
    op.add_input(b"input1");
    op.add_output(b"output");
    dag.add_run_op(op).map_err(|(_, e)| e).unwrap();
    dag.add_tensor_get(b"output");
    let outcome = run_dag(&e, &dag);
    assert_eq!(outcome.error.unwrap().code, ErrorCode::ScriptRun);
    assert_eq!(outcome.outputs.len(), 1);
    assert!(outcome.outputs[0].is_none());
}

#[test]
fn tensor_elements_read_and_write_by_type() {
    let mut t = Tensor::zeros(DataType::Int8, vec![1, 4]).unwrap();
    assert!(t.set_i64(1, -3));
    assert!(!t.set_i64(4, 1));
    assert!(!t.set_f64(0, 1.5));
    assert_eq!(t.get_i64(1), Some(-3));
    assert_eq!(t.get_f64(1), None);
    let shared = t.clone();
    assert!(t.set_i64(0, 7));
    assert_eq!(shared.get_i64(0), Some(0), "a shared copy keeps its data");

    let mut b = Tensor::zeros(DataType::Bool, vec![4]).unwrap();
    assert!(b.set_data(Bytes::from_static(&[2, 0, 0, 0])).is_err());
    assert!(b.set_data(Bytes::from_static(&[1, 0, 0, 1])).is_ok());
    let mut s = Tensor::zeros(DataType::String, vec![1, 4]).unwrap();
    assert!(s
        .set_data(Bytes::from_static(b"only one string\0"))
        .is_err());
    assert_eq!(s.shape(), [1, 4]);
}
