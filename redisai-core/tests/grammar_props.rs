//! Property tests of the grammar and the tensor codecs:
//! - every valid command, of every kind, formats into arguments that parse back to itself;
//! - tensor BLOBs decode and encode back unchanged for every dtype, and VALUES agree with them;
//! - dim-0 concatenation then slicing gives the parts back, numeric and STRING alike;
//! - parsing never panics on arbitrary words under any command name, nor on valid commands with
//!   a few words edited, and whatever it accepts formats back into itself.

use bytes::Bytes;
use proptest::prelude::*;
use proptest::sample::Index;
use redisai_core::command::{
    Command, Config, Dag, DagKind, DagOp, DataFormat, Info, ModelDel, ModelExecute, ModelGet,
    ModelStore, ScriptDel, ScriptExecute, ScriptGet, ScriptStore, TensorGet, TensorSet, NAMES,
};
use redisai_core::model::{BackendKind, BatchOptions};
use redisai_core::{DataType, Error, Reply, Tensor};

// ---- building blocks -----------------------------------------------------------------------

/// Any argument: arbitrary bytes, empty included. For positions the grammar takes blindly.
fn word() -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..8).prop_map(Bytes::from)
}

/// A name that is no keyword of any command (nor `|>` or `$`). For positions where the grammar
/// looks at the word itself (uncounted lists, DAG ops).
fn name() -> impl Strategy<Value = Bytes> {
    "k_[a-z0-9]{0,5}".prop_map(Bytes::from)
}

fn words(n: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Bytes>> {
    prop::collection::vec(word(), n)
}

fn names(n: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Bytes>> {
    prop::collection::vec(name(), n)
}

fn backend() -> impl Strategy<Value = BackendKind> {
    prop::sample::select(BackendKind::ALL.to_vec())
}

fn dtype() -> impl Strategy<Value = DataType> {
    prop::sample::select(DataType::ALL.to_vec())
}

fn numeric_dtype() -> impl Strategy<Value = DataType> {
    prop::sample::select(
        DataType::ALL
            .into_iter()
            .filter(|&t| t != DataType::String)
            .collect::<Vec<_>>(),
    )
}

/// A positive count as the grammar's strict integers allow it.
fn positive() -> impl Strategy<Value = u64> {
    prop_oneof![1..100u64, 1..=i64::MAX as u64]
}

/// A shape with at least one element.
fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1..4usize, 0..3)
}

/// A shape whose dims may be 0 (an empty tensor).
fn any_shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..4usize, 0..3)
}

fn len(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// A string element: no NUL inside.
fn element() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(1..=255u8, 0..6)
}

/// Valid data for `len` elements of `dtype`, as a BLOB.
fn blob_for(dtype: DataType, len: usize) -> BoxedStrategy<Bytes> {
    match dtype {
        DataType::String => prop::collection::vec(element(), len)
            .prop_map(|els| Bytes::from(join_strings(&els)))
            .boxed(),
        DataType::Bool => prop::collection::vec(0..=1u8, len)
            .prop_map(Bytes::from)
            .boxed(),
        _ => prop::collection::vec(any::<u8>(), len * dtype.size())
            .prop_map(Bytes::from)
            .boxed(),
    }
}

fn join_strings(els: &[Vec<u8>]) -> Vec<u8> {
    els.iter()
        .flat_map(|e| e.iter().copied().chain([0]))
        .collect()
}

/// Any valid tensor.
fn tensor() -> impl Strategy<Value = Tensor> {
    (dtype(), any_shape()).prop_flat_map(|(t, s)| {
        blob_for(t, len(&s)).prop_map(move |b| Tensor::from_blob(t, s.clone(), b).unwrap())
    })
}

fn timeout() -> impl Strategy<Value = Option<u64>> {
    prop::option::of(positive())
}

