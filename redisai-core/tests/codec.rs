//! The RDB value payloads and the AOF rewrite commands:
//! - golden payloads written by hand from the spec's layouts (§5), every version 0..4 of each
//!   type, decode to the right values; saving known values gives exactly the v4 item lists;
//! - broken payloads (every prefix, every item of another kind, bad dtypes and backends,
//!   lengths that disagree, newer versions) are refused cleanly;
//! - v4 save then load is the identity for random tensors, models and scripts;
//! - `store_args` parses back (through `Command::parse`) to what the record holds.

use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;
use redisai_core::backend::Registry;
use redisai_core::codec::{
    load_model, load_script, load_tensor, save_model, save_script, save_tensor, ItemReader,
    ModelRecord, RdbItem, ScriptRecord, ENCODING_VERSION,
};
use redisai_core::command::{tensor_set_args, Command, ModelStore, ScriptStore};
use redisai_core::mock::MockLoader;
use redisai_core::model::{BackendKind, BatchOptions};
use redisai_core::{
    DataType, Engine, EngineConfig, Error, Keyspace, MemoryKeyspace, Reply, Tensor,
};

// ---- building blocks -----------------------------------------------------------------------

use RdbItem::{Buffer as B, Signed as S, Unsigned as U};

fn buf(b: &[u8]) -> RdbItem {
    B(Bytes::copy_from_slice(b))
}

