//! The one argument cursor, shared by the module, the server and the DAG op parser, so the grammar
//! exists once. Arguments are `Bytes`: a large BLOB handed over by the server is never copied.

use bytes::Bytes;

/// A cursor over a command's arguments (argv[0], the command name, included).
#[derive(Debug, Clone)]
pub struct Args<'a> {
    argv: &'a [Bytes],
    pos: usize,
}

impl<'a> Args<'a> {
    /// A cursor positioned after argv[0].
    pub fn new(argv: &'a [Bytes]) -> Args<'a> {
        Args {
            argv,
            pos: argv.len().min(1),
        }
    }

    /// argv[0] as the client typed it (for Redis's arity error).
    pub fn name(&self) -> String {
        self.argv
            .first()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .unwrap_or_default()
    }

    /// Total argument count including the command name (the C code's `argc`).
    pub fn argc(&self) -> usize {
        self.argv.len()
    }

    pub fn remaining(&self) -> usize {
        self.argv.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn peek(&self) -> Option<&'a Bytes> {
        self.argv.get(self.pos)
    }

    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<&'a Bytes> {
        let a = self.argv.get(self.pos)?;
        self.pos += 1;
        Some(a)
    }

    /// The next argument as an owned (reference-counted) `Bytes`.
    pub fn next_bytes(&mut self) -> Option<Bytes> {
        self.next().cloned()
    }

    /// The next `n` arguments, or `None` (consuming nothing) if fewer remain.
    pub fn take(&mut self, n: usize) -> Option<&'a [Bytes]> {
        if self.remaining() < n {
            return None;
        }
        let s = &self.argv[self.pos..self.pos + n];
        self.pos += n;
        Some(s)
    }

    /// Everything not consumed yet.
    pub fn rest(&mut self) -> &'a [Bytes] {
        let s = &self.argv[self.pos..];
        self.pos = self.argv.len();
        s
    }

    /// Whether the next argument is `kw` (case-insensitive).
    pub fn peek_is(&self, kw: &str) -> bool {
        self.peek().is_some_and(|a| eq_ignore_case(a, kw))
    }

    /// Consumes the next argument if it is `kw` (case-insensitive).
    pub fn eat(&mut self, kw: &str) -> bool {
        if self.peek_is(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
}

pub fn eq_ignore_case(a: &[u8], kw: &str) -> bool {
    a.eq_ignore_ascii_case(kw.as_bytes())
}

/// Redis `string2ll`: an optional `-`, then digits without leading zeros (`0` alone is fine),
/// no spaces, no `+`, no decimal point, within `i64`.
pub fn parse_strict_i64(a: &[u8]) -> Option<i64> {
    let (neg, digits) = match a.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, a),
    };
    match digits {
        [] => return None,
        [b'0'] if !neg => return Some(0),
        [b'1'..=b'9', ..] => {}
        _ => return None,
    }
    if digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let s = std::str::from_utf8(a).ok()?;
    s.parse::<i64>().ok()
}

/// The ArgsCursor integer of the C module: a strict integer, or a double with an integral value
/// (`3.0`). Used for BATCHSIZE and friends and the ENTRY_POINTS count.
pub fn parse_lenient_i64(a: &[u8]) -> Option<i64> {
    if let Some(v) = parse_strict_i64(a) {
        return Some(v);
    }
    let d = parse_double(a)?;
    if d.is_finite() && d.fract() == 0.0 && d >= i64::MIN as f64 && d < i64::MAX as f64 {
        Some(d as i64)
    } else {
        None
    }
}

/// The ArgsCursor unsigned integer: as [`parse_lenient_i64`] but negatives are refused.
pub fn parse_lenient_u64(a: &[u8]) -> Option<u64> {
    parse_lenient_i64(a).and_then(|v| u64::try_from(v).ok())
}

/// Redis `StringToDouble` (C `strtod` on the whole string): decimal or hexadecimal, `inf` allowed,
/// NaN refused, no surrounding spaces, and out-of-range values (overflow to infinity, underflow
/// to zero) refused.
pub fn parse_double(a: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(a).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    let v = match s.parse::<f64>() {
        Ok(v) => v,
        Err(_) => parse_hex_double(s)?,
    };
    let digits = s.trim_start_matches(['+', '-']);
    let is_inf_literal =
        digits.eq_ignore_ascii_case("inf") || digits.eq_ignore_ascii_case("infinity");
    if v.is_nan() || (v.is_infinite() && !is_inf_literal) {
        return None;
    }
    // Underflow: a zero result from a mantissa that is not zero.
    let mantissa = digits.split(['e', 'E', 'p', 'P']).next().unwrap_or("");
    let mantissa = mantissa.trim_start_matches("0x").trim_start_matches("0X");
    if v == 0.0 && mantissa.bytes().any(|b| b.is_ascii_hexdigit() && b != b'0') {
        return None;
    }
    Some(v)
}

/// C's hexadecimal floating form: `[+-]0x<hex>[.<hex>][p[+-]<dec>]`.
fn parse_hex_double(s: &str) -> Option<f64> {
    let (neg, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let rest = rest
        .strip_prefix("0x")
        .or_else(|| rest.strip_prefix("0X"))?;
    let (mant, exp) = match rest.find(['p', 'P']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i32>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp);
    Some(if neg { -v } else { v })
}

/// A lossy text view of an argument, for error messages that echo it.
pub fn lossy(a: &[u8]) -> String {
    String::from_utf8_lossy(a).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers_follow_string2ll() {
        assert_eq!(parse_strict_i64(b"0"), Some(0));
        assert_eq!(parse_strict_i64(b"-5"), Some(-5));
        assert_eq!(parse_strict_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_strict_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b"01",
            b"-0",
            b" 1",
            b"1 ",
            b"1.0",
            b"9223372036854775808",
            b"abc",
        ] {
            assert_eq!(parse_strict_i64(bad), None, "{:?}", lossy(bad));
        }
    }

    #[test]
    fn lenient_integers_take_integral_doubles() {
        assert_eq!(parse_lenient_i64(b"3.0"), Some(3));
        assert_eq!(parse_lenient_i64(b"3.5"), None);
        assert_eq!(parse_lenient_u64(b"-1"), None);
        assert_eq!(parse_lenient_u64(b"7"), Some(7));
    }

    #[test]
    fn doubles_follow_string2d() {
        assert_eq!(parse_double(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_double(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_double(b"1.5e3"), Some(1500.0));
        assert_eq!(parse_double(b"nan"), None);
        assert_eq!(parse_double(b"1e400"), None);
        assert_eq!(parse_double(b"1e-400"), None);
        assert_eq!(parse_double(b"0e5"), Some(0.0));
        assert_eq!(parse_double(b"0x10"), Some(16.0));
        assert_eq!(parse_double(b"-0x1.8p1"), Some(-3.0));
        assert_eq!(parse_double(b"0x"), None);
        assert_eq!(parse_double(b" 1"), None);
        assert_eq!(parse_double(b""), None);
    }
}
