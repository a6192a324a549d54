//! MKL's CPU-vendor check, answered by the CPU's features instead.
//!
//! The x86-64 libtorch wheels carry oneMKL for their matrix products. MKL picks its kernels by
//! asking `mkl_serv_intel_cpu_true()` first: on any CPU that is not "GenuineIntel" it answers 0
//! and MKL falls back to its generic AVX2 path, whatever the CPU can do. On this project's AMD
//! EPYC (AVX-512) a batch-16 MLP layer then runs 3× slower per row than with MKL's AVX-512
//! kernels, which is most of what auto-batching is meant to win (docs/performance.md).
//!
//! MKL looks the function up through libtorch's dynamic symbol table, so a definition exported
//! by the executable takes precedence (rustc exports `#[no_mangle]` functions from executables;
//! the test below checks it). Ours says "yes": MKL then still chooses among its kernels by the
//! CPU's feature flags (CPUID), so a CPU without AVX-512 gets the AVX2 kernels as before.
//!
//! `REDISAI_MKL_VENDOR_CHECK=1` in the environment restores MKL's own rule (Intel only), in case
//! a CPU and MKL's fast kernels ever disagree.

use std::ffi::c_int;
use std::sync::OnceLock;

/// The environment variable that restores MKL's vendor check.
pub const VENDOR_CHECK_ENV: &str = "REDISAI_MKL_VENDOR_CHECK";

/// MKL calls this (once per query, from its own threads too), hence no allocation after the
/// first call and no panic.
#[no_mangle]
pub extern "C" fn mkl_serv_intel_cpu_true() -> c_int {
    static ANSWER: OnceLock<c_int> = OnceLock::new();
    *ANSWER.get_or_init(|| answer(std::env::var_os(VENDOR_CHECK_ENV).is_some_and(|v| v == "1")))
}

fn answer(vendor_check: bool) -> c_int {
    c_int::from(!vendor_check || genuine_intel())
}

/// MKL's own rule: CPUID leaf 0 names the vendor.
fn genuine_intel() -> bool {
    let id = std::arch::x86_64::__cpuid(0);
    let vendor = [id.ebx, id.edx, id.ecx].map(u32::to_le_bytes).concat();
    vendor == b"GenuineIntel"
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::{c_char, c_void};

    extern "C" {
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    }

    #[test]
    fn the_process_resolves_mkl_to_ours() {
        // RTLD_DEFAULT (null) searches as libtorch's own calls do: executable first. This
        // fails if the linker did not export the symbol (MKL would keep its own answer).
        let found = unsafe { dlsym(std::ptr::null_mut(), c"mkl_serv_intel_cpu_true".as_ptr()) };
        assert_eq!(found as *const (), mkl_serv_intel_cpu_true as *const ());
        if std::env::var_os(VENDOR_CHECK_ENV).is_none() {
            assert_eq!(mkl_serv_intel_cpu_true(), 1);
        }
    }

    #[test]
    fn the_vendor_check_is_mkls_rule() {
        assert_eq!(answer(false), 1);
        let vendor = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("vendor_id"))
                    .map(str::to_owned)
            });
        if let Some(line) = vendor {
            assert_eq!(
                answer(true),
                c_int::from(line.ends_with("GenuineIntel")),
                "{line}"
            );
        }
    }
}