fn bytes(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn names(v: &[&str]) -> Vec<Bytes> {
    v.iter().map(|s| bytes(s)).collect()
}

/// Decodes a whole payload: what is left unread counts as a failure to read it.
fn decode<T>(
    items: &[RdbItem],
    load: impl Fn(&mut ItemReader<'_>) -> redisai_core::Result<T>,
) -> redisai_core::Result<T> {
    let mut r = ItemReader::new(items);
    let v = load(&mut r)?;
    assert_eq!(r.remaining(), 0, "items left unread");
    Ok(v)
}

fn tensor(items: &[RdbItem], encver: i32) -> redisai_core::Result<Tensor> {
    decode(items, |r| load_tensor(r, encver))
}

fn model(items: &[RdbItem], encver: i32) -> redisai_core::Result<ModelRecord> {
    decode(items, |r| load_model(r, encver))
}

fn script(items: &[RdbItem], encver: i32) -> redisai_core::Result<ScriptRecord> {
    decode(items, |r| load_script(r, encver))
}

fn is_rdb_error<T: std::fmt::Debug>(r: redisai_core::Result<T>) -> bool {
    matches!(r, Err(Error::Rdb(_)))
}

fn int32(shape: Vec<usize>, v: &[i32]) -> Tensor {
    let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    Tensor::from_blob(DataType::Int32, shape, Bytes::from(data)).unwrap()
}

// ---- golden payloads -----------------------------------------------------------------------

fn tensor_int32_v4() -> Vec<RdbItem> {
    vec![U(0), U(32), S(2), S(2), S(1), buf(b"\x01\0\0\0\x02\0\0\0")]
}

fn tensor_string_v4() -> Vec<RdbItem> {
    vec![
        U(7),
        U(8),
        S(1),
        S(2),
        buf(b"str_val1\0str_val2\0"),
        U(0),
        U(9),
    ]
}

/// v0-v3: device CPU/0, bits before code, lanes, shape, strides, byte offset.
fn tensor_float_v0() -> Vec<RdbItem> {
    let data: Vec<u8> = [1.5f32, -2.0, 3.25]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    vec![
        U(1),
        U(0),
        U(32),
        U(2),
        U(1),
        U(2),
        U(1),
        U(3),
        U(3),
        U(1),
        U(0),
        B(Bytes::from(data)),
    ]
}

#[test]
fn tensor_v4_golden_decode() {
    let t = tensor(&tensor_int32_v4(), 4).unwrap();
    assert_eq!(t, int32(vec![2, 1], &[1, 2]));

    let s = tensor(&tensor_string_v4(), 4).unwrap();
    assert_eq!(s.dtype(), DataType::String);
    assert_eq!(s.shape(), &[2]);
    assert_eq!(s.string_at(0), Some(&b"str_val1"[..]));
    assert_eq!(s.string_at(1), Some(&b"str_val2"[..]));
}

#[test]
fn tensor_v4_golden_encode() {
    let mut w = Vec::new();
    save_tensor(&int32(vec![2, 1], &[1, 2]), &mut w);
    assert_eq!(w, tensor_int32_v4());

    let s = Tensor::from_values(
        DataType::String,
        vec![2],
        &[bytes("str_val1"), bytes("str_val2")],
    )
    .unwrap();
    let mut w = Vec::new();
    save_tensor(&s, &mut w);
    assert_eq!(w, tensor_string_v4());

    // A scalar: no dims at all.
    let scalar = Tensor::from_values(DataType::Double, vec![], &[bytes("0.5")]).unwrap();
    let mut w = Vec::new();
    save_tensor(&scalar, &mut w);
    assert_eq!(w, vec![U(2), U(64), S(0), buf(&0.5f64.to_le_bytes())]);
    assert_eq!(tensor(&w, 4).unwrap(), scalar);
}

#[test]
fn tensor_v0_to_v3_golden_decode() {
    let want = Tensor::from_values(
        DataType::Float,
        vec![1, 3],
        &[bytes("1.5"), bytes("-2"), bytes("3.25")],
    )
    .unwrap();
    for v in 0..=3 {
        assert_eq!(tensor(&tensor_float_v0(), v).unwrap(), want, "v{v}");
    }
    // INT8 [2] on another device id: the device is dropped, the strides ignored.
    let items = vec![
        U(2),
        U(7),
        U(8),
        U(0),
        U(1),
        U(1),
        U(2),
        U(99),
        U(0),
        buf(&[0xff, 0x7f]),
    ];
    let t = tensor(&items, 3).unwrap();
    assert_eq!(t.dtype(), DataType::Int8);
    assert_eq!(
        t.values_reply(),
        Reply::Array(vec![Reply::Int(-1), Reply::Int(127)])
    );
}

fn model_rec(backend: BackendKind, batch: (u64, u64, u64), blob: &str) -> ModelRecord {
    ModelRecord {
        backend,
        device: "CPU".into(),
        tag: bytes("a tag"),
        batch: BatchOptions {
            size: batch.0,
            min_size: batch.1,
            min_timeout: batch.2,
        },
        inputs: names(&["a", "b"]),
        outputs: names(&["c"]),
        blob: bytes(blob),
    }
}

#[test]
fn model_v0_golden_decode() {
    let items = vec![
        U(0),
        buf(b"CPU\0"),
        buf(b"a tag\0"),
        U(4),
        U(2),
        U(2),
        buf(b"a\0"),
        buf(b"b\0"),
        U(1),
        buf(b"c\0"),
        buf(b"abcdef"),
    ];
    assert_eq!(
        model(&items, 0).unwrap(),
        model_rec(BackendKind::Tf, (4, 2, 0), "abcdef")
    );
    // The v0 TF sample: no names in the payload, and a tag of just its NUL.
    let items = vec![
        U(0),
        buf(b"CPU\0"),
        buf(b"\0"),
        U(0),
        U(0),
        U(0),
        U(0),
        buf(b"graph"),
    ];
    let rec = model(&items, 0).unwrap();
    assert_eq!(rec.tag, "");
    assert!(rec.inputs.is_empty() && rec.outputs.is_empty());
    assert_eq!(rec.blob, "graph");
}

#[test]
fn model_v1_golden_decode() {
    // No MINBATCHTIMEOUT; the tag is a plain string; the blob comes in chunks.
    let items = vec![
        U(3),
        buf(b"CPU\0"),
        buf(b"a tag"),
        U(4),
        U(2),
        U(2),
        buf(b"a\0"),
        buf(b"b\0"),
        U(1),
        buf(b"c\0"),
        U(6),
        U(1),
        buf(b"abcdef"),
    ];
    assert_eq!(
        model(&items, 1).unwrap(),
        model_rec(BackendKind::Onnx, (4, 2, 0), "abcdef")
    );
}

fn model_v4_items() -> Vec<RdbItem> {
    vec![
        U(2),
        buf(b"CPU\0"),
        buf(b"a tag"),
        U(4),
        U(2),
        U(10),
        U(2),
        buf(b"a\0"),
        buf(b"b\0"),
        U(1),
        buf(b"c\0"),
        U(6),
        U(2),
        buf(b"abcd"),
        buf(b"ef"),
    ]
}

#[test]
fn model_v2_to_v4_golden_decode() {
    for v in 2..=4 {
        assert_eq!(
            model(&model_v4_items(), v).unwrap(),
            model_rec(BackendKind::Torch, (4, 2, 10), "abcdef"),
            "v{v}"
        );
    }
}

#[test]
fn model_v4_golden_encode() {
    let mut w = Vec::new();
    save_model(
        &model_rec(BackendKind::Torch, (4, 2, 10), "abcdef"),
        4,
        &mut w,
    );
    assert_eq!(w, model_v4_items());

    // An exact multiple of the chunk size ends with an empty chunk, as MODELGET cuts it; TORCH
    // outputs are "" (a lone NUL).
    let rec = ModelRecord {
        backend: BackendKind::Torch,
        device: "GPU:1".into(),
        tag: Bytes::new(),
        batch: BatchOptions::default(),
        inputs: vec![],
        outputs: names(&["", ""]),
        blob: bytes("abcd"),
    };
    let mut w = Vec::new();
    save_model(&rec, 2, &mut w);
    let want = vec![
        U(2),
        buf(b"GPU:1\0"),
        buf(b""),
        U(0),
        U(0),
        U(0),
        U(0),
        U(2),
        buf(b"\0"),
        buf(b"\0"),
        U(4),
        U(3),
        buf(b"ab"),
        buf(b"cd"),
        buf(b""),
    ];
    assert_eq!(w, want);
    assert_eq!(model(&w, 4).unwrap(), rec);
}

fn script_rec(entry_points: &[&str]) -> ScriptRecord {
    ScriptRecord {
        device: "CPU".into(),
        tag: bytes("t1"),
        source: bytes("def f(a):\n    return a\n"),
        entry_points: names(entry_points),
    }
}

#[test]
fn script_golden_decode() {
    let src = b"def f(a):\n    return a\n\0";
    let v0 = vec![buf(b"CPU\0"), buf(b"t1\0"), buf(src)];
    assert_eq!(script(&v0, 0).unwrap(), script_rec(&[]));
    let v1 = vec![buf(b"CPU\0"), buf(b"t1"), buf(src)];
    for v in 1..=2 {
        assert_eq!(script(&v1, v).unwrap(), script_rec(&[]), "v{v}");
    }
    let v3 = script_v4_items();
    for v in 3..=4 {
        assert_eq!(script(&v3, v).unwrap(), script_rec(&["f", "g"]), "v{v}");
    }
}

fn script_v4_items() -> Vec<RdbItem> {
    vec![
        buf(b"CPU\0"),
        buf(b"t1"),
        buf(b"def f(a):\n    return a\n\0"),
        U(2),
        buf(b"f\0"),
        buf(b"g\0"),
    ]
}

#[test]
fn script_v4_golden_encode() {
    let mut w = Vec::new();
    save_script(&script_rec(&["f", "g"]), &mut w);
    assert_eq!(w, script_v4_items());
    let mut w = Vec::new();
    save_script(&script_rec(&[]), &mut w);
    assert_eq!(w[3], U(0));
    assert_eq!(w.len(), 4);
}

// ---- broken payloads -----------------------------------------------------------------------

type Loader = fn(&[RdbItem], i32) -> redisai_core::Result<()>;

fn all_goldens() -> Vec<(&'static str, Vec<RdbItem>, i32, Loader)> {
    let t: Loader = |i, v| tensor(i, v).map(drop);
    let m: Loader = |i, v| model(i, v).map(drop);
    let s: Loader = |i, v| script(i, v).map(drop);
    let mut model_v0 = model_v4_items();
    model_v0.remove(5); // no MINBATCHTIMEOUT
    model_v0.truncate(model_v0.len() - 4);
    model_v0.push(buf(b"abcdef"));
    vec![
        ("tensor int32 v4", tensor_int32_v4(), 4, t),
        ("tensor string v4", tensor_string_v4(), 4, t),
        ("tensor float v0", tensor_float_v0(), 0, t),
        ("model v0", model_v0, 0, m),
        ("model v4", model_v4_items(), 4, m),
        ("script v4", script_v4_items(), 4, s),
        (
            "script v0",
            vec![buf(b"CPU\0"), buf(b"t\0"), buf(b"x\0")],
            0,
            s,
        ),
    ]
}

#[test]
fn every_prefix_is_refused() {
    for (what, items, v, load) in all_goldens() {
        assert!(load(&items, v).is_ok(), "{what}");
        for n in 0..items.len() {
            assert!(is_rdb_error(load(&items[..n], v)), "{what}: prefix of {n}");
        }
    }
}

#[test]
fn every_item_of_another_kind_is_refused() {
    for (what, items, v, load) in all_goldens() {
        for i in 0..items.len() {
            for other in [U(0), S(0), buf(b"\0"), RdbItem::Double(0.0)] {
                if std::mem::discriminant(&other) == std::mem::discriminant(&items[i]) {
                    continue;
                }
                let mut bad = items.clone();
                bad[i] = other.clone();
                assert!(is_rdb_error(load(&bad, v)), "{what}: item {i} as {other:?}");
            }
        }
    }
}

#[test]
fn newer_and_negative_versions_are_refused() {
    let newer = ENCODING_VERSION + 1;
    let e = tensor(&tensor_int32_v4(), newer).unwrap_err();
    assert!(e.to_string().contains("not forward compatible"), "{e}");
    assert!(is_rdb_error(model(&model_v4_items(), newer)));
    assert!(is_rdb_error(script(&script_v4_items(), newer)));
    assert!(is_rdb_error(tensor(&tensor_int32_v4(), -1)));
}

#[test]
fn bad_tensor_payloads() {
    let with = |i: usize, item: RdbItem| {
        let mut v = tensor_int32_v4();
        v[i] = item;
        tensor(&v, 4)
    };
    // Unknown dtypes: a code, a width, and INT32 at a width no dtype has.
    for (code, bits) in [(9, 32), (0, 33), (0, 256 + 32), (3, 8)] {
        let mut v = tensor_int32_v4();
        v[0] = U(code);
        v[1] = U(bits);
        let e = tensor(&v, 4).unwrap_err();
        assert!(e.to_string().contains("unknown tensor dtype"), "{e}");
    }
    assert!(is_rdb_error(with(2, S(-1))));
    assert!(is_rdb_error(with(3, S(-2))));
    // Data that does not match the shape.
    assert_eq!(with(5, buf(b"\x01\0\0\0")), Err(Error::DataLength));
    assert_eq!(with(4, S(3)), Err(Error::DataLength));
    // Dims whose product overflows.
    let mut v = vec![U(0), U(8), S(3), S(i64::MAX), S(i64::MAX), S(4)];
    v.push(buf(b""));
    assert!(tensor(&v, 4).is_err());
    // A huge rank with nothing behind it fails as a truncated payload, without reserving it.
    assert!(is_rdb_error(with(2, S(i64::MAX))));
    // BOOL bytes other than 0 and 1.
    assert_eq!(
        tensor(&[U(6), U(8), S(1), S(2), buf(&[1, 2])], 4),
        Err(Error::BoolElements)
    );

    // STRING: offsets that disagree with the blob, missing, or elements that do not match.
    let string_with = |i: usize, item: RdbItem| {
        let mut v = tensor_string_v4();
        v[i] = item;
        tensor(&v, 4)
    };
    assert!(is_rdb_error(string_with(6, U(8))));
    assert!(is_rdb_error(string_with(5, U(1))));
    assert_eq!(string_with(3, S(3)), Err(Error::StringElements));
    assert_eq!(
        string_with(4, buf(b"str_val1\0str_val2")),
        Err(Error::StringElements)
    );
    let mut extra = tensor_string_v4();
    extra.push(U(18));
    let mut r = ItemReader::new(&extra);
    assert!(load_tensor(&mut r, 4).is_ok());
    assert_eq!(r.remaining(), 1, "reads exactly one offset per element");

    // v0-v3: lanes other than 1, an unknown dtype, STRING (which came with v4), a bad length.
    let v0_with = |edits: &[(usize, RdbItem)]| {
        let mut v = tensor_float_v0();
        for (i, item) in edits {
            v[*i] = item.clone();
        }
        tensor(&v, 2)
    };
    assert!(is_rdb_error(v0_with(&[(4, U(2))])));
    assert!(is_rdb_error(v0_with(&[(3, U(7))])));
    let e = v0_with(&[(2, U(8)), (3, U(7))]).unwrap_err();
    assert!(
        e.to_string().contains("STRING tensor in a v2 payload"),
        "{e}"
    );
    assert_eq!(v0_with(&[(7, U(4))]), Err(Error::DataLength));
}

#[test]
fn bad_model_payloads() {
    let with = |i: usize, item: RdbItem| {
        let mut v = model_v4_items();
        v[i] = item;
        model(&v, 4)
    };
    let e = with(0, U(4)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "ERR bad RDB payload: unknown model backend 4"
    );
    // blob_len against the chunks: less, more, and a chunk count beyond the payload.
    assert!(is_rdb_error(with(11, U(7))));
    assert!(is_rdb_error(with(11, U(5))));
    assert!(is_rdb_error(with(12, U(3))));
    assert!(is_rdb_error(with(12, U(u64::MAX))));
    assert!(is_rdb_error(with(6, U(u64::MAX))));
    assert!(is_rdb_error(with(9, U(1 << 40))));
    // A v1 payload read as v2 (one item short) and the other way (one left over).
    let v1 = {
        let mut v = model_v4_items();
        v.remove(5);
        v
    };
    assert!(model(&v1, 2).is_err());
    assert!(model(&model_v4_items(), 1).is_err());
}

#[test]
fn lenient_cstrs() {
    // A device or name saved without its NUL is taken whole; exactly one NUL is stripped.
    let mut v = model_v4_items();
    v[1] = buf(b"CPU");
    v[7] = buf(b"a\0\0");
    let rec = model(&v, 4).unwrap();
    assert_eq!(rec.device, "CPU");
    assert_eq!(rec.inputs[0], "a\0");
}

// ---- zero-size dims ------------------------------------------------------------------------

/// The codec accepts a dim of 0 and lets `Tensor` decide. Today `from_blob` takes an empty
/// numeric tensor (only the grammar refuses a 0 dim), so it round-trips; an empty STRING tensor
/// is refused by `Tensor` for now (its blob would be empty), not by the codec.
#[test]
fn zero_size_dims() {
    let items = vec![U(2), U(32), S(2), S(0), S(4), buf(b"")];
    let t = tensor(&items, 4).unwrap();
    assert_eq!(t.shape(), &[0, 4]);
    assert_eq!(t.len(), 0);
    let mut w = Vec::new();
    save_tensor(&t, &mut w);
    assert_eq!(w, items);
    let v0 = vec![
        U(1),
        U(0),
        U(32),
        U(2),
        U(1),
        U(1),
        U(0),
        U(1),
        U(0),
        buf(b""),
    ];
    assert_eq!(tensor(&v0, 0).unwrap().shape(), &[0]);
    let string = vec![U(7), U(8), S(1), S(0), buf(b"")];
    match tensor(&string, 4) {
        Ok(t) => assert_eq!(t.len(), 0),
        Err(e) => assert_eq!(e, Error::StringElements),
    }
}

// ---- records of stored values --------------------------------------------------------------

fn argv(line: &str) -> Vec<Bytes> {
    line.split(' ').map(bytes).collect()
}

#[test]
fn records_of_stored_values_save_and_replay() {
    let mut registry = Registry::default();
    registry.register(Arc::new(MockLoader(BackendKind::Onnx)));
    registry.register(Arc::new(MockLoader(BackendKind::Torch)));
    let e = Engine::new(EngineConfig::default(), registry);
    let mut ks = MemoryKeyspace::new();
    for line in [
        "AI.MODELSTORE m ONNX CPU TAG v1 BATCHSIZE 4 MINBATCHSIZE 2 BLOB ad d",
        "AI.SCRIPTSTORE s CPU TAG t ENTRY_POINTS 1 identity SOURCE identity",
        "AI.SCRIPTSET old CPU SOURCE identity",
    ] {
        assert_eq!(e.call_blocking(&argv(line), &mut ks, None), Some(Reply::OK));
    }
    let m = ks.model(b"m").unwrap();
    let rec = m.record();
    assert_eq!(rec.backend, BackendKind::Onnx);
    assert_eq!(rec.tag, "v1");
    assert_eq!(rec.blob, "add");
    assert_eq!(rec.batch.size, 4);
    assert_eq!(rec.inputs, names(&["in0", "in1"]));
    let mut w = Vec::new();
    save_model(&rec, 2, &mut w);
    assert_eq!(model(&w, 4).unwrap(), rec);
    let key = bytes("m");
    assert_eq!(
        m.store_args(&key, 2),
        argv("AI.MODELSTORE m ONNX CPU TAG v1 BATCHSIZE 4 MINBATCHSIZE 2 MINBATCHTIMEOUT 0 BLOB ad d")
    );

    let s = ks.script(b"s").unwrap();
    assert_eq!(s.record(), {
        let mut r = script_rec(&["identity"]);
        r.tag = bytes("t");
        r.source = bytes("identity");
        r
    });
    assert_eq!(
        s.store_args(&bytes("s")),
        argv("AI.SCRIPTSTORE s CPU TAG t ENTRY_POINTS 1 identity SOURCE identity")
    );
    let old = ks.script(b"old").unwrap();
    assert_eq!(
        old.store_args(&bytes("old")),
        argv("AI.SCRIPTSET old CPU TAG  SOURCE identity")
    );

    // Replaying the rewrite into a fresh keyspace gives the same records back.
    let mut ks2 = MemoryKeyspace::new();
    for args in [
        m.store_args(&key, 2),
        s.store_args(&bytes("s")),
        old.store_args(&bytes("old")),
    ] {
        assert_eq!(e.call_blocking(&args, &mut ks2, None), Some(Reply::OK));
    }
    assert_eq!(ks2.model(b"m").unwrap().record(), rec);
    assert_eq!(ks2.script(b"s").unwrap().record(), s.record());
    assert_eq!(ks2.script(b"old").unwrap().record(), old.record());
}

#[test]
fn tf_model_without_names_replays_as_modelset() {
    let rec = ModelRecord {
        backend: BackendKind::Tf,
        device: "CPU".into(),
        tag: Bytes::new(),
        batch: BatchOptions::default(),
        inputs: vec![],
        outputs: vec![],
        blob: bytes("graph"),
    };
    let args = rec.store_args(&bytes("k"), 3);
    assert_eq!(
        args,
        argv("AI.MODELSET k TF CPU TAG  INPUTS OUTPUTS BLOB gra ph")
    );
    assert_eq!(parse_model(&args), (bytes("k"), rec));
}

// ---- property tests ------------------------------------------------------------------------

fn dtype() -> impl Strategy<Value = DataType> {
    prop::sample::select(DataType::ALL.to_vec())
}

/// Shapes `Tensor` accepts today: dims ≥ 1 (see `zero_size_dims` for 0).
fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..4, 0..4)
}

