//! Device strings. The string is kept as the user typed it (replies show it back); the run queue
//! is keyed by its upper-cased form.

/// Whether AI.MODELSTORE accepts this device: `CPU`, `GPU` (any case), or either followed by `:`
/// and digits only, shorter than 10 bytes in all. (`CPU:` with no digits is accepted, as in the C
/// module: it names the same queue key `CPU:`.)
pub fn is_valid_store_device(d: &[u8]) -> bool {
    if d.len() >= 10 || d.len() < 3 {
        return false;
    }
    let (kind, rest) = d.split_at(3);
    if !kind.eq_ignore_ascii_case(b"CPU") && !kind.eq_ignore_ascii_case(b"GPU") {
        return false;
    }
    match rest.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

/// The run-queue key of a device string: upper-cased.
pub fn queue_key(device: &str) -> String {
    device.to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::is_valid_store_device;

    #[test]
    fn store_devices() {
        for ok in ["CPU", "gpu", "GPU:0", "cpu:12345", "CPU:"] {
            assert!(is_valid_store_device(ok.as_bytes()), "{ok}");
        }
        for bad in ["", "CP", "TPU", "GPU0", "GPU:a", "GPU:123456", "CPU:1:2"] {
            assert!(!is_valid_store_device(bad.as_bytes()), "{bad}");
        }
    }
}
