//! The TFLITE backend against the real LiteRT that scripts/bootstrap puts in
//! `.deps/backends/redisai_tflite/`, with the acceptance suite's stand-ins of RedisAI's TFLite
//! test models (`../shared/acceptance/tf_data/`) and the fixtures of tests/fixtures/tflite/.
//!
//! Without the library every test prints a note and passes, except under `CI=true`, where a
//! missing library fails them. A test whose model files are absent prints a note and passes.

#[path = "support/backend.rs"]
#[macro_use]
mod backend;
#[path = "support/json.rs"]
mod json;
#[path = "support/tensors.rs"]
mod tensors;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use redisai_core::backend::{Backend, ModelConfig, ModelRunner, RunContext};
use redisai_core::device::Device;
use redisai_core::model::{BackendKind, BatchOptions};
use redisai_core::{DataType, Error, Tensor};

use backend::{backend, library, loader, repo_root};
use json::Json;
use tensors::{floats, to_floats, to_i64s};

/// The backend these tests are about (`support/backend.rs` loads it).
const KIND: BackendKind = BackendKind::Tflite;

fn note(msg: &str) {
    // Straight to stderr: the test harness would swallow eprintln! of a passing test.
    let _ = writeln!(std::io::stderr(), "note: {msg}");
}

/// A model file's bytes, or `None` (after a note) when it is absent.
fn model_file(path: PathBuf) -> Option<Vec<u8>> {
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            note(&format!("{}: {e}; skipping", path.display()));
            None
        }
    }
}

fn acceptance(name: &str) -> Option<Vec<u8>> {
    model_file(repo_root().join("../shared/acceptance/tf_data").join(name))
}

const MNIST: &str = "mnist_model_quant.tflite";
const MOBILENET: &str =
    "lite-model_imagenet_mobilenet_v3_small_100_224_classification_5_default_1.tflite";

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

fn load(backend: &Arc<dyn Backend>, blob: &[u8]) -> Arc<dyn ModelRunner> {
    backend
        .load_model(blob, &config(Device::Cpu))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn ctx() -> RunContext<'static> {
    RunContext {
        deadline: None,
        host: None,
        max_wait: None,
    }
}

fn run(model: &Arc<dyn ModelRunner>, inputs: &[&Tensor]) -> Vec<Tensor> {
    model.run(inputs, &ctx()).unwrap_or_else(|e| panic!("{e}"))
}

fn run_error(model: &Arc<dyn ModelRunner>, inputs: &[&Tensor]) -> String {
    match model.run(inputs, &ctx()) {
        Ok(_) => panic!("the run succeeded"),
        Err(e) => one_line(e),
    }
}

fn one_line(e: Error) -> String {
    let text = e.to_string();
    assert!(!text.contains(['\n', '\r']), "{text:?}");
    text
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best })
}

/// Deterministic values in [0, 1).
fn pseudo_image(len: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

#[test]
fn loader_is_one_runtime_per_process() {
    let backend = backend_or_skip!();
    let again = loader().load(&library()).expect("the same file again");
    assert!(Arc::ptr_eq(&backend, &again));
    // Symlinks are resolved: the same file under another name is the same runtime.
    let link = std::env::temp_dir().join(format!("tflite-link-{}.so", std::process::id()));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(std::fs::canonicalize(library()).unwrap(), &link).unwrap();
    let linked = loader().load(&link);
    std::fs::remove_file(&link).unwrap();
    assert!(Arc::ptr_eq(
        &backend,
        &linked.expect("a symlink to the file")
    ));
    // Another file: refused, and the loaded runtime stays.
    let other = repo_root().join("Cargo.toml");
    let e = one_line(
        loader()
            .load(&other)
            .err()
            .expect("another file is refused"),
    );
    assert!(e.contains("already loaded"), "{e}");
    assert_eq!(backend.kind(), BackendKind::Tflite);
    assert_eq!(loader().default_file(), "redisai_tflite/libLiteRt.so");
}

#[test]
fn info_reports_the_litert_release() {
    let backend = backend_or_skip!();
    let info = backend.info(1);
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].0, "TensorFlowLite_version");
    // scripts/bootstrap installs libLiteRt.so of ai-edge-litert 2.3.0, which the backend knows
    // by its fingerprint.
    assert_eq!(info[0].1, "2.3.0");
}

