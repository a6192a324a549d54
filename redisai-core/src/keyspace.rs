//! The keyspace as the engine sees it. The module implements [`Keyspace`] over Redis keys, the
//! server over its own database, a Rust program uses [`MemoryKeyspace`].

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::model::{Model, Script};
use crate::tensor::Tensor;

/// A value the engine owns. Shared by `Arc`: a running request keeps what it read alive even if
/// the key is deleted meanwhile.
#[derive(Debug, Clone)]
pub enum Value {
    Tensor(Arc<Tensor>),
    Model(Arc<Model>),
    Script(Arc<Script>),
}

impl PartialEq for Value {
    /// Tensors compare by content, models and scripts by identity.
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Tensor(a), Value::Tensor(b)) => a == b,
            (Value::Model(a), Value::Model(b)) => Arc::ptr_eq(a, b),
            (Value::Script(a), Value::Script(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Value {
    /// The Redis module type name (`TYPE key`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Tensor(_) => "AI_TENSOR",
            Value::Model(_) => "AI__MODEL",
            Value::Script(_) => "AI_SCRIPT",
        }
    }

    fn same_kind(&self, other: &Value) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// Where the engine reads and writes its values.
pub trait Keyspace {
    /// `Ok(None)` for a missing key, `Err(WrongType)` for a key holding something the engine does
    /// not own (a Redis string, a hash...).
    fn get(&self, key: &[u8]) -> Result<Option<Value>>;

    /// Stores `value` under `key`, replacing a value of the same kind. A key holding another kind
    /// of value is left alone and `WRONGTYPE` is returned.
    fn set(&mut self, key: Bytes, value: Value) -> Result<()>;

    /// Removes the key; whether it existed.
    fn delete(&mut self, key: &[u8]) -> bool;

    /// The tensor under `key`: `ERR tensor key is empty or in a different shard` if missing.
    fn tensor(&self, key: &[u8]) -> Result<Arc<Tensor>> {
        match self.get(key)? {
            Some(Value::Tensor(t)) => Ok(t),
            Some(_) => Err(Error::WrongType),
            None => Err(Error::TensorKeyEmpty),
        }
    }

    /// The model under `key`: `ERR model key is empty` if missing.
    fn model(&self, key: &[u8]) -> Result<Arc<Model>> {
        match self.get(key)? {
            Some(Value::Model(m)) => Ok(m),
            Some(_) => Err(Error::WrongType),
            None => Err(Error::ModelKeyEmpty),
        }
    }

    /// The script under `key`: `ERR script key is empty` if missing.
    fn script(&self, key: &[u8]) -> Result<Arc<Script>> {
        match self.get(key)? {
            Some(Value::Script(s)) => Ok(s),
            Some(_) => Err(Error::WrongType),
            None => Err(Error::ScriptKeyEmpty),
        }
    }
}

/// A keyspace in memory, for Rust programs that use the engine without any server.
#[derive(Debug, Default)]
pub struct MemoryKeyspace {
    map: HashMap<Bytes, Value>,
}

impl MemoryKeyspace {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn keys(&self) -> impl Iterator<Item = &Bytes> {
        self.map.keys()
    }
}

/// The check every keyspace makes before a store: same kind or absent.
pub fn check_kind(existing: Option<&Value>, new: &Value) -> Result<()> {
    match existing {
        Some(old) if !old.same_kind(new) => Err(Error::WrongType),
        _ => Ok(()),
    }
}

impl Keyspace for MemoryKeyspace {
    fn get(&self, key: &[u8]) -> Result<Option<Value>> {
        Ok(self.map.get(key).cloned())
    }

    fn set(&mut self, key: Bytes, value: Value) -> Result<()> {
        check_kind(self.map.get(&key), &value)?;
        self.map.insert(key, value);
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> bool {
        self.map.remove(key).is_some()
    }
}
