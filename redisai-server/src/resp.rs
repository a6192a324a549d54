//! RESP framing. Requests are decoded by the `redis-protocol` crate; this module only decides
//! *when* a request is complete (so a 100 MiB BLOB arriving in many reads is parsed once, and its
//! buffer is reserved once) and turns a decoded frame into arguments without copying large bulks.
//! Replies are encoded here, RESP2 or RESP3, with large bulks passed through as `Bytes`.

use std::io::IoSlice;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use redis_protocol::resp2::decode::decode_range;
use redis_protocol::resp2::types::RangeFrame;
use redisai_core::reply::{format_double, Reply};

/// Redis's default `proto-max-bulk-len`.
pub const MAX_BULK_LEN: usize = 512 * 1024 * 1024;
/// Redis's limits on the multibulk count and on an inline request.
const MAX_MULTIBULK: usize = 1024 * 1024 * 1024;
const MAX_INLINE: usize = 64 * 1024;
/// Bulks smaller than this are copied out of the read buffer, so a small stored key or value
/// does not keep a whole read buffer alive; larger ones are kept in place (no copy).
const COPY_BELOW: usize = 16 * 1024;
/// A whole request up to this size is copied out of the read buffer once, and its arguments
/// share that copy: one allocation instead of one per argument. A stored key or value then keeps
/// at most this many bytes alive with it.
const SMALL_REQUEST: usize = 512;

/// Redis's limits on requests from a client that has not authenticated yet.
const UNAUTHENTICATED_MULTIBULK: i64 = 10;
const UNAUTHENTICATED_BULK: i64 = 16384;

/// A protocol error: the connection replies it and closes, as Redis does.
#[derive(Debug, PartialEq)]
pub struct ProtocolError(pub String);

/// Tracks the request at the head of the read buffer across reads, so each byte is scanned once.
#[derive(Debug, Default)]
pub struct Framer {
    /// Bytes of the head request known to be complete.
    scanned: usize,
    /// Bulk headers still expected (None until the `*N` header is read).
    args_left: Option<usize>,
    /// The head request's size so far as known (its bulks up to the first incomplete one); the
    /// buffer has been reserved to it.
    known_end: usize,
}

pub enum Frame {
    /// A complete request.
    Args(Vec<Bytes>),
    /// An empty inline line: ignored, as Redis does.
    Empty,
}

