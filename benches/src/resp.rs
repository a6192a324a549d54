//! RESP encoding of requests and a streaming reader of replies.
//!
//! Requests are encoded once as RESP arrays of bulk strings and then written as
//! they are. Replies are read without keeping their payloads: a bulk string is
//! skipped through the buffered reader, and only what the load tool needs is
//! kept (the first error message and the largest bulk length seen).
//!
//! The reader understands RESP2 (`+ - : $ *`) and the RESP3 types a server may
//! send (`_ # , ( ! = % ~ > |`).

use std::io::{self, BufRead};

/// Encodes one command as a RESP array of bulk strings.
pub fn encode<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let payload: usize = args.iter().map(|a| a.as_ref().len() + 32).sum();
    let mut out = Vec::with_capacity(16 + payload);
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        let arg = arg.as_ref();
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// What the load tool keeps of one reply.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The type byte of the top-level value (`+`, `-`, `$`, `*`, ...).
    pub kind: u8,
    /// The first error found anywhere in the reply, without its `-`.
    pub error: Option<String>,
    /// The length of the largest non-null bulk (or verbatim) string in the reply.
    pub max_bulk: Option<usize>,
}

/// Longest error message kept, in bytes.
const MAX_ERROR_KEPT: usize = 512;

/// Reads whole RESP replies from a buffered stream.
pub struct ReplyReader<R> {
    inner: R,
    line: Vec<u8>,
}

impl<R: BufRead> ReplyReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            line: Vec::with_capacity(128),
        }
    }

    /// Reads one complete reply, nested values included.
    pub fn read_reply(&mut self) -> io::Result<Reply> {
        let mut reply = Reply::default();
        // Values still to read at any depth: nested aggregates only add to it.
        let mut pending: u64 = 1;
        let mut top = true;
        while pending > 0 {
            pending -= 1;
            self.read_line()?;
            let kind = self.line[0];
            if top {
                reply.kind = kind;
                top = false;
            }
            let rest = &self.line[1..];
            match kind {
                b'+' | b':' | b'_' | b'#' | b',' | b'(' => {}
                b'-' => {
                    if reply.error.is_none() {
                        reply.error = Some(lossy(rest));
                    }
                }
                b'$' | b'=' | b'!' => {
                    let len = parse_int(rest)?;
                    if len < 0 {
                        continue;
                    }
                    let len = usize::try_from(len).map_err(|_| protocol("bulk length"))?;
                    if kind == b'!' {
                        let text = self.read_bulk_kept(len)?;
                        if reply.error.is_none() {
                            reply.error = Some(text);
                        }
                    } else {
                        self.skip_bulk(len)?;
                        reply.max_bulk = Some(reply.max_bulk.map_or(len, |m| m.max(len)));
                    }
                }
                b'*' | b'~' | b'>' | b'%' | b'|' => {
                    let n = parse_int(rest)?;
                    if n < 0 {
                        continue;
                    }
                    let n = n as u64;
                    pending += match kind {
                        b'%' => 2 * n,
                        // An attribute map comes before the value it annotates.
                        b'|' => 2 * n + 1,
                        _ => n,
                    };
                }
                other => {
                    return Err(protocol(&format!(
                        "unexpected type byte {:?}",
                        char::from(other)
                    )))
                }
            }
        }
        Ok(reply)
    }

    /// Reads one `\r\n`-terminated line into `self.line`, without the terminator.
    fn read_line(&mut self) -> io::Result<()> {
        self.line.clear();
        let n = self.inner.read_until(b'\n', &mut self.line)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed by the server",
            ));
        }
        if !self.line.ends_with(b"\r\n") {
            return Err(if self.line.ends_with(b"\n") {
                protocol("line not terminated by CRLF")
            } else {
                io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed mid-line")
            });
        }
        self.line.truncate(self.line.len() - 2);
        if self.line.is_empty() {
            return Err(protocol("empty line"));
        }
        Ok(())
    }

    /// Skips `len` payload bytes and the CRLF after them.
    fn skip_bulk(&mut self, len: usize) -> io::Result<()> {
        let mut left = len;
        while left > 0 {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed mid-bulk",
                ));
            }
            let take = buf.len().min(left);
            self.inner.consume(take);
            left -= take;
        }
        self.expect_crlf()
    }

    /// Reads `len` payload bytes (kept up to [`MAX_ERROR_KEPT`]) and the CRLF.
    fn read_bulk_kept(&mut self, len: usize) -> io::Result<String> {
        let mut kept = Vec::with_capacity(len.min(MAX_ERROR_KEPT));
        let mut left = len;
        while left > 0 {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed mid-bulk",
                ));
            }
            let take = buf.len().min(left);
            let room = MAX_ERROR_KEPT.saturating_sub(kept.len()).min(take);
            kept.extend_from_slice(&buf[..room]);
            self.inner.consume(take);
            left -= take;
        }
        self.expect_crlf()?;
        Ok(lossy(&kept))
    }

    fn expect_crlf(&mut self) -> io::Result<()> {
        let mut crlf = [0u8; 2];
        self.inner.read_exact(&mut crlf)?;
        if &crlf != b"\r\n" {
            return Err(protocol("bulk not followed by CRLF"));
        }
        Ok(())
    }
}

