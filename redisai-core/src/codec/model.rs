//! The `AI__MODEL` payload, as a [`ModelRecord`]: what a model is made of without its backend.
//! Loading gives a record; re-creating the runnable model from it is the face's business
//! (through the backend, as a store does).
//!
//! ```text
//! v1-v4: u backend, cstr device, rstr tag, u batchsize, u minbatchsize,
//!        [v2+] u minbatchtimeout, u ninputs, cstr input[i], u noutputs, cstr output[i],
//!        u blob_len, u n_chunks, buffer chunk[j]
//! v0:    u backend, cstr device, cstr tag (last byte dropped), u batchsize, u minbatchsize,
//!        u ninputs, cstr input[i], u noutputs, cstr output[i], buffer blob
//! ```
//! v4 is written (the v3 layout). "cstr" is saved with its trailing NUL, "rstr" without.

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::{
    check_encver, rdb_error, read_count, read_cstr, read_cstr_list, read_v0_tag, write_cstr,
    write_cstr_list, RdbRead, RdbWrite, MAX_PREALLOC,
};
use crate::error::Result;
use crate::model::{chunk_blob, BackendKind, BatchOptions, Model};

/// A model as RDB and AOF carry it: every field a store sets, the blob byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRecord {
    pub backend: BackendKind,
    pub device: String,
    pub tag: Bytes,
    pub batch: BatchOptions,
    pub inputs: Vec<Bytes>,
    pub outputs: Vec<Bytes>,
    pub blob: Bytes,
}

impl Model {
    /// This model's record (the `Bytes` are shared, not copied).
    pub fn record(&self) -> ModelRecord {
        ModelRecord {
            backend: self.backend,
            device: self.device.clone(),
            tag: self.tag.clone(),
            batch: self.batch,
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
            blob: self.blob.clone(),
        }
    }
}

/// Writes `rec` in the current encoding (v4), the blob cut in chunks of `chunk_size` bytes as
/// AI.MODELGET cuts it (the saver's MODEL_CHUNK_SIZE; a loader joins whatever it finds).
pub fn save_model(rec: &ModelRecord, chunk_size: u64, w: &mut dyn RdbWrite) {
    w.write_unsigned(rec.backend as u64);
    write_cstr(w, rec.device.as_bytes());
    w.write_buffer(&rec.tag);
    w.write_unsigned(rec.batch.size);
    w.write_unsigned(rec.batch.min_size);
    w.write_unsigned(rec.batch.min_timeout);
    write_cstr_list(w, &rec.inputs);
    write_cstr_list(w, &rec.outputs);
    w.write_unsigned(rec.blob.len() as u64);
    let chunks = chunk_blob(&rec.blob, chunk_size);
    w.write_unsigned(chunks.len() as u64);
    for c in &chunks {
        w.write_buffer(c);
    }
}

/// Reads a model saved with encoding version `encver` (0..=4).
pub fn load_model(r: &mut dyn RdbRead, encver: i32) -> Result<ModelRecord> {
    check_encver("model", encver)?;
    let code = r.read_unsigned()?;
    let backend = BackendKind::ALL
        .into_iter()
        .find(|&b| b as u64 == code)
        .ok_or_else(|| rdb_error(format!("unknown model backend {code}")))?;
    let device = String::from_utf8_lossy(&read_cstr(r)?).into_owned();
    let tag = if encver == 0 {
        read_v0_tag(r)?
    } else {
        r.read_buffer()?
    };
    let size = r.read_unsigned()?;
    let min_size = r.read_unsigned()?;
    let min_timeout = if encver >= 2 { r.read_unsigned()? } else { 0 };
    let inputs = read_cstr_list(r, "model input count")?;
    let outputs = read_cstr_list(r, "model output count")?;
    let blob = if encver == 0 {
        r.read_buffer()?
    } else {
        read_chunks(r)?
    };
    Ok(ModelRecord {
        backend,
        device,
        tag,
        batch: BatchOptions {
            size,
            min_size,
            min_timeout,
        },
        inputs,
        outputs,
        blob,
    })
}

/// `u blob_len, u n_chunks, buffer chunk[j]`, joined; the chunks must add up to `blob_len`.
fn read_chunks(r: &mut dyn RdbRead) -> Result<Bytes> {
    let blob_len = r.read_unsigned()?;
    let n = read_count(r, "model chunk count")?;
    let mut chunks = Vec::with_capacity(n.min(MAX_PREALLOC));
    let mut total: u64 = 0;
    for _ in 0..n {
        let c = r.read_buffer()?;
        total = total.saturating_add(c.len() as u64);
        if total > blob_len {
            return Err(rdb_error(format!(
                "model chunks hold more than the blob's {blob_len} bytes"
            )));
        }
        chunks.push(c);
    }
    if total != blob_len {
        return Err(rdb_error(format!(
            "model blob is {blob_len} bytes but its chunks hold {total}"
        )));
    }
    // A blob that fits one chunk (the usual case: the trailing chunk is empty) is kept as read.
    let mut non_empty = chunks.iter().filter(|c| !c.is_empty());
    match (non_empty.next(), non_empty.next()) {
        (None, _) => Ok(Bytes::new()),
        (Some(one), None) => Ok(one.clone()),
        _ => {
            // `total` is what was actually read: this reservation is not the payload's word.
            let mut buf = BytesMut::with_capacity(chunks.iter().map(Bytes::len).sum());
            for c in &chunks {
                buf.put_slice(c);
            }
            Ok(buf.freeze())
        }
    }
}
