//! What a TorchScript script reaches through `redis.execute` and `redisAI.model_execute`: this
//! server's keyspace and models.

use std::sync::Weak;

use bytes::Bytes;
use redisai_core::backend::ScriptHost;
use redisai_core::{Error, Keyspace, Reply, Result, Tensor};

use crate::commands::run_from_script;
use crate::server::Shared;

pub struct Host {
    pub shared: Weak<Shared>,
}

impl ScriptHost for Host {
    fn execute(&self, argv: &[Bytes]) -> Reply {
        match self.shared.upgrade() {
            Some(shared) => run_from_script(&shared, argv),
            None => Reply::Error("ERR server is shutting down".into()),
        }
    }

    /// Looks the model up under the keyspace lock; it runs after the lock is released.
    fn model_execute(&self, key: &[u8], inputs: &[Tensor], outputs: usize) -> Result<Vec<Tensor>> {
        let shared = self
            .shared
            .upgrade()
            .ok_or_else(|| Error::backend("ERR server is shutting down"))?;
        let model = crate::commands::keyspace(&shared).model(key)?;
        model.execute_from_script(inputs, outputs, self)
    }
}
