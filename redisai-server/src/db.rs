//! The server's keyspace: RedisAI values (owned by the engine) beside the plain Redis types the
//! clients need (strings, hashes, lists). One database, like Redis's DB 0.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

use bytes::Bytes;
use redisai_core::keyspace::{check_kind, Keyspace};
use redisai_core::{Error, Result};

#[derive(Clone)]
pub enum Value {
    Ai(redisai_core::Value),
    Str(Bytes),
    Hash(HashMap<Bytes, Bytes>),
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
    pub map: HashMap<Bytes, Value>,
}

/// A key's position in SCAN order: a fixed 63-bit hash, so a cursor stays valid across calls
/// while keys come and go (every key present for the whole scan is returned exactly once).
pub fn scan_hash(key: &[u8]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    key.hash(&mut h);
    h.finish() >> 1
}

impl Db {
    pub fn get_str(&self, key: &[u8]) -> Result<Option<&Bytes>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s)),
            Some(_) => Err(Error::WrongType),
        }
    }

    /// The hash under `key`, created if missing when `create`.
    pub fn hash_mut(
        &mut self,
        key: &Bytes,
        create: bool,
    ) -> Result<Option<&mut HashMap<Bytes, Bytes>>> {
        if create && !self.map.contains_key(key) {
            self.map.insert(key.clone(), Value::Hash(HashMap::new()));
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
            self.map.remove(key);
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
            }
            Entry::Vacant(e) => {
                e.insert(Value::Ai(value));
            }
        }
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> bool {
        self.map.remove(key).is_some()
    }
}
