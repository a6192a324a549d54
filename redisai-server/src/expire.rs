//! Key expiry commands, as Redis 7.0 answers them: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with
//! NX/XX/GT/LT), TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST, and the expiry options of SET,
//! SETEX and PSETEX. Deadlines reach the append-only file as absolute times (PEXPIREAT,
//! SET ... PXAT), so a replay gives keys the deadlines they had.

use bytes::Bytes;
use redisai_core::args::{eq_ignore_case, parse_strict_i64};
use redisai_core::Reply;

use crate::commands::{err, not_integer, syntax, Logged};
use crate::db::Db;

pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub fn invalid_expire_time(command: &str) -> Reply {
    err(format!("ERR invalid expire time in '{command}' command"))
}

/// A time to live given as a number of `unit_ms` milliseconds, relative to `base_ms` (0 for
/// an absolute time), as a deadline; `None` on overflow.
pub fn deadline(amount: i64, unit_ms: i64, base_ms: i64) -> Option<i64> {
    amount.checked_mul(unit_ms)?.checked_add(base_ms)
}

#[derive(Default, Clone, Copy)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_conditions(opts: &[Bytes]) -> Result<Conditions, Reply> {
    let mut c = Conditions::default();
    for opt in opts {
        if eq_ignore_case(opt, "NX") {
            c.nx = true;
        } else if eq_ignore_case(opt, "XX") {
            c.xx = true;
        } else if eq_ignore_case(opt, "GT") {
            c.gt = true;
        } else if eq_ignore_case(opt, "LT") {
            c.lt = true;
        } else {
            return Err(err(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    if c.nx && (c.xx || c.gt || c.lt) {
        return Err(err(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if c.gt && c.lt {
        return Err(err(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(c)
}

/// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key time [NX | XX | GT | LT]. `name` is the
/// command's lower-case name.
pub fn expire(db: &mut Db, name: &str, a: &[Bytes], now_ms: i64, logged: &mut Logged) -> Reply {
    let key = &a[0];
    let conditions = match parse_conditions(&a[2..]) {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    let Some(amount) = parse_strict_i64(&a[1]) else {
        return not_integer();
    };
    let (unit_ms, base_ms) = match name {
        "expire" => (1000, now_ms),
        "pexpire" => (1, now_ms),
        "expireat" => (1000, 0),
        _ => (1, 0),
    };
    let Some(at) = deadline(amount, unit_ms, base_ms) else {
        return invalid_expire_time(name);
    };
    // Nothing changes from here on unless the reply is 1.
    *logged = Logged::Commands(Vec::new());
    if !db.contains(key) {
        return Reply::Int(0);
    }
    let current = db.expiry(key);
    let refused = (conditions.nx && current.is_some())
        || (conditions.xx && current.is_none())
        || (conditions.gt && current.is_none_or(|c| at <= c))
        || (conditions.lt && current.is_some_and(|c| at >= c));
    if refused {
        return Reply::Int(0);
    }
    if at <= now_ms {
        db.remove(key);
        *logged = Logged::Commands(vec![vec![Bytes::from_static(b"DEL"), key.clone()]]);
    } else {
        db.set_expiry(key, at);
        *logged = Logged::Commands(vec![pexpireat(key, at)]);
    }
    Reply::Int(1)
}

/// The log's form of a deadline.
pub fn pexpireat(key: &Bytes, at_ms: i64) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"PEXPIREAT"),
        key.clone(),
        Bytes::from(at_ms.to_string()),
    ]
}

/// TTL / PTTL / EXPIRETIME / PEXPIRETIME key: -2 for no key, -1 for no time to live.
pub fn ttl(db: &Db, name: &str, key: &[u8], now_ms: i64) -> Reply {
    if !db.contains(key) {
        return Reply::Int(-2);
    }
    let Some(at) = db.expiry(key) else {
        return Reply::Int(-1);
    };
    let left = (at - now_ms).max(0);
    Reply::Int(match name {
        "ttl" => (left + 500) / 1000,
        "pttl" => left,
        "expiretime" => at / 1000,
        _ => at,
    })
}

/// PERSIST key: 1 if a time to live was removed.
pub fn persist(db: &mut Db, key: &[u8], logged: &mut Logged) -> Reply {
    let removed = db.contains(key) && db.persist(key);
    if !removed {
        *logged = Logged::Commands(Vec::new());
    }
    Reply::Int(removed as i64)
}

/// What SET's options ask of the key's time to live.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SetTtl {
    /// No option: a replaced value loses its time to live.
    Clear,
    Keep,
    /// A deadline, Unix milliseconds.
    At(i64),
}

/// The expiry option of SET at `opts[*i]` (EX s, PX ms, EXAT s, PXAT ms, KEEPTTL), advancing
/// `i` past its argument: `Ok(false)` if `opts[*i]` is not one, an error reply when it is one
/// but its time is bad or an expiry option came already (`ttl` is no longer `Clear`).
pub fn parse_set_option(
    opts: &[Bytes],
    i: &mut usize,
    ttl: &mut SetTtl,
    now_ms: i64,
) -> Result<bool, Reply> {
    let opt = &opts[*i];
    let keep = eq_ignore_case(opt, "KEEPTTL");
    let (unit_ms, base_ms) = if keep || eq_ignore_case(opt, "PXAT") {
        (1, 0)
    } else if eq_ignore_case(opt, "EX") {
        (1000, now_ms)
    } else if eq_ignore_case(opt, "PX") {
        (1, now_ms)
    } else if eq_ignore_case(opt, "EXAT") {
        (1000, 0)
    } else {
        return Ok(false);
    };
    if *ttl != SetTtl::Clear {
        return Err(syntax());
    }
    if keep {
        *ttl = SetTtl::Keep;
        return Ok(true);
    }
    if *i + 1 >= opts.len() {
        return Err(syntax());
    }
    *i += 1;
    let Some(amount) = parse_strict_i64(&opts[*i]) else {
        return Err(not_integer());
    };
    if amount <= 0 {
        return Err(invalid_expire_time("set"));
    }
    let Some(at) = deadline(amount, unit_ms, base_ms) else {
        return Err(invalid_expire_time("set"));
    };
    *ttl = SetTtl::At(at);
    Ok(true)
}

/// SETEX key seconds value / PSETEX key milliseconds value: the deadline, or the error reply.
pub fn setex_deadline(name: &str, amount: &[u8], now_ms: i64) -> Result<i64, Reply> {
    let Some(amount) = parse_strict_i64(amount) else {
        return Err(not_integer());
    };
    let unit_ms = if name == "setex" { 1000 } else { 1 };
    if amount <= 0 {
        return Err(invalid_expire_time(name));
    }
    deadline(amount, unit_ms, now_ms).ok_or_else(|| invalid_expire_time(name))
}

/// SET's form in the log when it set a deadline: `SET key value PXAT ms`, as Redis 7.0
/// propagates it.
pub fn set_pxat(key: &Bytes, value: &Bytes, at_ms: i64) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"SET"),
        key.clone(),
        value.clone(),
        Bytes::from_static(b"PXAT"),
        Bytes::from(at_ms.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Value;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn args(list: &[&str]) -> Vec<Bytes> {
        list.iter().map(|s| b(s)).collect()
    }

    fn db_with(key: &str) -> Db {
        let mut db = Db::default();
        db.insert(b(key), Value::Str(b("v")));
        db
    }

    #[test]
    fn conditions_follow_redis() {
        let now = 1_000_000;
        let mut db = db_with("k");
        let mut logged = Logged::Argv;
        // (ms, condition, reply, deadline after): XX and GT on a key without a deadline do
        // nothing, NX sets one; then LT refuses a later deadline, GT an earlier one.
        let steps = [
            ("500", "XX", 0, None),
            ("500", "GT", 0, None),
            ("500", "NX", 1, Some(now + 500)),
            ("900", "LT", 0, Some(now + 500)),
            ("100", "GT", 0, Some(now + 500)),
            ("100", "LT", 1, Some(now + 100)),
        ];
        for (ms, condition, reply, after) in steps {
            let a = args(&["k", ms, condition]);
            let r = expire(&mut db, "pexpire", &a, now, &mut logged);
            assert_eq!(r, Reply::Int(reply), "{ms} {condition}");
            assert_eq!(db.expiry(b"k"), after, "{ms} {condition}");
        }
        let Logged::Commands(c) = &logged else {
            panic!("an expiry is logged as PEXPIREAT")
        };
        assert_eq!(c[0], args(&["PEXPIREAT", "k", "1000100"]));
    }

    #[test]
    fn bad_options_and_times() {
        let mut db = db_with("k");
        let mut logged = Logged::Argv;
        let text = |r: Reply| match r {
            Reply::Error(e) => e,
            other => panic!("{other:?}"),
        };
        let a = args(&["k", "1", "NX", "XX"]);
        assert!(text(expire(&mut db, "expire", &a, 0, &mut logged)).starts_with("ERR NX and XX"));
        let a = args(&["k", "1", "GT", "LT"]);
        assert!(text(expire(&mut db, "expire", &a, 0, &mut logged)).starts_with("ERR GT and LT"));
        let a = args(&["k", "1", "SOON"]);
        assert_eq!(
            text(expire(&mut db, "expire", &a, 0, &mut logged)),
            "ERR Unsupported option SOON"
        );
        let a = args(&["k", &i64::MAX.to_string()]);
        assert_eq!(
            text(expire(&mut db, "expire", &a, 0, &mut logged)),
            "ERR invalid expire time in 'expire' command"
        );
        assert_eq!(db.expiry(b"k"), None);
    }

    #[test]
    fn a_past_deadline_deletes_and_logs_del() {
        let mut db = db_with("k");
        let mut logged = Logged::Argv;
        let r = expire(&mut db, "expire", &args(&["k", "-1"]), 5000, &mut logged);
        assert_eq!(r, Reply::Int(1));
        assert!(!db.contains(b"k"));
        let Logged::Commands(c) = &logged else {
            panic!()
        };
        assert_eq!(c[0], args(&["DEL", "k"]));
    }

    #[test]
    fn ttl_replies() {
        let mut db = db_with("k");
        assert_eq!(ttl(&db, "ttl", b"none", 0), Reply::Int(-2));
        assert_eq!(ttl(&db, "ttl", b"k", 0), Reply::Int(-1));
        db.set_expiry(b"k", 10_400);
        assert_eq!(ttl(&db, "ttl", b"k", 0), Reply::Int(10));
        assert_eq!(ttl(&db, "pttl", b"k", 0), Reply::Int(10_400));
        assert_eq!(ttl(&db, "expiretime", b"k", 0), Reply::Int(10));
        assert_eq!(ttl(&db, "pexpiretime", b"k", 0), Reply::Int(10_400));
    }

    #[test]
    fn expired_keys_leave_in_deadline_order_and_replacing_clears_the_deadline() {
        let mut db = Db::default();
        for (k, at) in [("a", 30), ("b", 10), ("c", 20)] {
            db.insert(b(k), Value::Str(b("v")));
            db.set_expiry(k.as_bytes(), at);
        }
        assert_eq!(db.remove_expired(10), Vec::<Bytes>::new());
        assert_eq!(db.remove_expired(25), vec![b("b"), b("c")]);
        assert!(db.contains(b"a") && !db.contains(b"b"));
        db.insert(b("a"), Value::Str(b("w")));
        assert_eq!(db.expiry(b"a"), None);
        assert_eq!(db.remove_expired(100), Vec::<Bytes>::new());
        assert!(!db.has_expiring_keys());
    }
}
