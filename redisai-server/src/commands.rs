//! Dispatch: the `AI.*` commands go to the engine; the generic Redis commands that clients need
//! (redis-cli, redis-py, redisai-py, SmartRedis) are answered here with Redis's reply shapes and
//! error texts.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use redisai_core::args::{eq_ignore_case, parse_strict_i64};
use redisai_core::{CallContext, Completion, Outcome, Reply, Submitted};
use tokio::sync::oneshot;

use crate::db::{scan_hash, Db, Value};
use crate::glob;
use crate::info;
use crate::server::{After, Session, Shared};
use crate::table::{self, commands};

pub(crate) fn err(text: impl Into<String>) -> Reply {
    Reply::Error(text.into())
}

pub(crate) fn syntax() -> Reply {
    err("ERR syntax error")
}

pub(crate) fn not_integer() -> Reply {
    err("ERR value is not an integer or out of range")
}

fn arity(name: &str) -> Reply {
    err(format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}

fn wrongtype() -> Reply {
    redisai_core::Error::WrongType.into()
}

fn lower(a: &[u8]) -> String {
    String::from_utf8_lossy(a).to_ascii_lowercase()
}

/// Redis's text for an unknown command: the name and up to the first arguments, quoted.
fn unknown_command(argv: &[Bytes]) -> Reply {
    let name: String = String::from_utf8_lossy(&argv[0])
        .chars()
        .take(128)
        .collect();
    let mut args = String::new();
    for a in argv.iter().skip(1) {
        if args.len() >= 128 {
            break;
        }
        let a: String = String::from_utf8_lossy(a)
            .chars()
            .take(128 - args.len())
            .collect();
        args.push_str(&format!("'{a}' "));
    }
    err(format!(
        "ERR unknown command '{name}', with args beginning with: {args}"
    ))
}

/// What a successful write puts in the append-only file: the command as it came, or other
/// commands (a deadline as an absolute time, nothing when it changed nothing), as Redis
/// rewrites what it propagates.
#[derive(Debug, PartialEq)]
pub enum Logged {
    Argv,
    Commands(Vec<Vec<Bytes>>),
}

/// A command's answer: now, a run that finished on this thread, or a run on the queues.
pub enum Response {
    Now(Reply),
    /// Its outputs are still to be stored.
    Ran(Completion),
    Later(oneshot::Receiver<Completion>),
}

impl From<Reply> for Response {
    fn from(r: Reply) -> Response {
        Response::Now(r)
    }
}

/// Runs one command line for a session.
pub fn dispatch(shared: &Shared, sess: &mut Session, argv: Vec<Bytes>) -> (Response, After) {
    shared.total_commands.fetch_add(1, Ordering::Relaxed);
    let Some(spec) = table::lookup(&argv[0]) else {
        if let Some((_, dirty)) = sess.multi.as_mut() {
            *dirty = true;
        }
        return (unknown_command(&argv).into(), After::Continue);
    };
    let name = spec.name;
    sess.last_command = Bytes::from_static(name.as_bytes());
    if !sess.authenticated && !matches!(name, "auth" | "hello" | "quit") {
        return (
            err("NOAUTH Authentication required.").into(),
            After::Continue,
        );
    }
    if !spec.arity_ok(argv.len()) {
        if let Some((_, dirty)) = sess.multi.as_mut() {
            *dirty = true;
        }
        return (arity(name).into(), After::Continue);
    }
    if let Some((queue, dirty)) = sess.multi.as_mut() {
        if spec.flags.contains(&"no_multi") {
            *dirty = true;
            return (
                err("ERR Command not allowed inside a transaction").into(),
                After::Continue,
            );
        }
        if !matches!(name, "exec" | "discard" | "multi" | "quit") {
            queue.push(argv);
            return (Reply::Simple("QUEUED").into(), After::Continue);
        }
    }
    let now = |r: Reply| (Response::Now(r), After::Continue);
    match name {
        "quit" => (Reply::OK.into(), After::Close),
        "shutdown" => match shutdown(shared, &argv[1..]) {
            Ok(()) => (Reply::Null.into(), After::Shutdown),
            Err(e) => now(e),
        },
        "bgrewriteaof" => {
            let db = keyspace(shared);
            if !shared.aof.begin_rewrite() {
                return now(err(
                    "ERR Background append only file rewriting already in progress",
                ));
            }
            let entries = crate::persist::Persistence::copy(&db);
            drop(db);
            let aof = shared.aof.clone();
            let chunk = shared.engine.config().model_chunk_size;
            std::thread::spawn(move || {
                crate::persist::background_priority();
                aof.finish_rewrite(&entries, chunk, crate::persist::Pace::Background)
            });
            now(Reply::Status(
                "Background append only file rewriting started".into(),
            ))
        }
        "bgsave" => {
            let db = keyspace(shared);
            let chunk = shared.engine.config().model_chunk_size;
            if shared.persist.bgsave(&db, chunk) {
                now(Reply::Status("Background saving started".into()))
            } else {
                now(err("ERR Background save already in progress"))
            }
        }
        "multi" => {
            if sess.multi.is_some() {
                return now(err("ERR MULTI calls can not be nested"));
            }
            sess.multi = Some((Vec::new(), false));
            now(Reply::OK)
        }
        "discard" => match sess.multi.take() {
            Some(_) => now(Reply::OK),
            None => now(err("ERR DISCARD without MULTI")),
        },
        "exec" => now(exec(shared, sess)),
        "auth" => now(auth(shared, sess, &argv)),
        "hello" => now(hello(shared, sess, &argv)),
        "select" => now(select(&argv)),
        "client" => now(client(sess, &argv)),
        _ => {
            let mut db = keyspace(shared);
            let (outcome, logged) = execute(shared, &mut db, &argv, false);
            log_write(shared, &argv, &outcome, logged);
            drop(db);
            note_write(
                shared,
                spec,
                matches!(&outcome, Outcome::Reply(r) if r.is_error()),
            );
            (submit(shared, outcome), After::Continue)
        }
    }
}

/// MULTI ... EXEC: every queued command runs under one lock, as one atomic step.
fn exec(shared: &Shared, sess: &mut Session) -> Reply {
    let Some((queue, dirty)) = sess.multi.take() else {
        return err("ERR EXEC without MULTI");
    };
    if dirty {
        return err("EXECABORT Transaction discarded because of previous errors.");
    }
    let mut db = keyspace(shared);
    let mut logged: Vec<Vec<Bytes>> = Vec::new();
    let replies = Reply::Array(
        queue
            .iter()
            .map(|argv| match argv[0].as_ref() {
                n if eq_ignore_case(n, "auth")
                    || eq_ignore_case(n, "hello")
                    || eq_ignore_case(n, "select")
                    || eq_ignore_case(n, "client") =>
                {
                    drop_lock_unsupported(n)
                }
                _ => match execute(shared, &mut db, argv, true) {
                    (Outcome::Reply(r), how) => {
                        if let Some(spec) = table::lookup(&argv[0]) {
                            note_write(shared, spec, r.is_error());
                        }
                        if !r.is_error() {
                            logged.extend(log_form(argv, how));
                        }
                        r
                    }
                    // Executing commands are refused inside MULTI, so nothing runs here.
                    (Outcome::Run(_), _) => {
                        err("ERR Cannot run RedisAI command within a transaction or a LUA script")
                    }
                },
            })
            .collect(),
    );
    // One transaction in the log too, so a replay runs all of it or none.
    shared.aof.append_transaction(&logged);
    replies
}

/// Connection commands inside MULTI would need the session and the lock at once; Redis allows
/// them, this server refuses them plainly instead of half-running them.
fn drop_lock_unsupported(name: &[u8]) -> Reply {
    err(format!(
        "ERR '{}' is not supported inside MULTI by redisai-server",
        lower(name)
    ))
}

/// Runs a cheap model here, or queues the run on the engine; a queued run's completion
/// arrives on the returned channel.
fn submit(shared: &Shared, outcome: Outcome) -> Response {
    match outcome {
        Outcome::Reply(r) => Response::Now(r),
        Outcome::Run(prepared) => {
            let (tx, rx) = oneshot::channel();
            let submitted =
                shared
                    .engine
                    .run_here_or_submit(prepared, Some(shared.host.clone()), move |c| {
                        let _ = tx.send(c);
                    });
            match submitted {
                Submitted::Done(c) => Response::Ran(c),
                Submitted::Queued => Response::Later(rx),
            }
        }
    }
}

/// A command line as `redis.execute` runs it from a script: arity checked, executing AI
/// commands refused (the script already holds a worker).
pub fn run_from_script(shared: &Shared, argv: &[Bytes]) -> Reply {
    // Where RedisModule_Call fails outright, RedisAI raises strerror(errno): ENOENT for an
    // unknown command, EINVAL for a wrong arity.
    let Some(spec) = argv.first().and_then(|n| table::lookup(n)) else {
        return err("No such file or directory");
    };
    if !spec.arity_ok(argv.len()) {
        return err("Invalid argument");
    }
    if matches!(
        spec.name,
        "auth" | "hello" | "select" | "client" | "multi" | "exec" | "discard" | "quit" | "shutdown"
    ) {
        return err(format!(
            "ERR '{}' cannot be called from a script",
            spec.name
        ));
    }
    let mut db = keyspace(shared);
    let (outcome, logged) = execute(shared, &mut db, argv, true);
    log_write(shared, argv, &outcome, logged);
    match outcome {
        Outcome::Reply(r) => r,
        Outcome::Run(_) => {
            err("ERR Cannot run RedisAI command within a transaction or a LUA script")
        }
    }
}

/// The keyspace, locked, without the keys whose time has come: each is deleted (and the
/// deletion logged) before a command can see it, as Redis's lazy expiry.
pub fn keyspace(shared: &Shared) -> parking_lot::MutexGuard<'_, Db> {
    let mut db = shared.db.lock();
    remove_expired(shared, &mut db);
    db
}

