//! The commands an AOF rewrite emits, one per value, as argv. Each is built by the grammar's own
//! `to_args` (so it is the form `Command::parse` reads back), and chosen so that replaying it
//! recreates the record:
//!
//! ```text
//! tensor: AI.TENSORSET key TYPE d1..dn BLOB data
//! model:  AI.MODELSTORE key BACKEND device TAG tag BATCHSIZE b MINBATCHSIZE m MINBATCHTIMEOUT t
//!             [INPUTS n i.. OUTPUTS n o..  (TF only)] BLOB chunk1 [chunk2 ...]
//!         AI.MODELSET, for a TF model with no inputs or no outputs (see ModelRecord::store_args)
//! script: AI.SCRIPTSTORE key device TAG tag ENTRY_POINTS n eps.. SOURCE src
//!         AI.SCRIPTSET key device TAG tag SOURCE src, for a script without entry points
//! ```

use bytes::Bytes;

use crate::codec::{ModelRecord, ScriptRecord};
use crate::command::{ModelStore, ScriptStore};
use crate::model::{chunk_blob, BackendKind, Model, Script};

/// The AI.TENSORSET that recreates a tensor (the one replication sends too).
pub use crate::command::tensor_set_args;

impl ModelRecord {
    /// The command that recreates this model under `key`, its blob in `chunk_size` chunks.
    ///
    /// AI.MODELSTORE always carries TAG and the three batching options, 0 included (the parser
    /// takes `BATCHSIZE 0 MINBATCHSIZE 0 MINBATCHTIMEOUT 0`). Its counted INPUTS/OUTPUTS need a
    /// count > 0, which a TF model restored from a v0 file with no names cannot give: that model
    /// is emitted as AI.MODELSET, whose name lists have no count and may be empty (the C module
    /// emitted `INPUTS 0`, which its own parser refused on replay); being uncounted, those lists
    /// cannot hold a name spelled `OUTPUTS` or `BLOB`. For other backends the names
    /// come from the backend and are not sent.
    ///
    /// The record is taken as a store makes it: batching options a store would refuse
    /// (MINBATCHSIZE without BATCHSIZE), or a device AI.MODELSTORE refuses, cannot be replayed.
    pub fn store_args(&self, key: &Bytes, chunk_size: u64) -> Vec<Bytes> {
        let legacy =
            self.backend == BackendKind::Tf && (self.inputs.is_empty() || self.outputs.is_empty());
        ModelStore {
            key: key.clone(),
            backend: self.backend,
            device: self.device.clone(),
            tag: self.tag.clone(),
            batch: self.batch,
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
            blob: chunk_blob(&self.blob, chunk_size),
            legacy,
        }
        .to_args()
    }
}

impl ScriptRecord {
    /// The command that recreates this script under `key`: AI.SCRIPTSTORE with its entry
    /// points, or AI.SCRIPTSET when it has none (the C module emitted a SCRIPTSTORE without
    /// ENTRY_POINTS, which replay refused: such scripts were lost).
    pub fn store_args(&self, key: &Bytes) -> Vec<Bytes> {
        ScriptStore {
            key: key.clone(),
            device: self.device.clone(),
            tag: self.tag.clone(),
            entry_points: self.entry_points.clone(),
            source: self.source.clone(),
            legacy: self.entry_points.is_empty(),
        }
        .to_args()
    }
}

impl Model {
    /// [`ModelRecord::store_args`] of this model.
    pub fn store_args(&self, key: &Bytes, chunk_size: u64) -> Vec<Bytes> {
        self.record().store_args(key, chunk_size)
    }
}

impl Script {
    /// [`ScriptRecord::store_args`] of this script.
    pub fn store_args(&self, key: &Bytes) -> Vec<Bytes> {
        self.record().store_args(key)
    }
}