#[test]
fn mnist_names_classifies_and_copies_by_element_count() {
    let backend = backend_or_skip!();
    let Some(blob) = acceptance(MNIST) else {
        return;
    };
    let model = load(&backend, &blob);
    assert_eq!(model.inputs(), ["image"]);
    assert_eq!(model.outputs(), ["classes", "probabilities"]);

    // A blank image: the logits are the biases 0.01·k (class 1's is 0), so class 9 wins.
    let out = run(&model, &[&floats(vec![1, 28, 28], &[0.0; 784])]);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].dtype(), DataType::Int64);
    assert_eq!(out[0].shape(), [1]);
    assert_eq!(to_i64s(&out[0]), [9]);
    assert_eq!(out[1].shape(), [1, 10]);
    let p = to_floats(&out[1]);
    let biases: Vec<f32> = (0..10)
        .map(|k| if k == 1 { 0.0 } else { 0.01 * k as f32 })
        .collect();
    let total: f32 = biases.iter().map(|b| b.exp()).sum();
    for (p, b) in p.iter().zip(&biases) {
        assert!((p - b.exp() / total).abs() < 1e-4, "{p} vs softmax {b}");
    }

    // RedisAI's tests send [1,1,28,28] to this [1,28,28] model: same elements, same answer.
    let image = pseudo_image(784, 1);
    let as_is = run(&model, &[&floats(vec![1, 28, 28], &image)]);
    let as_4d = run(&model, &[&floats(vec![1, 1, 28, 28], &image)]);
    assert_eq!(as_is[0].shape(), [1]);
    assert_eq!(as_4d[1].shape(), [1, 10]);
    assert_eq!(to_i64s(&as_is[0]), to_i64s(&as_4d[0]));
    assert_eq!(to_floats(&as_is[1]), to_floats(&as_4d[1]));
    assert_eq!(
        to_i64s(&as_is[0])[0] as usize,
        argmax(&to_floats(&as_is[1]))
    );
}

#[test]
fn mnist_resizes_like_tflite_and_recovers_from_a_bad_shape() {
    let backend = backend_or_skip!();
    let Some(blob) = acceptance(MNIST) else {
        return;
    };
    let model = load(&backend, &blob);
    let a = pseudo_image(784, 2);
    let single = run(&model, &[&floats(vec![1, 28, 28], &a)]);
    // A batch of 2 on this static-batch model: the input is resized (non-strict, as TFLite's
    // interpreter in RedisAI), and each row is what a single run gives.
    let two: Vec<f32> = a.iter().chain(&[0.0; 784]).copied().collect();
    let out = run(&model, &[&floats(vec![2, 28, 28], &two)]);
    assert_eq!(out[0].shape(), [2]);
    assert_eq!(out[1].shape(), [2, 10]);
    assert_eq!(to_i64s(&out[0]), [to_i64s(&single[0])[0], 9]);
    assert_eq!(to_floats(&out[1])[..10], to_floats(&single[1])[..]);

    // A shape the graph cannot take: the resize goes through, the allocation fails.
    let e = run_error(&model, &[&floats(vec![1, 27, 28], &[0.0; 27 * 28])]);
    assert_eq!(e, "Failed to allocate tensors");
    let e = run_error(&model, &[&floats(vec![1, 27, 28], &[0.0; 27 * 28])]);
    assert_eq!(e, "Failed to allocate tensors");
    // ... and the next good input runs as before.
    let again = run(&model, &[&floats(vec![1, 28, 28], &a)]);
    assert_eq!(to_floats(&again[1]), to_floats(&single[1]));
}

#[test]
fn mnist_errors() {
    let backend = backend_or_skip!();
    let Some(blob) = acceptance(MNIST) else {
        return;
    };
    let model = load(&backend, &blob);
    let image = floats(vec![1, 28, 28], &[0.0; 784]);
    assert_eq!(
        run_error(&model, &[&image, &image]),
        "Inconsistent number of inputs"
    );
    assert_eq!(run_error(&model, &[]), "Inconsistent number of inputs");
    let ints = Tensor::zeros(DataType::Int32, vec![1, 28, 28]).unwrap();
    assert_eq!(
        run_error(&model, &[&ints]),
        "Input tensor type doesn't match the type expected by the model definition"
    );
    // More dims than LiteRT's layouts hold, and not the model's element count.
    let deep = Tensor::zeros(DataType::Float, vec![1, 1, 1, 1, 1, 1, 1, 2, 784]).unwrap();
    assert_eq!(
        run_error(&model, &[&deep]),
        "Failed to resize input tensors"
    );
    // A deadline already past: the run does not start.
    let past = RunContext {
        deadline: Some(std::time::Instant::now()),
        host: None,
        max_wait: None,
    };
    assert!(matches!(
        model.run(&[&image], &past),
        Err(Error::RunTimedOut)
    ));
    let e = backend
        .load_model(&blob, &config(Device::Gpu(0)))
        .err()
        .expect("GPU is refused");
    assert_eq!(one_line(e), "ERR Unsupported device");
}

