//! Errors of the low-level API: a numeric code (RedisAI's `RAI_ErrorCode`, which C callers
//! compare) and the text.

use std::fmt;

use crate::error::Error;

/// RedisAI's error codes, numbered as its `RedisAI_ErrorCode` (0..18) and `RAI_EKEYEMPTY` (19).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Ok = 0,
    ModelImport,
    ModelConfigure,
    ModelCreate,
    ModelRun,
    ModelSerialize,
    ModelFree,
    ScriptImport,
    ScriptConfigure,
    ScriptCreate,
    ScriptRun,
    UnsupportedBackend,
    BackendNotLoaded,
    ScriptFree,
    TensorSet,
    TensorGet,
    DagBuilder,
    DagRun,
    FinishCtx,
    KeyEmpty,
}

/// An error of the low-level API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    /// The text (the engine's wire text where the error is one of its own).
    pub detail: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl fmt::Display) -> ApiError {
        ApiError {
            code,
            detail: detail.to_string(),
        }
    }

    /// An engine error, coded as RedisAI codes it where the engine's error says which (an
    /// empty key, a backend that cannot be loaded), else with `code`.
    pub fn from_engine(code: ErrorCode, e: &Error) -> ApiError {
        let code = match e {
            Error::ModelKeyEmpty | Error::ScriptKeyEmpty | Error::TensorKeyEmpty => {
                ErrorCode::KeyEmpty
            }
            Error::CouldNotLoadBackend | Error::BackendNotCompiled(_) => {
                ErrorCode::BackendNotLoaded
            }
            _ => code,
        };
        ApiError::new(code, e)
    }

    /// The text on one line (a backend's multi-line message with its line breaks as spaces).
    pub fn one_line(&self) -> String {
        self.detail.replace(['\r', '\n'], " ")
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for ApiError {}