/// Deletes the keys whose deadline has passed, logging a DEL for each (what Redis propagates);
/// `true` if there were some.
pub fn remove_expired(shared: &Shared, db: &mut Db) -> bool {
    if !db.has_expiring_keys() {
        return false;
    }
    let gone = db.remove_expired(crate::expire::unix_ms());
    for key in &gone {
        shared.persist.note_write();
        if shared.aof.enabled() {
            shared
                .aof
                .append(&[Bytes::from_static(b"DEL"), key.clone()]);
        }
    }
    !gone.is_empty()
}

/// Removes expired keys ten times a second, so keys nobody reads again do not stay in memory
/// (Redis's active expiry); their DELs are written to the log as a reply's would be.
pub async fn expire_cycle(shared: std::sync::Arc<Shared>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    loop {
        tick.tick().await;
        let removed = remove_expired(&shared, &mut shared.db.lock());
        if removed {
            shared.aof.before_reply().await;
        }
    }
}

/// Commands that only touch the keyspace (and the engine).
fn execute(shared: &Shared, db: &mut Db, argv: &[Bytes], in_multi: bool) -> (Outcome, Logged) {
    let ctx = CallContext {
        in_transaction: in_multi,
    };
    if let Some(outcome) = shared.engine.call(argv, db, ctx) {
        return (outcome, Logged::Argv);
    }
    let mut logged = Logged::Argv;
    let reply = generic(shared, db, argv, &mut logged);
    (Outcome::Reply(reply), logged)
}