/// A TENSORGET format the grammar can produce: no options means META BLOB.
fn tensor_format() -> impl Strategy<Value = (bool, Option<DataFormat>)> {
    prop::sample::select(vec![
        (true, None),
        (true, Some(DataFormat::Blob)),
        (true, Some(DataFormat::Values)),
        (false, Some(DataFormat::Blob)),
        (false, Some(DataFormat::Values)),
    ])
}

/// META/BLOB (or META/SOURCE) pairs the grammar can produce: never neither.
fn meta_and() -> impl Strategy<Value = (bool, bool)> {
    prop::sample::select(vec![(true, true), (true, false), (false, true)])
}

// ---- valid commands, one strategy per kind --------------------------------------------------

fn tensor_set() -> impl Strategy<Value = Command> {
    (word(), tensor()).prop_map(|(key, tensor)| Command::TensorSet(TensorSet { key, tensor }))
}

fn tensor_get() -> impl Strategy<Value = Command> {
    (word(), tensor_format())
        .prop_map(|(key, (meta, data))| Command::TensorGet(TensorGet { key, meta, data }))
}

fn batch(allowed: bool) -> impl Strategy<Value = BatchOptions> {
    let n = || prop_oneof![Just(0u64), 1..10u64, 0..=i64::MAX as u64];
    (n(), n(), n()).prop_map(move |(size, min_size, min_timeout)| {
        let size = if allowed { size } else { 0 };
        let min_size = if size == 0 { 0 } else { min_size };
        let min_timeout = if min_size == 0 { 0 } else { min_timeout };
        BatchOptions {
            size,
            min_size,
            min_timeout,
        }
    })
}

fn model_store() -> impl Strategy<Value = Command> {
    let device = "(CPU|GPU|cpu|Gpu)(:[0-9]{0,5})?";
    (
        word(),
        backend(),
        device,
        word(),
        batch(true),
        words(1..4),
        words(1..4),
        words(1..4),
    )
        .prop_map(|(key, backend, device, tag, batch, ins, outs, blob)| {
            let tf = backend == BackendKind::Tf;
            Command::ModelStore(ModelStore {
                key,
                backend,
                device,
                tag,
                batch,
                inputs: if tf { ins } else { Vec::new() },
                outputs: if tf { outs } else { Vec::new() },
                blob,
                legacy: false,
            })
        })
}

fn model_set() -> impl Strategy<Value = Command> {
    let device = "[A-Za-z0-9:_]{0,10}".prop_filter("a MODELSET keyword", |d| {
        let d = d.to_ascii_uppercase();
        ![
            "INPUTS",
            "OUTPUTS",
            "TAG",
            "BATCHSIZE",
            "MINBATCHSIZE",
            "MINBATCHTIMEOUT",
            "BLOB",
        ]
        .contains(&d.as_str())
    });
    backend().prop_flat_map(move |backend| {
        (
            word(),
            device.clone(),
            word(),
            batch(backend != BackendKind::Tflite),
            names(0..3),
            names(0..3),
            words(1..4),
        )
            .prop_map(move |(key, device, tag, batch, ins, outs, blob)| {
                let tf = backend == BackendKind::Tf;
                Command::ModelStore(ModelStore {
                    key,
                    backend,
                    device,
                    tag,
                    batch,
                    inputs: if tf { ins } else { Vec::new() },
                    outputs: if tf { outs } else { Vec::new() },
                    blob,
                    legacy: true,
                })
            })
    })
}

fn model_get() -> impl Strategy<Value = Command> {
    (word(), meta_and())
        .prop_map(|(key, (meta, blob))| Command::ModelGet(ModelGet { key, meta, blob }))
}

fn model_execute() -> impl Strategy<Value = Command> {
    (word(), words(1..4), words(1..4), timeout()).prop_map(|(key, inputs, outputs, timeout)| {
        Command::ModelExecute(ModelExecute {
            key,
            inputs,
            outputs,
            timeout,
            legacy: false,
        })
    })
}