#[test]
fn blobs_that_are_not_tflite_models_are_refused() {
    let backend = backend_or_skip!();
    let mut blobs = vec![b"not a flatbuffer at all".to_vec(), Vec::new(), vec![0; 64]];
    if let Some(pb) = acceptance("graph_v2.pb") {
        blobs.push(pb);
    }
    for blob in blobs {
        let e = backend
            .load_model(&blob, &config(Device::Cpu))
            .err()
            .expect("refused");
        assert_eq!(one_line(e), "Failed to load model from buffer");
    }
}

#[test]
fn mobilenet_batches_rows_as_single_runs() {
    let backend = backend_or_skip!();
    let Some(blob) = acceptance(MOBILENET) else {
        return;
    };
    let model = load(&backend, &blob);
    assert_eq!(model.inputs(), ["input"]);
    assert_eq!(model.outputs(), ["MobilenetV3/Predictions/Softmax"]);
    const PIXELS: usize = 224 * 224 * 3;
    let a = pseudo_image(PIXELS, 3);
    let b = pseudo_image(PIXELS, 4);
    let single_a = run(&model, &[&floats(vec![1, 224, 224, 3], &a)]);
    let single_b = run(&model, &[&floats(vec![1, 224, 224, 3], &b)]);
    assert_eq!(single_a[0].shape(), [1, 1001]);
    let pa = to_floats(&single_a[0]);
    assert!(pa.iter().all(|p| p.is_finite()));
    assert!((pa.iter().sum::<f32>() - 1.0).abs() < 1e-3);

    let both: Vec<f32> = a.iter().chain(&b).copied().collect();
    let batch = run(&model, &[&floats(vec![2, 224, 224, 3], &both)]);
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].shape(), [2, 1001]);
    let rows = to_floats(&batch[0]);
    let close = |x: &[f32], y: &[f32]| x.iter().zip(y).all(|(x, y)| (x - y).abs() <= 1e-6);
    assert!(close(&rows[..1001], &pa));
    assert!(close(&rows[1001..], &to_floats(&single_b[0])));

    // Back to one image: resized back, same answer as before.
    let again = run(&model, &[&floats(vec![1, 224, 224, 3], &a)]);
    assert_eq!(again[0].shape(), [1, 1001]);
    assert!(close(&to_floats(&again[0]), &pa));

    // The model takes FLOAT: a UINT8 image is refused, as in RedisAI's tests.
    let dog = Tensor::zeros(DataType::Uint8, vec![1, 224, 224, 3]).unwrap();
    assert_eq!(
        run_error(&model, &[&dog]),
        "Input tensor type doesn't match the type expected by the model definition"
    );
}

#[test]
fn concurrent_runs_take_turns() {
    let backend = backend_or_skip!();
    let Some(blob) = acceptance(MNIST) else {
        return;
    };
    let model = load(&backend, &blob);
    let image = pseudo_image(784, 5);
    let one = floats(vec![1, 28, 28], &image);
    let expected = to_floats(&run(&model, &[&one])[1]);
    let two: Vec<f32> = image.iter().chain(&image).copied().collect();
    let two = floats(vec![2, 28, 28], &two);
    std::thread::scope(|s| {
        for t in 0..4 {
            let (model, one, two, expected) = (&model, &one, &two, &expected);
            s.spawn(move || {
                for i in 0..20 {
                    // Threads alternate shapes, so runs also resize under each other.
                    let batch = (t + i) % 2 == 1;
                    let out = run(model, &[if batch { two } else { one }]);
                    let p = to_floats(&out[1]);
                    assert_eq!(p.len(), if batch { 20 } else { 10 });
                    assert_eq!(&p[..10], &expected[..]);
                    if batch {
                        assert_eq!(&p[10..], &expected[..]);
                    }
                }
            });
        }
    });
}