/// The generic Redis commands.
fn generic(shared: &Shared, db: &mut Db, argv: &[Bytes], logged: &mut Logged) -> Reply {
    let name = lower(&argv[0]);
    let a = &argv[1..];
    match name.as_str() {
        "ping" => match a {
            [] => Reply::Simple("PONG"),
            [msg] => Reply::Bulk(msg.clone()),
            _ => arity("ping"),
        },
        "echo" => Reply::Bulk(a[0].clone()),
        "command" => command(a),
        "info" => Reply::Bulk(Bytes::from(info::render(shared, db, a))),
        "config" => config(shared, db, a),
        "dbsize" => Reply::Int(db.len() as i64),
        "exists" => Reply::Int(a.iter().filter(|k| db.contains(k)).count() as i64),
        "del" | "unlink" => Reply::Int(a.iter().filter(|k| db.remove(k).is_some()).count() as i64),
        "type" => Reply::Status(db.get(&a[0]).map_or("none", |v| v.type_name()).to_string()),
        "keys" => Reply::Array(
            db.iter()
                .map(|(k, _)| k)
                .filter(|k| glob::matches(&a[0], k))
                .map(|k| Reply::Bulk(k.clone()))
                .collect(),
        ),
        "expire" | "pexpire" | "expireat" | "pexpireat" => {
            crate::expire::expire(db, &name, a, crate::expire::unix_ms(), logged)
        }
        "ttl" | "pttl" | "expiretime" | "pexpiretime" => {
            crate::expire::ttl(db, &name, &a[0], crate::expire::unix_ms())
        }
        "persist" => crate::expire::persist(db, &a[0], logged),
        "setex" | "psetex" => {
            match crate::expire::setex_deadline(&name, &a[1], crate::expire::unix_ms()) {
                Ok(at) => {
                    db.insert(a[0].clone(), Value::Str(a[2].clone()));
                    db.set_expiry(&a[0], at);
                    *logged = Logged::Commands(vec![crate::expire::set_pxat(&a[0], &a[2], at)]);
                    Reply::OK
                }
                Err(reply) => reply,
            }
        }
        "scan" => scan(db, a),
        "flushdb" | "flushall" => {
            let reply = match a {
                [] => flush(db),
                [m] if eq_ignore_case(m, "SYNC") || eq_ignore_case(m, "ASYNC") => flush(db),
                _ => return syntax(),
            };
            // As Redis: FLUSHALL with `save` rules writes the (empty) snapshot at once.
            if name == "flushall" && shared.persist.has_save_rules() {
                let _ = shared
                    .persist
                    .save(db, shared.engine.config().model_chunk_size);
            }
            reply
        }
        "save" => save(shared, db),
        "lastsave" => Reply::Int(shared.persist.last_save() as i64),
        "debug" => debug(shared, db, a),
        "dump" => dump(shared, db, &a[0]),
        "restore" => restore(shared, db, a, logged),
        "get" => match db.get_str(&a[0]) {
            Ok(v) => v.map_or(Reply::Null, |v| Reply::Bulk(v.clone())),
            Err(_) => wrongtype(),
        },
        "set" => set(db, a, logged),
        "mget" => Reply::Array(
            a.iter()
                .map(|k| match db.get(k) {
                    Some(Value::Str(s)) => Reply::Bulk(s.clone()),
                    _ => Reply::Null,
                })
                .collect(),
        ),
        "mset" => {
            if !a.len().is_multiple_of(2) {
                return arity("mset");
            }
            for kv in a.chunks(2) {
                db.insert(kv[0].clone(), Value::Str(kv[1].clone()));
            }
            Reply::OK
        }
        "hset" => {
            if a.len() % 2 != 1 {
                return arity("hset");
            }
            match db.hash_mut(&a[0], true) {
                Ok(Some(h)) => Reply::Int(
                    a[1..]
                        .chunks(2)
                        .filter(|fv| h.insert(fv[0].clone(), fv[1].clone()).is_none())
                        .count() as i64,
                ),
                _ => wrongtype(),
            }
        }
        "incr" => incr_by(db, &a[0], Some(1)),
        "decr" => incr_by(db, &a[0], Some(-1)),
        "incrby" => incr_by(db, &a[0], parse_strict_i64(&a[1])),
        "decrby" => match parse_strict_i64(&a[1]).map(i64::checked_neg) {
            Some(None) => err("ERR decrement would overflow"),
            by => incr_by(db, &a[0], by.flatten()),
        },
        "hlen" => match db.hash_mut(&a[0], false) {
            Ok(h) => Reply::Int(h.map_or(0, |h| h.len() as i64)),
            Err(_) => wrongtype(),
        },
        "hkeys" | "hvals" => match db.hash_mut(&a[0], false) {
            Ok(h) => Reply::Array(
                h.map(|h| {
                    h.iter()
                        .map(|(k, v)| Reply::Bulk(if name == "hkeys" { k } else { v }.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            ),
            Err(_) => wrongtype(),
        },
        "hget" => match db.hash_mut(&a[0], false) {
            Ok(h) => h
                .and_then(|h| h.get(&a[1]))
                .map_or(Reply::Null, |v| Reply::Bulk(v.clone())),
            Err(_) => wrongtype(),
        },
        "hgetall" => match db.hash_mut(&a[0], false) {
            Ok(h) => Reply::Map(
                h.map(|h| {
                    h.iter()
                        .map(|(k, v)| (Reply::Bulk(k.clone()), Reply::Bulk(v.clone())))
                        .collect()
                })
                .unwrap_or_default(),
            ),
            Err(_) => wrongtype(),
        },
        "hdel" => {
            let n = match db.hash_mut(&a[0], false) {
                Ok(h) => h.map_or(0, |h| {
                    a[1..]
                        .iter()
                        .filter(|f| h.shift_remove(*f).is_some())
                        .count()
                }),
                Err(_) => return wrongtype(),
            };
            db.drop_if_empty(&a[0]);
            Reply::Int(n as i64)
        }
        "rpush" | "lpush" => match db.list_mut(&a[0], true) {
            Ok(Some(l)) => {
                for v in &a[1..] {
                    if name == "rpush" {
                        l.push_back(v.clone());
                    } else {
                        l.push_front(v.clone());
                    }
                }
                Reply::Int(l.len() as i64)
            }
            _ => wrongtype(),
        },
        "llen" => match db.list_mut(&a[0], false) {
            Ok(l) => Reply::Int(l.map_or(0, |l| l.len()) as i64),
            Err(_) => wrongtype(),
        },
        "lrange" => lrange(db, a),
        _ => unknown_command(argv),
    }
}

fn flush(db: &mut Db) -> Reply {
    db.clear();
    Reply::OK
}

/// A write command that did not fail counts towards the `save` rules.
fn note_write(shared: &Shared, spec: &table::Spec, failed: bool) {
    if spec.flags.contains(&"write") && !failed {
        shared.persist.note_write();
    }
}

/// CONFIG SET name value [name value ...]: all or nothing, as Redis 7. Only the settings that
/// can change while the server runs (snapshots, the append-only file); the others are refused.
/// (Called under the keyspace lock, which the caller holds: `db`.)
fn config_set(shared: &Shared, db: &Db, a: &[Bytes]) -> Reply {
    if a.is_empty() || !a.len().is_multiple_of(2) {
        return arity("config|set");
    }
    let mut next = shared.settings.lock().clone();
    let mut changed = Vec::new();
    for pair in a.chunks(2) {
        let name = lower(&pair[0]);
        let value = String::from_utf8_lossy(&pair[1]).into_owned();
        let Some(setting) = crate::settings::find(&name) else {
            return err(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
            ));
        };
        if !setting.live {
            return err(format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config"
            ));
        }
        if let Err(must) = (setting.apply)(&mut next, &value) {
            return err(format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - argument must be {must}"
            ));
        }
        changed.push(setting.name);
    }
    // What each changed setting governs takes the new value.
    let chunk = shared.engine.config().model_chunk_size;
    for name in changed {
        match name {
            "dir" => *shared.persist.dir.lock() = next.dir.clone(),
            "dbfilename" => *shared.persist.dbfilename.lock() = next.dbfilename.clone(),
            "save" => *shared.persist.save_rules.lock() = next.save_rules.clone(),
            "appendfsync" => *shared.aof.fsync.lock() = next.appendfsync,
            "appendonly" => {
                let entries = crate::persist::Persistence::copy(db);
                if let Err(e) = shared.aof.set_enabled(next.appendonly, &entries, chunk) {
                    tracing::warn!("cannot start the append-only file: {e}");
                    return err(format!(
                        "ERR CONFIG SET failed (possibly related to argument 'appendonly') - {e}"
                    ));
                }
            }
            _ => {}
        }
    }
    *shared.settings.lock() = next;
    Reply::OK
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE]: saves first when asked or when `save` rules exist,
/// and does not stop if that fails (unless FORCE), as Redis.
fn shutdown(shared: &Shared, a: &[Bytes]) -> Result<(), Reply> {
    let (mut save, mut nosave, mut force) = (false, false, false);
    for opt in a {
        if eq_ignore_case(opt, "NOSAVE") {
            nosave = true;
        } else if eq_ignore_case(opt, "SAVE") {
            save = true;
        } else if eq_ignore_case(opt, "FORCE") {
            force = true;
        } else if eq_ignore_case(opt, "NOW") {
        } else if eq_ignore_case(opt, "ABORT") {
            return Err(err("ERR No shutdown in progress."));
        } else {
            return Err(syntax());
        }
    }
    if save && nosave {
        return Err(syntax());
    }
    if save || (!nosave && shared.persist.has_save_rules()) {
        let chunk = shared.engine.config().model_chunk_size;
        if let Err(e) = shared.persist.save(&keyspace(shared), chunk) {
            tracing::warn!("error saving the snapshot at SHUTDOWN: {e}");
            if !force {
                return Err(err("ERR Errors trying to SHUTDOWN. Check logs."));
            }
        }
    }
    Ok(())
}

/// What the server holds at start: with appendonly, the append-only file replayed (or, when
/// there is none yet, the snapshot, then a new log written from it); otherwise the snapshot.
pub fn load_at_start(shared: &Shared) -> Result<(), String> {
    let aof = &shared.aof;
    if aof.enabled() && aof.path.exists() {
        replay_aof(shared)?;
    } else if let Some(snapshot) = shared.persist.load(&shared.engine)? {
        install(shared, snapshot);
        if aof.enabled() {
            let entries = crate::persist::Persistence::copy(&shared.db.lock());
            aof.begin_rewrite();
            aof.finish_rewrite(
                &entries,
                shared.engine.config().model_chunk_size,
                crate::persist::Pace::Foreground,
            );
        }
    }
    if aof.enabled() {
        aof.open()
            .map_err(|e| format!("cannot open {}: {e}", aof.path.display()))?;
    }
    // Also when off: CONFIG SET appendonly yes may turn the log on later.
    aof.start_everysec();
    Ok(())
}

/// Runs the commands of the append-only file again. A last command cut short (a crash while
/// it was written) is dropped with a warning and the file cut there, as Redis's
/// `aof-load-truncated yes`; anything else that does not read stops the start.
fn replay_aof(shared: &Shared) -> Result<(), String> {
    let path = shared.aof.path.clone();
    let Some(mut reader) = crate::aof::Reader::open(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
    else {
        return Ok(());
    };
    let started = std::time::Instant::now();
    let mut db = shared.db.lock();
    let mut transaction: Option<Vec<Vec<Bytes>>> = None;
    let mut count = 0u64;
    let run = |db: &mut Db, argv: &[Bytes]| -> Result<(), String> {
        match execute(shared, db, argv, false).0 {
            Outcome::Reply(Reply::Error(e)) => Err(e),
            Outcome::Reply(_) => Ok(()),
            // Not what this server logs (it logs a run's outputs), but a command of the file.
            Outcome::Run(prepared) => {
                let completion = shared.engine.run_blocking(prepared, None);
                match completion.apply(db).0 {
                    Reply::Error(e) => Err(e),
                    _ => Ok(()),
                }
            }
        }
    };
    loop {
        let at = reader.len();
        match reader
            .next_command()
            .map_err(|e| format!("{}: {e}", path.display()))?
        {
            crate::aof::Replayed::Command(argv) => {
                count += 1;
                if eq_ignore_case(&argv[0], "MULTI") {
                    transaction = Some(Vec::new());
                } else if eq_ignore_case(&argv[0], "EXEC") {
                    for c in transaction.take().unwrap_or_default() {
                        run(&mut db, &c)?;
                    }
                } else if let Some(t) = transaction.as_mut() {
                    t.push(argv);
                } else if let Err(e) = run(&mut db, &argv) {
                    return Err(format!(
                        "{}: command {count} ({}) failed: {e}",
                        path.display(),
                        String::from_utf8_lossy(&argv[0])
                    ));
                }
            }
            crate::aof::Replayed::Truncated(offset) => {
                tracing::warn!(
                    "!!! Warning: short read while loading the AOF file {}: the last command, at byte {offset} of {at}, is dropped and the file cut there",
                    path.display()
                );
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_len(offset))
                    .map_err(|e| format!("cannot cut {}: {e}", path.display()))?;
                break;
            }
            crate::aof::Replayed::End => break,
        }
    }
    tracing::info!(
        "DB loaded from append only file: {count} commands, {} keys, {:.3} s",
        db.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Logs a write that ran in the append-only file: as it came (stores, deletes, plain writes),
/// or not at all (reads; runs, whose stored outputs are logged when they are stored).
fn log_write(shared: &Shared, argv: &[Bytes], outcome: &Outcome, how: Logged) {
    if !shared.aof.enabled() || !matches!(outcome, Outcome::Reply(r) if !r.is_error()) {
        return;
    }
    for command in log_form(argv, how) {
        shared.aof.append(&command);
    }
}

/// The commands a successful `argv` puts in the log.
fn log_form(argv: &[Bytes], how: Logged) -> Vec<Vec<Bytes>> {
    match how {
        Logged::Commands(commands) => commands,
        Logged::Argv if logged_as_is(argv) => vec![argv.to_vec()],
        Logged::Argv => Vec::new(),
    }
}

/// Whether a successful `argv` is logged as it came (spec §4.5 for the AI commands; plain
/// commands that write).
fn logged_as_is(argv: &[Bytes]) -> bool {
    match redisai_core::command::command_spec(&argv[0]) {
        Some(ai) => ai.propagation == redisai_core::command::Propagation::Verbatim,
        None => table::lookup(&argv[0]).is_some_and(|s| s.flags.contains(&"write")),
    }
}

/// Logs the tensors a run stored, each as the AI.TENSORSET that recreates it (spec §4.5).
pub fn log_stored(shared: &Shared, stored: &[(Bytes, std::sync::Arc<redisai_core::Tensor>)]) {
    for (key, tensor) in stored {
        shared
            .aof
            .append(&redisai_core::command::tensor_set_args(key, tensor));
    }
}

/// The keyspace loaded from a snapshot, at start.
pub fn install(shared: &Shared, snapshot: crate::rdb::Snapshot) {
    let mut db = shared.db.lock();
    fill(&mut db, snapshot.entries);
}

/// Puts a snapshot's keys in `db`, with their deadlines; a key that expired in the file is
/// gone, as Redis drops it when it loads.
fn fill(db: &mut Db, entries: Vec<crate::rdb::Entry>) {
    let now = crate::expire::unix_ms();
    for entry in entries {
        if entry.expire_ms.is_some_and(|ms| ms < now) {
            continue;
        }
        db.insert(entry.key.clone(), entry.value);
        if let Some(at) = entry.expire_ms {
            db.set_expiry(&entry.key, at);
        }
    }
}

/// BGSAVE when a `save` rule says so, checked every second (as Redis's cron).
pub async fn save_by_rules(shared: std::sync::Arc<Shared>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        if shared.persist.rule_due() {
            let chunk = shared.engine.config().model_chunk_size;
            shared.persist.bgsave(&keyspace(&shared), chunk);
        }
    }
}

/// SAVE: the snapshot, written now.
fn save(shared: &Shared, db: &Db) -> Reply {
    match shared
        .persist
        .save(db, shared.engine.config().model_chunk_size)
    {
        Ok(()) => Reply::OK,
        Err(e) => {
            tracing::warn!("{e}");
            err("ERR")
        }
    }
}

/// DEBUG RELOAD (save, empty the keyspace, load the file again); other DEBUG subcommands are
/// not there.
fn debug(shared: &Shared, db: &mut Db, a: &[Bytes]) -> Reply {
    if !eq_ignore_case(&a[0], "RELOAD") {
        return err(format!(
            "ERR DEBUG {} is not supported by redisai-server",
            String::from_utf8_lossy(&a[0]).to_ascii_uppercase()
        ));
    }
    if let Err(e) = shared
        .persist
        .save(db, shared.engine.config().model_chunk_size)
    {
        tracing::warn!("{e}");
        return err("ERR Error trying to save the DB");
    }
    match shared.persist.load(&shared.engine) {
        Ok(snapshot) => {
            db.clear();
            fill(db, snapshot.map(|s| s.entries).unwrap_or_default());
            Reply::OK
        }
        Err(e) => {
            tracing::warn!("{e}");
            err("ERR Error trying to load the RDB dump, check server logs.")
        }
    }
}

/// DUMP key: Redis's payload of the value.
fn dump(shared: &Shared, db: &Db, key: &Bytes) -> Reply {
    match db.get(key) {
        None => Reply::Null,
        Some(v) => Reply::Bulk(Bytes::from(crate::rdb::dump_payload(
            v,
            shared.engine.config().model_chunk_size,
        ))),
    }
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]. A time to live reaches
/// the log as an absolute one, as Redis propagates it.
fn restore(shared: &Shared, db: &mut Db, a: &[Bytes], logged: &mut Logged) -> Reply {
    let (key, ttl, payload) = (&a[0], &a[1], &a[2]);
    let Some(ttl) = parse_strict_i64(ttl) else {
        return not_integer();
    };
    if ttl < 0 {
        return err("ERR Invalid TTL value, must be >= 0");
    }
    let (mut replace, mut absttl, mut i) = (false, false, 3);
    while i < a.len() {
        if eq_ignore_case(&a[i], "REPLACE") {
            replace = true;
        } else if eq_ignore_case(&a[i], "ABSTTL") {
            absttl = true;
        } else if (eq_ignore_case(&a[i], "IDLETIME") || eq_ignore_case(&a[i], "FREQ"))
            && i + 1 < a.len()
        {
            i += 1;
        } else {
            return syntax();
        }
        i += 1;
    }
    if !replace && db.contains(key) {
        return err("BUSYKEY Target key name already exists.");
    }
    let now = crate::expire::unix_ms();
    let at = match ttl {
        0 => None,
        t if absttl => Some(t),
        t => match t.checked_add(now) {
            Some(at) => Some(at),
            None => return crate::expire::invalid_expire_time("restore"),
        },
    };
    match crate::rdb::restore_payload(payload, key, &shared.engine) {
        // Already expired: nothing is stored, and what REPLACE would replace is deleted.
        Ok(_) if at.is_some_and(|at| at <= now) => {
            *logged = Logged::Commands(match db.remove(key) {
                Some(_) => vec![vec![Bytes::from_static(b"DEL"), key.clone()]],
                None => Vec::new(),
            });
            Reply::OK
        }
        Ok(value) => {
            db.insert(key.clone(), value);
            if let Some(at) = at {
                db.set_expiry(key, at);
                if !absttl {
                    let mut argv = vec![Bytes::from_static(b"RESTORE")];
                    argv.extend_from_slice(a);
                    argv[2] = Bytes::from(at.to_string());
                    argv.push(Bytes::from_static(b"ABSTTL"));
                    *logged = Logged::Commands(vec![argv]);
                }
            }
            Reply::OK
        }
        Err(crate::rdb::RestoreError::Footer) => {
            err("ERR DUMP payload version or checksum are wrong")
        }
        Err(crate::rdb::RestoreError::Format(e)) => {
            tracing::warn!("RESTORE of '{}': {e}", String::from_utf8_lossy(key));
            err("ERR Bad data format")
        }
    }
}

/// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]; a deadline
/// reaches the log as `SET key value PXAT ms`.
/// INCR, DECR, INCRBY, DECRBY: the string at `key` as a 64-bit integer plus `by` (`None`: the
/// increment was not an integer), stored back keeping its TTL, as Redis does.
fn incr_by(db: &mut Db, key: &Bytes, by: Option<i64>) -> Reply {
    let Some(by) = by else {
        return not_integer();
    };
    let current = match db.get_str(key) {
        Ok(None) => 0,
        Ok(Some(v)) => match parse_strict_i64(v) {
            Some(n) => n,
            None => return not_integer(),
        },
        Err(_) => return wrongtype(),
    };
    let Some(next) = current.checked_add(by) else {
        return err("ERR increment or decrement would overflow");
    };
    let mut text = itoa::Buffer::new();
    let text = Bytes::copy_from_slice(text.format(next).as_bytes());
    db.insert_keep_ttl(key.clone(), Value::Str(text));
    Reply::Int(next)
}

fn set(db: &mut Db, a: &[Bytes], logged: &mut Logged) -> Reply {
    use crate::expire::SetTtl;
    let (key, value) = (&a[0], &a[1]);
    let (mut nx, mut xx, mut get) = (false, false, false);
    let mut ttl = SetTtl::Clear;
    let opts = &a[2..];
    let now = crate::expire::unix_ms();
    let mut i = 0;
    while i < opts.len() {
        let opt = &opts[i];
        if eq_ignore_case(opt, "NX") && !xx {
            nx = true;
        } else if eq_ignore_case(opt, "XX") && !nx {
            xx = true;
        } else if eq_ignore_case(opt, "GET") {
            get = true;
        } else {
            match crate::expire::parse_set_option(opts, &mut i, &mut ttl, now) {
                Ok(true) => {}
                Ok(false) => return syntax(),
                Err(reply) => return reply,
            }
        }
        i += 1;
    }
    let old = match db.get(key) {
        Some(Value::Str(s)) => Some(s.clone()),
        Some(_) if get => return wrongtype(),
        Some(_) => None,
        None => None,
    };
    let exists = db.contains(key);
    if (nx && exists) || (xx && !exists) {
        *logged = Logged::Commands(Vec::new());
        return if get {
            old.map_or(Reply::Null, Reply::Bulk)
        } else {
            Reply::Null
        };
    }
    match ttl {
        SetTtl::Clear => db.insert(key.clone(), Value::Str(value.clone())),
        SetTtl::Keep => db.insert_keep_ttl(key.clone(), Value::Str(value.clone())),
        SetTtl::At(at) => {
            db.insert(key.clone(), Value::Str(value.clone()));
            db.set_expiry(key, at);
            *logged = Logged::Commands(vec![crate::expire::set_pxat(key, value, at)]);
        }
    }
    if get {
        old.map_or(Reply::Null, Reply::Bulk)
    } else {
        Reply::OK
    }
}

fn lrange(db: &mut Db, a: &[Bytes]) -> Reply {
    let (Some(start), Some(stop)) = (parse_strict_i64(&a[1]), parse_strict_i64(&a[2])) else {
        return not_integer();
    };
    let list = match db.list_mut(&a[0], false) {
        Ok(Some(l)) => l,
        Ok(None) => return Reply::Array(Vec::new()),
        Err(_) => return wrongtype(),
    };
    let len = list.len() as i64;
    let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i };
    let (start, stop) = (norm(start), norm(stop).min(len - 1));
    if start > stop || start >= len {
        return Reply::Array(Vec::new());
    }
    Reply::Array(
        list.range(start as usize..=stop as usize)
            .map(|v| Reply::Bulk(v.clone()))
            .collect(),
    )
}

/// SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]. The cursor is a position in a fixed hash
/// order (see [`scan_hash`]).
fn scan(db: &Db, a: &[Bytes]) -> Reply {
    let Some(cursor) = std::str::from_utf8(&a[0])
        .ok()
        .and_then(|c| c.parse::<u64>().ok())
    else {
        return err("ERR invalid cursor");
    };
    let (mut pattern, mut count, mut kind) = (None, 10usize, None);
    let mut opts = a[1..].iter();
    while let Some(opt) = opts.next() {
        let Some(v) = opts.next() else {
            return syntax();
        };
        if eq_ignore_case(opt, "MATCH") {
            pattern = Some(v);
        } else if eq_ignore_case(opt, "COUNT") {
            match parse_strict_i64(v) {
                Some(n) if n >= 1 => count = n as usize,
                Some(_) => return syntax(),
                None => return not_integer(),
            }
        } else if eq_ignore_case(opt, "TYPE") {
            kind = Some(lower(v));
        } else {
            return syntax();
        }
    }
    let mut batch: Vec<(u64, &Bytes, &Value)> = db
        .iter()
        .map(|(k, v)| (scan_hash(k), k, v))
        .filter(|(h, _, _)| *h >= cursor)
        .collect();
    batch.sort_unstable_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)));
    let more = batch.len() > count;
    if more {
        // Keys sharing the last hash must all be in this batch, or the next cursor would skip
        // them: they sort right after it.
        let last = batch[count - 1].0;
        let cut = count + batch[count..].iter().take_while(|b| b.0 == last).count();
        batch.truncate(cut);
    }
    let next = if more {
        batch.last().map_or(0, |b| b.0 + 1)
    } else {
        0
    };
    let keys = batch
        .into_iter()
        .filter(|(_, k, _)| pattern.is_none_or(|p| glob::matches(p, k)))
        .filter(|(_, _, v)| {
            kind.as_deref()
                .is_none_or(|t| v.type_name().eq_ignore_ascii_case(t))
        })
        .map(|(_, k, _)| Reply::Bulk(k.clone()))
        .collect();
    Reply::Array(vec![Reply::text(&next.to_string()), Reply::Array(keys)])
}

