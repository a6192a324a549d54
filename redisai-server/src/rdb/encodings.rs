//! The compact encodings Redis stores small hashes and list nodes in, decoded to their
//! elements (integers as their decimal text, as Redis gives them back):
//!
//! - listpack (hashes since 7.0, quicklist2 list nodes):
//!   `u32 total_bytes, u16 count (65535: unknown), entries, 0xff`, each entry an encoding byte
//!   (7-bit uint, 6/12/32-bit string length, 13/16/24/32/64-bit int), its data, and a
//!   back-length of 1 to 5 bytes;
//! - ziplist (hashes and list nodes before 7.0):
//!   `u32 total_bytes, u32 tail_offset, u16 count (65535: unknown), entries, 0xff`, each entry a
//!   previous-length (1 byte, or 0xfe and 4), an encoding (6/14/32-bit string length,
//!   8/16/24/32/64-bit int, 4-bit immediate) and its data.
//!
//! Both are fed bytes from a file: every offset is checked, nothing panics, and an error says
//! what is wrong (the caller adds where).

use bytes::Bytes;

/// Elements reserved ahead of decoding, whatever a header claims.
const MAX_PREALLOC: usize = 1024;

fn int_text(v: i64) -> Bytes {
    Bytes::copy_from_slice(itoa::Buffer::new().format(v).as_bytes())
}

fn le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// Sign-extends the low `bits` bits of `v`.
fn signed(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

/// A cursor over an encoded blob.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| format!("{what} runs past the end of the blob"))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }
}

/// The size of a listpack back-length for an entry of `len` bytes (Redis's thresholds).
fn backlen_size(len: u64) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// A back-length read from its bytes (stored last byte first, 7 bits each, the high bit set on
/// all but the first).
fn backlen_value(b: &[u8]) -> u64 {
    b.iter()
        .fold(0u64, |acc, &x| (acc << 7) | u64::from(x & 0x7f))
}

/// The elements of a listpack.
pub fn listpack(data: &[u8]) -> Result<Vec<Bytes>, String> {
    let mut c = Cursor { data, pos: 0 };
    let total = le(c.take(4, "listpack header")?);
    let count = le(c.take(2, "listpack header")?);
    if total != data.len() as u64 {
        return Err(format!(
            "listpack says it is {total} bytes, its string is {}",
            data.len()
        ));
    }
    let mut out = Vec::with_capacity((count as usize).min(MAX_PREALLOC));
    loop {
        let start = c.pos;
        let b = c.byte("listpack entry")?;
        let element = match b {
            0xff => break,
            _ if b & 0x80 == 0 => int_text(i64::from(b & 0x7f)),
            _ if b & 0xc0 == 0x80 => {
                Bytes::copy_from_slice(c.take(usize::from(b & 0x3f), "listpack string")?)
            }
            _ if b & 0xe0 == 0xc0 => {
                let lo = c.byte("listpack integer")?;
                int_text(signed((u64::from(b & 0x1f) << 8) | u64::from(lo), 13))
            }
            _ if b & 0xf0 == 0xe0 => {
                let lo = c.byte("listpack string length")?;
                let len = (usize::from(b & 0x0f) << 8) | usize::from(lo);
                Bytes::copy_from_slice(c.take(len, "listpack string")?)
            }
            0xf0 => {
                let len = le(c.take(4, "listpack string length")?) as usize;
                Bytes::copy_from_slice(c.take(len, "listpack string")?)
            }
            0xf1 => int_text(signed(le(c.take(2, "listpack integer")?), 16)),
            0xf2 => int_text(signed(le(c.take(3, "listpack integer")?), 24)),
            0xf3 => int_text(signed(le(c.take(4, "listpack integer")?), 32)),
            0xf4 => int_text(le(c.take(8, "listpack integer")?) as i64),
            _ => return Err(format!("unknown listpack encoding byte {b:#04x}")),
        };
        let entry_len = (c.pos - start) as u64;
        let back = c.take(backlen_size(entry_len), "listpack back-length")?;
        if backlen_value(back) != entry_len {
            return Err(format!(
                "listpack entry at offset {start} has a wrong back-length"
            ));
        }
        out.push(element);
    }
    if c.pos != data.len() {
        return Err("bytes after the listpack's end marker".into());
    }
    if count != 65535 && count != out.len() as u64 {
        return Err(format!(
            "listpack says it holds {count} entries, it holds {}",
            out.len()
        ));
    }
    Ok(out)
}

