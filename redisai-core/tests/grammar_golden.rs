//! The golden table of the `AI.*` grammar: command lines and what parsing them must give, either
//! the exact error text a client sees or the parsed command (shown through `to_args()`, the tensor
//! it builds, or a check on the typed value).
//!
//! Only parse-time outcomes are here. Errors that need the keyspace or a backend (WRONGTYPE,
//! `ERR model key is empty`, a model's input count, tensor key lookups, backend messages) are the
//! engine's business and tested there.
//!
//! Lines are split on single spaces. Inside a word, `\xNN` is the byte NN and a word that is
//! exactly `''` is the empty argument, so binary and empty arguments fit on one line; [`RAW`]
//! takes the arguments as byte strings for what does not read well that way. The same escapes
//! are used to show `to_args()` back, so the expected lines are literal.

use bytes::Bytes;
use redisai_core::command::{Command, DagOp};
use redisai_core::{Reply, Tensor};

/// What parsing a command line must give.
enum Expect {
    /// Not an `AI.*` command of this grammar: `Ok(None)`.
    NotOurs,
    /// This exact error text.
    Error(&'static str),
    /// Parsed; `to_args()`, shown with the line escapes, is this line.
    Args(&'static str),
    /// Parsed AI.TENSORSET; its tensor shown as `DTYPE [dims] values..` is this.
    Tensor(&'static str),
    /// Parsed, and the check holds.
    Check(fn(&Command) -> bool),
}

use Expect::{Args, Check, Error, NotOurs, Tensor as T};

const ARITY_TENSORSET: &str = "ERR wrong number of arguments for 'AI.TENSORSET' command";

/// The table. Grouped by command, each group in the order of behavior.md's validation steps.
#[rustfmt::skip]
const CASES: &[(&str, Expect)] = &[
    // ---- not ours ------------------------------------------------------------------------
    ("SET a b", NotOurs),
    ("AI.NOPE a", NotOurs),
    ("AI.TENSORSETX t FLOAT 1", NotOurs),
    // ---- AI.TENSORSET: errors ------------------------------------------------------------
    ("AI.TENSORSET", Error(ARITY_TENSORSET)),
    ("AI.TENSORSET t", Error(ARITY_TENSORSET)),
    ("AI.TENSORSET t DOUBLE", Error(ARITY_TENSORSET)),
    ("ai.tensorset t FLOAT", Error("ERR wrong number of arguments for 'ai.tensorset' command")),
    ("AI.TENSORSET t FLOAT32 1", Error("ERR invalid data type")),
    ("AI.TENSORSET t INT 1", Error("ERR invalid data type")),
    ("AI.TENSORSET t UINT32 1", Error("ERR invalid data type")),
    ("AI.TENSORSET t INT8x 1", Error("ERR invalid data type")),
    ("AI.TENSORSET t '' 1", Error("ERR invalid data type")),
    ("AI.TENSORSET t FOO 0", Error("ERR invalid data type")),
    ("AI.TENSORSET t FLOAT 1 BLOB", Error("ERR a single binary string should come after the BLOB argument in 'AI.TENSORSET' command")),
    ("AI.TENSORSET t FLOAT BLOB", Error("ERR a single binary string should come after the BLOB argument in 'AI.TENSORSET' command")),
    ("AI.TENSORSET t FLOAT 1 BLOB \\x00\\x00 \\x00\\x00", Error("ERR a single binary string should come after the BLOB argument in 'AI.TENSORSET' command")),
    ("AI.TENSORSET t FLOAT 1 blob a b c", Error("ERR a single binary string should come after the BLOB argument in 'AI.TENSORSET' command")),
    ("AI.TENSORSET t FLOAT 2 VALUES 1", Error("ERR wrong number of values was given in 'AI.TENSORSET' command")),
    ("AI.TENSORSET t FLOAT 2 VALUES 1 2 3", Error("ERR wrong number of values was given in 'AI.TENSORSET' command")),
    ("AI.TENSORSET t FLOAT 2 VALUES", Error("ERR wrong number of values was given in 'AI.TENSORSET' command")),
    ("AI.TENSORSET t FLOAT VALUES", Error("ERR wrong number of values was given in 'AI.TENSORSET' command")),
    ("AI.TENSORSET t STRING 2 2 values a b c", Error("ERR wrong number of values was given in 'AI.TENSORSET' command")),
    ("AI.TENSORSET t FLOAT -1", Error("ERR invalid or negative value found in tensor shape")),
    ("AI.TENSORSET t FLOAT 0 -1", Error("ERR invalid or negative value found in tensor shape")),
    ("AI.TENSORSET t FLOAT -0", Error("ERR invalid or negative value found in tensor shape")),
    ("AI.TENSORSET t FLOAT 00", Error("ERR invalid or negative value found in tensor shape")),
    ("AI.TENSORSET t FLOAT 1.0", Error("ERR invalid or negative value found in tensor shape")),
    ("AI.TENSORSET t FLOAT +1", Error("ERR invalid or negative value found in tensor shape")),
    ("AI.TENSORSET t FLOAT 01", Error("ERR invalid or negative value found in tensor shape")),
    ("AI.TENSORSET t FLOAT \\x201", Error("ERR invalid or negative value found in tensor shape")),
    ("AI.TENSORSET t FLOAT 9223372036854775808", Error("ERR invalid or negative value found in tensor shape")),
    ("AI.TENSORSET t FLOAT 2 x VALUES 1 2", Error("ERR invalid or negative value found in tensor shape")),
    ("AI.TENSORSET t FLOAT META", Error("ERR invalid or negative value found in tensor shape")),
    ("AI.TENSORSET t FLOAT 2 BLOB \\x00\\x00\\x00\\x00", Error("ERR data length does not match tensor shape and type")),
    ("AI.TENSORSET t FLOAT 1 BLOB \\x00\\x00\\x00\\x00\\x00", Error("ERR data length does not match tensor shape and type")),
    ("AI.TENSORSET t INT16 1 BLOB \\x00", Error("ERR data length does not match tensor shape and type")),
    ("AI.TENSORSET t DOUBLE 1 BLOB ''", Error("ERR data length does not match tensor shape and type")),
    ("AI.TENSORSET t BOOL 2 BLOB \\x07", Error("ERR data length does not match tensor shape and type")),
    ("AI.TENSORSET t FLOAT16 1 BLOB \\x00", Error("ERR data length does not match tensor shape and type")),
    ("AI.TENSORSET t BFLOAT16 2 BLOB \\x00\\x00\\x00", Error("ERR data length does not match tensor shape and type")),
    ("AI.TENSORSET t BOOL 2 BLOB \\x02\\x00", Error("ERR BOOL tensor elements must be 0 or 1")),
    // The last byte is checked too (deliberate; the C module skips it).
    ("AI.TENSORSET t BOOL 2 BLOB \\x01\\x02", Error("ERR BOOL tensor elements must be 0 or 1")),
    ("AI.TENSORSET t BOOL BLOB \\xff", Error("ERR BOOL tensor elements must be 0 or 1")),
    ("AI.TENSORSET t STRING 2 BLOB a\\x00", Error("ERR Number of string elements in data blob does not match tensor length")),
    ("AI.TENSORSET t STRING 1 BLOB a", Error("ERR Number of string elements in data blob does not match tensor length")),
    ("AI.TENSORSET t STRING 1 BLOB a\\x00b", Error("ERR Number of string elements in data blob does not match tensor length")),
    ("AI.TENSORSET t STRING 2 BLOB a\\x00b\\x00c\\x00", Error("ERR Number of string elements in data blob does not match tensor length")),
    // An empty STRING blob is refused (the C module reads out of bounds).
    ("AI.TENSORSET t STRING 1 BLOB ''", Error("ERR Number of string elements in data blob does not match tensor length")),
    ("AI.TENSORSET t STRING BLOB ''", Error("ERR Number of string elements in data blob does not match tensor length")),
    ("AI.TENSORSET t FLOAT 1 VALUES nan", Error("ERR invalid value")),
    ("AI.TENSORSET t FLOAT 1 VALUES abc", Error("ERR invalid value")),
    ("AI.TENSORSET t FLOAT 1 VALUES ''", Error("ERR invalid value")),
    ("AI.TENSORSET t DOUBLE 1 VALUES \\x201", Error("ERR invalid value")),
    ("AI.TENSORSET t DOUBLE 2 VALUES 1 1,5", Error("ERR invalid value")),
    ("AI.TENSORSET t FLOAT16 1 VALUES NaN", Error("ERR invalid value")),
    ("AI.TENSORSET t BFLOAT16 1 VALUES x", Error("ERR invalid value")),
    ("AI.TENSORSET t INT8 1 VALUES 128", Error("ERR invalid value")),
    ("AI.TENSORSET t INT8 1 VALUES -129", Error("ERR invalid value")),
    ("AI.TENSORSET t INT8 1 VALUES 01", Error("ERR invalid value")),
    ("AI.TENSORSET t INT16 1 VALUES 32768", Error("ERR invalid value")),
    ("AI.TENSORSET t INT16 1 VALUES -32769", Error("ERR invalid value")),
    ("AI.TENSORSET t INT32 1 VALUES 2147483648", Error("ERR invalid value")),
    ("AI.TENSORSET t INT32 1 VALUES 1.0", Error("ERR invalid value")),
    ("AI.TENSORSET t INT32 1 VALUES +1", Error("ERR invalid value")),
    ("AI.TENSORSET t INT64 1 VALUES 9223372036854775808", Error("ERR invalid value")),
    ("AI.TENSORSET t INT64 1 VALUES -0", Error("ERR invalid value")),
    ("AI.TENSORSET t UINT8 1 VALUES -1", Error("ERR invalid value")),
    ("AI.TENSORSET t UINT8 1 VALUES 256", Error("ERR invalid value")),
    ("AI.TENSORSET t UINT16 1 VALUES 65536", Error("ERR invalid value")),
    ("AI.TENSORSET t BOOL 1 VALUES 2", Error("ERR invalid value")),
    ("AI.TENSORSET t BOOL 1 VALUES -1", Error("ERR invalid value")),
    ("AI.TENSORSET t BOOL 2 VALUES 1 true", Error("ERR invalid value")),
    ("AI.TENSORSET t STRING 1 VALUES a\\x00b", Error("ERR C-string value contains null character")),
    ("AI.TENSORSET t STRING 2 VALUES ok \\x00\\x00", Error("ERR C-string value contains null character")),
    // ---- AI.TENSORSET: VALUES, every dtype -----------------------------------------------
    ("AI.TENSORSET t FLOAT 2 VALUES 1 2.5", T("FLOAT [2] 1 2.5")),
    ("AI.TENSORSET t float 2 values -1.5 inf", T("FLOAT [2] -1.5 inf")),
    ("AI.TENSORSET t FLOAT 1 VALUES 0.1", T("FLOAT [1] 0.10000000149011612")),
    ("AI.TENSORSET t FLOAT 2 VALUES 1 2", Args("AI.TENSORSET t FLOAT 2 BLOB \\x00\\x00\\x80?\\x00\\x00\\x00@")),
    ("AI.TENSORSET t DOUBLE 1 2 VALUES 0.1 -inf", T("DOUBLE [1, 2] 0.1 -inf")),
    ("AI.TENSORSET t Double 1 VALUES 1.5e3", T("DOUBLE [1] 1500")),
    ("AI.TENSORSET t INT8 2 VALUES -128 127", T("INT8 [2] -128 127")),
    // Negatives in range are accepted (deliberate; the C module refuses every negative).
    ("AI.TENSORSET z INT8 2 VALUES -1 -128", T("INT8 [2] -1 -128")),
    ("AI.TENSORSET t INT16 2 VALUES -32768 32767", T("INT16 [2] -32768 32767")),
    ("AI.TENSORSET t int32 2 VALUES -2147483648 2147483647", T("INT32 [2] -2147483648 2147483647")),
    ("AI.TENSORSET t INT64 2 VALUES -9223372036854775808 9223372036854775807", T("INT64 [2] -9223372036854775808 9223372036854775807")),
    ("AI.TENSORSET t UINT8 2 VALUES 0 255", T("UINT8 [2] 0 255")),
    ("AI.TENSORSET t Uint16 2 VALUES 0 65535", T("UINT16 [2] 0 65535")),
    ("AI.TENSORSET t BOOL 3 VALUES 0 1 1", T("BOOL [3] 0 1 1")),
    ("AI.TENSORSET t FLOAT16 3 VALUES 1 0.5 -2", T("FLOAT16 [3] 1 0.5 -2")),
    ("AI.TENSORSET t float16 1 VALUES 0.1", T("FLOAT16 [1] 0.0999755859375")),
    ("AI.TENSORSET t BFLOAT16 2 VALUES 1 -0.5", T("BFLOAT16 [2] 1 -0.5")),
    ("AI.TENSORSET t bfloat16 1 VALUES 0.1", T("BFLOAT16 [1] 0.10009765625")),
    ("AI.TENSORSET t INT32 2 3 VALUES 1 2 3 4 5 6", T("INT32 [2, 3] 1 2 3 4 5 6")),
    ("AI.TENSORSET t INT32 VALUES 7", T("INT32 [] 7")),
    ("AI.TENSORSET t INT64 1 1 1 VALUES 9", T("INT64 [1, 1, 1] 9")),
    ("AI.TENSORSET s STRING 2 VALUES str11 str12", T("STRING [2] str11 str12")),
    ("AI.TENSORSET s STRING 2 VALUES str11 str12", Args("AI.TENSORSET s STRING 2 BLOB str11\\x00str12\\x00")),
    // A trailing NUL is allowed and added when missing: both spellings are the same tensor.
    ("AI.TENSORSET s STRING 2 VALUES str_val1\\x00 str_val2", Args("AI.TENSORSET s STRING 2 BLOB str_val1\\x00str_val2\\x00")),
    ("AI.TENSORSET s STRING 2 VALUES '' x", T("STRING [2] '' x")),
    ("AI.TENSORSET s string 1 2 VALUES \\x00 \\xff\\xfe", T("STRING [1, 2] '' \\xff\\xfe")),
    // ---- AI.TENSORSET: BLOB, every dtype -------------------------------------------------
    ("AI.TENSORSET t FLOAT 2 BLOB \\x00\\x00\\x80?\\x00\\x00\\x00@", T("FLOAT [2] 1 2")),
    ("AI.TENSORSET t DOUBLE 1 BLOB \\x00\\x00\\x00\\x00\\x00\\x00\\xf0?", T("DOUBLE [1] 1")),
    ("AI.TENSORSET t INT8 2 blob \\xff\\x80", T("INT8 [2] -1 -128")),
    ("AI.TENSORSET t INT16 1 BLOB \\x00\\x80", T("INT16 [1] -32768")),
    ("AI.TENSORSET t INT32 1 BLOB \\xff\\xff\\xff\\x7f", T("INT32 [1] 2147483647")),
    ("AI.TENSORSET t INT64 1 BLOB \\xfe\\xff\\xff\\xff\\xff\\xff\\xff\\xff", T("INT64 [1] -2")),
    ("AI.TENSORSET t UINT8 2 BLOB \\xff\\x00", T("UINT8 [2] 255 0")),
    ("AI.TENSORSET t UINT16 1 BLOB \\xff\\xff", T("UINT16 [1] 65535")),
    ("AI.TENSORSET t BOOL 3 BLOB \\x01\\x00\\x01", T("BOOL [3] 1 0 1")),
    ("AI.TENSORSET t FLOAT16 1 BLOB \\x00<", T("FLOAT16 [1] 1")),
    ("AI.TENSORSET t BFLOAT16 1 BLOB \\x80?", T("BFLOAT16 [1] 1")),
    ("AI.TENSORSET t STRING 2 BLOB str11\\x00str12\\x00", T("STRING [2] str11 str12")),
    ("AI.TENSORSET t STRING 3 BLOB \\x00a\\x00\\x00", T("STRING [3] '' a ''")),
    ("AI.TENSORSET t UINT8 BLOB \\x07", T("UINT8 [] 7")),
    ("AI.TENSORSET t UINT8 2 BLOB \\x01\\x02", Args("AI.TENSORSET t UINT8 2 BLOB \\x01\\x02")),
    ("AI.TENSORSET '' INT8 1 BLOB \\x05", Args("AI.TENSORSET '' INT8 1 BLOB \\x05")),
    // ---- AI.TENSORSET: no data means zeros -----------------------------------------------
    ("AI.TENSORSET t FLOAT 2 2", T("FLOAT [2, 2] 0 0 0 0")),
    ("AI.TENSORSET t INT64 1", T("INT64 [1] 0")),
    ("AI.TENSORSET t BOOL 3", T("BOOL [3] 0 0 0")),
    ("AI.TENSORSET t BFLOAT16 2", T("BFLOAT16 [2] 0 0")),
    ("AI.TENSORSET t STRING 2", T("STRING [2] '' ''")),
    ("AI.TENSORSET t STRING 2", Args("AI.TENSORSET t STRING 2 BLOB \\x00\\x00")),
    ("AI.TENSORSET t UINT16 1", Args("AI.TENSORSET t UINT16 1 BLOB \\x00\\x00")),
    // A huge shape is refused before anything is allocated (not a C text: C fails to allocate).
    ("AI.TENSORSET t INT8 1099511627776", Error("ERR tensor is too large")),
    ("AI.TENSORSET t STRING 500000000", Error("ERR tensor is too large")),
    ("AI.TENSORSET t FLOAT 4294967296 4294967296", Error("ERR tensor is too large")),
    // Zeros are bounded by the largest BLOB (512 MiB).
    ("AI.TENSORSET t UINT8 536870913", Error("ERR tensor is too large")),
    ("AI.TENSORSET t FLOAT 2 67108865", Error("ERR tensor is too large")),
    ("AI.TENSORSET t STRING 1099511627776 BLOB a\\x00", Error("ERR Number of string elements in data blob does not match tensor length")),
    ("AI.TENSORSET t INT64 1099511627776 BLOB \\x00", Error("ERR data length does not match tensor shape and type")),
    ("AI.TENSORSET t INT64 1099511627776 VALUES 1", Error("ERR wrong number of values was given in 'AI.TENSORSET' command")),
    // ---- AI.TENSORSET: a zero dim is an empty tensor (the C module refuses it) ------------
    ("AI.TENSORSET t FLOAT 0", T("FLOAT [0]")),
    ("AI.TENSORSET t FLOAT 0 4", T("FLOAT [0, 4]")),
    ("AI.TENSORSET t FLOAT 0 4", Args("AI.TENSORSET t FLOAT 0 4 BLOB ''")),
    ("AI.TENSORSET t INT8 2 0 3", Args("AI.TENSORSET t INT8 2 0 3 BLOB ''")),
    ("AI.TENSORSET t FLOAT 0 4 BLOB ''", T("FLOAT [0, 4]")),
    ("AI.TENSORSET t FLOAT 2 0 VALUES", T("FLOAT [2, 0]")),
    ("AI.TENSORSET t STRING 0 BLOB ''", T("STRING [0]")),
    ("AI.TENSORSET t STRING 0 2 VALUES", T("STRING [0, 2]")),
    ("AI.TENSORSET t STRING 3 0", Args("AI.TENSORSET t STRING 3 0 BLOB ''")),
    // Its data must still match: no bytes, no values.
    ("AI.TENSORSET t FLOAT 0 BLOB", Error("ERR a single binary string should come after the BLOB argument in 'AI.TENSORSET' command")),
    ("AI.TENSORSET t FLOAT 0 4 BLOB \\x00\\x00\\x00\\x00", Error("ERR data length does not match tensor shape and type")),
    ("AI.TENSORSET t FLOAT 0 4 VALUES 1", Error("ERR wrong number of values was given in 'AI.TENSORSET' command")),
    ("AI.TENSORSET t STRING 0 BLOB \\x00", Error("ERR Number of string elements in data blob does not match tensor length")),
    // The other dims must not overflow either, whatever their order.
    ("AI.TENSORSET t INT8 0 4294967296 4294967296", Error("ERR tensor is too large")),
    ("AI.TENSORSET t INT8 4294967296 4294967296 0", Error("ERR tensor is too large")),
    ("AI.TENSORSET t INT8 0 4294967296", T("INT8 [0, 4294967296]")),
    // ---- AI.TENSORGET --------------------------------------------------------------------
    ("AI.TENSORGET", Error("ERR wrong number of arguments for 'AI.TENSORGET' command")),
    // `META BLOB VALUES` would pass the option check, but the arity check comes first.
    ("AI.TENSORGET t META BLOB VALUES", Error("ERR wrong number of arguments for 'AI.TENSORGET' command")),
    ("AI.TENSORGET t JSON", Error("ERR unsupported data format")),
    ("AI.TENSORGET t META foo", Error("ERR unsupported data format")),
    ("AI.TENSORGET t ''", Error("ERR unsupported data format")),
    ("AI.TENSORGET t BLOB VALUES", Error("ERR both BLOB and VALUES specified")),
    ("AI.TENSORGET t values blob", Error("ERR both BLOB and VALUES specified")),
    ("AI.TENSORGET t", Args("AI.TENSORGET t META BLOB")),
    ("AI.TENSORGET t META", Args("AI.TENSORGET t META")),
    ("AI.TENSORGET t BLOB", Args("AI.TENSORGET t BLOB")),
    ("AI.TENSORGET t values", Args("AI.TENSORGET t VALUES")),
    ("AI.TENSORGET t META VALUES", Args("AI.TENSORGET t META VALUES")),
    ("AI.TENSORGET t VALUES META", Args("AI.TENSORGET t META VALUES")),
    ("AI.TENSORGET t meta blob", Args("AI.TENSORGET t META BLOB")),
    ("AI.TENSORGET t BLOB META", Args("AI.TENSORGET t META BLOB")),
    ("AI.TENSORGET t BLOB BLOB", Args("AI.TENSORGET t BLOB")),
    ("AI.TENSORGET t VALUES VALUES", Args("AI.TENSORGET t VALUES")),
    ("AI.TENSORGET t META META", Args("AI.TENSORGET t META")),
    ("ai.tensorget t", Args("AI.TENSORGET t META BLOB")),
    // ---- AI.MODELSTORE: errors -----------------------------------------------------------
    ("AI.MODELSTORE m TORCH CPU BLOB", Error("ERR wrong number of arguments for 'AI.MODELSTORE' command")),
    ("AI.MODELSTORE", Error("ERR wrong number of arguments for 'AI.MODELSTORE' command")),
    ("AI.MODELSTORE m PYTORCH CPU BLOB x", Error("ERR unsupported backend")),
    ("AI.MODELSTORE m TFLITE2 CPU BLOB x", Error("ERR unsupported backend")),
    ("AI.MODELSTORE m TORCH TPU BLOB x", Error("ERR Invalid DEVICE")),
    ("AI.MODELSTORE m TORCH GPU0 BLOB x", Error("ERR Invalid DEVICE")),
    ("AI.MODELSTORE m TORCH CPU:1a BLOB x", Error("ERR Invalid DEVICE")),
    ("AI.MODELSTORE m TORCH CPU:-1 BLOB x", Error("ERR Invalid DEVICE")),
    ("AI.MODELSTORE m TORCH GPU:123456 BLOB x", Error("ERR Invalid DEVICE")),
    ("AI.MODELSTORE m TORCH CPU:1:2 BLOB x", Error("ERR Invalid DEVICE")),
    ("AI.MODELSTORE m TORCH CP BLOB x", Error("ERR Invalid DEVICE")),
    ("AI.MODELSTORE m TORCH BLOB x y", Error("ERR Invalid DEVICE")),
    ("AI.MODELSTORE m TORCH CPU BATCHSIZE x BLOB y", Error("ERR Invalid argument for BATCHSIZE")),
    ("AI.MODELSTORE m TORCH CPU BATCHSIZE -1 BLOB y", Error("ERR Invalid argument for BATCHSIZE")),
    ("AI.MODELSTORE m TORCH CPU BATCHSIZE 1.5 BLOB y", Error("ERR Invalid argument for BATCHSIZE")),
    ("AI.MODELSTORE m TORCH CPU TAG t BATCHSIZE", Error("ERR Invalid argument for BATCHSIZE")),
    ("AI.MODELSTORE m TORCH CPU BATCHSIZE 2 MINBATCHSIZE x BLOB y", Error("ERR Invalid argument for MINBATCHSIZE")),
    ("AI.MODELSTORE m TORCH CPU BATCHSIZE 2 MINBATCHSIZE -2 BLOB y", Error("ERR Invalid argument for MINBATCHSIZE")),
    ("AI.MODELSTORE m TORCH CPU MINBATCHSIZE 2 BLOB y", Error("ERR MINBATCHSIZE specified without BATCHSIZE")),
    ("AI.MODELSTORE m TORCH CPU BATCHSIZE 0 MINBATCHSIZE 2 BLOB y", Error("ERR MINBATCHSIZE specified without BATCHSIZE")),
    ("AI.MODELSTORE m TORCH CPU BATCHSIZE 2 MINBATCHSIZE 1 MINBATCHTIMEOUT x BLOB y", Error("ERR Invalid argument for MINBATCHTIMEOUT")),
    ("AI.MODELSTORE m TORCH CPU BATCHSIZE 2 MINBATCHSIZE 1 MINBATCHTIMEOUT", Error("ERR Invalid argument for MINBATCHTIMEOUT")),
    ("AI.MODELSTORE m TORCH CPU BATCHSIZE 2 MINBATCHTIMEOUT 5 BLOB y", Error("ERR MINBATCHTIMEOUT specified without MINBATCHSIZE")),
    ("AI.MODELSTORE m TORCH CPU MINBATCHTIMEOUT 5 BLOB y", Error("ERR MINBATCHTIMEOUT specified without MINBATCHSIZE")),
    ("AI.MODELSTORE m TORCH CPU TAG t", Error("ERR Insufficient arguments, missing model BLOB")),
    ("AI.MODELSTORE m TORCH CPU BATCHSIZE 2", Error("ERR Insufficient arguments, missing model BLOB")),
    ("AI.MODELSTORE m TORCH CPU TAG t BLOB", Error("ERR Insufficient arguments, missing model BLOB")),
    // [Q] after the TF names, C compares a token it did not read (RedisAI's tests assert it).
    ("AI.MODELSTORE m TF CPU INPUTS 1 a OUTPUTS 1 b", Error("ERR Invalid argument, expected BLOB")),
    ("AI.MODELSTORE m TF CPU INPUTS 1 a OUTPUTS 1 b BLOB", Error("ERR Insufficient arguments, missing model BLOB")),
    ("AI.MODELSTORE m TF CPU BLOB x", Error("ERR INPUTS not specified for TF")),
    ("AI.MODELSTORE m TF CPU OUTPUTS 1 a BLOB x", Error("ERR INPUTS not specified for TF")),
    ("AI.MODELSTORE m TF CPU INPUTS 0 OUTPUTS 1 b BLOB x", Error("ERR Invalid argument for input_count")),
    ("AI.MODELSTORE m TF CPU INPUTS x a OUTPUTS 1 b BLOB x", Error("ERR Invalid argument for input_count")),
    ("AI.MODELSTORE m TF CPU INPUTS -1 a OUTPUTS 1 b BLOB x", Error("ERR Invalid argument for input_count")),
    ("AI.MODELSTORE m TF CPU INPUTS 9 a b", Error("ERR number of model inputs does not match the number of given arguments")),
    ("AI.MODELSTORE m TF CPU INPUTS 1 a BLOB x", Error("ERR OUTPUTS not specified for TF")),
    ("AI.MODELSTORE m TF CPU TAG t INPUTS 1 a", Error("ERR OUTPUTS not specified for TF")),
    ("AI.MODELSTORE m TF CPU INPUTS 1 a OUTPUTS 0 BLOB x", Error("ERR Invalid argument for output_count")),
    ("AI.MODELSTORE m TF CPU INPUTS 1 a OUTPUTS", Error("ERR Invalid argument for output_count")),
    ("AI.MODELSTORE m TF CPU INPUTS 1 a OUTPUTS 3 b c", Error("ERR number of model outputs does not match the number of given arguments")),
    ("AI.MODELSTORE m ONNX CPU INPUTS 1 a OUTPUTS 1 b BLOB x", Error("ERR INPUTS argument should not be specified for this backend")),
    ("AI.MODELSTORE m TORCH CPU inputs 1 a BLOB x", Error("ERR INPUTS argument should not be specified for this backend")),
    ("AI.MODELSTORE m TFLITE CPU TAG t INPUTS 1 a", Error("ERR INPUTS argument should not be specified for this backend")),
    ("AI.MODELSTORE m TORCH CPU OUTPUTS 1 a BLOB x", Error("ERR Invalid argument, expected BLOB")),
    ("AI.MODELSTORE m TORCH CPU BATCHSIZE 2 TAG t BLOB x", Error("ERR Invalid argument, expected BLOB")),
    ("AI.MODELSTORE m TORCH CPU x BLOB y", Error("ERR Invalid argument, expected BLOB")),
    ("AI.MODELSTORE m TF CPU INPUTS 1 a OUTPUTS 1 b x BLOB y", Error("ERR Invalid argument, expected BLOB")),
    // ---- AI.MODELSTORE: accepted ---------------------------------------------------------
    ("AI.MODELSTORE m TORCH CPU BLOB abc", Args("AI.MODELSTORE m TORCH CPU TAG '' BATCHSIZE 0 MINBATCHSIZE 0 MINBATCHTIMEOUT 0 BLOB abc")),
    ("AI.MODELSTORE m onnx GPU:0 tag v1 blob ab cd ef", Args("AI.MODELSTORE m ONNX GPU:0 TAG v1 BATCHSIZE 0 MINBATCHSIZE 0 MINBATCHTIMEOUT 0 BLOB ab cd ef")),
    ("AI.MODELSTORE m ONNX CPU BLOB ab cd ef", Check(|c| matches!(c, Command::ModelStore(m) if m.blob.len() == 3 && m.blob_bytes() == "abcdef" && !m.legacy))),
    ("AI.MODELSTORE m TF CPU INPUTS 2 a b OUTPUTS 1 c BLOB x", Args("AI.MODELSTORE m TF CPU TAG '' BATCHSIZE 0 MINBATCHSIZE 0 MINBATCHTIMEOUT 0 INPUTS 2 a b OUTPUTS 1 c BLOB x")),
    // Counted names may be keywords; the device is kept as typed.
    ("AI.MODELSTORE m tf cpu INPUTS 1 OUTPUTS OUTPUTS 1 BLOB BLOB x", Args("AI.MODELSTORE m TF cpu TAG '' BATCHSIZE 0 MINBATCHSIZE 0 MINBATCHTIMEOUT 0 INPUTS 1 OUTPUTS OUTPUTS 1 BLOB BLOB x")),
    ("AI.MODELSTORE m TORCH CPU BATCHSIZE 4 MINBATCHSIZE 2 MINBATCHTIMEOUT 100 BLOB x", Args("AI.MODELSTORE m TORCH CPU TAG '' BATCHSIZE 4 MINBATCHSIZE 2 MINBATCHTIMEOUT 100 BLOB x")),
    ("AI.MODELSTORE m TORCH CPU batchsize 4.0 minbatchsize 2.0 BLOB x", Args("AI.MODELSTORE m TORCH CPU TAG '' BATCHSIZE 4 MINBATCHSIZE 2 MINBATCHTIMEOUT 0 BLOB x")),
    ("AI.MODELSTORE m TORCH CPU MINBATCHSIZE 0 MINBATCHTIMEOUT 0 BLOB x", Args("AI.MODELSTORE m TORCH CPU TAG '' BATCHSIZE 0 MINBATCHSIZE 0 MINBATCHTIMEOUT 0 BLOB x")),
    // MINBATCHSIZE > BATCHSIZE is not checked; TFLITE takes batching in MODELSTORE.
    ("AI.MODELSTORE m TFLITE CPU BATCHSIZE 2 MINBATCHSIZE 5 BLOB x", Args("AI.MODELSTORE m TFLITE CPU TAG '' BATCHSIZE 2 MINBATCHSIZE 5 MINBATCHTIMEOUT 0 BLOB x")),
    ("AI.MODELSTORE m TORCH CPU: BLOB x", Args("AI.MODELSTORE m TORCH CPU: TAG '' BATCHSIZE 0 MINBATCHSIZE 0 MINBATCHTIMEOUT 0 BLOB x")),
    ("AI.MODELSTORE m TORCH gpu:12345 BLOB x", Args("AI.MODELSTORE m TORCH gpu:12345 TAG '' BATCHSIZE 0 MINBATCHSIZE 0 MINBATCHTIMEOUT 0 BLOB x")),
    ("AI.MODELSTORE m TORCH CPU TAG '' BLOB ''", Args("AI.MODELSTORE m TORCH CPU TAG '' BATCHSIZE 0 MINBATCHSIZE 0 MINBATCHTIMEOUT 0 BLOB ''")),
    // ---- AI.MODELSET ---------------------------------------------------------------------
    ("AI.MODELSET m TORCH", Error("ERR wrong number of arguments for 'AI.MODELSET' command")),
    ("AI.MODELSET m FOO CPU BLOB x", Error("ERR unsupported backend")),
    ("AI.MODELSET m TORCH BLOB x", Error("ERR Invalid DEVICE")),
    ("AI.MODELSET m TORCH tag x BLOB y", Error("ERR Invalid DEVICE")),
    ("AI.MODELSET m TORCH MinBatchTimeout x BLOB y", Error("ERR Invalid DEVICE")),
    ("AI.MODELSET m TORCH 01234567890 BLOB x", Error("ERR Invalid DEVICE")),
    // Not UTF-8: refused (the device is kept as text; a lossy copy would not store back).
    ("AI.MODELSET m TORCH \\xff\\xff\\xff\\xff BLOB x", Error("ERR Invalid DEVICE")),
    ("AI.MODELSET m TORCH CPU\\xff BLOB x", Error("ERR Invalid DEVICE")),
    ("AI.MODELSET m TFLITE CPU BATCHSIZE 2 BLOB x", Error("ERR Auto-batching not supported by the TFLITE backend")),
    ("AI.MODELSET m TFLITE CPU BATCHSIZE x BLOB y", Error("ERR Auto-batching not supported by the TFLITE backend")),
    ("AI.MODELSET m TORCH CPU BATCHSIZE x BLOB y", Error("ERR Invalid argument for BATCHSIZE")),
    ("AI.MODELSET m TORCH CPU MINBATCHSIZE x BLOB y", Error("ERR MINBATCHSIZE specified without BATCHSIZE")),
    ("AI.MODELSET m TORCH CPU BATCHSIZE 2 MINBATCHSIZE x BLOB y", Error("ERR Invalid argument for MINBATCHSIZE")),
    ("AI.MODELSET m TORCH CPU MINBATCHTIMEOUT 5 BLOB y", Error("ERR MINBATCHTIMEOUT specified without BATCHSIZE")),
    ("AI.MODELSET m TORCH CPU BATCHSIZE 2 MINBATCHTIMEOUT 5 BLOB y", Error("ERR MINBATCHTIMEOUT specified without MINBATCHSIZE")),
    ("AI.MODELSET m TORCH CPU BATCHSIZE 2 MINBATCHSIZE 1 MINBATCHTIMEOUT x BLOB y", Error("ERR Invalid argument for MINBATCHTIMEOUT")),
    ("AI.MODELSET m TORCH CPU", Error("ERR Insufficient arguments, missing model BLOB")),
    ("AI.MODELSET m TORCH CPU TAG", Error("ERR Insufficient arguments, missing model BLOB")),
    ("AI.MODELSET m TORCH CPU BLOB", Error("ERR Insufficient arguments, missing model BLOB")),
    ("AI.MODELSET m TORCH CPU foo bar", Error("ERR Insufficient arguments, missing model BLOB")),
    ("AI.MODELSET m TF CPU INPUTS a OUTPUTS b", Error("ERR Insufficient arguments, missing model BLOB")),
    ("AI.MODELSET m TF CPU BLOB x", Error("ERR Insufficient arguments, INPUTS and OUTPUTS not specified")),
    ("AI.MODELSET m TF CPU OUTPUTS b BLOB x", Error("ERR INPUTS not specified")),
    ("AI.MODELSET m TF CPU INPUTS a BLOB x", Error("ERR OUTPUTS not specified")),
    ("AI.MODELSET m TORCH CPU BLOB x", Args("AI.MODELSET m TORCH CPU TAG '' BLOB x")),
    ("AI.MODELSET m TF CPU INPUTS a b OUTPUTS c BLOB x y", Args("AI.MODELSET m TF CPU TAG '' INPUTS a b OUTPUTS c BLOB x y")),
    ("AI.MODELSET m TF CPU INPUTS OUTPUTS BLOB x", Args("AI.MODELSET m TF CPU TAG '' INPUTS OUTPUTS BLOB x")),
    ("AI.MODELSET m ONNX anydevice TAG v BATCHSIZE 2 MINBATCHSIZE 1 MINBATCHTIMEOUT 5 BLOB x", Args("AI.MODELSET m ONNX anydevice TAG v BATCHSIZE 2 MINBATCHSIZE 1 MINBATCHTIMEOUT 5 BLOB x")),
    ("AI.MODELSET m TORCH 0123456789 BLOB x", Args("AI.MODELSET m TORCH 0123456789 TAG '' BLOB x")),
    // Non-TF backends ignore the option list before BLOB.
    ("AI.MODELSET m TORCH CPU INPUTS a OUTPUTS b BLOB x", Args("AI.MODELSET m TORCH CPU TAG '' BLOB x")),
    ("AI.MODELSET m TFLITE CPU BLOB x y", Check(|c| matches!(c, Command::ModelStore(m) if m.legacy && m.blob_bytes() == "xy"))),
    // ---- AI.MODELGET / AI.MODELDEL -------------------------------------------------------
    ("AI.MODELGET", Error("ERR wrong number of arguments for 'AI.MODELGET' command")),
    ("AI.MODELGET m META BLOB x", Error("ERR wrong number of arguments for 'AI.MODELGET' command")),
    ("AI.MODELGET m", Args("AI.MODELGET m META BLOB")),
    ("AI.MODELGET m META", Args("AI.MODELGET m META")),
    ("AI.MODELGET m blob", Args("AI.MODELGET m BLOB")),
    ("AI.MODELGET m BLOB META", Args("AI.MODELGET m META BLOB")),
    ("AI.MODELGET m foo", Args("AI.MODELGET m META BLOB")),
    ("AI.MODELGET m META foo", Args("AI.MODELGET m META")),
    ("AI.MODELDEL", Error("ERR wrong number of arguments for 'AI.MODELDEL' command")),
    ("AI.MODELDEL m n", Error("ERR wrong number of arguments for 'AI.MODELDEL' command")),
    ("ai.modeldel m", Args("AI.MODELDEL m")),
    // ---- AI.MODELEXECUTE -----------------------------------------------------------------
    ("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1", Error("ERR wrong number of arguments for 'AI.MODELEXECUTE' command")),
    // The module's own arity text: upper-case whatever was typed.
    ("ai.modelexecute m", Error("ERR wrong number of arguments for 'AI.MODELEXECUTE' command")),
    ("AI.MODELEXECUTE m TIMEOUT 5 INPUTS 1 a OUTPUTS 1 b", Error("ERR INPUTS not specified")),
    ("AI.MODELEXECUTE m OUTPUTS 1 b INPUTS 1 a", Error("ERR INPUTS not specified")),
    ("AI.MODELEXECUTE m INPUTS x a OUTPUTS 1 b", Error("ERR Invalid argument for input_count")),
    ("AI.MODELEXECUTE m INPUTS 1.0 a OUTPUTS 1 b", Error("ERR Invalid argument for input_count")),
    ("AI.MODELEXECUTE m INPUTS 0 OUTPUTS 1 b c", Error("ERR Input count must be a positive integer")),
    ("AI.MODELEXECUTE m INPUTS -1 a OUTPUTS 1 b", Error("ERR Input count must be a positive integer")),
    ("AI.MODELEXECUTE m INPUTS 9 a OUTPUTS 1 b", Error("ERR number of input keys to AI.MODELEXECUTE command does not match the number of given arguments")),
    ("AI.MODELEXECUTE m INPUTS 1 a b OUTPUTS 1 c", Error("ERR OUTPUTS not specified")),
    ("AI.MODELEXECUTE m INPUTS 4 a b c d", Error("ERR OUTPUTS not specified")),
    ("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS x b", Error("ERR Invalid argument for output_count")),
    ("AI.MODELEXECUTE m INPUTS 3 a b c OUTPUTS", Error("ERR Invalid argument for output_count")),
    ("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 0 b", Error("ERR Output count must be a positive integer")),
    ("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS -2 b", Error("ERR Output count must be a positive integer")),
    ("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 3 b c", Error("ERR number of output keys to AI.MODELEXECUTE command does not match the number of given arguments")),
    ("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 b FOO", Error("Invalid argument: FOO")),
    ("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 b TIMEOUT 5 extra", Error("Invalid argument: extra")),
    ("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 b TIMEOUT 5 TIMEOUT 6", Error("Invalid argument: TIMEOUT")),
    ("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 b TIMEOUT", Error("ERR No value provided for TIMEOUT")),
    ("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 b TIMEOUT 0", Error("ERR Invalid value for TIMEOUT")),
    ("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 b TIMEOUT -5", Error("ERR Invalid value for TIMEOUT")),
    ("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 b TIMEOUT x", Error("ERR Invalid value for TIMEOUT")),
    ("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 b TIMEOUT 1.5", Error("ERR Invalid value for TIMEOUT")),
    ("AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c", Args("AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c")),
    ("ai.modelexecute m inputs 1 a outputs 2 b c timeout 1000", Args("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 2 b c TIMEOUT 1000")),
    ("AI.MODELEXECUTE m INPUTS 1 OUTPUTS OUTPUTS 1 TIMEOUT", Args("AI.MODELEXECUTE m INPUTS 1 OUTPUTS OUTPUTS 1 TIMEOUT")),
    // ---- AI.MODELRUN ---------------------------------------------------------------------
    ("AI.MODELRUN m INPUTS a OUTPUTS", Error("ERR wrong number of arguments for 'AI.MODELRUN' command")),
    ("AI.MODELRUN m TIMEOUT x INPUTS a OUTPUTS b", Error("ERR Invalid value for TIMEOUT")),
    ("AI.MODELRUN m TIMEOUT 0 INPUTS a OUTPUTS b", Error("ERR Invalid value for TIMEOUT")),
    ("AI.MODELRUN m a INPUTS b OUTPUTS c", Error("ERR INPUTS not specified")),
    ("AI.MODELRUN m TIMEOUT 5 a b OUTPUTS c", Error("ERR INPUTS not specified")),
    ("AI.MODELRUN m INPUTS a b OUTPUTS c", Args("AI.MODELRUN m INPUTS a b OUTPUTS c")),
    ("ai.modelrun m timeout 50 inputs a outputs b c", Args("AI.MODELRUN m TIMEOUT 50 INPUTS a OUTPUTS b c")),
    ("AI.MODELRUN m INPUTS a b c d", Args("AI.MODELRUN m INPUTS a b c d OUTPUTS")),
    ("AI.MODELRUN m INPUTS a OUTPUTS b OUTPUTS", Args("AI.MODELRUN m INPUTS a OUTPUTS b OUTPUTS")),
    ("AI.MODELRUN m INPUTS a OUTPUTS b c", Check(|c| matches!(c, Command::ModelExecute(m) if m.legacy && m.inputs.len() == 1 && m.outputs.len() == 2 && m.timeout.is_none()))),
    // ---- AI._MODELSCAN / AI._SCRIPTSCAN --------------------------------------------------
    ("AI._MODELSCAN", Args("AI._MODELSCAN")),
    ("ai._scriptscan", Args("AI._SCRIPTSCAN")),
    ("AI._MODELSCAN x", Error("ERR wrong number of arguments for 'AI._MODELSCAN' command")),
    ("AI._SCRIPTSCAN x y", Error("ERR wrong number of arguments for 'AI._SCRIPTSCAN' command")),
    // ---- AI.SCRIPTSTORE ------------------------------------------------------------------
    ("AI.SCRIPTSTORE s CPU ENTRY_POINTS 1 f SOURCE", Error("ERR wrong number of arguments for 'AI.SCRIPTSTORE' command")),
    ("AI.SCRIPTSTORE s CPU TAG t SOURCE src x", Error("ERR Insufficient arguments, missing script entry points")),
    ("AI.SCRIPTSTORE s CPU ENTRY_POINTS 5 a b SOURCE", Error("ERR Insufficient arguments, missing script entry points")),
    ("AI.SCRIPTSTORE s CPU ENTRY_POINTS -1 a SOURCE src", Error("ERR Non numeric entry points number provided to AI.SCRIPTSTORE command")),
    ("AI.SCRIPTSTORE s CPU ENTRY_POINTS x a SOURCE src", Error("ERR Non numeric entry points number provided to AI.SCRIPTSTORE command")),
    ("AI.SCRIPTSTORE s CPU ENTRY_POINTS 1.5 a SOURCE src", Error("ERR Non numeric entry points number provided to AI.SCRIPTSTORE command")),
    ("AI.SCRIPTSTORE s CPU ENTRY_POINTS 1 f BLOB src", Error("ERR Insufficient arguments, missing script SOURCE")),
    // The entry point names swallow the SOURCE word.
    ("AI.SCRIPTSTORE s CPU ENTRY_POINTS 2 f SOURCE src", Error("ERR Insufficient arguments, missing script SOURCE")),
    ("AI.SCRIPTSTORE s CPU TAG t ENTRY_POINTS 1 f SOURCE", Error("ERR Insufficient arguments, missing script SOURCE")),
    ("AI.SCRIPTSTORE s CPU ENTRY_POINTS 2 bar baz SOURCE def", Args("AI.SCRIPTSTORE s CPU TAG '' ENTRY_POINTS 2 bar baz SOURCE def")),
    ("ai.scriptstore s whatever tag v entry_points 0 source src", Args("AI.SCRIPTSTORE s whatever TAG v ENTRY_POINTS 0 SOURCE src")),
    ("AI.SCRIPTSTORE s CPU ENTRY_POINTS 1.0 f SOURCE src", Args("AI.SCRIPTSTORE s CPU TAG '' ENTRY_POINTS 1 f SOURCE src")),
    ("AI.SCRIPTSTORE s CPU ENTRY_POINTS 1 f SOURCE src extra args", Args("AI.SCRIPTSTORE s CPU TAG '' ENTRY_POINTS 1 f SOURCE src")),
    ("AI.SCRIPTSTORE s CPU ENTRY_POINTS 0 SOURCE src x", Check(|c| matches!(c, Command::ScriptStore(s) if !s.legacy && s.entry_points.is_empty() && s.source == "src"))),
    // ---- AI.SCRIPTSET --------------------------------------------------------------------
    ("AI.SCRIPTSET s CPU SOURCE", Error("ERR wrong number of arguments for 'AI.SCRIPTSET' command")),
    ("AI.SCRIPTSET s CPU TAG v SOURCE", Error("ERR wrong number of arguments for 'AI.SCRIPTSET' command")),
    ("AI.SCRIPTSET s CPU TAG v SOURCE src x", Error("ERR wrong number of arguments for 'AI.SCRIPTSET' command")),
    ("AI.SCRIPTSET s CPU TAG v", Error("ERR Insufficient arguments, missing script SOURCE")),
    ("AI.SCRIPTSET s CPU FOO src", Error("ERR Insufficient arguments, missing script SOURCE")),
    ("AI.SCRIPTSET s CPU TAG v FOO src", Error("ERR Insufficient arguments, missing script SOURCE")),
    ("AI.SCRIPTSET s CPU SOURCE src", Args("AI.SCRIPTSET s CPU TAG '' SOURCE src")),
    ("ai.scriptset s gpu:1 tag v source src", Args("AI.SCRIPTSET s gpu:1 TAG v SOURCE src")),
    ("AI.SCRIPTSET s CPU SOURCE src", Check(|c| matches!(c, Command::ScriptStore(s) if s.legacy && s.entry_points.is_empty()))),
    // ---- AI.SCRIPTGET / AI.SCRIPTDEL -----------------------------------------------------
    ("AI.SCRIPTGET", Error("ERR wrong number of arguments for 'AI.SCRIPTGET' command")),
    ("AI.SCRIPTGET s META SOURCE x", Error("ERR wrong number of arguments for 'AI.SCRIPTGET' command")),
    ("AI.SCRIPTGET s", Args("AI.SCRIPTGET s META SOURCE")),
    ("AI.SCRIPTGET s META", Args("AI.SCRIPTGET s META")),
    ("AI.SCRIPTGET s source", Args("AI.SCRIPTGET s SOURCE")),
    ("AI.SCRIPTGET s SOURCE META", Args("AI.SCRIPTGET s META SOURCE")),
    ("AI.SCRIPTGET s foo", Args("AI.SCRIPTGET s META SOURCE")),
    ("AI.SCRIPTDEL", Error("ERR wrong number of arguments for 'AI.SCRIPTDEL' command")),
    ("AI.SCRIPTDEL s t", Error("ERR wrong number of arguments for 'AI.SCRIPTDEL' command")),
    ("AI.SCRIPTDEL s", Args("AI.SCRIPTDEL s")),
    // ---- AI.SCRIPTEXECUTE ----------------------------------------------------------------
    ("AI.SCRIPTEXECUTE s", Error("ERR wrong number of arguments for 'AI.SCRIPTEXECUTE' command")),
    ("AI.SCRIPTEXECUTE s f", Error("ERR KEYS or INPUTS scope must be provided first for AI.SCRIPTEXECUTE command")),
    ("AI.SCRIPTEXECUTE s f ARGS 1 a INPUTS 1 b", Error("ERR KEYS or INPUTS scope must be provided first for AI.SCRIPTEXECUTE command")),
    ("AI.SCRIPTEXECUTE s f OUTPUTS 1 o", Error("ERR KEYS or INPUTS scope must be provided first for AI.SCRIPTEXECUTE command")),
    ("AI.SCRIPTEXECUTE s f TIMEOUT 5", Error("ERR KEYS or INPUTS scope must be provided first for AI.SCRIPTEXECUTE command")),
    ("AI.SCRIPTEXECUTE s f KEYS 1 a KEYS 1 b", Error("ERR Already Encountered KEYS scope in AI.SCRIPTEXECUTE command")),
    ("AI.SCRIPTEXECUTE s f INPUTS 1 a INPUTS 1 b", Error("ERR Already Encountered INPUTS scope in AI.SCRIPTEXECUTE command")),
    ("AI.SCRIPTEXECUTE s f INPUTS 0 ARGS 0 ARGS 0", Error("ERR Already Encountered ARGS scope in AI.SCRIPTEXECUTE command")),
    ("AI.SCRIPTEXECUTE s f INPUTS 0 OUTPUTS 0 outputs 1 o", Error("ERR Already Encountered OUTPUTS scope in AI.SCRIPTEXECUTE command")),
    ("AI.SCRIPTEXECUTE s f KEYS 1", Error("ERR Missing arguments after KEYS keyword")),
    ("AI.SCRIPTEXECUTE s f KEYS", Error("ERR Missing arguments after KEYS keyword")),
    ("AI.SCRIPTEXECUTE s f KEYS 0 a", Error("ERR Invalid or negative value found in number of KEYS")),
    ("AI.SCRIPTEXECUTE s f KEYS -1 a", Error("ERR Invalid or negative value found in number of KEYS")),
    ("AI.SCRIPTEXECUTE s f KEYS x a", Error("ERR Invalid or negative value found in number of KEYS")),
    ("AI.SCRIPTEXECUTE s f KEYS 3 a b", Error("ERR Number of pre declared KEYS to be used in the command does not match the number of given arguments")),
    ("AI.SCRIPTEXECUTE s f INPUTS", Error("ERR Invalid arguments provided to AI.SCRIPTEXECUTE")),
    ("AI.SCRIPTEXECUTE s f INPUTS 0 ARGS", Error("ERR Invalid arguments provided to AI.SCRIPTEXECUTE")),
    ("AI.SCRIPTEXECUTE s f INPUTS 0 OUTPUTS", Error("ERR Invalid arguments provided to AI.SCRIPTEXECUTE")),
    ("AI.SCRIPTEXECUTE s f INPUTS x", Error("ERR Invalid argument for inputs count in AI.SCRIPTEXECUTE")),
    // Negative counts are refused (deliberate; the C module reads them as 0).
    ("AI.SCRIPTEXECUTE s f INPUTS -1 a", Error("ERR Invalid argument for inputs count in AI.SCRIPTEXECUTE")),
    ("AI.SCRIPTEXECUTE s f INPUTS 2 a", Error("ERR number of inputs to AI.SCRIPTEXECUTE command does not match the number of given arguments")),
    ("AI.SCRIPTEXECUTE s f INPUTS 0 ARGS x", Error("ERR Invalid argument for keys count in AI.SCRIPTEXECUTE")),
    ("AI.SCRIPTEXECUTE s f INPUTS 0 ARGS -1", Error("ERR Invalid argument for keys count in AI.SCRIPTEXECUTE")),
    ("AI.SCRIPTEXECUTE s f INPUTS 0 ARGS 2 a", Error("ERR number of args to AI.SCRIPTEXECUTE command does not match the number of given arguments")),
    ("AI.SCRIPTEXECUTE s f INPUTS 0 OUTPUTS x", Error("ERR Invalid argument for outputs count in AI.SCRIPTEXECUTE")),
    ("AI.SCRIPTEXECUTE s f INPUTS 0 OUTPUTS -1", Error("ERR Invalid argument for outputs count in AI.SCRIPTEXECUTE")),
    ("AI.SCRIPTEXECUTE s f INPUTS 0 OUTPUTS 2 o", Error("ERR number of outputs to AI.SCRIPTEXECUTE command does not match the number of given arguments")),
    ("AI.SCRIPTEXECUTE s f INPUTS 1 a TIMEOUT", Error("ERR No value provided for TIMEOUT in AI.SCRIPTEXECUTE")),
    ("AI.SCRIPTEXECUTE s f INPUTS 1 a TIMEOUT 0", Error("ERR Invalid value for TIMEOUT")),
    ("AI.SCRIPTEXECUTE s f INPUTS 1 a TIMEOUT x", Error("ERR Invalid value for TIMEOUT")),
    ("AI.SCRIPTEXECUTE s f INPUTS 1 a TIMEOUT 5 OUTPUTS 1 o", Error("ERR Encountered problem parsing AI.SCRIPTEXECUTE")),
    ("AI.SCRIPTEXECUTE s f INPUTS 1 a FOO", Error("ERR Invalid AI.SCRIPTEXECUTE command. Unexpected argument: FOO")),
    ("AI.SCRIPTEXECUTE s f KEYS 1 k $", Error("ERR Invalid AI.SCRIPTEXECUTE command. Unexpected argument: $")),
    ("AI.SCRIPTEXECUTE s f INPUTS 2 a b OUTPUTS 1 c", Args("AI.SCRIPTEXECUTE s f INPUTS 2 a b OUTPUTS 1 c")),
    ("AI.SCRIPTEXECUTE s f KEYS 1 k", Args("AI.SCRIPTEXECUTE s f KEYS 1 k INPUTS 0")),
    ("AI.SCRIPTEXECUTE s f INPUTS 0", Args("AI.SCRIPTEXECUTE s f INPUTS 0")),
    ("ai.scriptexecute s f keys 2 k1 k2 outputs 1 o args 2 x y inputs 1 i timeout 10", Args("AI.SCRIPTEXECUTE s f KEYS 2 k1 k2 INPUTS 1 i ARGS 2 x y OUTPUTS 1 o TIMEOUT 10")),
    ("AI.SCRIPTEXECUTE s f INPUTS 1 a ARGS 0 OUTPUTS 0", Args("AI.SCRIPTEXECUTE s f INPUTS 1 a")),
    ("AI.SCRIPTEXECUTE s f INPUTS 2 KEYS ARGS", Args("AI.SCRIPTEXECUTE s f INPUTS 2 KEYS ARGS")),
    // ---- AI.SCRIPTRUN --------------------------------------------------------------------
    ("AI.SCRIPTRUN s", Error("ERR wrong number of arguments for 'AI.SCRIPTRUN' command")),
    ("AI.SCRIPTRUN s f TIMEOUT 5 TIMEOUT 6", Error("ERR Already encountered an TIMEOUT section in SCRIPTRUN")),
    ("AI.SCRIPTRUN s f TIMEOUT x", Error("ERR Invalid value for TIMEOUT")),
    ("AI.SCRIPTRUN s f INPUTS a TIMEOUT", Error("ERR Invalid value for TIMEOUT")),
    ("AI.SCRIPTRUN s f OUTPUTS o INPUTS a", Error("ERR Already encountered an INPUTS section in SCRIPTRUN")),
    ("AI.SCRIPTRUN s f INPUTS a INPUTS b", Error("ERR Already encountered an INPUTS keyword in SCRIPTRUN")),
    ("AI.SCRIPTRUN s f OUTPUTS a OUTPUTS b", Error("ERR Already encountered an OUTPUTS keyword in SCRIPTRUN")),
    ("AI.SCRIPTRUN s f $ a", Error("ERR Encountered a variable size list of tensors outside of input section")),
    ("AI.SCRIPTRUN s f INPUTS a OUTPUTS $", Error("ERR Encountered a variable size list of tensors outside of input section")),
    ("AI.SCRIPTRUN s f INPUTS $ a $ b", Error("ERR Already encountered a variable size list of tensors")),
    ("AI.SCRIPTRUN s f a", Error("ERR Unrecongnized parameter to SCRIPTRUN")),
    ("AI.SCRIPTRUN s f TIMEOUT 5 a", Error("ERR Unrecongnized parameter to SCRIPTRUN")),
    ("AI.SCRIPTRUN s f", Args("AI.SCRIPTRUN s f")),
    ("AI.SCRIPTRUN s f INPUTS a b OUTPUTS c", Args("AI.SCRIPTRUN s f INPUTS a b OUTPUTS c")),
    ("AI.SCRIPTRUN s f INPUTS a $ b c OUTPUTS o", Args("AI.SCRIPTRUN s f INPUTS a $ b c OUTPUTS o")),
    ("AI.SCRIPTRUN s f INPUTS a $ b c OUTPUTS o", Check(|c| matches!(c, Command::ScriptExecute(s) if s.legacy && s.variadic == Some(1) && s.inputs.len() == 3 && s.outputs.len() == 1))),
    ("AI.SCRIPTRUN s f INPUTS $", Check(|c| matches!(c, Command::ScriptExecute(s) if s.variadic == Some(0) && s.inputs.is_empty()))),
    ("AI.SCRIPTRUN s f INPUTS a b $", Args("AI.SCRIPTRUN s f INPUTS a b $")),
    ("ai.scriptrun s f outputs o timeout 5", Args("AI.SCRIPTRUN s f TIMEOUT 5 OUTPUTS o")),
    ("AI.SCRIPTRUN s f INPUTS a TIMEOUT 5 b", Args("AI.SCRIPTRUN s f TIMEOUT 5 INPUTS a b")),
    // ---- AI.DAGEXECUTE / AI.DAGEXECUTE_RO: clauses ---------------------------------------
    ("AI.DAGEXECUTE LOAD 1 a |>", Error("ERR missing arguments for 'AI.DAGEXECUTE' command")),
    ("ai.dagexecute LOAD 1 a", Error("ERR missing arguments for 'AI.DAGEXECUTE' command")),
    ("AI.DAGEXECUTE_RO LOAD 1 a |>", Error("ERR missing arguments for 'AI.DAGEXECUTE_RO' command")),
    ("AI.DAGEXECUTE FOO 1 a |> AI.TENSORGET a", Error("ERR Invalid DAG command. Unexpected argument:  FOO")),
    ("AI.DAGEXECUTE LOAD 1 a LOAD 1 b |> AI.TENSORGET a", Error("ERR Invalid DAG command. Unexpected argument:  LOAD")),
    ("AI.DAGEXECUTE PERSIST 1 a persist 1 b |> AI.TENSORSET a FLOAT 1", Error("ERR Invalid DAG command. Unexpected argument:  persist")),
    ("AI.DAGEXECUTE ROUTING a ROUTING b |> AI.TENSORSET a FLOAT 1", Error("ERR Invalid DAG command. Unexpected argument:  ROUTING")),
    ("AI.DAGEXECUTE ROUTING a TIMEOUT 1 TIMEOUT 2 |> AI.TENSORSET a FLOAT 1", Error("ERR Invalid DAG command. Unexpected argument:  TIMEOUT")),
    ("AI.DAGEXECUTE LOAD 1 a PERSIST 1 a |>", Error("ERR Invalid DAG command. Unexpected argument:  |>")),
    ("AI.DAGEXECUTE LOAD 1 a AI.TENSORGET a", Error("ERR Invalid DAG command. Unexpected argument:  AI.TENSORGET")),
    // LOAD counts its keys blindly, `|>` included.
    ("AI.DAGEXECUTE LOAD 3 a |> AI.TENSORGET a", Error("ERR Invalid DAG command. Unexpected argument:  a")),
    ("AI.DAGEXECUTE PERSIST 1 a LOAD 1", Error("ERR missing arguments after LOAD keyword in DAG command")),
    ("AI.DAGEXECUTE LOAD 0 a |> AI.TENSORGET a", Error("ERR invalid or negative value found in number of keys to LOAD")),
    ("AI.DAGEXECUTE LOAD -1 a |> AI.TENSORGET a", Error("ERR invalid or negative value found in number of keys to LOAD")),
    ("AI.DAGEXECUTE LOAD x a |> AI.TENSORGET a", Error("ERR invalid or negative value found in number of keys to LOAD")),
    ("AI.DAGEXECUTE LOAD 9 a b c", Error("ERR number of keys to LOAD into DAG does not match the number of given arguments")),
    ("AI.DAGEXECUTE_RO PERSIST 1 a |> AI.TENSORSET a FLOAT 1", Error("ERR PERSIST cannot be specified in a read-only DAG")),
    ("AI.DAGEXECUTE LOAD 1 a PERSIST 1", Error("ERR missing arguments after PERSIST keyword in DAG command")),
    ("AI.DAGEXECUTE PERSIST 0 a |> AI.TENSORSET a FLOAT 1", Error("ERR invalid or negative value found in number of keys to PERSIST")),
    ("AI.DAGEXECUTE PERSIST y a |> AI.TENSORSET a FLOAT 1", Error("ERR invalid or negative value found in number of keys to PERSIST")),
    ("AI.DAGEXECUTE PERSIST 2 a a |> AI.TENSORSET a FLOAT 1", Error("ERR PERSIST keys must be unique")),
    // Duplicates are found among the keys that are there, before their number is checked.
    ("AI.DAGEXECUTE ROUTING r PERSIST 3 a a", Error("ERR PERSIST keys must be unique")),
    ("AI.DAGEXECUTE ROUTING r PERSIST 3 a b", Error("ERR number of keys to PERSIST after DAG execution does not match the number of given arguments")),
    ("AI.DAGEXECUTE LOAD 1 a TIMEOUT 5 ROUTING", Error("ERR Missing ROUTING value")),
    ("AI.DAGEXECUTE LOAD 1 a ROUTING r TIMEOUT", Error("ERR No value provided for TIMEOUT")),
    ("AI.DAGEXECUTE LOAD 1 a TIMEOUT x |> AI.TENSORGET a", Error("ERR Invalid value for TIMEOUT")),
    ("AI.DAGEXECUTE LOAD 1 a TIMEOUT 1.5 |> AI.TENSORGET a", Error("ERR Invalid value for TIMEOUT")),
    ("AI.DAGEXECUTE TIMEOUT 5 |> AI.TENSORSET a FLOAT 1", Error("ERR AI.DAGEXECUTE and AI.DAGEXECUTE_RO commands must contain at least one out of ROUTING, LOAD, PERSIST keywords")),
    ("AI.DAGEXECUTE_RO |> AI.TENSORSET a FLOAT 1 VALUES 1", Error("ERR AI.DAGEXECUTE and AI.DAGEXECUTE_RO commands must contain at least one out of ROUTING, LOAD, PERSIST keywords")),
    // No ops: `ERR DAG is empty` comes from the engine, after the LOAD keys (tests/engine.rs).
    ("AI.DAGEXECUTE LOAD 1 a PERSIST 1 a", Check(|c| matches!(c, Command::Dag(d) if d.ops.is_empty()))),
    ("AI.DAGEXECUTE_RO LOAD 1 a ROUTING a", Check(|c| matches!(c, Command::Dag(d) if d.ops.is_empty()))),
    // ---- DAG ops -------------------------------------------------------------------------
    ("AI.DAGEXECUTE ROUTING r TIMEOUT 5 |> AI.TENSORGET", Error("wrong number of arguments for 'AI.TENSORGET' command")),
    ("AI.DAGEXECUTE ROUTING r |> AI.TENSORGET a META BLOB VALUES", Error("wrong number of arguments for 'AI.TENSORGET' command")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.TENSORGET a FOO", Error("ERR unsupported data format")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.TENSORGET a BLOB VALUES", Error("ERR both BLOB and VALUES specified")),
    ("AI.DAGEXECUTE ROUTING r |> AI.TENSORSET a FLOAT", Error("wrong number of arguments for 'AI.TENSORSET' command")),
    ("AI.DAGEXECUTE ROUTING r |> AI.TENSORSET a FOO 1", Error("ERR invalid data type")),
    ("AI.DAGEXECUTE ROUTING r |> AI.TENSORSET a FLOAT -1", Error("ERR invalid or negative value found in tensor shape")),
    ("AI.DAGEXECUTE ROUTING r |> AI.TENSORSET a FLOAT 0 2", Args("AI.DAGEXECUTE ROUTING r |> AI.TENSORSET a FLOAT 0 2 BLOB ''")),
    ("AI.DAGEXECUTE ROUTING r |> AI.TENSORSET a FLOAT 2 VALUES 1", Error("ERR wrong number of values was given in 'AI.TENSORSET' command")),
    ("AI.DAGEXECUTE ROUTING r |> AI.TENSORSET a FLOAT 1 BLOB", Error("ERR a single binary string should come after the BLOB argument in 'AI.TENSORSET' command")),
    ("AI.DAGEXECUTE ROUTING r |> AI.TENSORSET a FLOAT 1 BLOB \\x00", Error("ERR data length does not match tensor shape and type")),
    ("AI.DAGEXECUTE ROUTING r |> AI.TENSORSET a BOOL 1 VALUES 3", Error("ERR invalid value")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.MODELEXECUTE m INPUTS 1 a", Error("ERR wrong number of arguments for 'AI.MODELEXECUTE' command")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.MODELEXECUTE m OUTPUTS 1 b INPUTS 1 a", Error("ERR INPUTS not specified")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 b TIMEOUT 5", Error("ERR TIMEOUT not allowed within a DAG command")),
    // A DAG op's whole grammar is checked before its TIMEOUT is refused.
    ("AI.DAGEXECUTE LOAD 1 a |> AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 b TIMEOUT", Error("ERR No value provided for TIMEOUT")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 b TIMEOUT x", Error("ERR Invalid value for TIMEOUT")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 b TIMEOUT 5 x", Error("Invalid argument: x")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.SCRIPTEXECUTE s f INPUTS 1 a TIMEOUT 5", Error("ERR TIMEOUT not allowed within a DAG command")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.SCRIPTEXECUTE s f INPUTS 1 a TIMEOUT 5 OUTPUTS 1 b", Error("ERR Encountered problem parsing AI.SCRIPTEXECUTE")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.SCRIPTEXECUTE s f INPUTS 1 a TIMEOUT", Error("ERR No value provided for TIMEOUT in AI.SCRIPTEXECUTE")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.SCRIPTEXECUTE s", Error("ERR wrong number of arguments for 'AI.SCRIPTEXECUTE' command")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.SCRIPTEXECUTE s f INPUTS 2 a", Error("ERR number of inputs to AI.SCRIPTEXECUTE command does not match the number of given arguments")),
    ("AI.DAGEXECUTE_RO LOAD 1 a |> AI.SCRIPTEXECUTE s f INPUTS 1 a", Error("ERR AI.SCRIPTEXECUTE command cannot be specified in a read-only DAG")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.MODELRUN m INPUTS a OUTPUTS b", Error("Deprecated AI.MODELRUN cannot be used in AI.DAGEXECUTE command")),
    ("AI.DAGEXECUTE_RO LOAD 1 a |> ai.scriptrun s f INPUTS a OUTPUTS b", Error("Deprecated AI.SCRIPTRUN cannot be used in AI.DAGEXECUTE command")),
    ("AI.DAGEXECUTE LOAD 1 a |> SET a b", Error("Unsupported command within DAG")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.MODELSTORE m TORCH CPU BLOB x", Error("Unsupported command within DAG")),
    ("AI.DAGEXECUTE LOAD 1 a |> |> AI.TENSORGET a", Error("Unsupported command within DAG")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.TENSORGET a |>", Error("Unsupported command within DAG")),
    // Every op is parsed before names are resolved.
    ("AI.DAGEXECUTE ROUTING r |> AI.TENSORGET a |> AI.TENSORSET b FOO 1", Error("ERR invalid data type")),
    // ---- DAG names (SSA) -----------------------------------------------------------------
    ("AI.DAGEXECUTE ROUTING r |> AI.TENSORGET a", Error("ERR INPUT key cannot be found in DAG")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c", Error("ERR INPUT key cannot be found in DAG")),
    ("AI.DAGEXECUTE ROUTING r |> AI.TENSORGET a |> AI.TENSORSET a FLOAT 1", Error("ERR INPUT key cannot be found in DAG")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.SCRIPTEXECUTE s f KEYS 1 a INPUTS 1 k OUTPUTS 1 o", Error("ERR INPUT key cannot be found in DAG")),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.MODELEXECUTE m INPUTS 1 b OUTPUTS 1 b", Error("ERR INPUT key cannot be found in DAG")),
    ("AI.DAGRUN LOAD 1 a |> AI.MODELRUN m INPUTS a b OUTPUTS c", Error("ERR INPUT key cannot be found in DAG")),
    ("AI.DAGEXECUTE PERSIST 1 b |> AI.TENSORSET a FLOAT 1", Error("ERR PERSIST key cannot be found in DAG")),
    ("AI.DAGEXECUTE LOAD 1 a PERSIST 1 b |> AI.TENSORGET a", Error("ERR PERSIST key cannot be found in DAG")),
    ("AI.DAGRUN PERSIST 1 x |> AI.TENSORSET a FLOAT 1", Error("ERR PERSIST key cannot be found in DAG")),
    // Re-binding: every TENSORSET of `a` makes a new version; PERSIST takes the last one.
    (
        "AI.DAGEXECUTE PERSIST 1 a |> AI.TENSORSET a INT8 1 VALUES 1 |> AI.TENSORGET a VALUES |> AI.TENSORSET a INT8 1 VALUES 2 |> AI.TENSORGET a VALUES",
        Args("AI.DAGEXECUTE PERSIST 1 a |> AI.TENSORSET a INT8 1 BLOB \\x01 |> AI.TENSORGET a VALUES |> AI.TENSORSET a INT8 1 BLOB \\x02 |> AI.TENSORGET a VALUES"),
    ),
    (
        "AI.DAGEXECUTE LOAD 1 a PERSIST 1 a |> AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 a |> AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 a",
        Check(|c| matches!(c, Command::Dag(d) if d.ops.len() == 2 && d.persist.len() == 1)),
    ),
    ("AI.DAGEXECUTE LOAD 1 a PERSIST 1 a |> AI.TENSORGET a", Args("AI.DAGEXECUTE LOAD 1 a PERSIST 1 a |> AI.TENSORGET a META BLOB")),
    // ---- DAG accepted --------------------------------------------------------------------
    ("AI.DAGEXECUTE LOAD 1 a |> AI.TENSORGET a VALUES", Args("AI.DAGEXECUTE LOAD 1 a |> AI.TENSORGET a VALUES")),
    (
        "AI.DAGEXECUTE LOAD 2 a b PERSIST 1 c ROUTING a TIMEOUT 100 |> AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 t |> AI.SCRIPTEXECUTE s f INPUTS 1 t OUTPUTS 1 c |> AI.TENSORGET c",
        Args("AI.DAGEXECUTE LOAD 2 a b PERSIST 1 c ROUTING a TIMEOUT 100 |> AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 t |> AI.SCRIPTEXECUTE s f INPUTS 1 t OUTPUTS 1 c |> AI.TENSORGET c META BLOB"),
    ),
    // A TIMEOUT of 0 or less means none.
    ("AI.DAGEXECUTE TIMEOUT 0 ROUTING r |> AI.TENSORSET a FLOAT 1", Args("AI.DAGEXECUTE ROUTING r |> AI.TENSORSET a FLOAT 1 BLOB \\x00\\x00\\x00\\x00")),
    ("AI.DAGEXECUTE ROUTING r TIMEOUT -5 |> AI.TENSORSET a FLOAT 1", Check(|c| matches!(c, Command::Dag(d) if d.timeout.is_none()))),
    // Inside a DAG the KEYS-or-INPUTS-first rule does not apply.
    ("AI.DAGEXECUTE ROUTING r |> AI.SCRIPTEXECUTE s f OUTPUTS 1 o |> AI.TENSORGET o", Args("AI.DAGEXECUTE ROUTING r |> AI.SCRIPTEXECUTE s f INPUTS 0 OUTPUTS 1 o |> AI.TENSORGET o META BLOB")),
    ("AI.DAGEXECUTE_RO LOAD 1 a |> AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 b |> AI.TENSORGET b VALUES", Args("AI.DAGEXECUTE_RO LOAD 1 a |> AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 b |> AI.TENSORGET b VALUES")),
    ("ai.dagexecute load 1 a |> ai.tensorget a meta", Args("AI.DAGEXECUTE LOAD 1 a |> AI.TENSORGET a META")),
    (
        "AI.DAGEXECUTE ROUTING r |> AI.TENSORSET s STRING 2 VALUES x '' |> AI.TENSORGET s VALUES",
        Check(|c| matches!(c, Command::Dag(d) if matches!(&d.ops[0], DagOp::TensorSet(t) if t.tensor.blob() == "x\0\0") && matches!(&d.ops[1], DagOp::TensorGet(g) if g.key == "s"))),
    ),
    // ---- AI.DAGRUN / AI.DAGRUN_RO --------------------------------------------------------
    ("AI.DAGRUN |> AI.TENSORGET", Error("ERR wrong number of arguments for 'AI.DAGRUN' command")),
    ("AI.DAGRUN_RO LOAD 1", Error("ERR wrong number of arguments for 'AI.DAGRUN_RO' command")),
    ("AI.DAGRUN FOO |> AI.TENSORGET a", Error("ERR Invalid DAG command. Unexpected argument:  FOO")),
    ("AI.DAGRUN LOAD 1 a", Check(|c| matches!(c, Command::Dag(d) if d.ops.is_empty()))),
    ("AI.DAGRUN_RO PERSIST 1 a |> AI.TENSORSET a FLOAT 1", Error("ERR PERSIST cannot be specified in a read-only DAG")),
    ("AI.DAGRUN LOAD 1 a |> AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 b", Error("AI.MODELEXECUTE cannot be used in a deprecated AI.DAGRUN command")),
    ("AI.DAGRUN_RO LOAD 1 a |> AI.SCRIPTEXECUTE s f INPUTS 1 a", Error("AI.SCRIPTEXECUTE cannot be used in a deprecated AI.DAGRUN command")),
    ("AI.DAGRUN LOAD 1 a |> AI.MODELRUN m TIMEOUT 5 INPUTS a OUTPUTS b", Error("ERR TIMEOUT not allowed within a DAG command")),
    ("AI.DAGRUN LOAD 1 a |> AI.SCRIPTRUN s f INPUTS a TIMEOUT 5", Error("ERR TIMEOUT not allowed within a DAG command")),
    ("AI.DAGRUN LOAD 1 a |> AI.MODELRUN m INPUTS a", Error("ERR wrong number of arguments for 'AI.MODELRUN' command")),
    ("AI.DAGRUN LOAD 1 a |> AI.SCRIPTRUN s f x", Error("ERR Unrecongnized parameter to SCRIPTRUN")),
    ("AI.DAGRUN |> FOO bar", Error("Unsupported command within DAG")),
    ("AI.DAGRUN |> AI.TENSORSET a FLOAT 1 VALUES 1", Args("AI.DAGRUN |> AI.TENSORSET a FLOAT 1 BLOB \\x00\\x00\\x80?")),
    ("AI.DAGRUN LOAD 1 a PERSIST 1 b |> AI.MODELRUN m INPUTS a OUTPUTS b", Args("AI.DAGRUN LOAD 1 a PERSIST 1 b |> AI.MODELRUN m INPUTS a OUTPUTS b")),
    ("AI.DAGRUN_RO LOAD 1 a |> AI.SCRIPTRUN s f INPUTS a OUTPUTS b |> AI.TENSORGET b BLOB", Args("AI.DAGRUN_RO LOAD 1 a |> AI.SCRIPTRUN s f INPUTS a OUTPUTS b |> AI.TENSORGET b BLOB")),
    ("AI.DAGRUN TIMEOUT 5 ROUTING r |> AI.TENSORSET a FLOAT 1", Check(|c| matches!(c, Command::Dag(d) if d.timeout == Some(5) && d.routing.is_some()))),
    // ---- AI.INFO -------------------------------------------------------------------------
    ("AI.INFO", Error("ERR wrong number of arguments for 'AI.INFO' command")),
    ("AI.INFO m RESETSTAT x", Error("ERR wrong number of arguments for 'AI.INFO' command")),
    ("AI.INFO m", Args("AI.INFO m")),
    ("AI.INFO m RESETSTAT", Args("AI.INFO m RESETSTAT")),
    ("ai.info m resetstat", Args("AI.INFO m RESETSTAT")),
    ("AI.INFO m foo", Args("AI.INFO m")),
    // ---- AI.CONFIG -----------------------------------------------------------------------
    ("AI.CONFIG", Error("ERR wrong number of arguments for 'AI.CONFIG' command")),
    ("AI.CONFIG LOADBACKEND", Error("ERR wrong number of arguments for 'AI.CONFIG' command")),
    ("ai.config LOADBACKEND TF", Error("ERR wrong number of arguments for 'ai.config' command")),
    ("AI.CONFIG GET", Error("ERR wrong number of arguments for 'AI.CONFIG' command")),
    ("AI.CONFIG LOADBACKEND FOO p", Error("ERR unsupported backend")),
    ("AI.CONFIG BACKENDSPATH", Error("ERR BACKENDSPATH: missing path argument")),
    ("AI.CONFIG MODEL_CHUNK_SIZE", Error("ERR MODEL_CHUNK_SIZE: missing chunk size")),
    ("AI.CONFIG MODEL_CHUNK_SIZE 0", Error("ERR MODEL_CHUNK_SIZE: invalid chunk size")),
    ("AI.CONFIG MODEL_CHUNK_SIZE -1", Error("ERR MODEL_CHUNK_SIZE: invalid chunk size")),
    ("AI.CONFIG MODEL_CHUNK_SIZE x", Error("ERR MODEL_CHUNK_SIZE: invalid chunk size")),
    ("AI.CONFIG MODEL_CHUNK_SIZE 1.0", Error("ERR MODEL_CHUNK_SIZE: invalid chunk size")),
    ("AI.CONFIG FOO", Error("ERR unsupported subcommand")),
    ("AI.CONFIG LOADBACKEND TORCH /x/y.so", Args("AI.CONFIG LOADBACKEND TORCH /x/y.so")),
    ("ai.config loadbackend onnx rel.so", Args("AI.CONFIG LOADBACKEND ONNX rel.so")),
    ("AI.CONFIG BACKENDSPATH /p", Args("AI.CONFIG BACKENDSPATH /p")),
    ("AI.CONFIG model_chunk_size 1024", Args("AI.CONFIG MODEL_CHUNK_SIZE 1024")),
    ("AI.CONFIG GET BACKENDSPATH", Args("AI.CONFIG GET BACKENDSPATH")),
    ("AI.CONFIG get whatever", Args("AI.CONFIG GET whatever")),
];

/// Cases whose arguments read better as byte strings.
#[rustfmt::skip]
const RAW: &[(&[&[u8]], Expect)] = &[
    (&[], NotOurs),
    (
        &[b"AI.TENSORSET", b"t", b"UINT8", b"3", b"BLOB", b" \0 "],
        T("UINT8 [3] 32 0 32"),
    ),
    (
        &[b"AI.TENSORSET", b"t", b"STRING", b"1", b"VALUES", b"hello world"],
        T("STRING [1] hello\\x20world"),
    ),
    (
        &[b"AI.TENSORSET", b"t", b"FLOAT", b"1", b"VALUES", b"1 "],
        Error("ERR invalid value"),
    ),
    (
        &[b"AI.MODELSTORE", b"m", b"TORCH", b"CPU", b"BLOB", &[1; 1000], &[2; 1000], &[3; 7]],
        Check(|c| {
            matches!(c, Command::ModelStore(m)
                if m.blob.len() == 3 && m.blob_bytes().len() == 2007 && m.blob_bytes()[1000] == 2)
        }),
    ),
    (
        &[b"AI.SCRIPTSTORE", b"s", b"CPU", b"ENTRY_POINTS", b"1", b"f", b"SOURCE", b"def f(a, b, c):\n    return a\n"],
        Check(|c| matches!(c, Command::ScriptStore(s) if s.source.ends_with(b"return a\n") && s.entry_points == ["f"])),
    ),
    (
        &[b"AI.MODELEXECUTE", b"m", b"INPUTS", b"1", b"a b", b"OUTPUTS", b"1", b""],
        Args("AI.MODELEXECUTE m INPUTS 1 a\\x20b OUTPUTS 1 ''"),
    ),
    (
        &[b"AI.MODELEXECUTE", b"m", b"INPUTS", b"1", b"a", b"OUTPUTS", b"1", b"b", b"no\xffutf8"],
        Error("Invalid argument: no\u{fffd}utf8"),
    ),
];

/// Every parse-time error text behavior.md §3 lists for these commands (arity texts included).
/// Each must be the expected outcome of at least one case above.
const SPEC_ERRORS: &[&str] = &[
    // AI.TENSORSET
    "ERR wrong number of arguments for 'AI.TENSORSET' command",
    "ERR invalid data type",
    "ERR a single binary string should come after the BLOB argument in 'AI.TENSORSET' command",
    "ERR wrong number of values was given in 'AI.TENSORSET' command",
    "ERR invalid or negative value found in tensor shape",
    "ERR data length does not match tensor shape and type",
    "ERR BOOL tensor elements must be 0 or 1",
    "ERR Number of string elements in data blob does not match tensor length",
    "ERR invalid value",
    "ERR C-string value contains null character",
    // AI.TENSORGET
    "ERR wrong number of arguments for 'AI.TENSORGET' command",
    "ERR unsupported data format",
    "ERR both BLOB and VALUES specified",
    // AI.MODELSTORE
    "ERR wrong number of arguments for 'AI.MODELSTORE' command",
    "ERR unsupported backend",
    "ERR Invalid DEVICE",
    "ERR Invalid argument for BATCHSIZE",
    "ERR Invalid argument for MINBATCHSIZE",
    "ERR MINBATCHSIZE specified without BATCHSIZE",
    "ERR Invalid argument for MINBATCHTIMEOUT",
    "ERR MINBATCHTIMEOUT specified without MINBATCHSIZE",
    "ERR Insufficient arguments, missing model BLOB",
    "ERR INPUTS not specified for TF",
    "ERR Invalid argument for input_count",
    "ERR number of model inputs does not match the number of given arguments",
    "ERR OUTPUTS not specified for TF",
    "ERR Invalid argument for output_count",
    "ERR number of model outputs does not match the number of given arguments",
    "ERR INPUTS argument should not be specified for this backend",
    "ERR Invalid argument, expected BLOB",
    // AI.MODELSET
    "ERR wrong number of arguments for 'AI.MODELSET' command",
    "ERR Auto-batching not supported by the TFLITE backend",
    "ERR MINBATCHTIMEOUT specified without BATCHSIZE",
    "ERR Insufficient arguments, INPUTS and OUTPUTS not specified",
    "ERR INPUTS not specified",
    "ERR OUTPUTS not specified",
    // AI.MODELGET, AI.MODELDEL
    "ERR wrong number of arguments for 'AI.MODELGET' command",
    "ERR wrong number of arguments for 'AI.MODELDEL' command",
    // AI.MODELEXECUTE
    "ERR wrong number of arguments for 'AI.MODELEXECUTE' command",
    "ERR Input count must be a positive integer",
    "ERR number of input keys to AI.MODELEXECUTE command does not match the number of given arguments",
    "ERR Output count must be a positive integer",
    "ERR number of output keys to AI.MODELEXECUTE command does not match the number of given arguments",
    "Invalid argument: FOO",
    "ERR No value provided for TIMEOUT",
    "ERR Invalid value for TIMEOUT",
    // AI.MODELRUN
    "ERR wrong number of arguments for 'AI.MODELRUN' command",
    // AI._MODELSCAN, AI._SCRIPTSCAN
    "ERR wrong number of arguments for 'AI._MODELSCAN' command",
    "ERR wrong number of arguments for 'AI._SCRIPTSCAN' command",
    // AI.SCRIPTSTORE, AI.SCRIPTSET, AI.SCRIPTGET, AI.SCRIPTDEL
    "ERR wrong number of arguments for 'AI.SCRIPTSTORE' command",
    "ERR Insufficient arguments, missing script entry points",
    "ERR Non numeric entry points number provided to AI.SCRIPTSTORE command",
    "ERR Insufficient arguments, missing script SOURCE",
    "ERR wrong number of arguments for 'AI.SCRIPTSET' command",
    "ERR wrong number of arguments for 'AI.SCRIPTGET' command",
    "ERR wrong number of arguments for 'AI.SCRIPTDEL' command",
    // AI.SCRIPTEXECUTE
    "ERR wrong number of arguments for 'AI.SCRIPTEXECUTE' command",
    "ERR KEYS or INPUTS scope must be provided first for AI.SCRIPTEXECUTE command",
    "ERR Already Encountered KEYS scope in AI.SCRIPTEXECUTE command",
    "ERR Already Encountered INPUTS scope in AI.SCRIPTEXECUTE command",
    "ERR Already Encountered ARGS scope in AI.SCRIPTEXECUTE command",
    "ERR Already Encountered OUTPUTS scope in AI.SCRIPTEXECUTE command",
    "ERR Missing arguments after KEYS keyword",
    "ERR Invalid or negative value found in number of KEYS",
    "ERR Number of pre declared KEYS to be used in the command does not match the number of given arguments",
    "ERR Invalid arguments provided to AI.SCRIPTEXECUTE",
    "ERR Invalid argument for inputs count in AI.SCRIPTEXECUTE",
    "ERR number of inputs to AI.SCRIPTEXECUTE command does not match the number of given arguments",
    "ERR Invalid argument for keys count in AI.SCRIPTEXECUTE",
    "ERR number of args to AI.SCRIPTEXECUTE command does not match the number of given arguments",
    "ERR Invalid argument for outputs count in AI.SCRIPTEXECUTE",
    "ERR number of outputs to AI.SCRIPTEXECUTE command does not match the number of given arguments",
    "ERR No value provided for TIMEOUT in AI.SCRIPTEXECUTE",
    "ERR Encountered problem parsing AI.SCRIPTEXECUTE",
    "ERR Invalid AI.SCRIPTEXECUTE command. Unexpected argument: FOO",
    "ERR TIMEOUT not allowed within a DAG command",
    // AI.SCRIPTRUN
    "ERR wrong number of arguments for 'AI.SCRIPTRUN' command",
    "ERR Already encountered an TIMEOUT section in SCRIPTRUN",
    "ERR Already encountered an INPUTS section in SCRIPTRUN",
    "ERR Already encountered an INPUTS keyword in SCRIPTRUN",
    "ERR Already encountered an OUTPUTS keyword in SCRIPTRUN",
    "ERR Encountered a variable size list of tensors outside of input section",
    "ERR Already encountered a variable size list of tensors",
    "ERR Unrecongnized parameter to SCRIPTRUN",
    // AI.DAGEXECUTE, AI.DAGEXECUTE_RO
    "ERR Invalid DAG command. Unexpected argument:  FOO",
    "ERR missing arguments for 'AI.DAGEXECUTE' command",
    "ERR missing arguments for 'AI.DAGEXECUTE_RO' command",
    "ERR missing arguments after LOAD keyword in DAG command",
    "ERR invalid or negative value found in number of keys to LOAD",
    "ERR number of keys to LOAD into DAG does not match the number of given arguments",
    "ERR PERSIST cannot be specified in a read-only DAG",
    "ERR missing arguments after PERSIST keyword in DAG command",
    "ERR invalid or negative value found in number of keys to PERSIST",
    "ERR PERSIST keys must be unique",
    "ERR number of keys to PERSIST after DAG execution does not match the number of given arguments",
    "ERR Missing ROUTING value",
    "ERR AI.DAGEXECUTE and AI.DAGEXECUTE_RO commands must contain at least one out of ROUTING, LOAD, PERSIST keywords",
    "wrong number of arguments for 'AI.TENSORGET' command",
    "wrong number of arguments for 'AI.TENSORSET' command",
    "ERR AI.SCRIPTEXECUTE command cannot be specified in a read-only DAG",
    "Deprecated AI.MODELRUN cannot be used in AI.DAGEXECUTE command",
    "Deprecated AI.SCRIPTRUN cannot be used in AI.DAGEXECUTE command",
    "Unsupported command within DAG",
    "ERR INPUT key cannot be found in DAG",
    "ERR PERSIST key cannot be found in DAG",
    // AI.DAGRUN, AI.DAGRUN_RO
    "ERR wrong number of arguments for 'AI.DAGRUN' command",
    "ERR wrong number of arguments for 'AI.DAGRUN_RO' command",
    "AI.MODELEXECUTE cannot be used in a deprecated AI.DAGRUN command",
    "AI.SCRIPTEXECUTE cannot be used in a deprecated AI.DAGRUN command",
    // AI.INFO
    "ERR wrong number of arguments for 'AI.INFO' command",
    // AI.CONFIG
    "ERR wrong number of arguments for 'AI.CONFIG' command",
    "ERR BACKENDSPATH: missing path argument",
    "ERR MODEL_CHUNK_SIZE: invalid chunk size",
    "ERR MODEL_CHUNK_SIZE: missing chunk size",
    "ERR unsupported subcommand",
];

// ---- helpers -------------------------------------------------------------------------------

/// A command line split on single spaces, with the word escapes (`\xNN`, `''`).
fn argv(line: &str) -> Vec<Bytes> {
    line.split(' ').map(unescape).collect()
}

/// A command line given as byte strings.
fn argv_bytes(args: &[&[u8]]) -> Vec<Bytes> {
    args.iter().map(|a| Bytes::copy_from_slice(a)).collect()
}

fn unescape(word: &str) -> Bytes {
    if word == "''" {
        return Bytes::new();
    }
    let b = word.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') && i + 4 <= b.len() {
            let hex = std::str::from_utf8(&b[i + 2..i + 4]).expect("ascii escape");
            out.push(u8::from_str_radix(hex, 16).expect("bad \\xNN escape in a test line"));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Bytes::from(out)
}

/// One argument with the word escapes: printable ASCII as is, everything else (and `\\`, `'`)
/// as `\xNN`.
fn escape(a: &[u8]) -> String {
    if a.is_empty() {
        return "''".to_string();
    }
    a.iter()
        .map(|&c| match c {
            b'!'..=b'~' if c != b'\\' && c != b'\'' => (c as char).to_string(),
            _ => format!("\\x{c:02x}"),
        })
        .collect()
}

/// Arguments shown as a test line.
fn show(args: &[Bytes]) -> String {
    args.iter().map(|a| escape(a)).collect::<Vec<_>>().join(" ")
}

/// A tensor shown as `DTYPE [dims] v1 v2 ..`.
fn show_tensor(t: &Tensor) -> String {
    let Reply::Array(values) = t.values_reply() else {
        unreachable!("values reply is an array")
    };
    let mut s = format!("{} {:?}", t.dtype().name(), t.shape());
    for v in values {
        s.push(' ');
        s.push_str(&match v {
            Reply::Int(i) => i.to_string(),
            Reply::Double(d) => d.to_string(),
            Reply::Bulk(b) => escape(&b),
            other => format!("{other:?}"),
        });
    }
    s
}

/// Checks one case; `None` if it holds, else what went wrong.
fn check(line: &str, args: &[Bytes], expect: &Expect) -> Option<String> {
    let got = Command::parse(args);
    let fail = |what: String| Some(format!("{line}\n    {what}\n    got: {got:?}"));
    match (expect, &got) {
        (NotOurs, Ok(None)) => None,
        (Error(text), Err(e)) if e.to_string() == *text => None,
        (Error(text), Err(e)) => fail(format!(
            "want error {text:?}, got error {:?}",
            e.to_string()
        )),
        (Args(want), Ok(Some(c))) => {
            let shown = show(&c.to_args());
            (shown != *want).then(|| format!("{line}\n    want args {want}\n    got  args {shown}"))
        }
        (T(want), Ok(Some(Command::TensorSet(ts)))) => {
            let shown = show_tensor(&ts.tensor);
            (shown != *want)
                .then(|| format!("{line}\n    want tensor {want}\n    got  tensor {shown}"))
        }
        (Check(f), Ok(Some(c))) if f(c) => None,
        _ => fail("unexpected outcome".to_string()),
    }
}

// ---- tests ---------------------------------------------------------------------------------

#[test]
fn golden_table() {
    let mut failures = Vec::new();
    for (line, expect) in CASES {
        failures.extend(check(line, &argv(line), expect));
    }
    for (args, expect) in RAW {
        let args = argv_bytes(args);
        failures.extend(check(&show(&args), &args, expect));
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len() + RAW.len(),
        failures.join("\n")
    );
}

/// Every accepted line formats back into arguments that parse to the same command.
#[test]
fn accepted_lines_format_back() {
    let lines = CASES.iter().map(|(l, e)| (argv(l), e));
    let raw = RAW.iter().map(|(a, e)| (argv_bytes(a), e));
    for (args, _) in lines
        .chain(raw)
        .filter(|(_, e)| !matches!(e, Error(_) | NotOurs))
    {
        let cmd = Command::parse(&args).unwrap().unwrap();
        let again = Command::parse(&cmd.to_args());
        assert_eq!(again, Ok(Some(cmd)), "{}", show(&args));
    }
}

/// The table covers every parse-time error text of behavior.md §3.
#[test]
fn table_covers_every_spec_error() {
    let expected: Vec<&str> = CASES
        .iter()
        .map(|(_, e)| e)
        .chain(RAW.iter().map(|(_, e)| e))
        .filter_map(|e| match e {
            Error(t) => Some(*t),
            _ => None,
        })
        .collect();
    let missing: Vec<_> = SPEC_ERRORS
        .iter()
        .filter(|t| !expected.contains(t))
        .collect();
    assert!(missing.is_empty(), "no case for: {missing:#?}");
}

/// The line escapes read back what they write.
#[test]
fn escapes_round_trip() {
    for word in [&b""[..], b"a", b"\x00\xff", b"a b", b"\\x41", b"''"] {
        let shown = escape(word);
        assert_eq!(unescape(&shown), word, "{shown}");
    }
}
