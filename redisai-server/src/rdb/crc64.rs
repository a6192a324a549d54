//! CRC-64/Jones as Redis computes it over RDB files and DUMP payloads: the reflected polynomial
//! 0xad93d23594c935a9, initial value 0, no final xor (check value of "123456789":
//! 0xe9c6d914c4b8d9ca). Eight bytes a step through eight tables ("slicing by 8"), so a large
//! model blob costs little next to writing it.

/// The polynomial, bit-reversed (the CRC is reflected).
const POLY: u64 = 0x95ac_9329_ac4b_c9b5;

const TABLES: [[u64; 256]; 8] = tables();

const fn tables() -> [[u64; 256]; 8] {
    let mut t = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        t[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

/// `crc` extended over `data` (start from 0).
pub fn update(mut crc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        let x = crc ^ u64::from_le_bytes(word);
        crc = TABLES[7][(x & 0xff) as usize]
            ^ TABLES[6][((x >> 8) & 0xff) as usize]
            ^ TABLES[5][((x >> 16) & 0xff) as usize]
            ^ TABLES[4][((x >> 24) & 0xff) as usize]
            ^ TABLES[3][((x >> 32) & 0xff) as usize]
            ^ TABLES[2][((x >> 40) & 0xff) as usize]
            ^ TABLES[1][((x >> 48) & 0xff) as usize]
            ^ TABLES[0][(x >> 56) as usize];
    }
    for &b in chunks.remainder() {
        crc = TABLES[0][((crc ^ u64::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain bit-at-a-time definition, to check the tables against.
    fn bitwise(data: &[u8]) -> u64 {
        let mut crc = 0u64;
        for &b in data {
            crc ^= u64::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ POLY
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    #[test]
    fn check_value() {
        assert_eq!(update(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(update(0, b""), 0);
    }

    #[test]
    fn tables_match_the_definition_and_split_points() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + i / 3) as u8).collect();
        for len in [0, 1, 7, 8, 9, 15, 16, 17, 100, 1000] {
            assert_eq!(update(0, &data[..len]), bitwise(&data[..len]), "len {len}");
        }
        for split in [0, 3, 8, 13, 500, 1000] {
            let (a, b) = data.split_at(split);
            assert_eq!(update(update(0, a), b), bitwise(&data));
        }
    }
}
