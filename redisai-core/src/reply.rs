//! What a command answers, independent of how it travels. The module turns a `Reply` into a
//! `RedisValue`, the server into RESP2 or RESP3 bytes; neither decides anything else.

use bytes::Bytes;

use crate::error::Error;
use crate::tensor::Tensor;

/// A reply value. Bulk strings hold `Bytes`, so a stored tensor blob is replied without a copy.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status reply (`+OK`, `+TIMEDOUT`, `+NA`).
    Simple(&'static str),
    /// A status reply whose text is only known at run time (e.g. `TYPE`).
    Status(String),
    /// An error reply; the text is the whole wire text (`ERR ...`, `WRONGTYPE ...`).
    Error(String),
    Int(i64),
    /// Sent with `RedisModule_ReplyWithDouble` semantics: a bulk string in RESP2, `,` in RESP3.
    Double(f64),
    Bulk(Bytes),
    Null,
    Array(Vec<Reply>),
    /// A map in RESP3, a flat array of key/value pairs in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// A tensor's elements (AI.TENSORGET VALUES): the array of [`Tensor::value_reply`]s, made
    /// one element at a time as it is sent. Built whole, the array of a large tensor costs ~40
    /// bytes per element on top of its encoding, enough for one request to exhaust memory.
    /// Equal to that array.
    Values(Tensor),
}

impl PartialEq for Reply {
    fn eq(&self, other: &Reply) -> bool {
        use Reply::*;
        match (self, other) {
            (Simple(a), Simple(b)) => a == b,
            (Status(a), Status(b)) | (Error(a), Error(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Double(a), Double(b)) => a == b,
            (Bulk(a), Bulk(b)) => a == b,
            (Null, Null) => true,
            (Array(a), Array(b)) => a == b,
            (Map(a), Map(b)) => a == b,
            (Values(t), other) | (other, Values(t)) => {
                let n = t.len();
                match other {
                    Values(u) => {
                        u.len() == n && (0..n).all(|i| t.value_reply(i) == u.value_reply(i))
                    }
                    Array(items) => {
                        items.len() == n
                            && items
                                .iter()
                                .enumerate()
                                .all(|(i, r)| *r == t.value_reply(i))
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }
}

impl Reply {
    pub const OK: Reply = Reply::Simple("OK");

    /// A bulk string from a static or owned text.
    pub fn text(s: &str) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

impl From<Error> for Reply {
    fn from(e: Error) -> Reply {
        Reply::Error(e.to_string())
    }
}

impl<T: Into<Reply>> From<crate::error::Result<T>> for Reply {
    fn from(r: crate::error::Result<T>) -> Reply {
        match r {
            Ok(v) => v.into(),
            Err(e) => e.into(),
        }
    }
}

/// Formats a double the way Redis 7.0 does for `RedisModule_ReplyWithDouble` (`%.17g`, with
/// `inf`/`-inf`), so clients see the same text they saw from the C module.
pub fn format_double(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // 17 significant digits in scientific form tells us the decimal exponent after rounding.
    let sci = format!("{:.16e}", v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..17).contains(&exp) {
        let m = strip_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.unsigned_abs())
    } else {
        let decimals = (16 - exp) as usize;
        strip_zeros(&format!("{:.*}", decimals, v)).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::DataType;

    #[test]
    fn tensor_values_equal_their_array() {
        let t =
            Tensor::from_blob(DataType::Int8, vec![3], Bytes::from_static(&[1, 255, 7])).unwrap();
        let array = Reply::Array(vec![Reply::Int(1), Reply::Int(-1), Reply::Int(7)]);
        assert_eq!(Reply::Values(t.clone()), array);
        assert_eq!(array, Reply::Values(t.clone()));
        assert_eq!(Reply::Values(t.clone()), Reply::Values(t.clone()));
        assert_ne!(Reply::Values(t.clone()), Reply::Array(vec![Reply::Int(1)]));
        assert_ne!(Reply::Values(t), Reply::Null);
    }

    #[test]
    fn doubles_match_printf_17g() {
        assert_eq!(format_double(4.0), "4");
        assert_eq!(
            format_double("-0.090524077415466309".parse().unwrap()),
            "-0.090524077415466309"
        );
        assert_eq!(format_double(0.1f32 as f64), "0.10000000149011612");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(1.5e-5), "1.5e-05");
        assert_eq!(format_double(0.0001), "0.0001");
        assert_eq!(format_double(123456789.0), "123456789");
        assert_eq!(format_double(1e16), "10000000000000000");
        assert_eq!(format_double(1e17), "1e+17");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_double(-2.5), "-2.5");
    }
}