fn lossy(bytes: &[u8]) -> String {
    let bytes = &bytes[..bytes.len().min(MAX_ERROR_KEPT)];
    String::from_utf8_lossy(bytes).into_owned()
}

fn parse_int(digits: &[u8]) -> io::Result<i64> {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| protocol("bad length"))
}

fn protocol(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("RESP protocol error: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Cursor, Read};

    fn read_all(bytes: &[u8]) -> Vec<Reply> {
        let mut reader = ReplyReader::new(BufReader::with_capacity(7, Cursor::new(bytes.to_vec())));
        let mut out = Vec::new();
        loop {
            match reader.read_reply() {
                Ok(r) => out.push(r),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return out,
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn encodes_bulk_array() {
        assert_eq!(
            encode(&["SET", "k", ""]),
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n".to_vec()
        );
    }

    #[test]
    fn reads_simple_error_integer_null() {
        let r = read_all(b"+OK\r\n-ERR no such key\r\n:42\r\n$-1\r\n*-1\r\n_\r\n");
        assert_eq!(r.len(), 6);
        assert_eq!(r[0].kind, b'+');
        assert_eq!(r[0].error, None);
        assert_eq!(r[1].error.as_deref(), Some("ERR no such key"));
        assert_eq!(r[2].kind, b':');
        assert_eq!(r[3].max_bulk, None);
        assert_eq!(r[4].kind, b'*');
        assert_eq!(r[5].kind, b'_');
    }

    #[test]
    fn reads_nested_arrays_and_keeps_largest_bulk() {
        let bytes = b"*3\r\n$5\r\ndtype\r\n*2\r\n:1\r\n$3\r\nabc\r\n*0\r\n+after\r\n";
        let r = read_all(bytes);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].kind, b'*');
        assert_eq!(r[0].max_bulk, Some(5));
        assert_eq!(r[1].kind, b'+');
    }

    #[test]
    fn finds_error_inside_array() {
        let r = read_all(b"*2\r\n:1\r\n-WRONGTYPE bad\r\n");
        assert_eq!(r[0].error.as_deref(), Some("WRONGTYPE bad"));
    }

    #[test]
    fn reads_one_mebibyte_bulk_with_crlf_inside() {
        let mut payload = vec![b'\n'; 1 << 20];
        payload[100] = b'\r';
        let mut bytes = format!("${}\r\n", payload.len()).into_bytes();
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(b"\r\n:7\r\n");
        let r = read_all(&bytes);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].max_bulk, Some(1 << 20));
        assert_eq!(r[1].kind, b':');
    }

    #[test]
    fn reads_resp3_types() {
        let bytes = b"%1\r\n+k\r\n=7\r\ntxt:abc\r\n~2\r\n#t\r\n,1.5\r\n!8\r\nERR blob\r\n";
        let r = read_all(bytes);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].max_bulk, Some(7));
        assert_eq!(r[2].error.as_deref(), Some("ERR blob"));
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        let mut reader = ReplyReader::new(BufReader::new(Cursor::new(b"?x\r\n".to_vec())));
        assert_eq!(
            reader.read_reply().unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let mut reader = ReplyReader::new(BufReader::new(Cursor::new(b"$10\r\nabc".to_vec())));
        assert_eq!(
            reader.read_reply().unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        let mut reader = ReplyReader::new(BufReader::new(Cursor::new(b"$3\r\nabcXY".to_vec())));
        assert_eq!(
            reader.read_reply().unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn round_trips_encoded_request_as_array() {
        let req = encode(&[b"AI.TENSORSET".as_slice(), b"k", &[0u8; 4096]]);
        let mut reader = ReplyReader::new(BufReader::new(Cursor::new(req)));
        let r = reader.read_reply().unwrap();
        assert_eq!(r.kind, b'*');
        assert_eq!(r.max_bulk, Some(4096));
        let mut rest = Vec::new();
        reader.inner.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    }
}
