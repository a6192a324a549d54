//! The TORCH backend against the fixtures of `tests/fixtures/torch/`: models (load, run, tuple
//! and list outputs, dtypes, errors) and scripts (entry-point checks, best-effort calls, `$`,
//! `redis.execute` and `redisAI.model_execute` through a fake host).
#![cfg(feature = "torch")]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use redisai_core::backend::{
    Backend, BackendLoader, ModelConfig, ModelRunner, RunContext, ScriptCall, ScriptConfig,
    ScriptHost, ScriptRunner,
};
use redisai_core::device::Device;
use redisai_core::error::{Error, Result};
use redisai_core::model::{BackendKind, BatchOptions};
use redisai_core::reply::Reply;
use redisai_core::tensor::{DataType, Tensor};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/torch")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

fn source(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

fn loader() -> Arc<dyn BackendLoader> {
    redisai_backends::loaders()
        .into_iter()
        .find(|l| l.kind() == BackendKind::Torch)
        .unwrap()
}

/// The default file under the default BACKENDSPATH: scripts/bootstrap links it to libtorch.
fn library() -> PathBuf {
    let lib = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.deps/backends")
        .join(loader().default_file());
    assert!(
        lib.exists(),
        "{} is missing: run scripts/bootstrap",
        lib.display()
    );
    lib
}

fn backend() -> Arc<dyn Backend> {
    assert_eq!(loader().default_file(), "redisai_torch/libtorch_cpu.so");
    loader().load(&library()).unwrap()
}

fn config(device: Device) -> ModelConfig<'static> {
    ModelConfig {
        device,
        device_name: "CPU",
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

fn load(name: &str) -> Arc<dyn ModelRunner> {
    backend()
        .load_model(&read(name), &config(Device::Cpu))
        .unwrap()
}

fn f32s(shape: &[usize], v: &[f32]) -> Tensor {
    let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    Tensor::from_blob(DataType::Float, shape.to_vec(), Bytes::from(data)).unwrap()
}

fn as_f32(t: &Tensor) -> Vec<f32> {
    assert_eq!(t.dtype(), DataType::Float);
    t.blob()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn as_i64(t: &Tensor) -> Vec<i64> {
    assert_eq!(t.dtype(), DataType::Int64);
    t.blob()
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn no_host() -> RunContext<'static> {
    RunContext {
        deadline: None,
        host: None,
        max_wait: None,
    }
}

fn err_text<T>(r: Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

// ---- backend -------------------------------------------------------------------------------

#[test]
fn backend_info_and_kind() {
    let b = backend();
    assert_eq!(b.kind(), BackendKind::Torch);
    assert_eq!(b.info(1), vec![("Torch_version".into(), "NA".into())]);
}

#[test]
fn load_accepts_only_the_linked_libtorch() {
    let link = library();
    let real = std::fs::canonicalize(&link).unwrap();
    let lib_dir = real.parent().unwrap();
    // The default file (a symlink), what it points to, and a directory holding it.
    for ok in [&link, &real, lib_dir, link.parent().unwrap()] {
        assert!(loader().load(ok).is_ok(), "{}", ok.display());
    }
    let tmp = std::env::temp_dir().join(format!("redisai-torch-load-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    // A libtorch_cpu.so that is another file, a file of another name, a directory without it,
    // nothing at all.
    let impostor = tmp.join("libtorch_cpu.so");
    let _ = std::fs::remove_file(&impostor);
    std::os::unix::fs::symlink(fixture("pt-minimal.pt"), &impostor).unwrap();
    for bad in [
        tmp.as_path(),
        impostor.as_path(),
        &fixture("pt-minimal.pt"),
        &fixture(""),
        Path::new("/no/such/dir"),
        Path::new("/no/such/libtorch_cpu.so"),
    ] {
        let e = err_text(loader().load(bad));
        assert!(e.starts_with("ERR TORCH: "), "{}: {e}", bad.display());
    }
    let e = err_text(loader().load(&impostor));
    assert!(e.contains("not the libtorch this process runs on"), "{e}");
    let e = err_text(loader().load(&fixture("")));
    assert!(e.contains("no libtorch_cpu.so in this directory"), "{e}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn gpu_without_cuda_is_refused() {
    if tch::Cuda::is_available() {
        eprintln!("skipped: this machine has CUDA");
        return;
    }
    let b = backend();
    let e = err_text(b.load_model(&read("pt-minimal.pt"), &config(Device::Gpu(0))));
    assert_eq!(e, "GPU requested but Torch couldn't find CUDA");
    let cfg = ScriptConfig {
        device: Device::Gpu(1),
        device_name: "GPU:1",
        entry_points: &[],
    };
    let e = err_text(b.compile_script(&source("script.txt"), &cfg));
    assert_eq!(e, "GPU requested but Torch couldn't find CUDA");
}

#[test]
fn gpu_model_runs_when_cuda_is_there() {
    if !tch::Cuda::is_available() {
        eprintln!("skipped: no CUDA (the bootstrap's libtorch is CPU-only)");
        return;
    }
    let m = backend()
        .load_model(&read("pt-minimal.pt"), &config(Device::Gpu(0)))
        .unwrap();
    let a = f32s(&[2], &[1.0, 2.0]);
    let out = m.run(&[&a, &a], &no_host()).unwrap();
    assert_eq!(as_f32(&out[0]), vec![2.0, 4.0]);
}

#[test]
fn threads_can_be_configured_repeatedly() {
    let b = backend();
    let mut cfg = config(Device::Cpu);
    cfg.intra_op_threads = 1;
    cfg.inter_op_threads = 1;
    // the first call may or may not win the race for the inter-op pool with other tests; what
    // matters is that it never panics and that asking again for the same value is fine
    let first = b.load_model(&read("pt-minimal.pt"), &cfg);
    let second = b.load_model(&read("pt-minimal.pt"), &cfg);
    if first.is_ok() {
        assert!(second.is_ok());
    } else {
        assert_eq!(
            err_text(first),
            "Cannot set number of inter-op threads after parallel work has started"
        );
    }
}

// ---- models --------------------------------------------------------------------------------

#[test]
fn minimal_model_adds() {
    let m = load("pt-minimal.pt");
    assert_eq!(m.inputs(), ["a", "b"]);
    assert_eq!(m.outputs(), [""]);
    let a = f32s(&[2, 2], &[2.0, 3.0, 2.0, 3.0]);
    let b = f32s(&[2, 2], &[2.0, 3.0, 2.0, 3.0]);
    let out = m.run(&[&a, &b], &no_host()).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].shape(), [2, 2]);
    assert_eq!(as_f32(&out[0]), vec![4.0, 6.0, 4.0, 6.0]);
}

#[test]
fn tuple_outputs_are_flattened() {
    let m = load("pt-tuple.pt");
    assert_eq!(m.outputs(), ["", ""]);
    let a = f32s(&[2], &[5.0, 7.0]);
    let b = f32s(&[2], &[1.0, 2.0]);
    let out = m.run(&[&a, &b], &no_host()).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(as_f32(&out[0]), vec![6.0, 9.0]);
    assert_eq!(as_f32(&out[1]), vec![4.0, 5.0]);
}

#[test]
fn list_outputs_are_counted_at_the_first_run() {
    let m = load("pt-list.pt");
    assert!(m.outputs().is_empty());
    let a = f32s(&[1], &[3.0]);
    let b = f32s(&[1], &[2.0]);
    let out = m.run(&[&a, &b], &no_host()).unwrap();
    assert_eq!(out.len(), 3);
    assert_eq!(m.outputs(), ["", "", ""]);
    assert_eq!(as_f32(&out[2]), vec![6.0]);
    // and checked from then on: same model, same count
    assert_eq!(m.run(&[&a, &b], &no_host()).unwrap().len(), 3);
}

#[test]
fn output_counts_come_from_the_forward_schema() {
    let model = |src: &str| {
        let bytes = redisai_backends::torch_module_from_source(src).unwrap();
        backend().load_model(&bytes, &config(Device::Cpu)).unwrap()
    };
    let a = f32s(&[1], &[3.0]);
    // Nested tuples of tensors are flattened: 3 outputs, known at load.
    let m = model("def forward(self, a):\n    return a, (a + a, (a * a,))\n");
    assert_eq!(m.outputs(), ["", "", ""]);
    let out = m.run(&[&a], &no_host()).unwrap();
    assert_eq!(
        out.iter().map(as_f32).collect::<Vec<_>>(),
        [[3.0], [6.0], [9.0]]
    );
    // A list anywhere in the return type: unknown until a run.
    let m = model("def forward(self, a):\n    return a, [a, a]\n");
    assert!(m.outputs().is_empty());
    assert_eq!(m.run(&[&a], &no_host()).unwrap().len(), 3);
    // Not tensors at all: unknown, and a run says why it fails.
    let m = model("def forward(self, a):\n    return 1\n");
    assert!(m.outputs().is_empty());
    let e = err_text(m.run(&[&a], &no_host()));
    assert!(e.contains("non-tensor"), "{e}");
}

#[test]
fn empty_tensors_go_in_and_out() {
    let m = load("pt-minimal.pt");
    let none = f32s(&[0, 2], &[]);
    let out = m.run(&[&none, &none], &no_host()).unwrap();
    assert_eq!(out, std::slice::from_ref(&none));
    assert!(out[0].blob().is_empty());
    // An empty selection: a model output with no elements.
    let bytes = redisai_backends::torch_module_from_source(
        "def forward(self, a):\n    return a[a > 100.0], a[:, 0:0]\n",
    )
    .unwrap();
    let m = backend().load_model(&bytes, &config(Device::Cpu)).unwrap();
    let a = f32s(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let out = m.run(&[&a], &no_host()).unwrap();
    assert_eq!(out[0].shape(), [0]);
    assert_eq!(out[1].shape(), [2, 0]);
    assert!(out.iter().all(|t| t.is_empty() && t.blob().is_empty()));
    // Every dtype libtorch takes, empty.
    let m = load("pt-identity.pt");
    for dtype in DataType::ALL {
        if matches!(dtype, DataType::Uint16 | DataType::String) {
            continue;
        }
        let t = Tensor::zeros(dtype, vec![0, 3]).unwrap();
        assert_eq!(
            m.run(&[&t], &no_host()).unwrap(),
            std::slice::from_ref(&t),
            "{dtype:?}"
        );
    }
}

#[test]
fn batchdim_mismatch_model_doubles_dim0() {
    let m = load("batchdim_mismatch.pt");
    assert_eq!(m.outputs(), ["", ""]);
    let a = f32s(&[2, 1], &[1.0, 2.0]);
    let out = m.run(&[&a, &a], &no_host()).unwrap();
    assert_eq!(out[0].shape(), [4, 1]);
    assert_eq!(out[1].shape(), [4, 1]);
}

#[test]
fn dtypes_round_trip() {
    let m = load("pt-identity.pt");
    assert_eq!(m.inputs(), ["x"]);
    for dtype in [
        DataType::Float,
        DataType::Double,
        DataType::Int8,
        DataType::Int16,
        DataType::Int32,
        DataType::Int64,
        DataType::Uint8,
        DataType::Bool,
        DataType::Float16,
        DataType::BFloat16,
    ] {
        let n = 6;
        let data: Vec<u8> = (0..n * dtype.size())
            .map(|i| match dtype {
                DataType::Bool => (i % 2) as u8,
                _ => (i * 7 % 61) as u8,
            })
            .collect();
        let t = Tensor::from_blob(dtype, vec![2, 3], Bytes::from(data)).unwrap();
        let out = m.run(&[&t], &no_host()).unwrap();
        assert_eq!(out[0], t, "{dtype:?}");
    }
    // a scalar (no dims)
    let s = f32s(&[], &[1.5]);
    let out = m.run(&[&s], &no_host()).unwrap();
    assert_eq!(out[0].shape(), [] as [usize; 0]);
    assert_eq!(as_f32(&out[0]), vec![1.5]);
}

#[test]
fn unsupported_input_dtypes() {
    let m = load("pt-identity.pt");
    let u16s = Tensor::from_blob(DataType::Uint16, vec![2], Bytes::from(vec![0u8; 4])).unwrap();
    assert_eq!(
        err_text(m.run(&[&u16s], &no_host())),
        "Unsupported kUInt bits 16"
    );
    let strs = Tensor::from_blob(DataType::String, vec![2], Bytes::from_static(b"a\0b\0")).unwrap();
    assert_eq!(err_text(m.run(&[&strs], &no_host())), "Unsupported code 7");
}

#[test]
fn corrupt_blob_is_an_error() {
    let b = backend();
    let e = err_text(b.load_model(b"this is not a model", &config(Device::Cpu)));
    assert!(e.contains("PytorchStreamReader"), "{e}");
    assert!(
        !e.contains('\n') && !e.contains("Exception raised from"),
        "{e}"
    );
    let mut blob = read("pt-minimal.pt");
    blob.truncate(blob.len() / 2);
    assert!(b.load_model(&blob, &config(Device::Cpu)).is_err());
    assert!(b.load_model(&[], &config(Device::Cpu)).is_err());
}

#[test]
fn wrong_input_count_is_an_error() {
    let m = load("pt-minimal.pt");
    let a = f32s(&[2], &[1.0, 2.0]);
    let e = err_text(m.run(&[&a], &no_host()));
    assert!(e.contains("forward"), "{e}");
    assert!(!e.contains('\n'), "{e}");
    let e = err_text(m.run(&[&a, &a, &a], &no_host()));
    assert!(e.contains("forward"), "{e}");
}

#[test]
fn runtime_error_is_one_line() {
    let m = load("pt-minimal.pt");
    let a = f32s(&[2], &[1.0, 2.0]);
    let b = f32s(&[3], &[1.0, 2.0, 3.0]);
    let e = err_text(m.run(&[&a, &b], &no_host()));
    assert!(e.contains("must match the size of tensor"), "{e}");
    assert!(
        !e.contains('\n') && !e.contains("Exception raised from"),
        "{e}"
    );
}

#[test]
fn models_run_concurrently() {
    let m = load("pt-minimal.pt");
    std::thread::scope(|s| {
        for i in 0..4 {
            let m = m.clone();
            s.spawn(move || {
                for _ in 0..50 {
                    let a = f32s(&[1], &[i as f32]);
                    let out = m.run(&[&a, &a], &no_host()).unwrap();
                    assert_eq!(as_f32(&out[0]), vec![2.0 * i as f32]);
                }
            });
        }
    });
}

// ---- scripts: compile and entry points ------------------------------------------------------

fn compile(name: &str, entry_points: &[&str]) -> Result<Arc<dyn ScriptRunner>> {
    let eps: Vec<String> = entry_points.iter().map(|s| s.to_string()).collect();
    let cfg = ScriptConfig {
        device: Device::Cpu,
        device_name: "CPU",
        entry_points: &eps,
    };
    backend().compile_script(&source(name), &cfg)
}

#[test]
fn entry_points_are_checked() {
    assert!(compile("script.txt", &["bar", "bar_variadic", "two_outputs"]).is_ok());
    assert!(compile("script.txt", &[]).is_ok());
    assert_eq!(
        err_text(compile("script.txt", &["bar", "nope"])),
        "Function nope does not exist in the given script."
    );
    assert_eq!(
        err_text(compile("script.txt", &["two_args"])),
        "Wrong number of inputs in function two_args. Expected 3 but was 2"
    );
    assert_eq!(
        err_text(compile("script.txt", &["add"])),
        "Wrong number of inputs in function add. Expected 3 but was 2"
    );
    assert_eq!(
        err_text(compile("script.txt", &["wrong_types"])),
        "Wrong inputs type in function wrong_types. Expected signature similar to: \
         def wrong_types(tensors: List[Tensor], keys: List[str], args: List[str])"
    );
}

#[test]
fn syntax_error_is_the_torchscript_message() {
    let e = err_text(compile("script_bad.txt", &["bar"]));
    assert!(e.contains("expected ident"), "{e}");
    assert!(!e.contains('\n') && !e.starts_with(' '), "{e}");
}

#[test]
fn unknown_names_do_not_compile() {
    let cfg = ScriptConfig {
        device: Device::Cpu,
        device_name: "CPU",
        entry_points: &[],
    };
    let e = err_text(backend().compile_script("def f(x):\n    return numpy.ones(1)\n", &cfg));
    assert!(e.contains("numpy"), "{e}");
}

// ---- scripts: calls ------------------------------------------------------------------------

fn call<'a>(function: &'a str, inputs: &'a [&'a Tensor], outputs: usize) -> ScriptCall<'a> {
    ScriptCall {
        function,
        inputs,
        keys: &[],
        args: &[],
        variadic: None,
        outputs,
    }
}

#[test]
fn entry_point_call() {
    let s = compile("script.txt", &["bar", "two_outputs", "keys_and_args"]).unwrap();
    let a = f32s(&[2], &[1.0, 2.0]);
    let b = f32s(&[2], &[10.0, 20.0]);
    let out = s.run(&call("bar", &[&a, &b], 1), &no_host()).unwrap();
    assert_eq!(as_f32(&out[0]), vec![11.0, 22.0]);
    let out = s.run(&call("two_outputs", &[&a], 2), &no_host()).unwrap();
    assert_eq!(as_f32(&out[0]), vec![2.0, 3.0]);
    assert_eq!(as_f32(&out[1]), vec![0.0, 1.0]);

    let keys = [Bytes::from_static(b"k1"), Bytes::from_static(b"k2")];
    let args = [Bytes::from_static(b"42")];
    let c = ScriptCall {
        keys: &keys,
        args: &args,
        ..call("keys_and_args", &[], 1)
    };
    let out = s.run(&c, &no_host()).unwrap();
    assert_eq!(as_i64(&out[0]), vec![2, 1, 42]);
}

#[test]
fn outputs_are_counted() {
    let s = compile(
        "script.txt",
        &["two_outputs", "list_outputs", "returns_str"],
    )
    .unwrap();
    let a = f32s(&[1], &[1.0]);
    assert_eq!(
        err_text(s.run(&call("two_outputs", &[&a], 1), &no_host())),
        "Function returned unexpected number of outputs - two_outputs"
    );
    let out = s.run(&call("list_outputs", &[&a], 3), &no_host()).unwrap();
    assert_eq!(as_f32(&out[2]), vec![3.0]);
    assert_eq!(
        err_text(s.run(&call("returns_str", &[&a], 1), &no_host())),
        "Function returned non-tensor valuesreturns_str"
    );
    // OUTPUTS 0: the value is ignored, whatever it is
    assert!(s
        .run(&call("returns_str", &[&a], 0), &no_host())
        .unwrap()
        .is_empty());
}

#[test]
fn script_runtime_errors() {
    let s = compile("script.txt", &["bar", "index_error"]).unwrap();
    let a = f32s(&[1], &[1.0]);
    let e = err_text(s.run(&call("index_error", &[&a], 1), &no_host()));
    assert!(e.contains("list index out of range"), "{e}");
    assert!(
        !e.contains('\n') && !e.contains("Exception raised from"),
        "{e}"
    );
    let e = err_text(s.run(&call("bar", &[&a], 1), &no_host()));
    assert!(e.contains("list index out of range"), "{e}");
}

#[test]
fn best_effort_calls() {
    let s = compile("script.txt", &[]).unwrap();
    let a = f32s(&[2], &[1.0, 2.0]);
    let b = f32s(&[2], &[3.0, 4.0]);
    let c = f32s(&[2], &[5.0, 6.0]);
    let out = s.run(&call("add", &[&a, &b], 1), &no_host()).unwrap();
    assert_eq!(as_f32(&out[0]), vec![4.0, 6.0]);
    let out = s.run(&call("add_typed", &[&a, &b], 1), &no_host()).unwrap();
    assert_eq!(as_f32(&out[0]), vec![4.0, 6.0]);
    let out = s
        .run(&call("first_plus_list", &[&a, &b, &c], 1), &no_host())
        .unwrap();
    assert_eq!(as_f32(&out[0]), vec![9.0, 12.0]);
    // an entry-point-shaped function is not an entry point here: best effort
    // a List[Tensor] parameter ends the mapping: what follows is left to TorchScript
    let e = err_text(s.run(&call("bar", &[&a, &b, &c], 1), &no_host()));
    assert!(e.contains("missing value for argument 'keys'"), "{e}");
    assert_eq!(
        err_text(s.run(&call("nope", &[&a], 1), &no_host())),
        "Function does not exist: nope"
    );
    assert_eq!(
        err_text(s.run(&call("add", &[&a], 1), &no_host())),
        "Wrong number of inputs provided to function: add"
    );
    assert_eq!(
        err_text(s.run(&call("with_int", &[&a, &b], 1), &no_host())),
        "Unsupported input type in function definition: with_int"
    );
    // extra inputs are left out, as in RedisAI
    let out = s.run(&call("add", &[&a, &b, &c], 1), &no_host()).unwrap();
    assert_eq!(as_f32(&out[0]), vec![4.0, 6.0]);
}

#[test]
fn variadic_marker() {
    let s = compile("script.txt", &[]).unwrap();
    let a = f32s(&[1], &[1.0]);
    let b = f32s(&[1], &[10.0]);
    let c = f32s(&[1], &[100.0]);
    let abc = [&a, &b, &c];
    // INPUTS a $ b c
    let v = ScriptCall {
        variadic: Some(1),
        ..call("first_plus_list", &abc, 1)
    };
    assert_eq!(as_f32(&s.run(&v, &no_host()).unwrap()[0]), vec![111.0]);
    // INPUTS $ a b c: the whole list
    let v = ScriptCall {
        variadic: Some(0),
        ..call("list_len", &abc, 1)
    };
    assert_eq!(as_i64(&s.run(&v, &no_host()).unwrap()[0]), vec![3]);
    // INPUTS a b $ c: the list starts at the marker
    let v = ScriptCall {
        variadic: Some(2),
        ..call("list_len", &abc, 1)
    };
    assert_eq!(as_i64(&s.run(&v, &no_host()).unwrap()[0]), vec![1]);
    // without a marker the list is everything left
    let out = s
        .run(&call("list_len", &[&a, &b, &c], 1), &no_host())
        .unwrap();
    assert_eq!(as_i64(&out[0]), vec![3]);
}

// ---- scripts: redis.execute and redisAI.model_execute ---------------------------------------

/// A keyspace of strings and lists, and a model store, as a script sees them.
#[derive(Default)]
struct FakeHost {
    strings: Mutex<HashMap<Bytes, Bytes>>,
    lists: Mutex<HashMap<Bytes, Vec<Bytes>>>,
    models: HashMap<Vec<u8>, Arc<dyn ModelRunner>>,
    calls: Mutex<Vec<Vec<Bytes>>>,
}

impl ScriptHost for FakeHost {
    fn execute(&self, argv: &[Bytes]) -> Reply {
        self.calls.lock().unwrap().push(argv.to_vec());
        let cmd = String::from_utf8_lossy(&argv[0]).to_ascii_uppercase();
        match (cmd.as_str(), argv.len()) {
            ("SET", 3) => {
                let mut s = self.strings.lock().unwrap();
                s.insert(argv[1].clone(), argv[2].clone());
                Reply::OK
            }
            // what RM_Call's NULL + errno turn into for a wrong arity
            ("SET", _) => Reply::Error("Invalid argument".into()),
            ("GET", 2) => match self.strings.lock().unwrap().get(&argv[1]) {
                Some(v) => Reply::Bulk(v.clone()),
                None => Reply::Null,
            },
            ("INCRBY", 3) => {
                let mut s = self.strings.lock().unwrap();
                let cur: i64 = s
                    .get(&argv[1])
                    .map(|v| std::str::from_utf8(v).unwrap().parse().unwrap())
                    .unwrap_or(0);
                let by: i64 = std::str::from_utf8(&argv[2]).unwrap().parse().unwrap();
                s.insert(argv[1].clone(), Bytes::from((cur + by).to_string()));
                Reply::Int(cur + by)
            }
            ("RPUSH", 3) => {
                let mut l = self.lists.lock().unwrap();
                let list = l.entry(argv[1].clone()).or_default();
                list.push(argv[2].clone());
                Reply::Int(list.len() as i64)
            }
            ("LRANGE", 4) => Reply::Array(
                self.lists
                    .lock()
                    .unwrap()
                    .get(&argv[1])
                    .map(|l| l.iter().cloned().map(Reply::Bulk).collect())
                    .unwrap_or_default(),
            ),
            ("MIXED", 1) => Reply::Array(vec![
                Reply::Simple("OK"),
                Reply::Int(7),
                Reply::Null,
                Reply::Array(vec![Reply::text("x"), Reply::Double(1.5)]),
            ]),
            ("FAIL", 1) => Reply::Error("ERR something went wrong".into()),
            _ => Reply::Error(format!("ERR unknown command '{cmd}'")),
        }
    }

    fn model_execute(&self, key: &[u8], inputs: &[Tensor], outputs: usize) -> Result<Vec<Tensor>> {
        let m = self.models.get(key).ok_or(Error::ModelKeyEmpty)?;
        let refs: Vec<&Tensor> = inputs.iter().collect();
        let out = m.run(
            &refs,
            &RunContext {
                deadline: None,
                host: None,
                max_wait: None,
            },
        )?;
        assert_eq!(out.len(), outputs);
        Ok(out)
    }
}

const REDIS_EPS: &[&str] = &[
    "set_get",
    "set_list",
    "wrong_arity",
    "error_reply",
    "incr",
    "list_len",
    "nested",
    "missing_key",
    "run_model",
    "run_model_twice",
];

fn with_host<'a>(host: &'a FakeHost) -> RunContext<'a> {
    RunContext {
        deadline: None,
        host: Some(host),
        max_wait: None,
    }
}

fn keyed<'a>(
    function: &'a str,
    inputs: &'a [&'a Tensor],
    keys: &'a [Bytes],
    args: &'a [Bytes],
) -> ScriptCall<'a> {
    ScriptCall {
        function,
        inputs,
        keys,
        args,
        variadic: None,
        outputs: 1,
    }
}