fn any_tensor() -> impl Strategy<Value = Tensor> {
    (dtype(), shape()).prop_flat_map(|(dtype, shape)| {
        let len: usize = shape.iter().product();
        let data = match dtype {
            DataType::String => prop::collection::vec(
                prop::collection::vec(1u8..=255, 0..6).prop_map(|mut e| {
                    e.push(0);
                    e
                }),
                len,
            )
            .prop_map(|els| els.concat())
            .boxed(),
            DataType::Bool => prop::collection::vec(0u8..=1, len).boxed(),
            _ => prop::collection::vec(any::<u8>(), len * dtype.size()).boxed(),
        };
        data.prop_map(move |d| Tensor::from_blob(dtype, shape.clone(), Bytes::from(d)).unwrap())
    })
}

fn any_bytes(n: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..n).prop_map(Bytes::from)
}

fn backend() -> impl Strategy<Value = BackendKind> {
    prop::sample::select(BackendKind::ALL.to_vec())
}

/// A chunk size for a blob of `len` bytes: 1, a divisor (an empty last chunk), the length
/// itself, or anything.
fn chunk_size(len: usize) -> impl Strategy<Value = u64> {
    let divisors: Vec<u64> = (1..=len.max(1) as u64)
        .filter(|&d| (len as u64).is_multiple_of(d))
        .collect();
    prop_oneof![
        Just(1u64),
        prop::sample::select(divisors),
        Just(len as u64),
        1..=(len as u64 + 3),
        any::<u64>(),
    ]
}