fn config(shared: &Shared, db: &Db, a: &[Bytes]) -> Reply {
    let sub = lower(&a[0]);
    match sub.as_str() {
        "get" => {
            if a.len() < 2 {
                return arity("config|get");
            }
            let settings = shared.settings.lock();
            // Redis's own values clients read, beside every setting of this server.
            let fixed: [(&str, String); 4] = [
                ("proto-max-bulk-len", crate::resp::MAX_BULK_LEN.to_string()),
                ("databases", "1".into()),
                ("maxmemory", "0".into()),
                ("timeout", "0".into()),
            ];
            let all = fixed.into_iter().chain(
                crate::settings::SETTINGS
                    .iter()
                    .map(|s| (s.name, (s.show)(&settings))),
            );
            let mut out = Vec::new();
            for (k, v) in all {
                if a[1..]
                    .iter()
                    .any(|p| glob::matches(&p.to_ascii_lowercase(), k.as_bytes()))
                {
                    out.push((Reply::text(k), Reply::text(&v)));
                }
            }
            Reply::Map(out)
        }
        "set" => config_set(shared, db, &a[1..]),
        "rewrite" => {
            let settings = shared.settings.lock();
            let Some(path) = settings.config_file.clone() else {
                return err("ERR The server is running without a config file");
            };
            let default = crate::settings::defaults(&shared.options.engine.backends_path);
            match crate::settings::rewrite_file(&path, &settings, &default) {
                Ok(()) => {
                    tracing::info!("CONFIG REWRITE executed with success.");
                    Reply::OK
                }
                Err(e) => {
                    tracing::warn!("CONFIG REWRITE failed: {e}");
                    err(format!("ERR Rewriting config file: {e}"))
                }
            }
        }
        "resetstat" => Reply::OK,
        _ => err(format!(
            "ERR unknown subcommand '{}'. Try CONFIG HELP.",
            String::from_utf8_lossy(&a[0])
        )),
    }
}

