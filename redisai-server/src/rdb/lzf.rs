//! LZF decompression, for the strings Redis compresses in RDB files (`rdbcompression yes`, any
//! string over 20 bytes that shrinks) and for compressed quicklist nodes.
//!
//! The stream is a sequence of runs, each opening with a control byte `c`:
//! - `c < 32`: a literal run of `c + 1` bytes that follow;
//! - otherwise a back reference: length `c >> 5` (7 means "7 + the next byte"), plus 2, copied
//!   from `((c & 0x1f) << 8) + next byte + 1` bytes behind the output's end (it may overlap what
//!   it produces).

/// The most output one input byte can give (a 3-byte back reference copies up to 264 bytes):
/// a declared length above `MAX_RATIO` times the compressed length is not a valid stream.
pub const MAX_RATIO: u64 = 88;

/// `input` decompressed to exactly `out_len` bytes, or `None` if it is not a valid LZF stream of
/// that length. The output grows as it is produced: `out_len` is only reserved where
/// [`MAX_RATIO`] allows it.
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let bound = (input.len() as u64).saturating_mul(MAX_RATIO);
    if out_len as u64 > bound {
        return None;
    }
    let mut out = Vec::with_capacity(out_len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let lit = input.get(ip..ip + run)?;
            if out.len() + run > out_len {
                return None;
            }
            out.extend_from_slice(lit);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip)?);
                ip += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + usize::from(*input.get(ip)?) + 1;
            ip += 1;
            let len = len + 2;
            if back > out.len() || out.len() + len > out_len {
                return None;
            }
            let start = out.len() - back;
            if back >= len {
                out.extend_from_within(start..start + len);
            } else {
                // Overlapping: each byte may be one this reference has just written.
                for i in 0..len {
                    let b = out[start + i];
                    out.push(b);
                }
            }
        }
    }
    (out.len() == out_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_references() {
        // "abc" literal, then a reference 3 back of length 6 (overlapping): "abcabcabc".
        let s = [2, b'a', b'b', b'c', (4 << 5), 2];
        assert_eq!(decompress(&s, 9).unwrap(), b"abcabcabc");
        // A long reference: 'a' then 7 + 250 + 2 more 'a's.
        let s = [0, b'a', (7 << 5), 250, 0];
        assert_eq!(decompress(&s, 260).unwrap(), vec![b'a'; 260]);
        assert_eq!(decompress(&[], 0).unwrap(), b"");
    }

    #[test]
    fn refusals() {
        let s = [2, b'a', b'b', b'c', (4 << 5), 2];
        assert_eq!(decompress(&s, 8), None); // longer than declared
        assert_eq!(decompress(&s, 10), None); // shorter than declared
        assert_eq!(decompress(&[2, b'a'], 3), None); // literal cut short
        assert_eq!(decompress(&[0, b'a', (1 << 5)], 4), None); // reference cut short
        assert_eq!(decompress(&[0, b'a', (1 << 5) | 1, 0], 4), None); // before the start
        assert_eq!(decompress(&[0, b'a'], 1000), None); // beyond any ratio
        for len in 0..6 {
            for out in 0..12 {
                let _ = decompress(&s[..len], out);
            }
        }
    }
}
