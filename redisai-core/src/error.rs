//! The one error type of the engine. `Display` is the exact text a client sees on the wire
//! (RedisAI's texts, `ERR ` prefix included where the C module had it, absent where it did not).

use thiserror::Error;

/// A RedisAI error. Every variant's `Display` is the wire text, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    // ---- generic -------------------------------------------------------------------------
    /// Redis's own arity error; the name is argv[0] as the client typed it.
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    /// The module's own arity text for executing commands (`'AI.MODELEXECUTE'` upper-cased).
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArityFixed(&'static str),
    /// Arity inside a DAG op: the C code emits it without `ERR`.
    #[error("wrong number of arguments for '{0}' command")]
    WrongArityInDag(&'static str),
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    #[error("ERR Cannot run RedisAI command within a transaction or a LUA script")]
    InTransaction,
    #[error("ERR Generic error")]
    Generic,
    /// A load-time argument (module argument or server flag) that is unknown or out of range.
    #[error("ERR error processing argument: {name} {value}")]
    LoadArgument { name: String, value: String },
    #[error(
        "Even number of arguments provided to module. Please provide arguments as KEY VAL pairs"
    )]
    LoadArgumentsOdd,

    // ---- tensors -------------------------------------------------------------------------
    #[error("ERR invalid data type")]
    InvalidDataType,
    #[error(
        "ERR a single binary string should come after the BLOB argument in 'AI.TENSORSET' command"
    )]
    BlobArgument,
    #[error("ERR wrong number of values was given in 'AI.TENSORSET' command")]
    ValuesCount,
    #[error("ERR invalid or negative value found in tensor shape")]
    InvalidShape,
    #[error("ERR data length does not match tensor shape and type")]
    DataLength,
    #[error("ERR BOOL tensor elements must be 0 or 1")]
    BoolElements,
    #[error("ERR Number of string elements in data blob does not match tensor length")]
    StringElements,
    #[error("ERR invalid value")]
    InvalidValue,
    #[error("ERR C-string value contains null character")]
    NulInString,
    #[error("ERR tensor key is empty or in a different shard")]
    TensorKeyEmpty,
    #[error("ERR unsupported data format")]
    UnsupportedFormat,
    #[error("ERR both BLOB and VALUES specified")]
    BlobAndValues,
    /// A tensor too large to address, or zeros above `MAX_ZEROED_BYTES` (not a C text: C would
    /// try to allocate it).
    #[error("ERR tensor is too large")]
    TensorTooLarge,
    #[error("ERR tensors to concatenate do not agree in type or shape")]
    ConcatMismatch,

    // ---- models --------------------------------------------------------------------------
    #[error("ERR unsupported backend")]
    UnsupportedBackend,
    #[error("ERR Invalid DEVICE")]
    InvalidDevice,
    #[error("ERR Invalid argument for BATCHSIZE")]
    InvalidBatchSize,
    #[error("ERR Invalid argument for MINBATCHSIZE")]
    InvalidMinBatchSize,
    #[error("ERR Invalid argument for MINBATCHTIMEOUT")]
    InvalidMinBatchTimeout,
    #[error("ERR MINBATCHSIZE specified without BATCHSIZE")]
    MinBatchSizeWithoutBatchSize,
    #[error("ERR MINBATCHTIMEOUT specified without MINBATCHSIZE")]
    MinBatchTimeoutWithoutMinBatchSize,
    #[error("ERR MINBATCHTIMEOUT specified without BATCHSIZE")]
    MinBatchTimeoutWithoutBatchSize,
    #[error("ERR Auto-batching not supported by the TFLITE backend")]
    TfliteBatching,
    #[error("ERR Insufficient arguments, missing model BLOB")]
    MissingModelBlob,
    #[error("ERR INPUTS not specified for TF")]
    TfInputsNotSpecified,
    #[error("ERR OUTPUTS not specified for TF")]
    TfOutputsNotSpecified,
    #[error("ERR Invalid argument for input_count")]
    InvalidInputCount,
    #[error("ERR Invalid argument for output_count")]
    InvalidOutputCount,
    #[error("ERR number of model inputs does not match the number of given arguments")]
    ModelInputsArgs,
    #[error("ERR number of model outputs does not match the number of given arguments")]
    ModelOutputsArgs,
    #[error("ERR INPUTS argument should not be specified for this backend")]
    InputsForNonTf,
    #[error("ERR Invalid argument, expected BLOB")]
    ExpectedBlob,
    #[error("ERR Insufficient arguments, INPUTS and OUTPUTS not specified")]
    InputsOutputsNotSpecified,
    #[error("ERR INPUTS not specified")]
    InputsNotSpecified,
    #[error("ERR OUTPUTS not specified")]
    OutputsNotSpecified,
    #[error("ERR model key is empty")]
    ModelKeyEmpty,
    #[error("ERR Input count must be a positive integer")]
    InputCountPositive,
    #[error("ERR Output count must be a positive integer")]
    OutputCountPositive,
    #[error("Number of keys given as INPUTS here does not match model definition")]
    InputsMismatch,
    #[error("Number of keys given as OUTPUTS here does not match model definition")]
    OutputsMismatch,
    #[error("ERR number of input keys to AI.MODELEXECUTE command does not match the number of given arguments")]
    ModelExecuteInputsArgs,
    #[error("ERR number of output keys to AI.MODELEXECUTE command does not match the number of given arguments")]
    ModelExecuteOutputsArgs,
    /// An unexpected token; no `ERR` prefix in the C module.
    #[error("Invalid argument: {0}")]
    InvalidArgument(String),
    #[error("ERR No value provided for TIMEOUT")]
    NoTimeoutValue,
    #[error("ERR Invalid value for TIMEOUT")]
    InvalidTimeout,
    #[error("ERR TIMEOUT not allowed within a DAG command")]
    TimeoutInDag,
    /// A backend that cannot be used by this build or could not be loaded.
    #[error("ERR Could not load backend")]
    CouldNotLoadBackend,
    /// A backend whose cargo feature is off: names the backend, as the C text cannot.
    #[error("ERR Could not load backend: {0} support is not compiled into this build")]
    BackendNotCompiled(&'static str),

    // ---- scripts -------------------------------------------------------------------------
    #[error("ERR Insufficient arguments, missing script entry points")]
    MissingEntryPoints,
    #[error("ERR Non numeric entry points number provided to AI.SCRIPTSTORE command")]
    NonNumericEntryPoints,
    #[error("ERR Insufficient arguments, missing script SOURCE")]
    MissingScriptSource,
    #[error("ERR script key is empty")]
    ScriptKeyEmpty,
    #[error("ERR KEYS or INPUTS scope must be provided first for AI.SCRIPTEXECUTE command")]
    KeysOrInputsFirst,
    #[error("ERR Already Encountered {0} scope in AI.SCRIPTEXECUTE command")]
    ScopeAlreadyEncountered(&'static str),
    #[error("ERR Missing arguments after KEYS keyword")]
    MissingKeysArgs,
    #[error("ERR Invalid or negative value found in number of KEYS")]
    InvalidKeysCount,
    #[error("ERR Number of pre declared KEYS to be used in the command does not match the number of given arguments")]
    KeysArgs,
    #[error("ERR Invalid arguments provided to AI.SCRIPTEXECUTE")]
    ScriptExecuteInvalidArgs,
    #[error("ERR Invalid argument for inputs count in AI.SCRIPTEXECUTE")]
    ScriptInputsCount,
    #[error("ERR number of inputs to AI.SCRIPTEXECUTE command does not match the number of given arguments")]
    ScriptInputsArgs,
    /// [Q] the C module's copy-paste text for a bad ARGS count.
    #[error("ERR Invalid argument for keys count in AI.SCRIPTEXECUTE")]
    ScriptArgsCount,
    #[error("ERR number of args to AI.SCRIPTEXECUTE command does not match the number of given arguments")]
    ScriptArgsArgs,
    #[error("ERR Invalid argument for outputs count in AI.SCRIPTEXECUTE")]
    ScriptOutputsCount,
    #[error("ERR number of outputs to AI.SCRIPTEXECUTE command does not match the number of given arguments")]
    ScriptOutputsArgs,
    #[error("ERR No value provided for TIMEOUT in AI.SCRIPTEXECUTE")]
    ScriptNoTimeoutValue,
    #[error("ERR Encountered problem parsing AI.SCRIPTEXECUTE")]
    ScriptExecuteParse,
    #[error("ERR Invalid AI.SCRIPTEXECUTE command. Unexpected argument: {0}")]
    ScriptExecuteUnexpected(String),
    #[error("ERR Already encountered an TIMEOUT section in SCRIPTRUN")]
    ScriptRunTimeoutTwice,
    #[error("ERR Already encountered an INPUTS section in SCRIPTRUN")]
    ScriptRunInputsSection,
    #[error("ERR Already encountered an INPUTS keyword in SCRIPTRUN")]
    ScriptRunInputsKeyword,
    #[error("ERR Already encountered an OUTPUTS keyword in SCRIPTRUN")]
    ScriptRunOutputsKeyword,
    #[error("ERR Encountered a variable size list of tensors outside of input section")]
    ScriptRunVariadicOutsideInputs,
    #[error("ERR Already encountered a variable size list of tensors")]
    ScriptRunVariadicTwice,
    /// [Q] sic: the C module's spelling.
    #[error("ERR Unrecongnized parameter to SCRIPTRUN")]
    ScriptRunUnrecognized,

    // ---- DAG -----------------------------------------------------------------------------
    /// [Q] two spaces after the colon, as the C module writes it.
    #[error("ERR Invalid DAG command. Unexpected argument:  {0}")]
    DagUnexpected(String),
    #[error("ERR missing arguments for '{0}' command")]
    DagMissingArguments(&'static str),
    #[error("ERR missing arguments after LOAD keyword in DAG command")]
    DagLoadMissing,
    #[error("ERR invalid or negative value found in number of keys to LOAD")]
    DagLoadCount,
    #[error("ERR number of keys to LOAD into DAG does not match the number of given arguments")]
    DagLoadArgs,
    #[error("ERR PERSIST cannot be specified in a read-only DAG")]
    DagPersistReadOnly,
    #[error("ERR missing arguments after PERSIST keyword in DAG command")]
    DagPersistMissing,
    #[error("ERR invalid or negative value found in number of keys to PERSIST")]
    DagPersistCount,
    #[error("ERR PERSIST keys must be unique")]
    DagPersistUnique,
    #[error("ERR number of keys to PERSIST after DAG execution does not match the number of given arguments")]
    DagPersistArgs,
    #[error("ERR Missing ROUTING value")]
    DagMissingRouting,
    #[error("ERR AI.DAGEXECUTE and AI.DAGEXECUTE_RO commands must contain at least one out of ROUTING, LOAD, PERSIST keywords")]
    DagNeedsKeys,
    #[error("ERR DAG is empty")]
    DagEmpty,
    #[error("ERR AI.SCRIPTEXECUTE command cannot be specified in a read-only DAG")]
    DagScriptInReadOnly,
    #[error("Deprecated {0} cannot be used in AI.DAGEXECUTE command")]
    DagDeprecatedOp(&'static str),
    #[error("{0} cannot be used in a deprecated AI.DAGRUN command")]
    DagNewOpInDagRun(&'static str),
    #[error("Unsupported command within DAG")]
    DagUnsupportedOp,
    #[error("ERR INPUT key cannot be found in DAG")]
    DagInputNotFound,
    #[error("ERR PERSIST key cannot be found in DAG")]
    DagPersistNotFound,

    // ---- the low-level API (other modules' runs and DAGs) ----------------------------------
    #[error("Number of keys given as INPUTS does not match model definition")]
    OpInputsMismatch,
    #[error("Number of keys given as OUTPUTS does not match model definition")]
    OpOutputsMismatch,
    #[error("DAG op should start with: '|>' ")]
    DagOpPrefix,
    #[error("Tensor {0} has already been loaded to the DAG")]
    DagTensorLoaded(String),
    #[error("ERR Nothing to run")]
    NothingToRun,
    #[error("ERR a batch of runs must run one model with the same number of inputs")]
    BatchOfOtherRuns,
    #[error("ERR Model did not generate the expected batch size")]
    BatchSizeMismatch,
    #[error("Finish ctx is not a model run ctx")]
    FinishCtxNotModel,
    #[error("Finish ctx is not a script run ctx")]
    FinishCtxNotScript,

    // ---- AI.INFO / AI.CONFIG -------------------------------------------------------------
    #[error("ERR cannot find run info for key")]
    NoRunInfo,
    #[error("ERR error loading backend")]
    ErrorLoadingBackend,
    #[error("ERR BACKENDSPATH: missing path argument")]
    BackendsPathMissing,
    #[error("ERR MODEL_CHUNK_SIZE: invalid chunk size")]
    InvalidChunkSize,
    #[error("ERR MODEL_CHUNK_SIZE: missing chunk size")]
    MissingChunkSize,
    #[error("ERR unsupported subcommand")]
    UnsupportedSubcommand,

    // ---- persistence ---------------------------------------------------------------------
    /// An RDB (or DUMP) value payload that cannot be decoded: truncated, an item of the wrong
    /// kind, an unknown dtype or backend, lengths that disagree, a newer encoding version.
    #[error("ERR bad RDB payload: {0}")]
    Rdb(String),

    // ---- execution -----------------------------------------------------------------------
    /// A backend's message, already made one line.
    #[error("{0}")]
    Backend(String),
    /// A backend stopped a run at [`RunContext::deadline`]: the engine replies `TIMEDOUT` for
    /// the whole request (a status reply, not this error).
    ///
    /// [`RunContext::deadline`]: crate::backend::RunContext::deadline
    #[error("TIMEDOUT")]
    RunTimedOut,
    /// A run did not get its model's turn within [`RunContext::max_wait`]: the engine queues it
    /// instead. Never replied.
    ///
    /// [`RunContext::max_wait`]: crate::backend::RunContext::max_wait
    #[error("ERR the run would wait for its model")]
    RunWouldBlock,
    /// A command this build parses but cannot execute yet: said plainly, never faked.
    #[error("ERR {0} is not available in this build of redisai-rs yet")]
    NotAvailable(&'static str),
}

impl Error {
    /// A backend message as RedisAI replies it: one line (`\n`/`\r` become spaces), and
    /// `ERR Generic error` when there is no message at all.
    pub fn backend(msg: impl AsRef<str>) -> Error {
        let msg = msg.as_ref();
        if msg.is_empty() {
            return Error::Generic;
        }
        Error::Backend(msg.replace(['\n', '\r'], " "))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