impl Framer {
    /// The next complete request in `buf`, removing it from `buf`; `Ok(None)` if more bytes are
    /// needed (the buffer's capacity is then grown to what the request is known to need).
    /// Before AUTH, requests are held to Redis's limits for unauthenticated clients, so a header
    /// alone cannot make the server reserve a large buffer.
    pub fn next(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Option<Frame>, ProtocolError> {
        if buf.is_empty() {
            return Ok(None);
        }
        if buf[0] != b'*' {
            return inline(buf);
        }
        match self.scan(buf, authenticated)? {
            Some(end) => {
                *self = Framer::default();
                let (frame, small) = if end <= SMALL_REQUEST {
                    let frame = Bytes::copy_from_slice(&buf[..end]);
                    buf.advance(end);
                    (frame, true)
                } else {
                    (buf.split_to(end).freeze(), false)
                };
                decode_request(&frame, small).map(|args| Some(Frame::Args(args)))
            }
            None => Ok(None),
        }
    }

    /// Bytes of the bulk being received that are still to come (0 if none is under way).
    pub fn bulk_left(&self, buf: &BytesMut) -> usize {
        self.known_end.saturating_sub(buf.len())
    }

    /// Makes room in `buf` for the next read: at least `chunk / 4` free bytes, grown by
    /// `chunk`, unless a bulk is under way (its rest was reserved with its header: a large,
    /// nearly full buffer grown again would be copied whole, for the last few KiB of a BLOB).
    pub fn make_room(&self, buf: &mut BytesMut, chunk: usize) {
        if buf.capacity() - buf.len() < chunk / 4 && self.bulk_left(buf) == 0 {
            buf.reserve(chunk);
        }
    }

    /// Advances over complete headers and bulks; the end of the request once it is all there.
    fn scan(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Option<usize>, ProtocolError> {
        loop {
            let Some(left) = self.args_left else {
                let Some((n, at)) = header(buf, 0, b'*')? else {
                    return Ok(None);
                };
                if !authenticated && n > UNAUTHENTICATED_MULTIBULK {
                    return Err(ProtocolError(
                        "ERR Protocol error: unauthenticated multibulk length".into(),
                    ));
                }
                if n > MAX_MULTIBULK as i64 {
                    return Err(ProtocolError(
                        "ERR Protocol error: invalid multibulk length".into(),
                    ));
                }
                self.args_left = Some(n.max(0) as usize);
                self.scanned = at;
                continue;
            };
            if left == 0 {
                return Ok(Some(self.scanned));
            }
            let Some((len, at)) = header(buf, self.scanned, b'$')? else {
                return Ok(None);
            };
            if !authenticated && len > UNAUTHENTICATED_BULK {
                return Err(ProtocolError(
                    "ERR Protocol error: unauthenticated bulk length".into(),
                ));
            }
            if !(0..=MAX_BULK_LEN as i64).contains(&len) {
                return Err(ProtocolError(
                    "ERR Protocol error: invalid bulk length".into(),
                ));
            }
            let end = at + len as usize + 2;
            if buf.len() < end {
                buf.reserve(end - buf.len());
                self.known_end = end;
                return Ok(None);
            }
            self.scanned = end;
            self.args_left = Some(left - 1);
        }
    }
}

/// Reads a `<kind><int>\r\n` header at `at`: the integer and the offset after it.
fn header(buf: &[u8], at: usize, kind: u8) -> Result<Option<(i64, usize)>, ProtocolError> {
    let Some(&first) = buf.get(at) else {
        return Ok(None);
    };
    if first != kind {
        let what = if kind == b'$' { "'$'" } else { "'*'" };
        return Err(ProtocolError(format!(
            "ERR Protocol error: expected {what}, got '{}'",
            first as char
        )));
    }
    let line = &buf[at + 1..];
    let Some(nl) = line.iter().take(32).position(|&b| b == b'\r') else {
        if line.len() >= 32 {
            return Err(ProtocolError(
                "ERR Protocol error: invalid bulk length".into(),
            ));
        }
        return Ok(None);
    };
    if line.len() < nl + 2 {
        return Ok(None);
    }
    let n = parse_i64(&line[..nl]).ok_or_else(|| {
        ProtocolError(if kind == b'$' {
            "ERR Protocol error: invalid bulk length".into()
        } else {
            "ERR Protocol error: invalid multibulk length".into()
        })
    })?;
    Ok(Some((n, at + 1 + nl + 2)))
}

/// What `i64::from_str` accepts (an optional sign, then decimal digits, no overflow), read
/// from bytes without a UTF-8 check: every header of every request goes through here.
fn parse_i64(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: i64 = 0;
    for &c in digits {
        let d = i64::from(c.wrapping_sub(b'0'));
        if d > 9 {
            return None;
        }
        // Accumulated with the value's sign, so that i64::MIN parses.
        n = n.checked_mul(10)?;
        n = if negative {
            n.checked_sub(d)?
        } else {
            n.checked_add(d)?
        };
    }
    Some(n)
}

/// Decodes one complete request frame with the RESP crate into arguments. `small`: the frame is
/// a copy of its own ([`SMALL_REQUEST`]), which the arguments share.
fn decode_request(frame: &Bytes, small: bool) -> Result<Vec<Bytes>, ProtocolError> {
    let parsed = decode_range(frame)
        .map_err(|e| ProtocolError(format!("ERR Protocol error: {e}")))?
        .map(|(f, _)| f);
    // `*-1\r\n`, a null multibulk, is ignored as Redis ignores it.
    if let Some(RangeFrame::Null) = parsed {
        return Ok(Vec::new());
    }
    let Some(RangeFrame::Array(items)) = parsed else {
        return Err(ProtocolError(
            "ERR Protocol error: expected an array".into(),
        ));
    };
    items
        .into_iter()
        .map(|item| match item {
            RangeFrame::BulkString((start, end)) => Ok(if !small && end - start < COPY_BELOW {
                Bytes::copy_from_slice(&frame[start..end])
            } else {
                frame.slice(start..end)
            }),
            _ => Err(ProtocolError("ERR Protocol error: expected '$'".into())),
        })
        .collect()
}

/// An inline request (`PING\r\n`, as telnet sends): words split on spaces, with quotes.
fn inline(buf: &mut BytesMut) -> Result<Option<Frame>, ProtocolError> {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() > MAX_INLINE {
            return Err(ProtocolError(
                "ERR Protocol error: too big inline request".into(),
            ));
        }
        return Ok(None);
    };
    let line = buf.split_to(nl + 1);
    let text = line.strip_suffix(b"\n").unwrap_or(&line);
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    let args = split_inline(text)
        .ok_or_else(|| ProtocolError("ERR Protocol error: unbalanced quotes in request".into()))?;
    Ok(Some(if args.is_empty() {
        Frame::Empty
    } else {
        Frame::Args(args)
    }))
}

/// Redis's `sdssplitargs`, enough for inline requests: whitespace-separated words, `"..."` with
/// backslash escapes and `'...'`.
fn split_inline(line: &[u8]) -> Option<Vec<Bytes>> {
    let mut args = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let mut cur = Vec::new();
        match line[i] {
            q @ (b'"' | b'\'') => {
                i += 1;
                loop {
                    let c = *line.get(i)?;
                    i += 1;
                    if c == q {
                        break;
                    }
                    if c == b'\\' && q == b'"' {
                        let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
                        if line.get(i) == Some(&b'x') {
                            if let (Some(h), Some(l)) = (hex(line.get(i + 1)), hex(line.get(i + 2)))
                            {
                                cur.push((h * 16 + l) as u8);
                                i += 3;
                                continue;
                            }
                        }
                        let e = *line.get(i)?;
                        i += 1;
                        cur.push(match e {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            other => other,
                        });
                    } else {
                        cur.push(c);
                    }
                }
                if line.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                    return None;
                }
            }
            _ => {
                while i < line.len() && !line[i].is_ascii_whitespace() {
                    cur.push(line[i]);
                    i += 1;
                }
            }
        }
        args.push(Bytes::from(cur));
    }
    Some(args)
}

