//! The server's keyspace: RedisAI values (owned by the engine) beside the plain Redis types the
//! clients need (strings, hashes, lists), and their times to live. One database, like Redis's
//! DB 0.
//!
//! Expiry as Redis's: a value replaced (SET, AI.TENSORSET, a run's output, RESTORE) loses its
//! time to live, one changed in place (HSET, RPUSH) keeps it. Deadlines are also kept in
//! deadline order, so the keys due are found without a scan: the commands remove them before
//! they run (no command sees an expired key) and a timer removes them when nothing runs.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::{Hash, Hasher};

use bytes::Bytes;
use redisai_core::keyspace::{check_kind, Keyspace};
use redisai_core::{Error, Result};

/// A hash's fields in insertion order, as Redis keeps small hashes (listpacks): HGETALL,
/// HKEYS and HVALS list them in the order clients wrote them.
pub type HashFields = indexmap::IndexMap<Bytes, Bytes>;

#[derive(Clone)]
pub enum Value {
    Ai(redisai_core::Value),
    Str(Bytes),
    Hash(HashFields),
    List(VecDeque<Bytes>),
}

impl Value {
    /// What `TYPE` answers.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Ai(v) => v.type_name(),
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
        }
    }

    /// Approximate bytes held, for INFO memory.
    pub fn size(&self) -> usize {
        match self {
            Value::Ai(redisai_core::Value::Tensor(t)) => t.byte_size(),
            Value::Ai(redisai_core::Value::Model(m)) => m.blob.len(),
            Value::Ai(redisai_core::Value::Script(s)) => s.source.len(),
            Value::Str(s) => s.len(),
            Value::Hash(h) => h.iter().map(|(k, v)| k.len() + v.len()).sum(),
            Value::List(l) => l.iter().map(Bytes::len).sum(),
        }
    }
}

#[derive(Default)]
pub struct Db {
    map: HashMap<Bytes, Value>,
    /// Unix milliseconds at which a key expires, for the keys that have a time to live.
    expires: HashMap<Bytes, i64>,
    /// The same, ordered by deadline.
    deadlines: BTreeSet<(i64, Bytes)>,
}

/// A key's position in SCAN order: a fixed 63-bit hash, so a cursor stays valid across calls
/// while keys come and go (every key present for the whole scan is returned exactly once).
pub fn scan_hash(key: &[u8]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    key.hash(&mut h);
    h.finish() >> 1
}

impl Db {
    pub fn get(&self, key: &[u8]) -> Option<&Value> {
        self.map.get(key)
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.map.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Value)> {
        self.map.iter()
    }

    /// Stores `value` under `key`, replacing what was there and its time to live.
    pub fn insert(&mut self, key: Bytes, value: Value) {
        self.persist(&key);
        self.map.insert(key, value);
    }

    /// Stores `value` under `key`, keeping the time to live of what was there (SET KEEPTTL).
    pub fn insert_keep_ttl(&mut self, key: Bytes, value: Value) {
        self.map.insert(key, value);
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        let value = self.map.remove(key)?;
        self.persist(key);
        Some(value)
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.expires.clear();
        self.deadlines.clear();
    }

    /// When `key` expires (Unix milliseconds), if it exists and has a time to live.
    pub fn expiry(&self, key: &[u8]) -> Option<i64> {
        self.expires.get(key).copied()
    }

    /// Gives an existing `key` a deadline (Unix milliseconds); `false` if there is no such key.
    pub fn set_expiry(&mut self, key: &[u8], at_ms: i64) -> bool {
        let Some((key, _)) = self.map.get_key_value(key) else {
            return false;
        };
        let key = key.clone();
        if let Some(old) = self.expires.insert(key.clone(), at_ms) {
            self.deadlines.remove(&(old, key.clone()));
        }
        self.deadlines.insert((at_ms, key));
        true
    }