fn model_run() -> impl Strategy<Value = Command> {
    (word(), names(0..4), names(0..4), timeout())
        .prop_filter("AI.MODELRUN needs 6 arguments", |(_, i, o, t)| {
            i.len() + o.len() + if t.is_some() { 2 } else { 0 } >= 2
        })
        .prop_map(|(key, inputs, outputs, timeout)| {
            Command::ModelExecute(ModelExecute {
                key,
                inputs,
                outputs,
                timeout,
                legacy: true,
            })
        })
}

fn script_store() -> impl Strategy<Value = Command> {
    (
        word(),
        "\\PC{0,8}",
        word(),
        words(0..4),
        word(),
        any::<bool>(),
    )
        .prop_map(|(key, device, tag, eps, source, legacy)| {
            Command::ScriptStore(ScriptStore {
                key,
                device,
                tag,
                entry_points: if legacy { Vec::new() } else { eps },
                source,
                legacy,
            })
        })
}

fn script_execute() -> impl Strategy<Value = Command> {
    (
        word(),
        word(),
        words(0..3),
        words(0..3),
        words(0..3),
        words(0..3),
        timeout(),
    )
        .prop_map(|(key, function, keys, inputs, args, outputs, timeout)| {
            Command::ScriptExecute(ScriptExecute {
                key,
                function,
                keys,
                inputs,
                args,
                outputs,
                timeout,
                variadic: None,
                legacy: false,
            })
        })
}

fn script_run() -> impl Strategy<Value = Command> {
    (
        word(),
        word(),
        names(0..4),
        any::<Index>(),
        any::<bool>(),
        names(0..3),
        timeout(),
    )
        .prop_map(
            |(key, function, inputs, at, has_variadic, outputs, timeout)| {
                let variadic = has_variadic.then(|| at.index(inputs.len() + 1));
                Command::ScriptExecute(ScriptExecute {
                    key,
                    function,
                    keys: Vec::new(),
                    inputs,
                    args: Vec::new(),
                    outputs,
                    timeout,
                    variadic,
                    legacy: true,
                })
            },
        )
}

fn info() -> impl Strategy<Value = Command> {
    (word(), any::<bool>()).prop_map(|(key, reset)| Command::Info(Info { key, reset }))
}

fn config() -> impl Strategy<Value = Command> {
    prop_oneof![
        (backend(), word()).prop_map(|(backend, path)| Config::LoadBackend { backend, path }),
        word().prop_map(Config::BackendsPath),
        positive().prop_map(Config::ModelChunkSize),
        word().prop_map(Config::Get),
    ]
    .prop_map(Command::Config)
}

/// The recipe of one DAG op; [`dag`] turns it into an op that fits the names bound so far.
#[derive(Debug, Clone)]
struct OpRecipe {
    kind: u8,
    picks: Vec<Index>,
    outputs: Vec<Bytes>,
    tensor: Tensor,
    key: Bytes,
    function: Bytes,
    format: (bool, Option<DataFormat>),
    extra: Vec<Bytes>,
    variadic: Option<Index>,
}

fn op_recipe() -> impl Strategy<Value = OpRecipe> {
    (
        0..4u8,
        prop::collection::vec(any::<Index>(), 0..3),
        names(1..3),
        tensor().prop_filter("a blob that reads as `|>`", |t| t.blob() != "|>"),
        name(),
        name(),
        tensor_format(),
        names(0..3),
        prop::option::of(any::<Index>()),
    )
        .prop_map(
            |(kind, picks, outputs, tensor, key, function, format, extra, variadic)| OpRecipe {
                kind,
                picks,
                outputs,
                tensor,
                key,
                function,
                format,
                extra,
                variadic,
            },
        )
}