fn command(a: &[Bytes]) -> Reply {
    let Some(sub) = a.first() else {
        return Reply::Array(commands().iter().map(command_info).collect());
    };
    match lower(sub).as_str() {
        "count" => Reply::Int(commands().len() as i64),
        "info" => Reply::Array(
            a[1..]
                .iter()
                .map(|n| table::lookup(n).map_or(Reply::Null, command_info))
                .collect(),
        ),
        "docs" => {
            let selected: Vec<&table::Spec> = if a.len() > 1 {
                a[1..].iter().filter_map(|n| table::lookup(n)).collect()
            } else {
                commands().iter().collect()
            };
            Reply::Map(
                selected
                    .into_iter()
                    .map(|s| {
                        (
                            Reply::text(s.name),
                            Reply::Map(vec![
                                (Reply::text("summary"), Reply::text(s.summary)),
                                (Reply::text("since"), Reply::text("1.0.0")),
                                (Reply::text("group"), Reply::text(s.group)),
                            ]),
                        )
                    })
                    .collect(),
            )
        }
        "list" => Reply::Array(commands().iter().map(|s| Reply::text(s.name)).collect()),
        "getkeys" => getkeys(&a[1..]),
        _ => err(format!(
            "ERR unknown subcommand '{}'. Try COMMAND HELP.",
            String::from_utf8_lossy(sub)
        )),
    }
}

