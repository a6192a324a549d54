//! The ONNX backend against the real ONNX Runtime that scripts/bootstrap puts in
//! `.deps/backends/redisai_onnxruntime/`, with the models of tests/fixtures/onnx/.
//!
//! Without that library every test prints a note and passes, except under `CI=true`, where a
//! missing library fails them.

#![cfg(feature = "onnx")]

#[path = "support/onnx_model.rs"]
mod onnx_model;
#[path = "support/backend.rs"]
#[macro_use]
mod backend;
#[path = "support/tensors.rs"]
mod tensors;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use redisai_core::backend::{Backend, ModelConfig, ModelRunner, RunContext};
use redisai_core::device::Device;
use redisai_core::model::{BackendKind, BatchOptions};
use redisai_core::{DataType, Error, Tensor};

use backend::{backend, library, loader, repo_root};
use onnx_model::Message;
use tensors::{floats, to_floats};

/// The backend these tests are about (`support/backend.rs` loads it).
const KIND: BackendKind = BackendKind::Onnx;

fn fixture(name: &str) -> Vec<u8> {
    let path = repo_root().join("tests/fixtures/onnx").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn config(device: Device) -> ModelConfig<'static> {
    ModelConfig {
        device,
        device_name: match device {
            Device::Cpu => "CPU",
            Device::Gpu(_) => "GPU",
        },
        inputs: &[],
        outputs: &[],
        batch: BatchOptions::default(),
        intra_op_threads: 0,
        inter_op_threads: 0,
        execution_limit: None,
        memory_limit: None,
        restoring: false,
    }
}

fn load(backend: &Arc<dyn Backend>, name: &str) -> Arc<dyn ModelRunner> {
    backend
        .load_model(&fixture(name), &config(Device::Cpu))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn no_deadline() -> RunContext<'static> {
    RunContext {
        deadline: None,
        host: None,
        max_wait: None,
    }
}

/// A backend error's text, checked to be one line.
fn backend_error(e: Error) -> String {
    let text = e.to_string();
    assert!(!text.contains('\n') && !text.contains('\r'), "{text:?}");
    assert!(matches!(e, Error::Backend(_) | Error::Generic), "{e:?}");
    text
}

#[test]
fn loads_once_and_reports_info() {
    let backend = backend_or_skip!();
    assert_eq!(backend.kind(), BackendKind::Onnx);
    assert_eq!(
        loader().default_file(),
        "redisai_onnxruntime/libonnxruntime.so"
    );
    // Loading the same file again (through its symlink target) gives the same runtime.
    let again = loader()
        .load(&std::fs::canonicalize(library()).unwrap())
        .expect("same library again");
    assert!(Arc::ptr_eq(&backend, &again));
    // Another file is refused, without panicking.
    let other = loader().load(Path::new("/nonexistent/libonnxruntime.so"));
    let text = backend_error(other.err().expect("a second runtime is refused"));
    assert!(text.contains("already loaded"), "{text}");

    // A run goes through the counting allocator.
    let model = load(&backend, "mul.onnx");
    let a = floats(vec![1, 2], &[1.0, 2.0]);
    model.run(&[&a, &a], &no_deadline()).unwrap();

    let info = backend.info(3);
    let keys: Vec<&str> = info.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "onnxruntime_version",
            "onnxruntime_memory",
            "onnxruntime_memory_access_num",
            "onnxruntime_maximum_run_sessions_number"
        ]
    );
    assert_eq!(info[0].1, "1.31.1");
    let number = |i: usize| info[i].1.parse::<u64>().unwrap();
    assert!(number(1) > 0, "the loaded model holds memory: {info:?}");
    assert!(number(2) > 0, "allocations were counted: {info:?}");
    assert_eq!(number(3), 3, "the engine's workers: {info:?}");
}