/// A valid DAG: every op reads names that are loaded or written before it, PERSIST names are
/// bound at the end, and the ops are those its kind allows.
fn dag() -> impl Strategy<Value = Command> {
    (
        prop::sample::select(vec![
            DagKind::Execute,
            DagKind::ExecuteRo,
            DagKind::Run,
            DagKind::RunRo,
        ]),
        names(0..3),
        prop::collection::vec(any::<Index>(), 0..3),
        prop::option::of(word()),
        timeout(),
        prop::collection::vec(op_recipe(), 1..5),
    )
        .prop_map(|(kind, load, persist_picks, routing, timeout, recipes)| {
            let deprecated = matches!(kind, DagKind::Run | DagKind::RunRo);
            let mut bound: Vec<Bytes> = load.clone();
            let mut ops = Vec::new();
            for r in recipes {
                let inputs: Vec<Bytes> = if bound.is_empty() {
                    Vec::new()
                } else {
                    r.picks.iter().map(|i| i.get(&bound).clone()).collect()
                };
                let op = match r.kind {
                    1 if !bound.is_empty() => DagOp::TensorGet(TensorGet {
                        key: r
                            .picks
                            .first()
                            .map_or(bound[0].clone(), |i| i.get(&bound).clone()),
                        meta: r.format.0,
                        data: r.format.1,
                    }),
                    2 if !inputs.is_empty() && !deprecated => DagOp::ModelExecute(ModelExecute {
                        key: r.key,
                        inputs,
                        outputs: r.outputs,
                        timeout: None,
                        legacy: false,
                    }),
                    2 if deprecated && inputs.len() + r.outputs.len() >= 2 => {
                        DagOp::ModelExecute(ModelExecute {
                            key: r.key,
                            inputs,
                            outputs: r.outputs,
                            timeout: None,
                            legacy: true,
                        })
                    }
                    3 if kind == DagKind::Execute => DagOp::ScriptExecute(ScriptExecute {
                        key: r.key,
                        function: r.function,
                        keys: r.extra.clone(),
                        inputs,
                        args: r.extra,
                        outputs: r.outputs,
                        timeout: None,
                        variadic: None,
                        legacy: false,
                    }),
                    3 if deprecated => DagOp::ScriptExecute(ScriptExecute {
                        key: r.key,
                        function: r.function,
                        keys: Vec::new(),
                        variadic: r.variadic.map(|i| i.index(inputs.len() + 1)),
                        inputs,
                        args: Vec::new(),
                        outputs: r.outputs,
                        timeout: None,
                        legacy: true,
                    }),
                    _ => DagOp::TensorSet(TensorSet {
                        key: r.key,
                        tensor: r.tensor,
                    }),
                };
                bound.extend(op.outputs().iter().cloned());
                ops.push(op);
            }
            let mut persist: Vec<Bytes> = Vec::new();
            if !kind.read_only() && !bound.is_empty() {
                for i in persist_picks {
                    let p = i.get(&bound);
                    if !persist.contains(p) {
                        persist.push(p.clone());
                    }
                }
            }
            let mut routing = routing;
            if !deprecated && load.is_empty() && persist.is_empty() && routing.is_none() {
                routing = Some(Bytes::from_static(b"r"));
            }
            Command::Dag(Dag {
                kind,
                load,
                persist,
                routing,
                timeout,
                ops,
            })
        })
}

fn any_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        tensor_set(),
        tensor_get(),
        model_store(),
        model_set(),
        model_get(),
        word().prop_map(|key| Command::ModelDel(ModelDel { key })),
        model_execute(),
        model_run(),
        Just(Command::ModelScan),
        script_store(),
        (word(), meta_and()).prop_map(|(key, (meta, source))| {
            Command::ScriptGet(ScriptGet { key, meta, source })
        }),
        word().prop_map(|key| Command::ScriptDel(ScriptDel { key })),
        script_execute(),
        script_run(),
        Just(Command::ScriptScan),
        dag(),
        info(),
        config(),
    ]
}

// ---- (a) format then parse ------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_command_parses_back_from_its_args(cmd in any_command()) {
        prop_assert_eq!(Command::parse(&cmd.to_args()), Ok(Some(cmd)));
    }
}

