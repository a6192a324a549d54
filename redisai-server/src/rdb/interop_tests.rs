//! Against Debian's real `redis-server` 7.0 (with the RedisAI module where it is built): files and
//! DUMP payloads Redis writes read here, and the ones written here load there.
//!
//! Skipped, with a note, where `redis-server` is not installed; the RedisAI values are left out
//! where the module is not built (`$REDISAI_MODULE`, else `target/release/libredisai_module.so`
//! of this workspace).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::tests::{b, engine, fixture, same, sample, tensor};
use super::write::write_snapshot_with;
use super::*;
use crate::db::Value;

#[derive(Debug, Clone, PartialEq)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    fn bulk(&self) -> &[u8] {
        match self {
            Reply::Bulk(Some(b)) => b,
            Reply::Simple(s) => s.as_bytes(),
            other => panic!("not a string: {other:?}"),
        }
    }
    fn array(&self) -> &[Reply] {
        match self {
            Reply::Array(Some(a)) => a,
            other => panic!("not an array: {other:?}"),
        }
    }
    /// A flat [name, value, ...] array as a map of names.
    fn fields(&self) -> HashMap<String, Reply> {
        self.array()
            .chunks(2)
            .map(|kv| {
                let name = String::from_utf8_lossy(kv[0].bulk()).into_owned();
                (name, kv[1].clone())
            })
            .collect()
    }
}

fn read_reply(r: &mut impl BufRead) -> Reply {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line).unwrap();
    assert!(line.ends_with(b"\r\n"), "bad reply line {line:?}");
    let text = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
    match line[0] {
        b'+' => Reply::Simple(text),
        b'-' => Reply::Error(text),
        b':' => Reply::Int(text.parse().unwrap()),
        b'$' => {
            let n: i64 = text.parse().unwrap();
            if n < 0 {
                return Reply::Bulk(None);
            }
            let mut buf = vec![0; n as usize + 2];
            std::io::Read::read_exact(r, &mut buf).unwrap();
            buf.truncate(n as usize);
            Reply::Bulk(Some(buf))
        }
        b'*' => {
            let n: i64 = text.parse().unwrap();
            if n < 0 {
                return Reply::Array(None);
            }
            Reply::Array(Some((0..n).map(|_| read_reply(r)).collect()))
        }
        other => panic!("unknown reply type {other}"),
    }
}

/// A redis-server process on a free port, killed on drop.
struct Redis {
    child: Child,
    conn: BufReader<TcpStream>,
    log: PathBuf,
}

fn redis_server() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join("redis-server"))
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!("note: redis-server is not installed; the interoperability tests are skipped");
    }
    found
}

fn module_path() -> Option<PathBuf> {
    let p = std::env::var_os("REDISAI_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/libredisai_module.so")
        });
    if p.is_file() {
        Some(p)
    } else {
        eprintln!(
            "note: {} is not built; RedisAI values are left out of the interoperability tests",
            p.display()
        );
        None
    }
}

