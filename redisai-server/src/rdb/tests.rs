//! Round trips of every value kind, the encodings Redis writes, and the refusals.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use redisai_core::backend::Registry;
use redisai_core::codec::{ModelRecord, ScriptRecord};
use redisai_core::model::{BackendKind, BatchOptions};
use redisai_core::{DataType, Engine, EngineConfig, Tensor};

use super::encodings::tests::{encode_listpack, encode_ziplist, El};
use super::module_value::{module_type_id, TENSOR_ID};
use super::write::{write_len, write_snapshot_with, write_string};
use super::*;
use crate::db::{HashFields, Value};

/// One engine for all tests, with the real backends (as `Shared::new` makes it).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut registry = Registry::default();
        redisai_backends::register_all(&mut registry);
        let config = EngineConfig {
            backends_path: crate::DEFAULT_BACKENDS_PATH.into(),
            ..EngineConfig::default()
        };
        Engine::new(config, registry)
    })
}

pub fn fixture(path: &str) -> Bytes {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(path);
    Bytes::from(std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

pub fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

pub fn tensor(dtype: DataType, shape: &[usize], blob: &[u8]) -> Value {
    let t = Tensor::from_blob(dtype, shape.to_vec(), Bytes::copy_from_slice(blob)).unwrap();
    Value::Ai(redisai_core::Value::Tensor(Arc::new(t)))
}

pub fn onnx_model(key: &str) -> Value {
    let rec = ModelRecord {
        backend: BackendKind::Onnx,
        device: "CPU".into(),
        tag: b("mul-v1"),
        batch: BatchOptions {
            size: 4,
            min_size: 2,
            min_timeout: 10,
        },
        inputs: vec![b("a"), b("b")],
        outputs: vec![b("c")],
        blob: fixture("onnx/mul.onnx"),
    };
    let m = engine().build_model(&b(key), rec).unwrap();
    Value::Ai(redisai_core::Value::Model(Arc::new(m)))
}

pub fn torch_script(key: &str) -> Value {
    let rec = ScriptRecord {
        device: "CPU".into(),
        tag: b("s-tag"),
        source: fixture("torch/script.txt"),
        entry_points: vec![b("bar")],
    };
    let s = engine().build_script(&b(key), rec).unwrap();
    Value::Ai(redisai_core::Value::Script(Arc::new(s)))
}

/// Equal content (models and scripts by their records).
pub fn same(a: &Value, b: &Value) -> bool {
    use redisai_core::Value as V;
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Hash(x), Value::Hash(y)) => x == y,
        (Value::List(x), Value::List(y)) => x == y,
        (Value::Ai(V::Tensor(x)), Value::Ai(V::Tensor(y))) => x == y,
        (Value::Ai(V::Model(x)), Value::Ai(V::Model(y))) => x.record() == y.record(),
        (Value::Ai(V::Script(x)), Value::Ai(V::Script(y))) => x.record() == y.record(),
        _ => false,
    }
}