/// The elements of a ziplist.
pub fn ziplist(data: &[u8]) -> Result<Vec<Bytes>, String> {
    let mut c = Cursor { data, pos: 0 };
    let total = le(c.take(4, "ziplist header")?);
    let _tail = c.take(4, "ziplist header")?;
    let count = le(c.take(2, "ziplist header")?);
    if total != data.len() as u64 {
        return Err(format!(
            "ziplist says it is {total} bytes, its string is {}",
            data.len()
        ));
    }
    let mut out = Vec::with_capacity((count as usize).min(MAX_PREALLOC));
    loop {
        let first = *data
            .get(c.pos)
            .ok_or_else(|| "ziplist has no end marker".to_string())?;
        if first == 0xff {
            c.pos += 1;
            break;
        }
        // The previous entry's length: not needed going forward.
        if c.byte("ziplist entry")? == 0xfe {
            c.take(4, "ziplist entry")?;
        }
        let enc = c.byte("ziplist entry encoding")?;
        let element = match enc >> 6 {
            0 => Bytes::copy_from_slice(c.take(usize::from(enc & 0x3f), "ziplist string")?),
            1 => {
                let lo = c.byte("ziplist string length")?;
                let len = (usize::from(enc & 0x3f) << 8) | usize::from(lo);
                Bytes::copy_from_slice(c.take(len, "ziplist string")?)
            }
            2 => {
                if enc != 0x80 {
                    return Err(format!("unknown ziplist encoding byte {enc:#04x}"));
                }
                let b = c.take(4, "ziplist string length")?;
                let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
                Bytes::copy_from_slice(c.take(len, "ziplist string")?)
            }
            _ => match enc {
                0xc0 => int_text(signed(le(c.take(2, "ziplist integer")?), 16)),
                0xd0 => int_text(signed(le(c.take(4, "ziplist integer")?), 32)),
                0xe0 => int_text(le(c.take(8, "ziplist integer")?) as i64),
                0xf0 => int_text(signed(le(c.take(3, "ziplist integer")?), 24)),
                0xfe => int_text(signed(le(c.take(1, "ziplist integer")?), 8)),
                0xf1..=0xfd => int_text(i64::from(enc & 0x0f) - 1),
                _ => return Err(format!("unknown ziplist encoding byte {enc:#04x}")),
            },
        };
        out.push(element);
    }
    if c.pos != data.len() {
        return Err("bytes after the ziplist's end marker".into());
    }
    if count != 65535 && count != out.len() as u64 {
        return Err(format!(
            "ziplist says it holds {count} entries, it holds {}",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An element to encode: a string, or an integer in a chosen encoding.
    #[derive(Clone, Copy)]
    pub enum El<'a> {
        S(&'a [u8]),
        I(i64),
    }

    /// A listpack as Redis writes one (strings in the shortest length form, integers in the
    /// smallest integer encoding).
    pub fn encode_listpack(items: &[El]) -> Vec<u8> {
        let mut body = Vec::new();
        for it in items {
            let mut e = Vec::new();
            match *it {
                El::S(s) if s.len() < 64 => e.push(0x80 | s.len() as u8),
                El::S(s) if s.len() < 4096 => {
                    e.push(0xe0 | (s.len() >> 8) as u8);
                    e.push(s.len() as u8);
                }
                El::S(s) => {
                    e.push(0xf0);
                    e.extend_from_slice(&(s.len() as u32).to_le_bytes());
                }
                El::I(v) if (0..=127).contains(&v) => e.push(v as u8),
                El::I(v) if (-4096..=4095).contains(&v) => {
                    let u = (v as u64) & 0x1fff;
                    e.push(0xc0 | (u >> 8) as u8);
                    e.push(u as u8);
                }
                El::I(v) if i16::try_from(v).is_ok() => {
                    e.push(0xf1);
                    e.extend_from_slice(&(v as i16).to_le_bytes());
                }
                El::I(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                    e.push(0xf2);
                    e.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
                }
                El::I(v) if i32::try_from(v).is_ok() => {
                    e.push(0xf3);
                    e.extend_from_slice(&(v as i32).to_le_bytes());
                }
                El::I(v) => {
                    e.push(0xf4);
                    e.extend_from_slice(&v.to_le_bytes());
                }
            }
            if let El::S(s) = *it {
                e.extend_from_slice(s);
            }
            let l = e.len() as u64;
            let n = backlen_size(l);
            for i in (0..n).rev() {
                let group = ((l >> (7 * i)) & 0x7f) as u8;
                e.push(if i == n - 1 { group } else { group | 0x80 });
            }
            body.extend_from_slice(&e);
        }
        let mut lp = Vec::new();
        lp.extend_from_slice(&((body.len() + 7) as u32).to_le_bytes());
        lp.extend_from_slice(&(items.len().min(65535) as u16).to_le_bytes());
        lp.extend_from_slice(&body);
        lp.push(0xff);
        lp
    }

    /// A ziplist as Redis 6 wrote one.
    pub fn encode_ziplist(items: &[El]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = 10;
        for it in items {
            let mut e = Vec::new();
            if prev < 254 {
                e.push(prev as u8);
            } else {
                e.push(0xfe);
                e.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match *it {
                El::S(s) if s.len() < 64 => e.push(s.len() as u8),
                El::S(s) if s.len() < 16384 => {
                    e.push(0x40 | (s.len() >> 8) as u8);
                    e.push(s.len() as u8);
                }
                El::S(s) => {
                    e.push(0x80);
                    e.extend_from_slice(&(s.len() as u32).to_be_bytes());
                }
                El::I(v) if (0..=12).contains(&v) => e.push(0xf1 + v as u8),
                El::I(v) if i8::try_from(v).is_ok() => {
                    e.push(0xfe);
                    e.push(v as u8);
                }
                El::I(v) if i16::try_from(v).is_ok() => {
                    e.push(0xc0);
                    e.extend_from_slice(&(v as i16).to_le_bytes());
                }
                El::I(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                    e.push(0xf0);
                    e.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
                }
                El::I(v) if i32::try_from(v).is_ok() => {
                    e.push(0xd0);
                    e.extend_from_slice(&(v as i32).to_le_bytes());
                }
                El::I(v) => {
                    e.push(0xe0);
                    e.extend_from_slice(&v.to_le_bytes());
                }
            }
            if let El::S(s) = *it {
                e.extend_from_slice(s);
            }
            tail = 10 + body.len();
            prev = e.len();
            body.extend_from_slice(&e);
        }
        let mut zl = Vec::new();
        zl.extend_from_slice(&((body.len() + 11) as u32).to_le_bytes());
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&(items.len().min(65535) as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(0xff);
        zl
    }

    fn sample() -> (Vec<El<'static>>, Vec<&'static str>) {
        let long: &'static [u8] = Box::leak(vec![b'x'; 5000].into_boxed_slice());
        let mid: &'static [u8] = Box::leak(vec![b'y'; 300].into_boxed_slice());
        let items = vec![
            El::S(b""),
            El::S(b"field"),
            El::S(mid),
            El::S(long),
            El::I(0),
            El::I(7),
            El::I(12),
            El::I(13),
            El::I(127),
            El::I(-1),
            El::I(-4096),
            El::I(4095),
            El::I(-30000),
            El::I(1 << 20),
            El::I(-(1 << 23)),
            El::I(i32::MIN.into()),
            El::I(i64::MAX),
            El::I(i64::MIN),
        ];
        let long_s: &'static str = Box::leak("x".repeat(5000).into_boxed_str());
        let mid_s: &'static str = Box::leak("y".repeat(300).into_boxed_str());
        let text = vec![
            "",
            "field",
            mid_s,
            long_s,
            "0",
            "7",
            "12",
            "13",
            "127",
            "-1",
            "-4096",
            "4095",
            "-30000",
            "1048576",
            "-8388608",
            "-2147483648",
            "9223372036854775807",
            "-9223372036854775808",
        ];
        (items, text)
    }

    #[test]
    fn listpack_elements() {
        let (items, text) = sample();
        let got = listpack(&encode_listpack(&items)).unwrap();
        assert_eq!(got, text);
        assert_eq!(
            listpack(&encode_listpack(&[])).unwrap(),
            Vec::<Bytes>::new()
        );
    }

    #[test]
    fn ziplist_elements() {
        let (items, text) = sample();
        let got = ziplist(&encode_ziplist(&items)).unwrap();
        assert_eq!(got, text);
        assert_eq!(ziplist(&encode_ziplist(&[])).unwrap(), Vec::<Bytes>::new());
    }

    #[test]
    fn refusals_never_panic() {
        let (items, _) = sample();
        type Decode = fn(&[u8]) -> Result<Vec<Bytes>, String>;
        let cases: [(Vec<u8>, Decode); 2] = [
            (encode_listpack(&items[..6]), listpack),
            (encode_ziplist(&items[..6]), ziplist),
        ];
        for (blob, decode) in cases {
            // Every prefix, and every single-byte change, is refused or decoded: never a panic.
            for len in 0..blob.len() {
                assert!(decode(&blob[..len]).is_err());
            }
            for i in 0..blob.len() {
                for x in [0x00, 0x3f, 0x7f, 0x80, 0xc0, 0xe0, 0xf0, 0xf4, 0xfe, 0xff] {
                    let mut b = blob.clone();
                    b[i] = x;
                    let _ = decode(&b);
                }
            }
        }
        let mut lp = encode_listpack(&[El::S(b"a")]);
        lp[4] = 2; // wrong count
        assert!(listpack(&lp).unwrap_err().contains("2 entries"));
    }
}