    /// Removes `key`'s time to live; `true` if it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        match self.expires.remove_entry(key) {
            Some((key, at)) => {
                self.deadlines.remove(&(at, key));
                true
            }
            None => false,
        }
    }

    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    /// The mean time to live left of the keys that have one, in milliseconds (INFO keyspace).
    pub fn mean_ttl_ms(&self, now_ms: i64) -> i64 {
        if self.expires.is_empty() {
            return 0;
        }
        let sum: i128 = self
            .expires
            .values()
            .map(|&at| i128::from((at - now_ms).max(0)))
            .sum();
        (sum / self.expires.len() as i128) as i64
    }

    /// Removes the keys whose deadline has passed at `now_ms` (as Redis: a key expires once
    /// the clock is past its deadline) and returns them.
    pub fn remove_expired(&mut self, now_ms: i64) -> Vec<Bytes> {
        let mut gone = Vec::new();
        while let Some((at, _)) = self.deadlines.first() {
            if *at >= now_ms {
                break;
            }
            let Some((_, key)) = self.deadlines.pop_first() else {
                break;
            };
            self.expires.remove(&key);
            self.map.remove(&key);
            gone.push(key);
        }
        gone
    }

    /// Whether some key has a deadline: only then is the clock read before a command.
    pub fn has_expiring_keys(&self) -> bool {
        !self.deadlines.is_empty()
    }

    pub fn get_str(&self, key: &[u8]) -> Result<Option<&Bytes>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s)),
            Some(_) => Err(Error::WrongType),
        }
    }

    /// The hash under `key`, created if missing when `create`.
    pub fn hash_mut(&mut self, key: &Bytes, create: bool) -> Result<Option<&mut HashFields>> {
        if create && !self.map.contains_key(key) {
            self.map.insert(key.clone(), Value::Hash(HashFields::new()));
        }
        match self.map.get_mut(key) {
            None => Ok(None),
            Some(Value::Hash(h)) => Ok(Some(h)),
            Some(_) => Err(Error::WrongType),
        }
    }

    pub fn list_mut(&mut self, key: &Bytes, create: bool) -> Result<Option<&mut VecDeque<Bytes>>> {
        if create && !self.map.contains_key(key) {
            self.map.insert(key.clone(), Value::List(VecDeque::new()));
        }
        match self.map.get_mut(key) {
            None => Ok(None),
            Some(Value::List(l)) => Ok(Some(l)),
            Some(_) => Err(Error::WrongType),
        }
    }

    /// Drops a hash or list left empty (Redis never keeps empty aggregates).
    pub fn drop_if_empty(&mut self, key: &[u8]) {
        let empty = match self.map.get(key) {
            Some(Value::Hash(h)) => h.is_empty(),
            Some(Value::List(l)) => l.is_empty(),
            _ => false,
        };
        if empty {
            self.remove(key);
        }
    }

    pub fn used_bytes(&self) -> usize {
        self.map.iter().map(|(k, v)| k.len() + v.size()).sum()
    }
}

impl Keyspace for Db {
    fn get(&self, key: &[u8]) -> Result<Option<redisai_core::Value>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Ai(v)) => Ok(Some(v.clone())),
            Some(_) => Err(Error::WrongType),
        }
    }

    fn set(&mut self, key: Bytes, value: redisai_core::Value) -> Result<()> {
        // One lookup: every run that stores an output comes here.
        match self.map.entry(key) {
            Entry::Occupied(mut e) => {
                match e.get() {
                    Value::Ai(old) => check_kind(Some(old), &value)?,
                    _ => return Err(Error::WrongType),
                }
                e.insert(Value::Ai(value));
                // A replaced value loses its time to live, as RedisModule_ModuleTypeSetValue's.
                if !self.expires.is_empty() {
                    let key = e.key().clone();
                    self.persist(&key);
                }
            }
            Entry::Vacant(e) => {
                e.insert(Value::Ai(value));
            }
        }
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> bool {
        self.remove(key).is_some()
    }
}