#[test]
fn redis_execute_set_then_get() {
    let s = compile("redis_scripts.txt", REDIS_EPS).unwrap();
    let host = FakeHost::default();
    let keys = [Bytes::from_static(b"k")];
    let args = [Bytes::from_static(b"3")];
    let out = s
        .run(&keyed("set_get", &[], &keys, &args), &with_host(&host))
        .unwrap();
    assert_eq!(as_i64(&out[0]), vec![3]);
    assert_eq!(
        host.strings.lock().unwrap().get(&b"k"[..]),
        Some(&Bytes::from_static(b"3"))
    );
    // the arguments given as one list, and the module names in any case
    let args = [Bytes::from_static(b"5")];
    let out = s
        .run(&keyed("set_list", &[], &keys, &args), &with_host(&host))
        .unwrap();
    assert_eq!(as_i64(&out[0]), vec![5]);
    let calls = host.calls.lock().unwrap();
    assert_eq!(calls[2], vec![Bytes::from("SET"), "k".into(), "5".into()]);
}

#[test]
fn redis_execute_errors_are_exceptions() {
    let s = compile("redis_scripts.txt", REDIS_EPS).unwrap();
    let host = FakeHost::default();
    let keys = [Bytes::from_static(b"k")];
    let e = err_text(s.run(&keyed("wrong_arity", &[], &keys, &[]), &with_host(&host)));
    assert!(
        e.contains("Redis command returned an error: Invalid argument"),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    let e = err_text(s.run(&keyed("error_reply", &[], &keys, &[]), &with_host(&host)));
    assert!(
        e.contains("Redis command returned an error: ERR something went wrong"),
        "{e}"
    );
    // no host at all: a clear exception, not a crash
    let e = err_text(s.run(&keyed("set_get", &[], &keys, &keys), &no_host()));
    assert!(e.contains("redis.execute is not available"), "{e}");
}

#[test]
fn redis_execute_reply_conversions() {
    let s = compile("redis_scripts.txt", REDIS_EPS).unwrap();
    let host = FakeHost::default();
    let keys = [Bytes::from_static(b"n")];
    let args = [Bytes::from_static(b"40")];
    let out = s
        .run(&keyed("incr", &[], &keys, &args), &with_host(&host))
        .unwrap();
    assert_eq!(as_i64(&out[0]), vec![40]);
    let args = [Bytes::from_static(b"2")];
    let out = s
        .run(&keyed("incr", &[], &keys, &args), &with_host(&host))
        .unwrap();
    assert_eq!(as_i64(&out[0]), vec![42]);

    let keys = [Bytes::from_static(b"l")];
    let args = [Bytes::from_static(b"a"), Bytes::from_static(b"b")];
    let out = s
        .run(&keyed("list_len", &[], &keys, &args), &with_host(&host))
        .unwrap();
    assert_eq!(as_i64(&out[0]), vec![2]);

    let out = s
        .run(&keyed("nested", &[], &[], &[]), &with_host(&host))
        .unwrap();
    assert_eq!(as_i64(&out[0]), vec![4, 2, 7, 1, 1]);

    let out = s
        .run(&keyed("missing_key", &[], &[], &[]), &with_host(&host))
        .unwrap();
    assert_eq!(as_i64(&out[0]), vec![1]);
}

#[test]
fn model_execute_through_the_host() {
    let s = compile("redis_scripts.txt", REDIS_EPS).unwrap();
    let mut host = FakeHost::default();
    host.models.insert(b"m".to_vec(), load("pt-minimal.pt"));
    let a = f32s(&[2], &[1.0, 2.0]);
    let b = f32s(&[2], &[10.0, 20.0]);
    let keys = [Bytes::from_static(b"m")];
    let out = s
        .run(
            &keyed("run_model", &[&a, &b], &keys, &[]),
            &with_host(&host),
        )
        .unwrap();
    assert_eq!(as_f32(&out[0]), vec![11.0, 22.0]);
    let out = s
        .run(
            &keyed("run_model_twice", &[&a, &b], &keys, &[]),
            &with_host(&host),
        )
        .unwrap();
    assert_eq!(as_f32(&out[0]), vec![21.0, 42.0]);

    // the host's errors become the exception text
    let missing = [Bytes::from_static(b"nope")];
    let e = err_text(s.run(
        &keyed("run_model", &[&a, &b], &missing, &[]),
        &with_host(&host),
    ));
    assert!(e.contains("ERR model key is empty"), "{e}");
    // and so do the model's own errors
    let e = err_text(s.run(&keyed("run_model", &[&a], &keys, &[]), &with_host(&host)));
    assert!(e.contains("forward"), "{e}");
}

#[test]
fn scripts_run_concurrently_with_their_own_hosts() {
    let s = compile("redis_scripts.txt", REDIS_EPS).unwrap();
    std::thread::scope(|scope| {
        for i in 0..4 {
            let s = s.clone();
            scope.spawn(move || {
                let host = FakeHost::default();
                let keys = [Bytes::from_static(b"k")];
                for j in 0..25 {
                    let args = [Bytes::from((i * 100 + j).to_string())];
                    let out = s
                        .run(&keyed("set_get", &[], &keys, &args), &with_host(&host))
                        .unwrap();
                    assert_eq!(as_i64(&out[0]), vec![i * 100 + j]);
                }
            });
        }
    });
}

#[test]
fn module_from_source_matches_the_fixture() {
    let bytes =
        redisai_backends::torch_module_from_source("def forward(self, a, b):\n    return a + b\n")
            .unwrap();
    assert_eq!(bytes, read("pt-minimal.pt"));
    let e = err_text(redisai_backends::torch_module_from_source(
        "def forward(self, a):\n    return a +\n",
    ));
    assert!(!e.is_empty());
}

#[test]
fn module_parameters_are_saved_with_it() {
    let w = f32s(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let b = f32s(&[3], &[0.5, 0.5, 0.5]);
    let bytes = redisai_backends::torch_module_from_source_with_params(
        "def forward(self, x):\n    return x.matmul(self.w) + self.b\n",
        &[("w", &w), ("b", &b)],
    )
    .unwrap();
    let m = backend().load_model(&bytes, &config(Device::Cpu)).unwrap();
    let x = f32s(&[1, 2], &[1.0, 10.0]);
    let out = m.run(&[&x], &no_host()).unwrap();
    assert_eq!(out[0].shape(), [1, 3]);
    assert_eq!(as_f32(&out[0]), vec![41.5, 52.5, 63.5]);

    let e = err_text(redisai_backends::torch_module_from_source_with_params(
        "def forward(self, x):\n    return x.matmul(self.nosuch)\n",
        &[("w", &w)],
    ));
    assert!(e.contains("nosuch"), "{e}");
}