// ---- (b) tensor codecs ----------------------------------------------------------------------

/// Element `i` of a little-endian blob, decoded independently of the crate.
fn decode(dtype: DataType, blob: &[u8], i: usize) -> Reply {
    let sz = dtype.size();
    let b = &blob[i * sz..(i + 1) * sz];
    let u = |n: usize| {
        b[..n]
            .iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | x as u64)
    };
    match dtype {
        DataType::Float => Reply::Double(f32::from_bits(u(4) as u32) as f64),
        DataType::Double => Reply::Double(f64::from_bits(u(8))),
        DataType::Float16 => Reply::Double(half::f16::from_bits(u(2) as u16).to_f64()),
        DataType::BFloat16 => Reply::Double(half::bf16::from_bits(u(2) as u16).to_f64()),
        DataType::Int8 => Reply::Int(u(1) as u8 as i8 as i64),
        DataType::Int16 => Reply::Int(u(2) as u16 as i16 as i64),
        DataType::Int32 => Reply::Int(u(4) as u32 as i32 as i64),
        DataType::Int64 => Reply::Int(u(8) as i64),
        DataType::Uint8 | DataType::Uint16 | DataType::Bool => Reply::Int(u(sz) as i64),
        DataType::String => unreachable!("strings have no fixed size"),
    }
}