/// A fresh directory for one server.
fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "redisai-rdb-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Redis {
    fn start(binary: &Path, dir: &Path, dbfilename: &str, module: Option<&Path>) -> Redis {
        let mut last = String::new();
        for _attempt in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let log = dir.join(format!("redis-{port}.log"));
            let mut cmd = Command::new(binary);
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--databases", "1"])
                .arg("--dir")
                .arg(dir)
                .args(["--dbfilename", dbfilename, "--rdbcompression", "yes"])
                .arg("--logfile")
                .arg(&log)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Some(m) = module {
                cmd.arg("--loadmodule").arg(m);
            }
            let mut child = cmd.spawn().unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
                    let mut r = Redis {
                        child,
                        conn: BufReader::new(s),
                        log,
                    };
                    // Replies -LOADING while the file loads.
                    loop {
                        match r.cmd(&[b"PING"]) {
                            Reply::Simple(_) => return r,
                            _ if Instant::now() > deadline => panic!("redis-server never ready"),
                            _ => std::thread::sleep(Duration::from_millis(20)),
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            last = std::fs::read_to_string(&log).unwrap_or_default();
        }
        panic!("redis-server did not start:\n{last}");
    }

    fn cmd(&mut self, args: &[&[u8]]) -> Reply {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.conn.get_mut().write_all(&req).unwrap();
        read_reply(&mut self.conn)
    }

    fn ok(&mut self, args: &[&[u8]]) -> Reply {
        let r = self.cmd(args);
        if let Reply::Error(e) = &r {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            panic!("{:?}: {e}\n{log}", String::from_utf8_lossy(args[0]));
        }
        r
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_file(path: &Path) -> Result<Snapshot, RdbError> {
    let mut f = std::fs::File::open(path).unwrap();
    read_snapshot(&mut f, engine(), &mut |_, _| {})
}

#[test]
fn files_and_payloads_of_redis_read_here() {
    let Some(binary) = redis_server() else { return };
    let module = module_path();
    let dir = temp_dir("from-redis");
    let mut r = Redis::start(&binary, &dir, "dump.rdb", module.as_deref());

    let incompressible: Vec<u8> = (0..300u32).map(|i| (i * 7919 % 251) as u8).collect();
    let mut want: Vec<(Bytes, Value)> = vec![
        (b("short"), Value::Str(b("hi"))),
        (b("empty"), Value::Str(Bytes::new())),
        (b("int"), Value::Str(b("123"))),
        (b("neg"), Value::Str(b("-40000"))),
        (b("big_int"), Value::Str(b("12345678901"))),
        (b("long"), Value::Str(Bytes::from(incompressible))),
        (b("rep"), Value::Str(Bytes::from(vec![b'a'; 1000]))),
        (
            b("bin"),
            Value::Str(Bytes::from((0..=255u8).collect::<Vec<_>>())),
        ),
    ];
    for (k, v) in &want {
        let Value::Str(s) = v else { unreachable!() };
        r.ok(&[b"SET", k, s]);
    }
    r.ok(&[b"SET", b"exp", b"v", b"PXAT", b"4102444800000"]);
    r.ok(&[
        b"HSET", b"h_small", b"f1", b"v1", b"f2", b"123", b"f3", b"-7",
    ]);
    let mut h_large = vec![b"HSET".to_vec(), b"h_large".to_vec()];
    for i in 0..300 {
        h_large.push(format!("field{i}").into_bytes());
        h_large.push(if i % 2 == 0 {
            i.to_string().into_bytes()
        } else {
            vec![b'x'; i]
        });
    }
    r.ok(&h_large.iter().map(Vec::as_slice).collect::<Vec<_>>());
    r.ok(&[b"HSET", b"h_wide", b"f", &[b'w'; 100]]);
    r.ok(&[b"RPUSH", b"l_small", b"a", b"1", b"", b"-300000"]);
    let mut l_large = vec![b"RPUSH".to_vec(), b"l_large".to_vec()];
    for i in 0..5000 {
        l_large.push(if i % 3 == 0 {
            i.to_string().into_bytes()
        } else {
            format!("element-{i}").into_bytes()
        });
    }
    r.ok(&l_large.iter().map(Vec::as_slice).collect::<Vec<_>>());
    for (k, enc) in [
        ("h_small", "listpack"),
        ("h_large", "hashtable"),
        ("h_wide", "hashtable"),
        ("l_small", "quicklist"),
        ("rep", "raw"),
        ("int", "int"),
    ] {
        let got = r.ok(&[b"OBJECT", b"ENCODING", k.as_bytes()]);
        assert_eq!(got.bulk(), enc.as_bytes(), "{k}");
    }
    let hash = |pairs: &[Vec<u8>]| {
        Value::Hash(
            pairs
                .chunks(2)
                .map(|kv| (Bytes::from(kv[0].clone()), Bytes::from(kv[1].clone())))
                .collect(),
        )
    };
    want.push((b("exp"), Value::Str(b("v"))));
    want.push((
        b("h_small"),
        hash(&[&b"f1"[..], b"v1", b"f2", b"123", b"f3", b"-7"].map(<[u8]>::to_vec)),
    ));
    want.push((b("h_large"), hash(&h_large[2..])));
    want.push((b("h_wide"), hash(&[b"f".to_vec(), vec![b'w'; 100]])));
    want.push((
        b("l_small"),
        Value::List([b("a"), b("1"), b(""), b("-300000")].into()),
    ));
    want.push((
        b("l_large"),
        Value::List(
            l_large[2..]
                .iter()
                .map(|e| Bytes::from(e.clone()))
                .collect(),
        ),
    ));

    if module.is_some() {
        r.ok(&[
            b"AI.TENSORSET",
            b"t_float",
            b"FLOAT",
            b"2",
            b"2",
            b"VALUES",
            b"1",
            b"2",
            b"3",
            b"4.5",
        ]);
        r.ok(&[
            b"AI.TENSORSET",
            b"t_int64",
            b"INT64",
            b"3",
            b"VALUES",
            b"-1",
            b"0",
            b"9000000000",
        ]);
        r.ok(&[
            b"AI.TENSORSET",
            b"t_string",
            b"STRING",
            b"2",
            b"VALUES",
            b"a",
            b"bc",
        ]);
        r.ok(&[b"AI.TENSORSET", b"t_int8", b"INT8", b"1", b"BLOB", b"1"]);
        let model = fixture("onnx/mul.onnx");
        r.ok(&[
            b"AI.MODELSTORE",
            b"m",
            b"ONNX",
            b"CPU",
            b"TAG",
            b"tg",
            b"BLOB",
            &model,
        ]);
        let script = fixture("torch/script.txt");
        r.ok(&[
            b"AI.SCRIPTSTORE",
            b"s",
            b"CPU",
            b"TAG",
            b"st",
            b"ENTRY_POINTS",
            b"1",
            b"bar",
            b"SOURCE",
            &script,
        ]);
        let f: Vec<u8> = [1.0f32, 2.0, 3.0, 4.5]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let i: Vec<u8> = [-1i64, 0, 9_000_000_000]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        want.push((
            b("t_float"),
            tensor(redisai_core::DataType::Float, &[2, 2], &f),
        ));
        want.push((
            b("t_int64"),
            tensor(redisai_core::DataType::Int64, &[3], &i),
        ));
        want.push((
            b("t_string"),
            tensor(redisai_core::DataType::String, &[2], b"a\0bc\0"),
        ));
        want.push((
            b("t_int8"),
            tensor(redisai_core::DataType::Int8, &[1], b"1"),
        ));
    }
    r.ok(&[b"SAVE"]);

    let snap = read_file(&dir.join("dump.rdb")).unwrap();
    let got: HashMap<Bytes, &Entry> = snap.entries.iter().map(|e| (e.key.clone(), e)).collect();
    let models = usize::from(module.is_some()) * 2;
    assert_eq!(got.len(), want.len() + models);
    for (k, v) in &want {
        let e = got
            .get(k)
            .unwrap_or_else(|| panic!("no key {}", show_key(k)));
        assert!(same(&e.value, v), "key {}", show_key(k));
        assert_eq!(
            e.expire_ms,
            (k == "exp").then_some(4_102_444_800_000),
            "key {}",
            show_key(k)
        );
    }
    assert!(snap
        .aux
        .iter()
        .any(|(k, v)| k == "redis-ver" && v == "7.0.15"));
    if module.is_some() {
        let redisai_core::Value::Model(m) = (match &got[&b("m")].value {
            Value::Ai(v) => v.clone(),
            _ => panic!("m is not a model"),
        }) else {
            panic!("m is not a model")
        };
        assert_eq!(m.tag, "tg");
        assert_eq!(m.blob, fixture("onnx/mul.onnx"));
        let Value::Ai(redisai_core::Value::Script(s)) = &got[&b("s")].value else {
            panic!("s is not a script")
        };
        assert_eq!(s.tag, "st");
        assert_eq!(s.source, fixture("torch/script.txt"));
        assert_eq!(s.entry_points, [b("bar")]);
    }

    // DUMP payloads of the same keys.
    for e in &snap.entries {
        let payload = r.ok(&[b"DUMP", &e.key]);
        let v = restore_payload(payload.bulk(), &e.key, engine())
            .unwrap_or_else(|err| panic!("key {}: {err}", show_key(&e.key)));
        assert!(same(&v, &e.value), "key {}", show_key(&e.key));
    }

    // A set: refused by name, in a file and in a payload.
    r.ok(&[b"SADD", b"myset", b"a", b"b"]);
    r.ok(&[b"SAVE"]);
    let err = read_file(&dir.join("dump.rdb")).err().unwrap().to_string();
    assert!(
        err.starts_with("key 'myset' is a set (RDB type 2)"),
        "{err}"
    );
    let payload = r.ok(&[b"DUMP", b"myset"]);
    assert!(matches!(
        restore_payload(payload.bulk(), &b("myset"), engine()),
        Err(RestoreError::Format(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn files_and_payloads_written_here_load_into_redis() {
    let Some(binary) = redis_server() else { return };
    let module = module_path();
    let mut values = sample();
    if module.is_none() {
        values.retain(|(_, v)| !matches!(v, Value::Ai(_)));
    }
    let entries: Vec<_> = values
        .iter()
        .map(|(k, v)| (k, v, (k == "s").then_some(4_102_444_800_000i64)))
        .collect();
    let dir = temp_dir("to-redis");
    let mut file = std::fs::File::create(dir.join("ours.rdb")).unwrap();
    write_snapshot_with(&mut file, &mut entries.iter().copied(), &[], 64).unwrap();
    drop(file);

    let mut r = Redis::start(&binary, &dir, "ours.rdb", module.as_deref());
    assert_eq!(r.ok(&[b"DBSIZE"]), Reply::Int(values.len() as i64));
    let pttl = r.ok(&[b"PTTL", b"s"]);
    assert!(matches!(pttl, Reply::Int(t) if t > 0), "{pttl:?}");
    for (k, v) in &values {
        check_in_redis(&mut r, k, v);
    }

    // The same values through RESTORE, and back through DUMP.
    for (k, v) in &values {
        let mut k2 = b"restored:".to_vec();
        k2.extend_from_slice(k);
        let payload = dump_payload(v, 100);
        r.ok(&[b"RESTORE", &k2, b"0", &payload]);
        check_in_redis(&mut r, &k2, v);
        let back = r.ok(&[b"DUMP", &k2]);
        let back = restore_payload(back.bulk(), &Bytes::from(k2.clone()), engine()).unwrap();
        assert!(same(&back, v), "key {}", show_key(k));
    }
    // Redis refuses a payload whose checksum is off, as restore_payload does.
    let mut bad = dump_payload(&Value::Str(b("x")), 1);
    bad[1] ^= 1;
    assert_eq!(
        r.cmd(&[b"RESTORE", b"bad", b"0", &bad]),
        Reply::Error("ERR DUMP payload version or checksum are wrong".into())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `key` in Redis holds `v`, as its own commands read it.
fn check_in_redis(r: &mut Redis, key: &[u8], v: &Value) {
    use redisai_core::Value as V;
    let name = show_key(key);
    match v {
        Value::Str(s) => assert_eq!(r.ok(&[b"GET", key]).bulk(), &s[..], "{name}"),
        Value::Hash(h) => {
            let got = r.ok(&[b"HGETALL", key]);
            let got: crate::db::HashFields = got
                .array()
                .chunks(2)
                .map(|kv| {
                    (
                        Bytes::from(kv[0].bulk().to_vec()),
                        Bytes::from(kv[1].bulk().to_vec()),
                    )
                })
                .collect();
            assert_eq!(&got, h, "{name}");
        }
        Value::List(l) => {
            let got = r.ok(&[b"LRANGE", key, b"0", b"-1"]);
            let got: Vec<&[u8]> = got.array().iter().map(Reply::bulk).collect();
            let want: Vec<&[u8]> = l.iter().map(|e| &e[..]).collect();
            assert_eq!(got, want, "{name}");
        }
        Value::Ai(V::Tensor(t)) => {
            let got = r.ok(&[b"AI.TENSORGET", key, b"META", b"BLOB"]).fields();
            assert_eq!(got["dtype"].bulk(), t.dtype().name().as_bytes(), "{name}");
            let shape: Vec<Reply> = t.shape().iter().map(|&d| Reply::Int(d as i64)).collect();
            assert_eq!(got["shape"], Reply::Array(Some(shape)), "{name}");
            assert_eq!(got["blob"].bulk(), &t.blob()[..], "{name}");
        }
        Value::Ai(V::Model(m)) => {
            let got = r.ok(&[b"AI.MODELGET", key, b"META"]).fields();
            assert_eq!(got["backend"].bulk(), b"ONNX", "{name}");
            assert_eq!(got["device"].bulk(), b"CPU", "{name}");
            assert_eq!(got["tag"].bulk(), &m.tag[..], "{name}");
            assert_eq!(got["batchsize"], Reply::Int(m.batch.size as i64), "{name}");
            assert_eq!(
                got["minbatchsize"],
                Reply::Int(m.batch.min_size as i64),
                "{name}"
            );
            let blob = r.ok(&[b"AI.MODELGET", key, b"BLOB"]);
            assert_eq!(blob.bulk(), &m.blob[..], "{name}");
        }
        Value::Ai(V::Script(s)) => {
            let got = r.ok(&[b"AI.SCRIPTGET", key, b"META", b"SOURCE"]).fields();
            assert_eq!(got["device"].bulk(), b"CPU", "{name}");
            assert_eq!(got["tag"].bulk(), &s.tag[..], "{name}");
            assert_eq!(got["source"].bulk(), &s.source[..], "{name}");
            let eps: Vec<&[u8]> = got["Entry Points"]
                .array()
                .iter()
                .map(Reply::bulk)
                .collect();
            assert_eq!(eps, [b"bar".as_slice()], "{name}");
        }
    }
}