/// COMMAND GETKEYS: the keys of a command line, found as Redis finds them (RedisAI's
/// executing commands through core's key scan, as the module reports them).
fn getkeys(argv: &[Bytes]) -> Reply {
    let Some(spec) = argv.first().and_then(|n| table::lookup(n)) else {
        return err("ERR Invalid command specified");
    };
    if !spec.arity_ok(argv.len()) {
        return err("ERR Invalid number of arguments specified for command");
    }
    let positions = match redisai_core::command::command_spec(&argv[0]) {
        Some(ai) if ai.getkeys => redisai_core::command::key_positions(argv).unwrap_or_default(),
        _ => {
            let last = if spec.last_key < 0 {
                argv.len() as i64 + spec.last_key
            } else {
                spec.last_key
            };
            (spec.first_key.max(1)..=last)
                .step_by(spec.step.max(1) as usize)
                .filter(|&k| spec.first_key > 0 && (k as usize) < argv.len())
                .map(|k| k as usize)
                .collect()
        }
    };
    if positions.is_empty() {
        return err("ERR The command has no key arguments");
    }
    Reply::Array(
        positions
            .into_iter()
            .map(|i| Reply::Bulk(argv[i].clone()))
            .collect(),
    )
}

/// Redis 7's COMMAND INFO entry: name, arity, flags, first, last, step, ACL categories, tips,
/// key specs, subcommands.
fn command_info(s: &table::Spec) -> Reply {
    Reply::Array(vec![
        Reply::text(s.name),
        Reply::Int(s.arity),
        Reply::Array(
            s.flags
                .iter()
                .map(|f| Reply::Status(f.to_string()))
                .collect(),
        ),
        Reply::Int(s.first_key),
        Reply::Int(s.last_key),
        Reply::Int(s.step),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
    ])
}