/// Reply bytes waiting to be written: small parts are packed into one reused buffer, large bulks
/// stay the `Bytes` they are (a stored tensor blob is written straight from the keyspace), and
/// everything goes out in one vectored write.
#[derive(Default)]
pub struct Output {
    cur: Vec<u8>,
    /// Large bulks, each to be written at its offset in `cur`.
    shared: Vec<(usize, Bytes)>,
}

/// Bulks at least this large are queued by reference instead of copied into the buffer.
const PASS_THROUGH: usize = 32 * 1024;

impl Output {
    pub fn is_empty(&self) -> bool {
        self.cur.is_empty() && self.shared.is_empty()
    }

    /// The queued bytes in order, as slices for a vectored write.
    pub fn slices(&self) -> Vec<IoSlice<'_>> {
        let mut out = Vec::with_capacity(2 * self.shared.len() + 1);
        let mut at = 0;
        for (offset, bulk) in &self.shared {
            if *offset > at {
                out.push(IoSlice::new(&self.cur[at..*offset]));
            }
            out.push(IoSlice::new(bulk));
            at = *offset;
        }
        if at < self.cur.len() {
            out.push(IoSlice::new(&self.cur[at..]));
        }
        out
    }

    /// Forgets what was written, keeping the buffer's capacity.
    pub fn clear(&mut self) {
        self.cur.clear();
        self.shared.clear();
    }

    fn line(&mut self, kind: u8, text: &[u8]) {
        self.cur.put_u8(kind);
        self.cur.put_slice(text);
        self.cur.put_slice(b"\r\n");
    }

    fn int_line(&mut self, kind: u8, n: i64) {
        let mut b = itoa::Buffer::new();
        self.line(kind, b.format(n).as_bytes());
    }

    fn bulk(&mut self, data: &Bytes) {
        self.int_line(b'$', data.len() as i64);
        if data.len() >= PASS_THROUGH {
            self.shared.push((self.cur.len(), data.clone()));
        } else {
            self.cur.put_slice(data);
        }
        self.cur.put_slice(b"\r\n");
    }

    /// Encodes a reply in RESP2 (`resp3 == false`) or RESP3.
    pub fn reply(&mut self, reply: &Reply, resp3: bool) {
        match reply {
            Reply::Simple(s) => self.line(b'+', s.as_bytes()),
            Reply::Status(s) => self.line(b'+', s.as_bytes()),
            Reply::Error(e) => {
                // An error line cannot hold a newline.
                let clean = e.replace(['\r', '\n'], " ");
                self.line(b'-', clean.as_bytes())
            }
            Reply::Int(n) => self.int_line(b':', *n),
            Reply::Double(d) => {
                let text = format_double(*d);
                if resp3 {
                    self.line(b',', text.as_bytes());
                } else {
                    self.bulk(&Bytes::from(text));
                }
            }
            Reply::Bulk(b) => self.bulk(b),
            Reply::Null => {
                if resp3 {
                    self.cur.put_slice(b"_\r\n");
                } else {
                    self.cur.put_slice(b"$-1\r\n");
                }
            }
            Reply::Array(items) => {
                self.int_line(b'*', items.len() as i64);
                for item in items {
                    self.reply(item, resp3);
                }
            }
            Reply::Values(t) => {
                self.int_line(b'*', t.len() as i64);
                for i in 0..t.len() {
                    self.reply(&t.value_reply(i), resp3);
                }
            }
            Reply::Map(pairs) => {
                if resp3 {
                    self.int_line(b'%', pairs.len() as i64);
                } else {
                    self.int_line(b'*', 2 * pairs.len() as i64);
                }
                for (k, v) in pairs {
                    self.reply(k, resp3);
                    self.reply(v, resp3);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8], step: usize) -> Vec<Vec<Bytes>> {
        let mut f = Framer::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in input.chunks(step) {
            buf.extend_from_slice(chunk);
            while let Some(frame) = f.next(&mut buf, true).unwrap() {
                if let Frame::Args(a) = frame {
                    out.push(a);
                }
            }
        }
        out
    }

    fn encoded(reply: &Reply, resp3: bool) -> Vec<u8> {
        let mut out = Output::default();
        out.reply(reply, resp3);
        out.slices().iter().flat_map(|s| s.to_vec()).collect()
    }

    #[test]
    fn tensor_values_encode_as_their_array() {
        use redisai_core::tensor::{DataType, Tensor};
        let floats = Tensor::from_blob(
            DataType::Float,
            vec![2, 2],
            Bytes::from([1.5f32, -2.0, 0.0, 3.25].map(f32::to_le_bytes).concat()),
        )
        .unwrap();
        let strings =
            Tensor::from_blob(DataType::String, vec![2], Bytes::from_static(b"ab\0\0")).unwrap();
        let ints = Tensor::zeros(DataType::Int16, vec![3]).unwrap();
        for t in [floats, strings, ints] {
            for resp3 in [false, true] {
                assert_eq!(
                    encoded(&Reply::Values(t.clone()), resp3),
                    encoded(&t.values_reply(), resp3)
                );
            }
        }
    }

    #[test]
    fn requests_split_at_every_point() {
        // A small request (one copy shared by its arguments), an inline one, a large one (its
        // big bulk kept in place), an empty one, and a medium one (each argument copied).
        let big = vec![7u8; 40_000];
        let medium = vec![9u8; SMALL_REQUEST];
        let mut input = b"*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\nPING\r\n".to_vec();
        input.extend_from_slice(format!("*2\r\n$3\r\nSET\r\n${}\r\n", big.len()).as_bytes());
        input.extend_from_slice(&big);
        input.extend_from_slice(b"\r\n*0\r\n");
        input.extend_from_slice(format!("*2\r\n$1\r\nk\r\n${}\r\n", medium.len()).as_bytes());
        input.extend_from_slice(&medium);
        input.extend_from_slice(b"\r\n");
        for step in [1, 2, 3, 7, 64, 4096, input.len()] {
            let got = frames(&input, step);
            assert_eq!(got.len(), 5, "step {step}");
            assert_eq!(got[0], vec![Bytes::from("ECHO"), Bytes::from("abc")]);
            assert_eq!(got[1], vec![Bytes::from("PING")]);
            assert_eq!(got[2][1].as_ref(), &big[..]);
            assert!(got[3].is_empty());
            assert_eq!(got[4], vec![Bytes::from("k"), Bytes::from(medium.clone())]);
        }
    }

    #[test]
    fn header_integers_parse_as_i64_from_str() {
        let cases = [
            "",
            "+",
            "-",
            "0",
            "-0",
            "+0",
            "+5",
            "-5",
            "42",
            "0042",
            "1a",
            " 1",
            "1 ",
            "--1",
            "+-1",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
            "\u{663}",
            "1\u{0}",
        ];
        for text in cases {
            assert_eq!(
                parse_i64(text.as_bytes()),
                text.parse::<i64>().ok(),
                "{text:?}"
            );
        }
        assert_eq!(parse_i64(&[b'1', 0xff]), None);
    }

    #[test]
    fn a_large_request_is_read_into_one_buffer_without_regrowing() {
        let blob = vec![7u8; 300_000];
        let mut input = b"*2\r\n$3\r\nSET\r\n$300000\r\n".to_vec();
        input.extend_from_slice(&blob);
        input.extend_from_slice(b"\r\n");
        let (mut f, mut buf) = (Framer::default(), BytesMut::new());
        let mut at = None;
        for chunk in input.chunks(3000) {
            f.make_room(&mut buf, 16 * 1024);
            assert!(buf.capacity() - buf.len() >= chunk.len());
            // A read fills the room it was given: the buffer does not move.
            buf.extend_from_slice(chunk);
            if let Some(Frame::Args(args)) = f.next(&mut buf, true).unwrap() {
                assert_eq!(args[1], blob);
                return;
            }
            // Reserved for the whole request once its BLOB's header was read.
            let start = buf.as_ptr();
            assert_eq!(*at.get_or_insert(start), start);
        }
        panic!("the request did not complete");
    }

    #[test]
    fn bad_headers_are_protocol_errors() {
        let mut f = Framer::default();
        let mut buf = BytesMut::from(&b"*1\r\n+x\r\n"[..]);
        assert!(f.next(&mut buf, true).is_err());
        let mut f = Framer::default();
        let mut buf = BytesMut::from(&b"*1\r\n$abc\r\n"[..]);
        assert!(f.next(&mut buf, true).is_err());
    }

    #[test]
    fn unauthenticated_requests_are_small() {
        let mut f = Framer::default();
        let mut buf = BytesMut::from(&b"*11\r\n"[..]);
        assert_eq!(
            f.next(&mut buf, false).err(),
            Some(ProtocolError(
                "ERR Protocol error: unauthenticated multibulk length".into()
            ))
        );
        let mut f = Framer::default();
        let mut buf = BytesMut::from(&b"*2\r\n$4\r\nAUTH\r\n$16385\r\n"[..]);
        assert_eq!(
            f.next(&mut buf, false).err(),
            Some(ProtocolError(
                "ERR Protocol error: unauthenticated bulk length".into()
            ))
        );
        assert!(buf.capacity() < 1024);
        let mut f = Framer::default();
        let mut buf = BytesMut::from(&b"*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n"[..]);
        assert!(matches!(f.next(&mut buf, false), Ok(Some(Frame::Args(_)))));
    }

    #[test]
    fn inline_quotes() {
        assert_eq!(
            split_inline(br#"SET "a b" 'c' d\n"#).unwrap(),
            vec![
                Bytes::from("SET"),
                Bytes::from("a b"),
                Bytes::from("c"),
                Bytes::from("d\\n")
            ]
        );
        assert!(split_inline(b"\"abc").is_none());
    }
}