fn any_model() -> impl Strategy<Value = ModelRecord> {
    (
        backend(),
        ".{0,6}",
        any_bytes(6),
        (any::<u64>(), any::<u64>(), any::<u64>()),
        prop::collection::vec(any_bytes(5), 0..4),
        prop::collection::vec(any_bytes(5), 0..4),
        any_bytes(40),
    )
        .prop_map(
            |(backend, device, tag, (size, min_size, min_timeout), inputs, outputs, blob)| {
                ModelRecord {
                    backend,
                    device,
                    tag,
                    batch: BatchOptions {
                        size,
                        min_size,
                        min_timeout,
                    },
                    inputs,
                    outputs,
                    blob,
                }
            },
        )
}

fn any_script() -> impl Strategy<Value = ScriptRecord> {
    (
        ".{0,6}",
        any_bytes(6),
        any_bytes(30),
        prop::collection::vec(any_bytes(5), 0..4),
    )
        .prop_map(|(device, tag, source, entry_points)| ScriptRecord {
            device,
            tag,
            source,
            entry_points,
        })
}

/// A model record as a store makes it: a device AI.MODELSTORE takes, batching options in their
/// order, names for TF only (names no uncounted MODELSET list could mistake for a keyword).
fn storable_model() -> impl Strategy<Value = ModelRecord> {
    let device = prop_oneof![
        Just("CPU".to_string()),
        Just("gpu".to_string()),
        "(CPU|GPU):[0-9]{0,5}"
    ];
    let batch = prop_oneof![
        Just((0, 0, 0)),
        (1..100u64).prop_map(|s| (s, 0, 0)),
        (1..100u64, 1..100u64).prop_map(|(s, m)| (s, m, 0)),
        (1..100u64, 1..100u64, any::<u32>()).prop_map(|(s, m, t)| (s, m, t as u64)),
    ];
    let tf_names = prop::collection::vec("k_[a-z0-9]{0,4}".prop_map(Bytes::from), 0..3);
    (
        backend(),
        device,
        any_bytes(6),
        batch,
        tf_names.clone(),
        tf_names,
        any_bytes(40),
    )
        .prop_map(
            |(backend, device, tag, (size, min_size, min_timeout), i, o, blob)| {
                let tf = backend == BackendKind::Tf;
                ModelRecord {
                    backend,
                    device,
                    tag,
                    batch: BatchOptions {
                        size,
                        min_size,
                        min_timeout,
                    },
                    inputs: if tf { i } else { vec![] },
                    outputs: if tf { o } else { vec![] },
                    blob,
                }
            },
        )
}

