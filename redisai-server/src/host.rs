//! What a TorchScript script reaches through `redis.execute` and `redisAI.model_execute`: this
//! server's keyspace and models.

use std::sync::Weak;

use bytes::Bytes;
use redisai_core::backend::{RunContext, ScriptHost};
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

    /// Runs the model on the calling worker thread: no queue, no batching, no stats, as in
    /// RedisAI.
    fn model_execute(&self, key: &[u8], inputs: &[Tensor], outputs: usize) -> Result<Vec<Tensor>> {
        let shared = self
            .shared
            .upgrade()
            .ok_or_else(|| Error::backend("ERR server is shutting down"))?;
        let model = shared.db.lock().model(key)?;
        let refs: Vec<&Tensor> = inputs.iter().collect();
        let result = model.runner.run(
            &refs,
            &RunContext {
                deadline: None,
                host: Some(self),
                max_wait: None,
            },
        )?;
        if result.len() < outputs {
            return Err(Error::backend(
                "ERR Model did not generate the expected number of outputs",
            ));
        }
        Ok(result)
    }
}