fn auth(shared: &Shared, sess: &mut Session, argv: &[Bytes]) -> Reply {
    let (user, pass) = match &argv[1..] {
        [pass] => (None, pass),
        [user, pass] => (Some(user), pass),
        _ => return syntax(),
    };
    check_password(shared, sess, user, pass)
}

fn check_password(
    shared: &Shared,
    sess: &mut Session,
    user: Option<&Bytes>,
    pass: &Bytes,
) -> Reply {
    let user_ok = user.is_none_or(|u| u.as_ref() == b"default");
    let ok = match &shared.options.requirepass {
        None if user.is_none() => {
            return err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
        }
        // Without requirepass the default user takes any password, as in Redis.
        None => user_ok,
        Some(p) => user_ok && p == pass,
    };
    if ok {
        sess.authenticated = true;
        Reply::OK
    } else {
        err("WRONGPASS invalid username-password pair or user is disabled.")
    }
}

const INVALID_NAME: &str =
    "ERR Client names cannot contain spaces, newlines or special characters.";

/// Redis accepts printable ASCII without spaces as a client name.
fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&c| c > b' ' && c <= b'~')
}

/// HELLO [protover [AUTH user pass] [SETNAME name]]
fn hello(shared: &Shared, sess: &mut Session, argv: &[Bytes]) -> Reply {
    let mut args = argv[1..].iter();
    let mut resp3 = sess.resp3;
    if let Some(v) = args.next() {
        match parse_strict_i64(v) {
            Some(2) => resp3 = false,
            Some(3) => resp3 = true,
            Some(_) => return err("NOPROTO unsupported protocol version"),
            None => return err("ERR Protocol version is not an integer or out of range"),
        }
    }
    let mut name = None;
    while let Some(opt) = args.next() {
        if eq_ignore_case(opt, "AUTH") {
            let (Some(user), Some(pass)) = (args.next(), args.next()) else {
                return syntax();
            };
            let r = check_password(shared, sess, Some(user), pass);
            if r.is_error() {
                return r;
            }
        } else if eq_ignore_case(opt, "SETNAME") {
            let Some(n) = args.next() else {
                return syntax();
            };
            if !valid_client_name(n) {
                return err(INVALID_NAME);
            }
            name = Some(n.clone());
        } else {
            return err(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(opt)
            ));
        }
    }
    if !sess.authenticated {
        return err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(n) = name {
        sess.name = n;
    }
    sess.resp3 = resp3;
    Reply::Map(vec![
        (Reply::text("server"), Reply::text("redis")),
        (Reply::text("version"), Reply::text(info::REDIS_VERSION)),
        (Reply::text("proto"), Reply::Int(if resp3 { 3 } else { 2 })),
        (Reply::text("id"), Reply::Int(sess.id as i64)),
        (Reply::text("mode"), Reply::text("standalone")),
        (Reply::text("role"), Reply::text("master")),
        (Reply::text("modules"), Reply::Array(Vec::new())),
    ])
}