fn parse_model(args: &[Bytes]) -> (Bytes, ModelRecord) {
    match Command::parse(args) {
        Ok(Some(Command::ModelStore(m))) => {
            let blob = m.blob_bytes();
            let ModelStore {
                key,
                backend,
                device,
                tag,
                batch,
                inputs,
                outputs,
                ..
            } = m;
            let rec = ModelRecord {
                backend,
                device,
                tag,
                batch,
                inputs,
                outputs,
                blob,
            };
            (key, rec)
        }
        other => panic!("{args:?} parsed as {other:?}"),
    }
}

proptest! {
    #[test]
    fn tensor_v4_round_trip(t in any_tensor()) {
        let mut w = Vec::new();
        save_tensor(&t, &mut w);
        prop_assert_eq!(tensor(&w, 4)?, t);
    }

    #[test]
    fn model_v4_round_trip((rec, chunk) in any_model().prop_flat_map(|r| {
        let len = r.blob.len();
        (Just(r), chunk_size(len))
    })) {
        let mut w = Vec::new();
        save_model(&rec, chunk, &mut w);
        prop_assert_eq!(model(&w, 4)?, rec);
    }

    #[test]
    fn script_v4_round_trip(rec in any_script()) {
        let mut w = Vec::new();
        save_script(&rec, &mut w);
        prop_assert_eq!(script(&w, 4)?, rec);
    }

    /// Loading never panics, whatever the items and the version.
    #[test]
    fn arbitrary_items_never_panic(
        items in prop::collection::vec(prop_oneof![
            (0u64..10).prop_map(U),
            any::<u64>().prop_map(U),
            (-2i64..10).prop_map(S),
            any::<i64>().prop_map(S),
            any_bytes(12).prop_map(B),
        ], 0..24),
        encver in -1i32..6,
    ) {
        let _ = tensor_prefix(&items, encver);
        let mut r = ItemReader::new(&items);
        let _ = load_model(&mut r, encver);
        let mut r = ItemReader::new(&items);
        let _ = load_script(&mut r, encver);
    }

    #[test]
    fn tensor_store_args_parse_back(t in any_tensor()) {
        let key = bytes("t");
        match Command::parse(&tensor_set_args(&key, &t)) {
            Ok(Some(Command::TensorSet(s))) => {
                prop_assert_eq!(s.key, key);
                prop_assert_eq!(s.tensor, t);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn model_store_args_parse_back((rec, chunk) in storable_model().prop_flat_map(|r| {
        let len = r.blob.len();
        (Just(r), chunk_size(len))
    }), key in any_bytes(6)) {
        let args = rec.store_args(&key, chunk);
        prop_assert_eq!(parse_model(&args), (key, rec));
    }

    /// Names from the backend (not TF) are not sent: the rest parses back.
    #[test]
    fn model_store_args_leave_backend_names(rec in any_model(), chunk in 1..50u64) {
        prop_assume!(rec.backend != BackendKind::Tf);
        let mut rec = rec;
        rec.device = "CPU".into();
        rec.batch = BatchOptions { size: 2, min_size: 1, min_timeout: 5 };
        let (_, back) = parse_model(&rec.store_args(&bytes("m"), chunk));
        prop_assert!(back.inputs.is_empty() && back.outputs.is_empty());
        prop_assert_eq!(back, ModelRecord { inputs: vec![], outputs: vec![], ..rec });
    }

    #[test]
    fn script_store_args_parse_back(rec in any_script(), key in any_bytes(6)) {
        let args = rec.store_args(&key);
        let name: &[u8] = if rec.entry_points.is_empty() { b"AI.SCRIPTSET" } else { b"AI.SCRIPTSTORE" };
        prop_assert_eq!(&args[0][..], name);
        match Command::parse(&args) {
            Ok(Some(Command::ScriptStore(s))) => {
                let ScriptStore { key: k, device, tag, entry_points, source, .. } = s;
                prop_assert_eq!(k, key);
                prop_assert_eq!(ScriptRecord { device, tag, source, entry_points }, rec);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }
}

fn tensor_prefix(items: &[RdbItem], encver: i32) -> redisai_core::Result<Tensor> {
    let mut r = ItemReader::new(items);
    load_tensor(&mut r, encver)
}
