//! AI.MODELSET (deprecated)
//!
//! ```text
//! AI.MODELSET key backend device [TAG tag] [BATCHSIZE n [MINBATCHSIZE m [MINBATCHTIMEOUT t]]]
//!     [INPUTS i1 .. OUTPUTS o1 ..]     (TF only, no counts)
//!     BLOB b1 [b2 ...]
//! ```
//! Parsed into the same [`ModelStore`] as AI.MODELSTORE, marked `legacy`.

use bytes::Bytes;

use super::ModelStore;
use crate::args::{eq_ignore_case, parse_lenient_u64, Args};
use crate::error::{Error, Result};
use crate::model::{BackendKind, BatchOptions};

/// Words that cannot be a MODELSET device (the C module's check).
const KEYWORDS: [&str; 7] = [
    "INPUTS",
    "OUTPUTS",
    "TAG",
    "BATCHSIZE",
    "MINBATCHSIZE",
    "MINBATCHTIMEOUT",
    "BLOB",
];

pub fn parse(args: &mut Args) -> Result<ModelStore> {
    if args.argc() < 4 {
        return Err(Error::WrongArity(args.name()));
    }
    let key = args.next_bytes().unwrap_or_default();
    let backend = args
        .next()
        .and_then(|b| BackendKind::parse(b))
        .ok_or(Error::UnsupportedBackend)?;
    // Any text of at most 10 bytes but a keyword. Unlike the C module, bytes that are not UTF-8
    // are refused: the device is kept as text, and a lossy copy could not be stored back.
    let device = match std::str::from_utf8(args.next().map_or(&[][..], |d| d)) {
        Ok(d) if d.len() <= 10 && !KEYWORDS.iter().any(|k| d.eq_ignore_ascii_case(k)) => {
            d.to_owned()
        }
        _ => return Err(Error::InvalidDevice),
    };
    let tag = if args.eat("TAG") {
        args.next_bytes().ok_or(Error::MissingModelBlob)?
    } else {
        Bytes::new()
    };
    let mut batch = BatchOptions::default();
    let count =
        |args: &mut Args, err: Error| args.next().and_then(|v| parse_lenient_u64(v)).ok_or(err);
    if args.eat("BATCHSIZE") {
        if backend == BackendKind::Tflite {
            return Err(Error::TfliteBatching);
        }
        batch.size = count(args, Error::InvalidBatchSize)?;
    }
    if args.eat("MINBATCHSIZE") {
        if batch.size == 0 {
            return Err(Error::MinBatchSizeWithoutBatchSize);
        }
        batch.min_size = count(args, Error::InvalidMinBatchSize)?;
    }
    if args.eat("MINBATCHTIMEOUT") {
        if batch.size == 0 {
            return Err(Error::MinBatchTimeoutWithoutBatchSize);
        }
        if batch.min_size == 0 {
            return Err(Error::MinBatchTimeoutWithoutMinBatchSize);
        }
        batch.min_timeout = count(args, Error::InvalidMinBatchTimeout)?;
    }
    if args.is_empty() {
        return Err(Error::MissingModelBlob);
    }
    let rest = args.rest();
    let blob_at = rest
        .iter()
        .position(|a| eq_ignore_case(a, "BLOB"))
        .unwrap_or(rest.len());
    let (options, blob) = rest.split_at(blob_at);
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    if backend == BackendKind::Tf {
        let Some((first, names)) = options.split_first() else {
            return Err(Error::InputsOutputsNotSpecified);
        };
        if !eq_ignore_case(first, "INPUTS") {
            return Err(Error::InputsNotSpecified);
        }
        let out_at = names
            .iter()
            .position(|a| eq_ignore_case(a, "OUTPUTS"))
            .ok_or(Error::OutputsNotSpecified)?;
        inputs = names[..out_at].to_vec();
        outputs = names[out_at + 1..].to_vec();
    }
    let blob = match blob.split_first() {
        Some((_, chunks)) if !chunks.is_empty() => chunks.to_vec(),
        _ => return Err(Error::MissingModelBlob),
    };
    Ok(ModelStore {
        key,
        backend,
        device,
        tag,
        batch,
        inputs,
        outputs,
        blob,
        legacy: true,
    })
}
