//! The `AI_SCRIPT` payload, as a [`ScriptRecord`]: what a script is made of without its compiled
//! form. Loading gives a record; recompiling it is the face's business (as a store does).
//!
//! ```text
//! v3-v4: cstr device, rstr tag, cstr source, u n_entry_points, cstr entry_point[i]
//! v1-v2: cstr device, rstr tag, cstr source
//! v0:    cstr device, cstr tag (last byte dropped), cstr source
//! ```
//! v4 is written. "cstr" is saved with its trailing NUL, "rstr" without.

use bytes::Bytes;

use crate::codec::{
    check_encver, read_cstr, read_cstr_list, read_v0_tag, write_cstr, write_cstr_list, RdbRead,
    RdbWrite,
};
use crate::error::Result;
use crate::model::Script;

/// A script as RDB and AOF carry it. `entry_points` is empty for a script stored by
/// AI.SCRIPTSET or loaded from a v0-v2 payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRecord {
    pub device: String,
    pub tag: Bytes,
    pub source: Bytes,
    pub entry_points: Vec<Bytes>,
}

impl Script {
    /// This script's record (the `Bytes` are shared, not copied).
    pub fn record(&self) -> ScriptRecord {
        ScriptRecord {
            device: self.device.clone(),
            tag: self.tag.clone(),
            source: self.source.clone(),
            entry_points: self.entry_points.clone(),
        }
    }
}

/// Writes `rec` in the current encoding (v4).
pub fn save_script(rec: &ScriptRecord, w: &mut dyn RdbWrite) {
    write_cstr(w, rec.device.as_bytes());
    w.write_buffer(&rec.tag);
    write_cstr(w, &rec.source);
    write_cstr_list(w, &rec.entry_points);
}

/// Reads a script saved with encoding version `encver` (0..=4).
pub fn load_script(r: &mut dyn RdbRead, encver: i32) -> Result<ScriptRecord> {
    check_encver("script", encver)?;
    let device = String::from_utf8_lossy(&read_cstr(r)?).into_owned();
    let tag = if encver == 0 {
        read_v0_tag(r)?
    } else {
        r.read_buffer()?
    };
    let source = read_cstr(r)?;
    let entry_points = if encver >= 3 {
        read_cstr_list(r, "script entry point count")?
    } else {
        Vec::new()
    };
    Ok(ScriptRecord {
        device,
        tag,
        source,
        entry_points,
    })
}