/// A tensor of the fixtures' JSON form: `dtype`, `shape`, `values` (FLOAT16 also `bits`).
fn json_tensor(t: &Json) -> Tensor {
    let dtype = DataType::parse(t.get("dtype").str().as_bytes()).expect("a dtype");
    let shape: Vec<usize> = t
        .get("shape")
        .array()
        .iter()
        .map(|d| d.i128() as usize)
        .collect();
    let values = t.get("values").array();
    let mut data = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match dtype {
            DataType::Float => data.extend((v.f64() as f32).to_le_bytes()),
            DataType::Double => data.extend(v.f64().to_le_bytes()),
            DataType::Float16 => {
                let bits = t.get("bits").array()[i].i128() as u16;
                data.extend(bits.to_le_bytes())
            }
            DataType::Int8 => data.extend((v.i128() as i8).to_le_bytes()),
            DataType::Int16 => data.extend((v.i128() as i16).to_le_bytes()),
            DataType::Int32 => data.extend((v.i128() as i32).to_le_bytes()),
            DataType::Int64 => data.extend((v.i128() as i64).to_le_bytes()),
            DataType::Uint8 | DataType::Bool => data.push(v.i128() as u8),
            DataType::Uint16 => data.extend((v.i128() as u16).to_le_bytes()),
            other => panic!("no fixture tensors of {other:?}"),
        }
    }
    Tensor::from_blob(dtype, shape, Bytes::from(data)).expect("a fixture tensor")
}

/// Whether `got` is `want` (floats within `atol`; FLOAT16 by its bits).
fn same_tensor(got: &Tensor, want: &Tensor, atol: f64) -> bool {
    if got.dtype() != want.dtype() || got.shape() != want.shape() {
        return false;
    }
    match got.dtype() {
        DataType::Float | DataType::Double => (0..got.len()).all(|i| {
            let (g, w) = (got.get_f64(i).unwrap(), want.get_f64(i).unwrap());
            (g - w).abs() <= atol
        }),
        _ => got.blob() == want.blob(),
    }
}

/// Every model of tests/fixtures/tflite/expected.json (INT8, UINT8, INT32 and INT64, FLOAT16,
/// a dynamic batch): names and order as RedisAI's interpreter had them, and each sample's
/// outputs.
#[test]
fn fixtures_match_their_expected_outputs() {
    let backend = backend_or_skip!();
    let dir = repo_root().join("tests/fixtures/tflite");
    let Some(expected) = model_file(dir.join("expected.json")) else {
        return;
    };
    let expected = Json::parse(std::str::from_utf8(&expected).unwrap()).expect("valid JSON");
    let mut dtypes = std::collections::BTreeSet::new();
    for (name, m) in expected.get("models").object() {
        let Some(blob) = model_file(dir.join(m.get("file").str())) else {
            continue;
        };
        let model = load(&backend, &blob);
        let names = |io: &str| -> Vec<String> {
            m.get(io)
                .array()
                .iter()
                .map(|t| t.get("name").str().to_string())
                .collect()
        };
        assert_eq!(model.inputs(), names("inputs"), "{name}");
        assert_eq!(model.outputs(), names("outputs"), "{name}");
        let atol = m.get("atol").f64();
        for (k, sample) in m.get("samples").array().iter().enumerate() {
            let inputs: Vec<Tensor> = sample
                .get("inputs")
                .array()
                .iter()
                .map(json_tensor)
                .collect();
            dtypes.extend(inputs.iter().map(|t| t.dtype().name()));
            let refs: Vec<&Tensor> = inputs.iter().collect();
            let got = run(&model, &refs);
            // Float kernels may differ by delegate; any of the recorded answers will do.
            let answers: Vec<Vec<Tensor>> = [
                "outputs",
                "outputs_without_default_delegates",
                "outputs_reference_kernels",
            ]
            .iter()
            .filter_map(|key| sample.try_get(key))
            .map(|outs| outs.array().iter().map(json_tensor).collect())
            .collect();
            assert!(
                answers.iter().any(|want| want.len() == got.len()
                    && got.iter().zip(want).all(|(g, w)| same_tensor(g, w, atol))),
                "{name} sample {k}: got {got:?}, want one of {answers:?}"
            );
        }
    }
    note(&format!("TFLITE fixtures ran with inputs of {dtypes:?}"));
}