/// Every kind of value, keyed.
pub fn sample() -> Vec<(Bytes, Value)> {
    let binary: Vec<u8> = (0..=255u8).collect();
    let mut hash = HashFields::new();
    hash.insert(b("f1"), b("v1"));
    hash.insert(b(""), b(""));
    hash.insert(b("123"), Bytes::from(binary.clone()));
    hash.insert(
        Bytes::from(vec![b'k'; 100]),
        Bytes::from(vec![b'v'; 20_000]),
    );
    let list: VecDeque<Bytes> = [b("a"), b(""), b("-42"), Bytes::from(binary.clone())].into();
    let f32s: Vec<u8> = [1.5f32, -2.0, 3.25, 0.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let i64s: Vec<u8> = [i64::MIN, -1, 0, i64::MAX]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    vec![
        (b("empty"), Value::Str(Bytes::new())),
        (b("s"), Value::Str(b("hello"))),
        (b("int"), Value::Str(b("123"))),
        (b("bin"), Value::Str(Bytes::from(binary.clone()))),
        (b("long"), Value::Str(Bytes::from(vec![b'a'; 100_000]))),
        (Bytes::from(binary), Value::Str(b("binary key"))),
        (b("h"), Value::Hash(hash)),
        (b("l"), Value::List(list)),
        (b("t_float"), tensor(DataType::Float, &[2, 2], &f32s)),
        (b("t_int64"), tensor(DataType::Int64, &[4], &i64s)),
        (
            b("t_int8"),
            tensor(DataType::Int8, &[1, 3], &[0x80, 0, 0x7f]),
        ),
        (b("t_uint16"), tensor(DataType::Uint16, &[1], &[1, 2])),
        (b("t_bool"), tensor(DataType::Bool, &[2], &[1, 0])),
        (
            b("t_double"),
            tensor(DataType::Double, &[1], &2.5f64.to_le_bytes()),
        ),
        (b("t_string"), tensor(DataType::String, &[3], b"ab\0\0c\0")),
        (
            b("t_scalar"),
            tensor(DataType::Int32, &[], &7i32.to_le_bytes()),
        ),
        (b("m"), onnx_model("m")),
        (b("script"), torch_script("script")),
    ]
}

fn write_file(entries: &[(Bytes, Value, Option<i64>)], aux: &[(Bytes, Bytes)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut it = entries.iter().map(|(k, v, e)| (k, v, *e));
    // A small chunk size: the model's blob is saved in several chunks.
    write_snapshot_with(&mut out, &mut it, aux, 64).unwrap();
    out
}

fn read(file: &[u8]) -> Result<Snapshot, RdbError> {
    read_snapshot(&mut &file[..], engine(), &mut |_, _| {})
}

fn assert_entries(got: &[Entry], want: &[(Bytes, Value, Option<i64>)]) {
    assert_eq!(got.len(), want.len());
    for (g, (k, v, e)) in got.iter().zip(want) {
        assert_eq!(&g.key, k);
        assert!(same(&g.value, v), "key {}", show_key(k));
        assert_eq!(g.expire_ms, *e, "key {}", show_key(k));
    }
}

#[test]
fn every_kind_round_trips_through_a_file() {
    let entries: Vec<_> = sample()
        .into_iter()
        .enumerate()
        .map(|(i, (k, v))| (k, v, (i % 3 == 0).then_some(1_900_000_000_000 + i as i64)))
        .collect();
    let aux = [(b("redis-ver"), b("9.9.9")), (b("mine"), b("x"))];
    let file = write_file(&entries, &aux);
    assert_eq!(&file[..9], b"REDIS0010");
    let snap = read(&file).unwrap();
    assert_entries(&snap.entries, &entries);
    let names: Vec<&[u8]> = snap.aux.iter().map(|(k, _)| k.as_ref()).collect();
    assert_eq!(
        names,
        [
            &b"redis-ver"[..],
            b"redis-bits",
            b"ctime",
            b"used-mem",
            b"aof-base",
            b"mine"
        ]
    );
    assert_eq!(snap.aux[0].1, "9.9.9");
    assert_eq!(snap.aux[1].1, "64");
    assert_eq!(snap.aux[4].1, "0");

    // The public entry point: no expiries, Redis's default AUX.
    let values = sample();
    let mut out = Vec::new();
    write_snapshot(
        &mut out,
        &mut values.iter().map(|(k, v)| (k, v, None)),
        1 << 20,
    )
    .unwrap();
    let mut calls = Vec::new();
    let snap = read_snapshot(&mut &out[..], engine(), &mut |k, n| calls.push((k, n))).unwrap();
    let want: Vec<_> = values.into_iter().map(|(k, v)| (k, v, None)).collect();
    assert_entries(&snap.entries, &want);
    assert_eq!(snap.aux[0], (b("redis-ver"), b("7.0.15")));
    assert_eq!(calls.last(), Some(&(want.len() as u64, out.len() as u64)));
}

#[test]
fn an_empty_database() {
    let mut out = Vec::new();
    write_snapshot(&mut out, &mut std::iter::empty(), 1).unwrap();
    let snap = read(&out).unwrap();
    assert!(snap.entries.is_empty());
    assert_eq!(snap.aux.len(), 5);
}

#[test]
fn every_kind_round_trips_through_dump_and_restore() {
    for (key, value) in sample() {
        let payload = dump_payload(&value, 100);
        assert_eq!(payload[payload.len() - 10..][..2], [10, 0]);
        let back = restore_payload(&payload, &key, engine()).unwrap();
        assert!(same(&back, &value), "key {}", show_key(&key));
    }
}

#[test]
fn restores_the_payload_of_redis_s_documentation() {
    // DUMP of the string "10" in the DUMP command's documentation (RDB version 9): an
    // integer-encoded string.
    let p = b"\x00\xc0\n\t\x00\xbem\x06\x89Z(\x00\n";
    let v = restore_payload(p, &b("mykey"), engine()).unwrap();
    assert!(same(&v, &Value::Str(b("10"))));
}

#[test]
fn restore_refusals() {
    let good = dump_payload(&Value::Str(b("hello")), 1);
    let key = b("k");
    let r = |p: &[u8]| restore_payload(p, &key, engine());
    assert_eq!(r(&good[..9]).err(), Some(RestoreError::Footer));
    // A newer version (with a right checksum).
    let mut newer = good[..good.len() - 10].to_vec();
    newer.extend_from_slice(&11u16.to_le_bytes());
    let crc = crc64::update(0, &newer);
    newer.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(r(&newer).err(), Some(RestoreError::Footer));
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x10;
        assert_eq!(r(&bad).err(), Some(RestoreError::Footer), "byte {i}");
    }
    // A right footer over a bad body.
    let with_footer = |body: &[u8]| {
        let mut p = body.to_vec();
        p.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64::update(0, &p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    };
    for body in [
        &b""[..],
        b"\x00",
        b"\x00\x05hell",
        b"\x00\x05hello!",
        b"\x02\x01\x01a",
        b"\x04\x00",
        b"\x63",
    ] {
        assert!(
            matches!(r(&with_footer(body)), Err(RestoreError::Format(_))),
            "{body:?}"
        );
    }
    // Every prefix of every sample payload, with or without a right footer: refused, never a
    // panic.
    for (key, value) in sample() {
        let p = dump_payload(&value, 100);
        if p.len() > 2000 {
            continue;
        }
        for len in 0..p.len() {
            assert!(restore_payload(&p[..len], &key, engine()).is_err());
        }
        for len in 0..p.len() - 10 {
            let e = restore_payload(&with_footer(&p[..len]), &key, engine()).err();
            assert!(matches!(e, Some(RestoreError::Format(_))));
        }
    }
}

/// An RDB file written by hand, for what this crate never writes.
struct Raw(Vec<u8>);

impl Raw {
    fn new(version: u16) -> Raw {
        Raw(format!("REDIS{version:04}").into_bytes())
    }
    fn op(mut self, b: u8) -> Raw {
        self.0.push(b);
        self
    }
    fn raw(mut self, b: &[u8]) -> Raw {
        self.0.extend_from_slice(b);
        self
    }
    fn len(mut self, n: u64) -> Raw {
        write_len(&mut self.0, n).unwrap();
        self
    }
    fn s(mut self, s: &[u8]) -> Raw {
        write_string(&mut self.0, s).unwrap();
        self
    }
    /// EOF and the checksum.
    fn end(self) -> Vec<u8> {
        let mut v = self.op(opcode::EOF).0;
        let crc = crc64::update(0, &v);
        v.extend_from_slice(&crc.to_le_bytes());
        v
    }
}

fn one_key(ty: u8, key: &str, f: impl FnOnce(Raw) -> Raw) -> Vec<u8> {
    f(Raw::new(10)
        .op(opcode::SELECTDB)
        .len(0)
        .op(ty)
        .s(key.as_bytes()))
    .end()
}

fn value_of(file: &[u8]) -> Value {
    let mut snap = read(file).unwrap();
    assert_eq!(snap.entries.len(), 1);
    snap.entries.remove(0).value
}

fn strs(items: &[&str]) -> Vec<Bytes> {
    items.iter().map(|s| b(s)).collect()
}

#[test]
fn reads_what_redis_writes() {
    // Integer-encoded strings.
    for (enc, want) in [
        (&b"\xc0\x85"[..], "-123"),
        (b"\xc1\x39\x30", "12345"),
        (b"\xc2\x00\x00\x00\x80", "-2147483648"),
    ] {
        let v = value_of(&one_key(rdb_type::STRING, "k", |r| r.raw(enc)));
        assert!(same(&v, &Value::Str(b(want))), "{want}");
    }
    // An LZF string ('a' then a long back reference: 260 'a's), as a value and as a key.
    let lzf: &[u8] = &[0xc3, 5, 0x41, 0x04, 0, b'a', 0xe0, 250, 0];
    let v = value_of(&one_key(rdb_type::STRING, "k", |r| r.raw(lzf)));
    assert!(same(&v, &Value::Str(Bytes::from(vec![b'a'; 260]))));
    let file = Raw::new(10).op(0).raw(lzf).s(b"v").end();
    assert_eq!(read(&file).unwrap().entries[0].key, vec![b'a'; 260]);

    // Hashes: listpack (7.0), ziplist (6.x).
    let pairs = [
        El::S(b"f"),
        El::S(b"v"),
        El::S(b"n"),
        El::I(-7),
        El::I(3),
        El::S(b""),
    ];
    let want: HashFields = [(b("f"), b("v")), (b("n"), b("-7")), (b("3"), b(""))].into();
    for (ty, blob) in [
        (rdb_type::HASH_LISTPACK, encode_listpack(&pairs)),
        (rdb_type::HASH_ZIPLIST, encode_ziplist(&pairs)),
    ] {
        let v = value_of(&one_key(ty, "h", |r| r.s(&blob)));
        assert!(same(&v, &Value::Hash(want.clone())), "type {ty}");
    }

    // Lists: quicklist2 (a listpack node and a plain node), quicklist (ziplist nodes), ziplist.
    let els = [El::S(b"x"), El::I(1), El::I(100_000)];
    let v = value_of(&one_key(rdb_type::LIST_QUICKLIST_2, "l", |r| {
        r.len(2)
            .len(2)
            .s(&encode_listpack(&els))
            .len(1)
            .s(b"a big plain node")
    }));
    let want = strs(&["x", "1", "100000", "a big plain node"]);
    assert!(same(&v, &Value::List(want.into())));
    let v = value_of(&one_key(rdb_type::LIST_QUICKLIST, "l", |r| {
        r.len(2)
            .s(&encode_ziplist(&els))
            .s(&encode_ziplist(&els[..1]))
    }));
    assert!(same(
        &v,
        &Value::List(strs(&["x", "1", "100000", "x"]).into())
    ));
    let v = value_of(&one_key(rdb_type::LIST_ZIPLIST, "l", |r| {
        r.s(&encode_ziplist(&els))
    }));
    assert!(same(&v, &Value::List(strs(&["x", "1", "100000"]).into())));

    // Expiries (ms and s), LRU/LFU hints, RESIZEDB, AUX, aux data of our module type, a
    // signed-opcode field, a type-6 (untagged) module value, an empty list skipped.
    let t_id = TENSOR_ID;
    let file = Raw::new(10)
        .op(opcode::AUX)
        .s(b"redis-ver")
        .s(b"7.0.15")
        .op(opcode::MODULE_AUX)
        .len(t_id)
        .len(2)
        .len(2)
        .len(5)
        .s(b"x")
        .len(2)
        .len(7)
        .len(4)
        .raw(&1.0f64.to_le_bytes())
        .len(3)
        .raw(&1.0f32.to_le_bytes())
        .len(0)
        .op(opcode::SELECTDB)
        .len(0)
        .op(opcode::RESIZEDB)
        .len(3)
        .len(2)
        .op(opcode::EXPIRETIME_MS)
        .raw(&1_700_000_000_123i64.to_le_bytes())
        .op(opcode::FREQ)
        .raw(&[5])
        .op(rdb_type::STRING)
        .s(b"a")
        .s(b"1")
        .op(opcode::EXPIRETIME)
        .raw(&1_700_000_000i32.to_le_bytes())
        .op(opcode::IDLE)
        .len(1000)
        .op(rdb_type::MODULE_2)
        .s(b"t")
        .len(t_id)
        .len(2)
        .len(0) // dtype code: INT
        .len(2)
        .len(8) // bits
        .len(1)
        .len(1) // ndims, as a SINT field
        .len(1)
        .len(2) // dim
        .len(5)
        .s(&[1, 0xff])
        .len(0)
        .op(rdb_type::MODULE)
        .s(b"t6")
        .len(t_id)
        .len(2) // dtype code: FLOAT
        .len(32)
        .len(0) // a scalar
        .s(&2.0f32.to_le_bytes())
        .op(rdb_type::LIST)
        .s(b"empty")
        .len(0)
        .end();
    let snap = read(&file).unwrap();
    assert_eq!(snap.aux, [(b("redis-ver"), b("7.0.15"))]);
    let keys: Vec<_> = snap.entries.iter().map(|e| e.key.clone()).collect();
    assert_eq!(keys, strs(&["a", "t", "t6"]));
    assert_eq!(snap.entries[0].expire_ms, Some(1_700_000_000_123));
    assert_eq!(snap.entries[1].expire_ms, Some(1_700_000_000_000));
    assert_eq!(snap.entries[2].expire_ms, None);
    assert!(same(
        &snap.entries[1].value,
        &tensor(DataType::Int8, &[2], &[1, 0xff])
    ));
    assert!(same(
        &snap.entries[2].value,
        &tensor(DataType::Float, &[], &2.0f32.to_le_bytes())
    ));

    // A stored checksum of 0: not checked. Version 9 and older files.
    let mut file = one_key(rdb_type::STRING, "k", |r| r.s(b"v"));
    let n = file.len();
    file[n - 8..].fill(0);
    assert!(read(&file).is_ok());
    let old = Raw::new(9).op(0).s(b"k").s(b"v").end();
    assert!(read(&old).is_ok());
    // Before version 5 there is no checksum.
    let v4 = Raw::new(4).op(0).s(b"k").s(b"v").op(opcode::EOF).0;
    assert_eq!(read(&v4).unwrap().entries.len(), 1);
}

#[test]
fn refusals() {
    let msg = |file: &[u8]| read(file).err().map(|e| e.to_string()).unwrap_or_default();

    assert_eq!(
        msg(b"REDIS0011\xff"),
        "RDB version 11 is newer than this server reads (10)"
    );
    assert!(matches!(read(b"RDB0010xxx"), Err(RdbError::NotRdb)));
    assert!(matches!(read(b"REDIS001a"), Err(RdbError::NotRdb)));
    assert_eq!(msg(b""), "truncated RDB file at byte 0");

    let set = one_key(rdb_type::SET, "myset", |r| r.len(1).s(b"m"));
    assert_eq!(
        msg(&set),
        "key 'myset' is a set (RDB type 2): this server holds only strings, hashes, lists and RedisAI values"
    );
    let zset = one_key(rdb_type::ZSET_LISTPACK, "z", |r| r.s(b""));
    assert!(msg(&zset).starts_with("key 'z' is a sorted set (RDB type 17)"));
    let stream = one_key(rdb_type::STREAM_LISTPACKS_2, "st", |r| r);
    assert!(msg(&stream).starts_with("key 'st' is a stream (RDB type 19)"));

    let other = module_type_id(b"mytype123", 3);
    let unknown = one_key(rdb_type::MODULE_2, "mk", |r| r.len(other).len(0));
    assert_eq!(
        msg(&unknown),
        format!("unknown module type id {other:#x} ('mytype123' encver 3: not AI_TENSOR, AI__MODEL or AI_SCRIPT)")
    );
    let aux = Raw::new(10)
        .op(opcode::MODULE_AUX)
        .len(other)
        .len(2)
        .len(2)
        .len(0)
        .end();
    assert!(msg(&aux).starts_with("unknown module type id"));
    let newer = one_key(rdb_type::MODULE_2, "t", |r| r.len(TENSOR_ID + 1).len(0));
    assert!(msg(&newer).starts_with("key 't': "), "{}", msg(&newer));
    assert!(msg(&newer).contains("encoding version 5 is newer"));

    let db1 = Raw::new(10).op(opcode::SELECTDB).len(1).end();
    assert_eq!(
        msg(&db1),
        "the RDB file has keys in database 1: this server has only database 0"
    );
    let functions = Raw::new(10).op(opcode::FUNCTION2).s(b"#!lua name=x").end();
    assert_eq!(
        msg(&functions),
        "the RDB file holds Redis functions: this server does not support functions"
    );
    let dup = Raw::new(10)
        .op(0)
        .s(b"k")
        .s(b"1")
        .op(0)
        .s(b"k")
        .s(b"2")
        .end();
    assert!(msg(&dup).contains("key 'k' appears twice"));
    let dup_field = one_key(rdb_type::HASH, "h", |r| {
        r.len(2).s(b"f").s(b"1").s(b"f").s(b"2")
    });
    assert!(msg(&dup_field).contains("key 'h': duplicate hash field"));
    let bad_lp = one_key(rdb_type::HASH_LISTPACK, "h", |r| r.s(b"\x08\0\0\0\0\0\xff"));
    assert!(
        msg(&bad_lp).contains("key 'h': listpack says it is 8 bytes"),
        "{}",
        msg(&bad_lp)
    );
    // A module value with a field of the wrong kind, or one field too many.
    let wrong = one_key(rdb_type::MODULE_2, "t", |r| r.len(TENSOR_ID).len(5).s(b"x"));
    assert!(msg(&wrong).contains("key 't': module value field has opcode 5"));
    let script = torch_script("s");
    let mut extra = dump_payload(&script, 1);
    extra.truncate(extra.len() - 11); // the footer and the EOF
    let extra = Raw::new(10)
        .op(extra[0])
        .s(b"s")
        .raw(&extra[1..])
        .len(2)
        .len(1)
        .len(0)
        .end();
    assert!(
        msg(&extra).contains("more fields than its type reads"),
        "{}",
        msg(&extra)
    );
    // A model the engine refuses (a blob that is no ONNX model).
    let mut bad_model = Vec::new();
    let m = onnx_model("m");
    let Value::Ai(redisai_core::Value::Model(mm)) = &m else {
        unreachable!()
    };
    let mut rec = mm.record();
    rec.blob = b("not a model");
    redisai_core::codec::save_model(
        &rec,
        100,
        &mut module_value::FieldWriter::new(&mut bad_model),
    );
    let bad = one_key(rdb_type::MODULE_2, "bm", |r| {
        r.len(module_value::MODEL_ID).raw(&bad_model).len(0)
    });
    assert!(msg(&bad).starts_with("key 'bm': "), "{}", msg(&bad));
}

#[test]
fn damaged_files_are_refused_never_a_panic() {
    let small_hash: HashFields = [(b("f"), b("v")), (b("g"), b("123"))].into();
    let values: Vec<_> = sample()
        .into_iter()
        .filter(|(k, _)| {
            ["s", "int", "l", "t_float", "t_string", "script"]
                .iter()
                .any(|n| k == n)
        })
        .chain([(b("h"), Value::Hash(small_hash))])
        .map(|(k, v)| (k, v, Some(1)))
        .collect();
    let file = write_file(&values, &[]);
    assert!(read(&file).is_ok());
    for len in 0..file.len() {
        match read(&file[..len]) {
            Err(RdbError::Truncated(at)) => assert_eq!(at, len as u64),
            Err(e) => panic!("prefix {len}: {e}"),
            Ok(_) => panic!("prefix {len} read"),
        }
    }
    for i in 0..file.len() {
        let mut bad = file.clone();
        bad[i] ^= 0x01;
        assert!(read(&bad).is_err(), "byte {i} flipped");
    }
    // A flipped byte in a string's content is only seen by the checksum.
    let pos = file.windows(5).position(|w| w == b"hello").unwrap();
    let mut bad = file.clone();
    bad[pos] = b'j';
    let stored = u64::from_le_bytes(file[file.len() - 8..].try_into().unwrap());
    match read(&bad) {
        Err(RdbError::Checksum {
            stored: s,
            computed,
        }) => {
            assert_eq!(s, stored);
            assert_ne!(computed, stored);
            assert_eq!(
                read(&bad).err().unwrap().to_string(),
                format!("bad RDB checksum (file says {stored:#018x}, content is {computed:#018x})")
            );
        }
        other => panic!("{:?}", other.err()),
    }
}

#[test]
fn huge_lengths_allocate_nothing() {
    // A string, a hash and an LZF string claiming far more than the file holds.
    for file in [
        Raw::new(10)
            .op(0)
            .s(b"k")
            .raw(&[0x81, 0, 0, 0x10, 0, 0, 0, 0, 0])
            .0,
        Raw::new(10)
            .op(rdb_type::HASH)
            .s(b"k")
            .raw(&[0x81, 0xff, 0, 0, 0, 0, 0, 0, 0])
            .0,
        Raw::new(10)
            .op(rdb_type::LIST_QUICKLIST_2)
            .s(b"k")
            .raw(&[0x80, 0xff, 0xff, 0xff, 0xff])
            .0,
        Raw::new(10)
            .op(0)
            .s(b"k")
            .raw(&[
                0xc3, 0x80, 0xff, 0xff, 0xff, 0xff, 0x81, 0xff, 0, 0, 0, 0, 0, 0, 0,
            ])
            .0,
    ] {
        assert!(read(&file).is_err());
    }
}