/// Doubles compare by bits (a NaN blob must come back as the same NaN).
fn same_reply(a: &Reply, b: &Reply) -> bool {
    match (a, b) {
        (Reply::Double(x), Reply::Double(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// A VALUES argument for `dtype` and the reply it must read back as.
fn value_for(dtype: DataType) -> BoxedStrategy<(String, Reply)> {
    let int = |lo: i64, hi: i64| {
        (lo..=hi)
            .prop_map(|v| (v.to_string(), Reply::Int(v)))
            .boxed()
    };
    match dtype {
        DataType::Int8 => int(i8::MIN as i64, i8::MAX as i64),
        DataType::Int16 => int(i16::MIN as i64, i16::MAX as i64),
        DataType::Int32 => int(i32::MIN as i64, i32::MAX as i64),
        DataType::Int64 => int(i64::MIN, i64::MAX),
        DataType::Uint8 => int(0, u8::MAX as i64),
        DataType::Uint16 => int(0, u16::MAX as i64),
        DataType::Bool => int(0, 1),
        _ => prop_oneof![
            any::<f64>().prop_filter("NaN is refused", |v| !v.is_nan()),
            (-1000i32..1000).prop_map(|v| v as f64 / 8.0),
        ]
        .prop_map(move |v| {
            let text = format!("{v:e}");
            let parsed: f64 = text.parse().unwrap();
            let back = match dtype {
                DataType::Float => parsed as f32 as f64,
                DataType::Float16 => half::f16::from_f64(parsed).to_f64(),
                DataType::BFloat16 => half::bf16::from_f64(parsed).to_f64(),
                _ => parsed,
            };
            (text, Reply::Double(back))
        })
        .boxed(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// A valid numeric blob is kept byte for byte; VALUES replies decode it.
    #[test]
    fn numeric_blob_round_trips(
        (dt, shape, blob) in (numeric_dtype(), any_shape())
            .prop_flat_map(|(t, s)| (Just(t), Just(s.clone()), blob_for(t, len(&s))))
    ) {
        let t = Tensor::from_blob(dt, shape.clone(), blob.clone()).unwrap();
        prop_assert_eq!(t.blob(), &blob);
        prop_assert_eq!(t.shape(), &shape[..]);
        prop_assert_eq!(t.len(), len(&shape));
        prop_assert_eq!(t.byte_size(), len(&shape) * dt.size());
        let Reply::Array(values) = t.values_reply() else { panic!("not an array") };
        prop_assert_eq!(values.len(), t.len());
        for (i, v) in values.iter().enumerate() {
            prop_assert!(same_reply(v, &decode(dt, &blob, i)), "{:?} at {}: {:?}", dt, i, v);
        }
        // The BLOB form formats back into the same tensor.
        let cmd = Command::TensorSet(TensorSet { key: Bytes::from_static(b"t"), tensor: t });
        prop_assert_eq!(Command::parse(&cmd.to_args()), Ok(Some(cmd)));
    }

    /// A blob one byte off is refused with the length error.
    #[test]
    fn wrong_blob_length_is_refused(dt in numeric_dtype(), shape in shape(), longer in any::<bool>()) {
        let n = len(&shape) * dt.size();
        let n = if longer { n + 1 } else { n - 1 };
        prop_assert_eq!(
            Tensor::from_blob(dt, shape, Bytes::from(vec![0u8; n])),
            Err(Error::DataLength)
        );
    }

    /// VALUES build the tensor whose values read back as the numbers given (rounded to the
    /// dtype), and whose blob builds the same tensor again.
    #[test]
    fn values_agree_with_blob(
        (dt, shape, values) in (numeric_dtype(), any_shape()).prop_flat_map(|(t, s)| {
            let n = len(&s);
            (Just(t), Just(s), prop::collection::vec(value_for(t), n))
        })
    ) {
        let args: Vec<Bytes> = values.iter().map(|(s, _)| Bytes::from(s.clone())).collect();
        let t = Tensor::from_values(dt, shape.clone(), &args).unwrap();
        let Reply::Array(got) = t.values_reply() else { panic!("not an array") };
        for ((text, want), got) in values.iter().zip(&got) {
            prop_assert!(same_reply(got, want), "{} as {:?}: {:?} != {:?}", text, dt, got, want);
        }
        prop_assert_eq!(Tensor::from_blob(dt, shape, t.blob().clone()), Ok(t));
    }

    /// STRING tensors: VALUES (with or without a trailing NUL) and the NUL-separated BLOB agree.
    #[test]
    fn string_tensors_round_trip(
        (shape, els) in any_shape().prop_flat_map(|s| {
            let n = len(&s);
            (Just(s), prop::collection::vec(element(), n))
        }),
        with_nul in any::<bool>(),
    ) {
        let blob = Bytes::from(join_strings(&els));
        let from_blob = Tensor::from_blob(DataType::String, shape.clone(), blob.clone()).unwrap();
        prop_assert_eq!(from_blob.blob(), &blob);
        let args: Vec<Bytes> = els
            .iter()
            .map(|e| {
                let mut e = e.clone();
                if with_nul {
                    e.push(0);
                }
                Bytes::from(e)
            })
            .collect();
        let from_values = Tensor::from_values(DataType::String, shape, &args).unwrap();
        prop_assert_eq!(&from_values, &from_blob);
        let Reply::Array(got) = from_values.values_reply() else { panic!("not an array") };
        for (i, e) in els.iter().enumerate() {
            prop_assert_eq!(from_values.string_at(i), Some(&e[..]));
            prop_assert_eq!(&got[i], &Reply::Bulk(Bytes::from(e.clone())));
        }
    }

    /// A STRING blob with one element too many or too few is refused.
    #[test]
    fn string_blob_count_is_checked(
        (shape, els) in shape().prop_flat_map(|s| {
            let n = len(&s);
            (Just(s), prop::collection::vec(element(), n))
        }),
        extra in element(),
    ) {
        let mut more = els.clone();
        more.push(extra);
        let fewer = &els[..els.len() - 1];
        for bad in [join_strings(&more), join_strings(fewer)] {
            prop_assert_eq!(
                Tensor::from_blob(DataType::String, shape.clone(), Bytes::from(bad)),
                Err(Error::StringElements)
            );
        }
    }

    /// Zeros are the all-zero blob (STRING: every element empty).
    #[test]
    fn zeros_are_the_zero_blob(dt in dtype(), shape in any_shape()) {
        let t = Tensor::zeros(dt, shape.clone()).unwrap();
        let zeros = Bytes::from(vec![0u8; len(&shape) * dt.size()]);
        prop_assert_eq!(Tensor::from_blob(dt, shape, zeros), Ok(t));
    }
}

// ---- (c) concat then slice ------------------------------------------------------------------

/// Tensors of one dtype and inner shape with various dim 0.
fn parts() -> impl Strategy<Value = Vec<Tensor>> {
    (
        dtype(),
        prop::collection::vec(0..3usize, 0..3),
        prop::collection::vec(0..4usize, 1..5),
    )
        .prop_flat_map(|(dt, inner, dim0s)| {
            dim0s
                .into_iter()
                .map(|d0| {
                    let mut shape = vec![d0];
                    shape.extend(&inner);
                    blob_for(dt, len(&shape))
                        .prop_map(move |b| Tensor::from_blob(dt, shape.clone(), b).unwrap())
                })
                .collect::<Vec<_>>()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn concat_then_slice_gives_the_parts_back(parts in parts()) {
        let refs: Vec<&Tensor> = parts.iter().collect();
        let cat = Tensor::concat(&refs).unwrap();
        let total: usize = parts.iter().map(|t| t.shape()[0]).sum();
        prop_assert_eq!(cat.shape()[0], total);
        prop_assert_eq!(&cat.shape()[1..], &parts[0].shape()[1..]);
        prop_assert_eq!(
            cat.blob().as_ref(),
            &parts.iter().flat_map(|t| t.blob().to_vec()).collect::<Vec<_>>()[..]
        );
        let mut at = 0;
        for (i, p) in parts.iter().enumerate() {
            let n = p.shape()[0];
            let slice = cat.slice(at, n).unwrap();
            prop_assert_eq!(&slice, p);
            // A slice is a valid tensor in its own right: its blob builds it again.
            let again = Tensor::from_blob(slice.dtype(), slice.shape().to_vec(), slice.blob().clone());
            prop_assert_eq!(again, Ok(slice));
            // Two neighbours sliced together are their concatenation.
            if let Some(next) = parts.get(i + 1) {
                let both = cat.slice(at, n + next.shape()[0]).unwrap();
                prop_assert_eq!(both, Tensor::concat(&[p, next]).unwrap());
            }
            at += n;
        }
        prop_assert!(cat.slice(at, 1).is_err());
    }

    #[test]
    fn concat_refuses_mismatched_parts(a in tensor(), b in tensor()) {
        let agree = !a.shape().is_empty()
            && a.dtype() == b.dtype()
            && a.shape().len() == b.shape().len()
            && a.shape()[1..] == b.shape()[1..];
        prop_assert_eq!(Tensor::concat(&[&a, &b]).is_ok(), agree);
    }
}

// ---- (d) arbitrary words --------------------------------------------------------------------

fn static_word(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

/// Words the grammar cares about, and junk around them. Numbers stay small (or overflow) so that
/// a random shape never asks for gigabytes of zeros.
fn token() -> impl Strategy<Value = Bytes> {
    let keywords = [
        "BLOB",
        "VALUES",
        "META",
        "TAG",
        "BATCHSIZE",
        "MINBATCHSIZE",
        "MINBATCHTIMEOUT",
        "INPUTS",
        "OUTPUTS",
        "KEYS",
        "ARGS",
        "TIMEOUT",
        "ENTRY_POINTS",
        "SOURCE",
        "LOAD",
        "PERSIST",
        "ROUTING",
        "RESETSTAT",
        "LOADBACKEND",
        "BACKENDSPATH",
        "MODEL_CHUNK_SIZE",
        "GET",
        "|>",
        "$",
        "FLOAT",
        "DOUBLE",
        "INT8",
        "INT64",
        "UINT8",
        "BOOL",
        "STRING",
        "FLOAT16",
        "TF",
        "TFLITE",
        "TORCH",
        "ONNX",
        "CPU",
        "GPU:0",
        "CPU:",
        "AI.TENSORSET",
        "AI.TENSORGET",
        "AI.MODELEXECUTE",
        "AI.SCRIPTEXECUTE",
        "AI.MODELRUN",
        "AI.SCRIPTRUN",
        "blob",
        "values",
        "inputs",
        "outputs",
        "timeout",
    ];
    let numbers = [
        "-1",
        "0",
        "1",
        "2",
        "3",
        "3.0",
        "1.5",
        "1e3",
        "inf",
        "nan",
        "01",
        "+1",
        "1099511627776",
        "9223372036854775807",
        "99999999999999999999",
    ];
    prop_oneof![
        4 => prop::sample::select(keywords.to_vec()).prop_map(static_word),
        3 => prop::sample::select(numbers.to_vec()).prop_map(static_word),
        1 => prop::sample::select(vec!["a", "b", "k", ""]).prop_map(static_word),
        1 => prop::collection::vec(any::<u8>(), 0..6).prop_map(Bytes::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn parse_never_panics_and_what_it_accepts_formats_back(
        name in prop::sample::select(NAMES.to_vec()),
        lower in any::<bool>(),
        rest in prop::collection::vec(token(), 0..12),
    ) {
        let name = if lower { name.to_ascii_lowercase() } else { name.to_string() };
        let mut argv = vec![Bytes::from(name)];
        argv.extend(rest);
        if let Ok(Some(cmd)) = Command::parse(&argv) {
            prop_assert_eq!(Command::parse(&cmd.to_args()), Ok(Some(cmd)));
        }
    }

    /// Valid commands with a few words deleted, inserted, replaced or repeated: near misses
    /// reach deep into every grammar, and many of them are still accepted.
    #[test]
    fn mutated_commands_never_panic_and_format_back(
        cmd in any_command(),
        edits in prop::collection::vec((0..4u8, any::<Index>(), token()), 1..4),
    ) {
        let mut argv = cmd.to_args();
        for (edit, at, tok) in edits {
            // Never touch argv[0]: the command name is what is being fuzzed under.
            let i = 1 + at.index(argv.len());
            match edit {
                0 if i < argv.len() => {
                    argv.remove(i);
                }
                1 => argv.insert(i, tok),
                2 if i < argv.len() => argv[i] = tok,
                _ => {
                    let dup = argv[i - 1].clone();
                    argv.insert(i, dup);
                }
            }
        }
        if let Ok(Some(cmd)) = Command::parse(&argv) {
            prop_assert_eq!(Command::parse(&cmd.to_args()), Ok(Some(cmd)));
        }
    }

    /// DAGs of random ops: the op grammar is reached more often than from random words alone.
    #[test]
    fn dag_ops_never_panic(
        kind in prop::sample::select(vec!["AI.DAGEXECUTE", "AI.DAGEXECUTE_RO", "AI.DAGRUN", "AI.DAGRUN_RO"]),
        load in names(1..3),
        ops in prop::collection::vec(
            (
                prop::sample::select(vec![
                    "AI.TENSORSET", "AI.TENSORGET", "AI.MODELEXECUTE", "AI.SCRIPTEXECUTE",
                    "AI.MODELRUN", "AI.SCRIPTRUN",
                ]),
                prop::collection::vec(token(), 0..9),
            ),
            1..4,
        ),
    ) {
        let mut argv = vec![Bytes::from_static(kind.as_bytes()), Bytes::from_static(b"LOAD")];
        argv.push(Bytes::from(load.len().to_string()));
        argv.extend(load);
        for (op, args) in ops {
            argv.push(Bytes::from_static(b"|>"));
            argv.push(Bytes::from_static(op.as_bytes()));
            argv.extend(args);
        }
        if let Ok(Some(cmd)) = Command::parse(&argv) {
            prop_assert_eq!(Command::parse(&cmd.to_args()), Ok(Some(cmd)));
        }
    }
}