#[test]
fn mul_and_batched_mul() {
    let backend = backend_or_skip!();
    let model = load(&backend, "mul.onnx");
    assert_eq!(model.inputs(), ["a", "b"]);
    assert_eq!(model.outputs(), ["c"]);
    let a = floats(vec![1, 2], &[1.5, 2.0]);
    let b = floats(vec![1, 2], &[3.0, 4.0]);
    let out = model.run(&[&a, &b], &no_deadline()).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].shape(), [1, 2]);
    assert_eq!(to_floats(&out[0]), [4.5, 8.0]);

    let model = load(&backend, "mul_batch.onnx");
    let a = floats(vec![3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let out = model.run(&[&a, &a], &no_deadline()).unwrap();
    assert_eq!(out[0].shape(), [3, 2]);
    assert_eq!(to_floats(&out[0]), [1.0, 4.0, 9.0, 16.0, 25.0, 36.0]);
}

#[test]
fn empty_batches_go_in_and_out() {
    let backend = backend_or_skip!();
    let model = load(&backend, "mul_batch.onnx");
    let none = floats(vec![0, 2], &[]);
    let out = model.run(&[&none, &none], &no_deadline()).unwrap();
    assert_eq!(out, std::slice::from_ref(&none));
    assert!(out[0].blob().is_empty());
    // A fixed dim stays fixed: [1,2] inputs refuse 0 rows with ORT's text.
    let model = load(&backend, "mul.onnx");
    let e = backend_error(model.run(&[&none, &none], &no_deadline()).unwrap_err());
    assert!(e.contains("Got invalid dimensions for input"), "{e}");
}

#[test]
fn threads_options_are_accepted() {
    let backend = backend_or_skip!();
    let mut cfg = config(Device::Cpu);
    cfg.intra_op_threads = 1;
    cfg.inter_op_threads = 2;
    let model = backend.load_model(&fixture("mul.onnx"), &cfg).unwrap();
    let a = floats(vec![1, 2], &[2.0, 3.0]);
    let out = model.run(&[&a, &a], &no_deadline()).unwrap();
    assert_eq!(to_floats(&out[0]), [4.0, 9.0]);
}

/// One tensor of each dtype, with values that exercise the type (signs, extremes).
fn sample(dtype: DataType, shape: Vec<usize>) -> Tensor {
    let n: usize = shape.iter().product();
    if dtype == DataType::String {
        let values: Vec<Bytes> = (0..n)
            .map(|i| match i % 3 {
                0 => Bytes::from_static(b""),
                1 => Bytes::from(format!("element {i}")),
                _ => Bytes::from_static(b"\xff\xfe not utf-8"),
            })
            .collect();
        return Tensor::from_values(dtype, shape, &values).unwrap();
    }
    let data: Vec<u8> = (0..n * dtype.size())
        .map(|i| match dtype {
            DataType::Bool => (i % 2) as u8,
            _ => (i * 37 + 11) as u8,
        })
        .collect();
    Tensor::from_blob(dtype, shape, Bytes::from(data)).unwrap()
}

/// The same tensor with its data at an odd address (forces the copying path).
fn unaligned(t: &Tensor) -> Tensor {
    let mut buf = vec![0u8; t.blob().len() + 1];
    buf[1..].copy_from_slice(t.blob());
    let data = Bytes::from(buf).slice(1..);
    Tensor::from_blob(t.dtype(), t.shape().to_vec(), data).unwrap()
}

#[test]
fn every_dtype_round_trips() {
    let backend = backend_or_skip!();
    let model = load(&backend, "identity_all_dtypes.onnx");
    assert_eq!(model.inputs().len(), DataType::ALL.len());
    for (i, dtype) in DataType::ALL.into_iter().enumerate() {
        assert_eq!(
            model.inputs()[i],
            format!("in_{}", dtype.name().to_lowercase())
        );
    }
    for shape in [vec![2, 3], vec![1], vec![], vec![0], vec![2, 0], vec![0, 3]] {
        let inputs: Vec<Tensor> = DataType::ALL
            .into_iter()
            .map(|d| sample(d, shape.clone()))
            .collect();
        let refs: Vec<&Tensor> = inputs.iter().collect();
        let out = model.run(&refs, &no_deadline()).unwrap();
        assert_eq!(out, inputs, "shape {shape:?}");

        let shifted: Vec<Tensor> = inputs.iter().map(unaligned).collect();
        let refs: Vec<&Tensor> = shifted.iter().collect();
        let out = model.run(&refs, &no_deadline()).unwrap();
        assert_eq!(out, inputs, "unaligned, shape {shape:?}");
    }
}

#[test]
fn string_identity() {
    let backend = backend_or_skip!();
    let model = load(&backend, "identity_string.onnx");
    assert_eq!(model.inputs(), ["input"]);
    assert_eq!(model.outputs(), ["output"]);
    let values = [
        Bytes::from_static(b"str_val1"),
        Bytes::from_static(b""),
        Bytes::from_static(b"\xc3\x28 invalid utf-8"),
        Bytes::from_static(b"last"),
    ];
    let input = Tensor::from_values(DataType::String, vec![2, 2], &values).unwrap();
    let out = model.run(&[&input], &no_deadline()).unwrap();
    assert_eq!(out, std::slice::from_ref(&input));
    for (i, v) in values.iter().enumerate() {
        assert_eq!(out[0].string_at(i), Some(&v[..]));
    }
}

#[test]
fn zipmap_outputs_are_left_out() {
    let backend = backend_or_skip!();
    let model = load(&backend, "logreg_iris.onnx");
    assert_eq!(model.inputs(), ["float_input"]);
    assert_eq!(model.outputs(), ["output_label", "output_probability"]);
    let x = floats(vec![1, 4], &[5.1, 3.5, 1.4, 0.2]);
    let out = model.run(&[&x], &no_deadline()).unwrap();
    // The label (class 0, setosa); the sequence of maps has no tensor form.
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].dtype(), DataType::Int64);
    assert_eq!(out[0].shape(), [1]);
    assert_eq!(out[0].blob().as_ref(), 0i64.to_le_bytes());
}

