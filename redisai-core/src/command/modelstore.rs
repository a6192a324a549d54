//! AI.MODELSTORE
//!
//! ```text
//! AI.MODELSTORE key backend device [TAG tag]
//!     [BATCHSIZE n [MINBATCHSIZE m [MINBATCHTIMEOUT t]]]
//!     [INPUTS n i1..in OUTPUTS n o1..on]     (TF only)
//!     BLOB b1 [b2 ...]                       (chunks are concatenated)
//! ```

use bytes::Bytes;

use super::ArgsBuilder;
use crate::args::{parse_lenient_u64, Args};
use crate::device::is_valid_store_device;
use crate::error::{Error, Result};
use crate::model::{BackendKind, BatchOptions};

/// A model to store, from AI.MODELSTORE or the deprecated AI.MODELSET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelStore {
    pub key: Bytes,
    pub backend: BackendKind,
    /// As typed by the user.
    pub device: String,
    pub tag: Bytes,
    pub batch: BatchOptions,
    /// TF only: the graph's input and output node names.
    pub inputs: Vec<Bytes>,
    pub outputs: Vec<Bytes>,
    /// The model blob in the chunks it arrived in.
    pub blob: Vec<Bytes>,
    /// Parsed from AI.MODELSET.
    pub legacy: bool,
}

impl ModelStore {
    pub fn parse(args: &mut Args) -> Result<ModelStore> {
        if args.argc() < 6 {
            return Err(Error::WrongArity(args.name()));
        }
        let key = args.next_bytes().unwrap_or_default();
        let backend = args
            .next()
            .and_then(|b| BackendKind::parse(b))
            .ok_or(Error::UnsupportedBackend)?;
        let device = args.next().cloned().unwrap_or_default();
        if !is_valid_store_device(&device) {
            return Err(Error::InvalidDevice);
        }
        let tag = if args.eat("TAG") {
            args.next_bytes().ok_or(Error::MissingModelBlob)?
        } else {
            Bytes::new()
        };
        let mut batch = BatchOptions::default();
        let count =
            |args: &mut Args, err: Error| args.next().and_then(|v| parse_lenient_u64(v)).ok_or(err);
        if args.eat("BATCHSIZE") {
            batch.size = count(args, Error::InvalidBatchSize)?;
        }
        if args.eat("MINBATCHSIZE") {
            batch.min_size = count(args, Error::InvalidMinBatchSize)?;
            if batch.size == 0 && batch.min_size > 0 {
                return Err(Error::MinBatchSizeWithoutBatchSize);
            }
        }
        if args.eat("MINBATCHTIMEOUT") {
            batch.min_timeout = count(args, Error::InvalidMinBatchTimeout)?;
            if batch.min_size == 0 && batch.min_timeout > 0 {
                return Err(Error::MinBatchTimeoutWithoutMinBatchSize);
            }
        }
        if args.is_empty() {
            return Err(Error::MissingModelBlob);
        }
        let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
        if backend == BackendKind::Tf {
            if !args.eat("INPUTS") {
                return Err(Error::TfInputsNotSpecified);
            }
            inputs = names(args, Error::InvalidInputCount, Error::ModelInputsArgs)?;
            if !args.eat("OUTPUTS") {
                return Err(Error::TfOutputsNotSpecified);
            }
            outputs = names(args, Error::InvalidOutputCount, Error::ModelOutputsArgs)?;
        } else if args.peek_is("INPUTS") {
            return Err(Error::InputsForNonTf);
        }
        match args.next() {
            // [Q] after TF's OUTPUTS names the C module compares a token it did not read.
            None if backend == BackendKind::Tf => return Err(Error::ExpectedBlob),
            None => return Err(Error::MissingModelBlob),
            Some(a) if !crate::args::eq_ignore_case(a, "BLOB") => return Err(Error::ExpectedBlob),
            Some(_) => {}
        }
        let blob = args.rest().to_vec();
        if blob.is_empty() {
            return Err(Error::MissingModelBlob);
        }
        Ok(ModelStore {
            key,
            backend,
            device: String::from_utf8_lossy(&device).into_owned(),
            tag,
            batch,
            inputs,
            outputs,
            blob,
            legacy: false,
        })
    }

    /// The command that recreates this model. AI.MODELSTORE always carries TAG and the three
    /// batching options (the AOF form); AI.MODELSET only what was set.
    pub fn to_args(&self) -> Vec<Bytes> {
        if self.legacy {
            return self.to_modelset_args();
        }
        let mut b = ArgsBuilder::new("AI.MODELSTORE");
        b.bytes(&self.key)
            .str(self.backend.name())
            .str(&self.device)
            .str("TAG")
            .bytes(&self.tag)
            .str("BATCHSIZE")
            .num(self.batch.size)
            .str("MINBATCHSIZE")
            .num(self.batch.min_size)
            .str("MINBATCHTIMEOUT")
            .num(self.batch.min_timeout);
        if self.backend == BackendKind::Tf {
            b.str("INPUTS").num(self.inputs.len()).all(&self.inputs);
            b.str("OUTPUTS").num(self.outputs.len()).all(&self.outputs);
        }
        b.str("BLOB").all(&self.blob);
        b.build()
    }

    fn to_modelset_args(&self) -> Vec<Bytes> {
        let mut b = ArgsBuilder::new("AI.MODELSET");
        b.bytes(&self.key)
            .str(self.backend.name())
            .str(&self.device)
            .str("TAG")
            .bytes(&self.tag);
        if self.batch.size > 0 {
            b.str("BATCHSIZE").num(self.batch.size);
        }
        if self.batch.min_size > 0 {
            b.str("MINBATCHSIZE").num(self.batch.min_size);
        }
        if self.batch.min_timeout > 0 {
            b.str("MINBATCHTIMEOUT").num(self.batch.min_timeout);
        }
        if self.backend == BackendKind::Tf {
            b.str("INPUTS").all(&self.inputs);
            b.str("OUTPUTS").all(&self.outputs);
        }
        b.str("BLOB").all(&self.blob);
        b.build()
    }

    /// The whole blob, the chunks joined.
    pub fn blob_bytes(&self) -> Bytes {
        match self.blob.as_slice() {
            [one] => one.clone(),
            chunks => Bytes::from(chunks.concat()),
        }
    }
}

/// `n name1..namen` with a positive count.
fn names(args: &mut Args, bad_count: Error, too_few: Error) -> Result<Vec<Bytes>> {
    let n = args
        .next()
        .and_then(|v| parse_lenient_u64(v))
        .filter(|&n| n > 0)
        .ok_or(bad_count)?;
    let n = usize::try_from(n).map_err(|_| too_few.clone())?;
    Ok(args.take(n).ok_or(too_few)?.to_vec())
}