fn select(argv: &[Bytes]) -> Reply {
    match parse_strict_i64(&argv[1]) {
        Some(0) => Reply::OK,
        Some(_) => err("ERR DB index is out of range"),
        None => not_integer(),
    }
}

fn client(sess: &mut Session, argv: &[Bytes]) -> Reply {
    let sub = lower(&argv[1]);
    let a = &argv[2..];
    match (sub.as_str(), a) {
        ("setname", [name]) => {
            if !valid_client_name(name) {
                return err(INVALID_NAME);
            }
            sess.name = name.clone();
            Reply::OK
        }
        ("getname", []) => {
            if sess.name.is_empty() {
                Reply::Null
            } else {
                Reply::Bulk(sess.name.clone())
            }
        }
        ("id", []) => Reply::Int(sess.id as i64),
        ("setinfo", [attr, value]) => {
            if eq_ignore_case(attr, "LIB-NAME") {
                sess.lib_name = value.clone();
            } else if eq_ignore_case(attr, "LIB-VER") {
                sess.lib_ver = value.clone();
            } else {
                return err(format!(
                    "ERR Unrecognized option '{}'",
                    String::from_utf8_lossy(attr)
                ));
            }
            Reply::OK
        }
        ("info", []) => Reply::Bulk(Bytes::from(client_line(sess) + "\n")),
        ("list", _) => Reply::Bulk(Bytes::from(client_line(sess) + "\n")),
        ("setname" | "getname" | "id" | "setinfo" | "info", _) => arity(&format!("client|{sub}")),
        _ => err(format!(
            "ERR unknown subcommand '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(&argv[1])
        )),
    }
}

/// A `CLIENT INFO` line, with the fields clients parse.
fn client_line(sess: &Session) -> String {
    format!(
        "id={} addr={} laddr={} fd=0 name={} age={} idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
        sess.id,
        sess.addr,
        sess.local,
        String::from_utf8_lossy(&sess.name),
        sess.created.elapsed().as_secs(),
        sess.multi.as_ref().map_or(-1, |(q, _)| q.len() as i64),
        String::from_utf8_lossy(&sess.last_command),
        if sess.resp3 { 3 } else { 2 },
        String::from_utf8_lossy(&sess.lib_name),
        String::from_utf8_lossy(&sess.lib_ver),
    )
}