#[test]
fn a_non_tensor_output_before_a_tensor_is_an_error() {
    let backend = backend_or_skip!();
    let model = load(&backend, "sequence_first.onnx");
    assert_eq!(model.outputs(), ["seq", "y"]);
    let x = floats(vec![2], &[1.0, 2.0]);
    let text = backend_error(model.run(&[&x], &no_deadline()).unwrap_err());
    assert!(text.contains("'seq' is not a tensor"), "{text}");
}

#[test]
fn corrupt_blobs_are_errors() {
    let backend = backend_or_skip!();
    let mul = fixture("mul.onnx");
    // an unknown operator
    let mut unknown_op = mul.clone();
    let at = mul.windows(3).position(|w| w == b"Mul").unwrap();
    unknown_op[at] = b'X';
    // an IR version from the future
    let mut future_ir = mul.clone();
    future_ir[1] = 0x7f;
    let blobs: Vec<Vec<u8>> = vec![
        b"this is not an onnx model".to_vec(),
        vec![],
        vec![0xff; 64],
        mul[..mul.len() / 2].to_vec(),
        unknown_op,
        future_ir,
        // a valid protobuf with no graph
        Message::default().int(1, 8).0,
    ];
    for blob in blobs {
        let err = backend.load_model(&blob, &config(Device::Cpu)).err();
        let text = backend_error(err.unwrap_or_else(|| panic!("{blob:?} loaded")));
        assert!(!text.is_empty());
    }
    let err = backend
        .load_model(&Message::default().int(1, 8).0, &config(Device::Cpu))
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("No graph was found in the protobuf"),
        "{err}"
    );
}

