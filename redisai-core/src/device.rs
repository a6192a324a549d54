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

/// A device as a backend sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    Cpu,
    /// A GPU and its ordinal (`GPU` alone is GPU 0).
    Gpu(u32),
}

impl Device {
    /// The backends' reading of a device string: anything starting with `CPU` (any case) is the
    /// CPU; `GPU` or `GPU:<n>` a GPU; anything else is refused (`None`).
    pub fn parse(device: &str) -> Option<Device> {
        let upper = device.to_ascii_uppercase();
        if upper.starts_with("CPU") {
            return Some(Device::Cpu);
        }
        match upper.strip_prefix("GPU") {
            Some("") => Some(Device::Gpu(0)),
            Some(rest) => rest
                .strip_prefix(':')
                .and_then(|n| n.parse::<u32>().ok())
                .map(Device::Gpu),
            None => None,
        }
    }
}

#[cfg(test)]
mod device_tests {
    use super::Device;

    #[test]
    fn backend_devices() {
        assert_eq!(Device::parse("cpu"), Some(Device::Cpu));
        assert_eq!(Device::parse("CPU:3"), Some(Device::Cpu));
        assert_eq!(Device::parse("gpu"), Some(Device::Gpu(0)));
        assert_eq!(Device::parse("GPU:2"), Some(Device::Gpu(2)));
        assert_eq!(Device::parse("GPU:x"), None);
        assert_eq!(Device::parse("TPU"), None);
    }
}