#[test]
fn external_initializers_are_refused() {
    let backend = backend_or_skip!();
    let err = backend
        .load_model(
            &fixture("model_with_external_initializers.onnx"),
            &config(Device::Cpu),
        )
        .err()
        .expect("refused");
    assert_eq!(
        err,
        Error::Backend("Initializer tensors with external data is not allowed.".into())
    );

    // A model ORT itself would load, reading the data from the working directory.
    let dir = std::env::temp_dir().join(format!("onnx-external-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("w.bin"), 1f32.to_le_bytes()).unwrap();
    let location = Message::default()
        .str(1, "location")
        .str(2, &dir.join("w.bin").display().to_string());
    let w = Message::default()
        .int(1, 1)
        .int(2, onnx_model::FLOAT)
        .str(8, "w")
        .msg(13, location)
        .int(14, 1);
    let graph = Message::default()
        .msg(1, onnx_model::node("Add", &["x", "w"], &["y"]))
        .str(2, "g")
        .msg(5, w)
        .msg(11, onnx_model::float_value_info("x", &[Some(1)]))
        .msg(12, onnx_model::float_value_info("y", &[Some(1)]));
    let err = backend
        .load_model(&onnx_model::model(graph), &config(Device::Cpu))
        .err()
        .expect("refused");
    assert_eq!(
        err.to_string(),
        "Initializer tensors with external data is not allowed."
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn wrong_inputs_are_one_line_errors() {
    let backend = backend_or_skip!();
    let model = load(&backend, "mul.onnx");
    let a = floats(vec![1, 2], &[1.0, 2.0]);
    let err = model.run(&[&a], &no_deadline()).unwrap_err();
    assert_eq!(err.to_string(), "ERR Expected 2 inputs but got 1");
    let err = model.run(&[&a, &a, &a], &no_deadline()).unwrap_err();
    assert_eq!(err.to_string(), "ERR Expected 2 inputs but got 3");

    // wrong rank
    let flat = floats(vec![2], &[1.0, 2.0]);
    let text = backend_error(model.run(&[&flat, &a], &no_deadline()).unwrap_err());
    assert!(text.contains("Invalid rank for input: a"), "{text}");
    // wrong dims
    let wide = floats(vec![1, 3], &[1.0, 2.0, 3.0]);
    let text = backend_error(model.run(&[&a, &wide], &no_deadline()).unwrap_err());
    assert!(
        text.contains("Got invalid dimensions for input: b"),
        "{text}"
    );
    // wrong dtype
    let d = Tensor::from_blob(DataType::Double, vec![1, 2], Bytes::from(vec![0u8; 16])).unwrap();
    let text = backend_error(model.run(&[&d, &a], &no_deadline()).unwrap_err());
    assert!(text.contains("Unexpected input data type"), "{text}");
    // the model still works
    let out = model.run(&[&a, &a], &no_deadline()).unwrap();
    assert_eq!(to_floats(&out[0]), [1.0, 4.0]);
}

fn loop_inputs(iterations: i64) -> Vec<Tensor> {
    vec![
        floats(vec![1], &[1.0]),
        Tensor::from_blob(
            DataType::Int64,
            vec![1],
            Bytes::copy_from_slice(&iterations.to_le_bytes()),
        )
        .unwrap(),
        Tensor::from_blob(DataType::Bool, vec![1], Bytes::from_static(&[1])).unwrap(),
        floats(vec![1], &[7.0]),
    ]
}

#[test]
fn a_deadline_stops_an_endless_loop() {
    let backend = backend_or_skip!();
    let model = load(&backend, "model_with_infinite_loop.onnx");
    assert_eq!(
        model.inputs(),
        ["outer_scope_input", "iterations", "loop_cond", "loop_input"]
    );
    assert_eq!(model.outputs(), ["outer_scope_output", "loop_output"]);

    // a few iterations finish, deadline or not
    let inputs = loop_inputs(5);
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let far = RunContext {
        deadline: Some(Instant::now() + Duration::from_secs(60)),
        host: None,
        max_wait: None,
    };
    let out = model.run(&refs, &far).unwrap();
    assert_eq!(to_floats(&out[1]), [7.0]);

    // "forever" (a negative count, or INT64 max) is stopped at the deadline
    for iterations in [i64::MAX, -1] {
        let inputs = loop_inputs(iterations);
        let refs: Vec<&Tensor> = inputs.iter().collect();
        let start = Instant::now();
        let ctx = RunContext {
            deadline: Some(start + Duration::from_millis(200)),
            host: None,
            max_wait: None,
        };
        let err = model.run(&refs, &ctx).unwrap_err();
        let elapsed = start.elapsed();
        assert_eq!(err, Error::RunTimedOut);
        assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    }

    // a deadline already past: no run at all
    let inputs = loop_inputs(-1);
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let past = RunContext {
        deadline: Some(Instant::now()),
        host: None,
        max_wait: None,
    };
    assert_eq!(model.run(&refs, &past).unwrap_err(), Error::RunTimedOut);

    // and the model still runs afterwards
    let inputs = loop_inputs(3);
    let refs: Vec<&Tensor> = inputs.iter().collect();
    assert!(model.run(&refs, &no_deadline()).is_ok());
}

#[test]
fn model_execution_timeout_stops_long_runs() {
    let backend = backend_or_skip!();
    let model = backend
        .load_model(
            &fixture("model_with_infinite_loop.onnx"),
            &ModelConfig {
                execution_limit: Some(Duration::from_millis(300)),
                ..config(Device::Cpu)
            },
        )
        .unwrap();
    let endless = loop_inputs(i64::MAX);
    let endless: Vec<&Tensor> = endless.iter().collect();
    let short = loop_inputs(3);
    let short: Vec<&Tensor> = short.iter().collect();
    for _ in 0..2 {
        // No deadline, or one later than the limit: the kill switch stops it, with ORT's text.
        for deadline in [None, Some(Duration::from_secs(30))] {
            let start = Instant::now();
            let ctx = RunContext {
                deadline: deadline.map(|d| start + d),
                host: None,
                max_wait: None,
            };
            let text = backend_error(model.run(&endless, &ctx).unwrap_err());
            let elapsed = start.elapsed();
            assert!(
                text.contains("Exiting due to terminate flag being set to true"),
                "{text}"
            );
            assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
            assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
            // The next run is not stopped by what stopped this one.
            assert!(model.run(&short, &no_deadline()).is_ok());
        }
        // A deadline before the limit: TIMEDOUT.
        let ctx = RunContext {
            deadline: Some(Instant::now() + Duration::from_millis(100)),
            host: None,
            max_wait: None,
        };
        assert_eq!(model.run(&endless, &ctx).unwrap_err(), Error::RunTimedOut);
        assert!(model.run(&short, &no_deadline()).is_ok());
    }
}

#[test]
fn a_run_that_may_not_wait_gives_up_its_turn() {
    let backend = backend_or_skip!();
    let model = load(&backend, "model_with_infinite_loop.onnx");
    let busy = {
        let model = model.clone();
        std::thread::spawn(move || {
            let inputs = loop_inputs(i64::MAX);
            let refs: Vec<&Tensor> = inputs.iter().collect();
            let ctx = RunContext {
                deadline: Some(Instant::now() + Duration::from_millis(600)),
                host: None,
                max_wait: None,
            };
            model.run(&refs, &ctx).unwrap_err()
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let inputs = loop_inputs(3);
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let start = Instant::now();
    let ctx = RunContext {
        deadline: None,
        host: None,
        max_wait: Some(Duration::from_millis(20)),
    };
    assert_eq!(model.run(&refs, &ctx).unwrap_err(), Error::RunWouldBlock);
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(20), "{waited:?}");
    assert!(waited < Duration::from_millis(400), "{waited:?}");
    assert_eq!(busy.join().unwrap(), Error::RunTimedOut);
    // With the session free, the same run goes through.
    assert!(model.run(&refs, &ctx).is_ok());
}

#[test]
fn deadlines_of_concurrent_runs_fire_in_their_own_time() {
    let backend = backend_or_skip!();
    let model = load(&backend, "model_with_infinite_loop.onnx");
    let start = Instant::now();
    let handles: Vec<_> = [1500u64, 150, 700]
        .into_iter()
        .map(|ms| {
            let model = model.clone();
            std::thread::spawn(move || {
                let inputs = loop_inputs(i64::MAX);
                let refs: Vec<&Tensor> = inputs.iter().collect();
                let ctx = RunContext {
                    deadline: Some(start + Duration::from_millis(ms)),
                    host: None,
                    max_wait: None,
                };
                let err = model.run(&refs, &ctx).unwrap_err();
                (ms, err, start.elapsed())
            })
        })
        .collect();
    for h in handles {
        let (ms, err, elapsed) = h.join().unwrap();
        assert_eq!(err, Error::RunTimedOut);
        // The runs take turns on the one session; one waiting for its turn still gives up at
        // its own deadline.
        assert!(elapsed >= Duration::from_millis(ms), "{ms}: {elapsed:?}");
        assert!(
            elapsed < Duration::from_millis(ms + 500),
            "{ms}: {elapsed:?}"
        );
    }
}

#[test]
fn concurrent_runs_from_many_threads() {
    let backend = backend_or_skip!();
    let model = backend
        .load_model(&onnx_model::mlp(), &config(Device::Cpu))
        .unwrap();
    assert_eq!(model.inputs(), ["x"]);
    assert_eq!(model.outputs(), ["y"]);
    let input = |seed: usize| {
        let values: Vec<f32> = (0..4 * 256)
            .map(|i| ((i * 7 + seed * 13) % 17) as f32 / 17.0)
            .collect();
        floats(vec![4, 256], &values)
    };
    let expected: Vec<Vec<Tensor>> = (0..4)
        .map(|s| model.run(&[&input(s)], &no_deadline()).unwrap())
        .collect();
    assert_eq!(expected[0][0].shape(), [4, 10]);
    let expected = Arc::new(expected);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let (model, expected) = (model.clone(), expected.clone());
            std::thread::spawn(move || {
                for i in 0..25 {
                    let seed = (t + i) % 4;
                    let out = model.run(&[&input(seed)], &no_deadline()).unwrap();
                    assert_eq!(out, expected[seed]);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn gpu_without_cuda_is_an_error() {
    let backend = backend_or_skip!();
    match backend.load_model(&fixture("mul.onnx"), &config(Device::Gpu(0))) {
        Err(e) => assert_eq!(
            e,
            Error::Backend("ERR GPU requested but ONNX couldn't find CUDA".into())
        ),
        Ok(_) => eprintln!("note: this ONNX Runtime has CUDA; see runs_on_gpu_when_cuda_is_there"),
    }
}

#[test]
fn runs_on_gpu_when_cuda_is_there() {
    let backend = backend_or_skip!();
    let model = match backend.load_model(&fixture("mul.onnx"), &config(Device::Gpu(0))) {
        Ok(model) => model,
        Err(e) if e.to_string() == "ERR GPU requested but ONNX couldn't find CUDA" => {
            let _ = writeln!(
                std::io::stderr(),
                "note: no CUDA in this ONNX Runtime (or no GPU); skipping the GPU run"
            );
            return;
        }
        Err(e) => panic!("GPU load failed: {e}"),
    };
    let a = floats(vec![1, 2], &[3.0, 4.0]);
    let out = model.run(&[&a, &a], &no_deadline()).unwrap();
    assert_eq!(to_floats(&out[0]), [9.0, 16.0]);
}
