//! The env allocator: every CPU session allocates through it (`session.use_env_allocators`), so it
//! can count what ONNX Runtime holds (`onnxruntime_memory`) and how often it allocates or frees
//! (`onnxruntime_memory_access_num`), as RedisAI's allocator did.
//!
//! BACKEND_MEMORY_LIMIT: an allocation that would take the live bytes above the limit fails.
//! ORT dereferences what `Alloc` returns without a check, but catches a C++ exception thrown
//! from it, so `Alloc` and `Reserve` are C++ functions (`shim/ort_alloc.cpp`) that call
//! [`rai_ort_allocate`] here and throw when it says no, as RedisAI's allocator did. Other
//! failures (out of memory) abort, as Rust's own allocation failures do. ORT catches the
//! exception on the thread that creates a session or runs it; an allocation made inside one of
//! ORT's own pool threads (a kernel's parallel section) over the limit would end the process, as
//! with RedisAI's allocator. ORT allocates a run's tensors before it fans out, so that is rare.

use std::alloc::{alloc, dealloc, Layout};
use std::ffi::c_void;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU64, Ordering};

use ort::environment::Environment;
use ort::sys::{OrtAllocator, OrtAllocatorType, OrtMemType, OrtMemoryInfo};
use ort::AsPointer;

/// Alignment of every block (ORT's own CPU allocator uses 64), and the size of the header in
/// front of it that remembers the block's size.
const ALIGN: usize = 64;

static LIVE_BYTES: AtomicU64 = AtomicU64::new(0);
static ACCESSES: AtomicU64 = AtomicU64::new(0);
/// BACKEND_MEMORY_LIMIT in bytes; 0: none.
static LIMIT: AtomicU64 = AtomicU64::new(0);

/// Sets BACKEND_MEMORY_LIMIT (`None`: unlimited) for the allocations from now on.
pub(crate) fn set_limit(bytes: Option<u64>) {
    LIMIT.store(bytes.unwrap_or(0), Ordering::Relaxed);
}

// "system" is the C calling convention here; ORT declares its callbacks so.
unsafe extern "system" {
    fn rai_ort_alloc_or_throw(this: *mut OrtAllocator, size: usize) -> *mut c_void;
    fn rai_ort_reserve_or_throw(this: *const OrtAllocator, size: usize) -> *mut c_void;
}

/// (bytes held by ORT now, allocations + frees so far).
pub(crate) fn stats() -> (u64, u64) {
    (
        LIVE_BYTES.load(Ordering::Relaxed),
        ACCESSES.load(Ordering::Relaxed),
    )
}

/// ORT's allocator struct first (ORT casts `this` back and forth), then what `Info` returns.
#[repr(C)]
struct CountingAllocator {
    base: OrtAllocator,
    info: *const OrtMemoryInfo,
}

fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(ALIGN)?, ALIGN).ok()
}

/// Adds `size` to the live bytes unless that passes BACKEND_MEMORY_LIMIT (`enforce`), in one
/// step: a large allocation that is refused never makes a concurrent small one fail.
fn count_within_limit(size: u64, enforce: bool) -> bool {
    let limit = LIMIT.load(Ordering::Relaxed);
    LIVE_BYTES
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |live| {
            let after = live.saturating_add(size);
            (!enforce || limit == 0 || after <= limit).then_some(after)
        })
        .is_ok()
}

/// ORT's allocation, through the C++ entry points: the block, or null when it would exceed
/// BACKEND_MEMORY_LIMIT (the caller then throws; nothing is counted).
#[no_mangle]
pub extern "C" fn rai_ort_allocate(size: usize) -> *mut c_void {
    if !count_within_limit(size as u64, true) {
        return ptr::null_mut();
    }
    allocate_counted(size)
}

/// What a loaded model's weights hold. ONNX Runtime 1.31 keeps a session's initializers in
/// its copy of the model rather than in memory from the env allocator, so the allocator never
/// sees them; the model's bytes are counted (and limited) here instead, for as long as the
/// model lives, as RedisAI's allocator counted them.
#[derive(Debug)]
pub(crate) struct HeldWeights(u64);

impl HeldWeights {
    /// `None` when the model's bytes do not fit under BACKEND_MEMORY_LIMIT and `enforce`.
    pub(crate) fn hold(bytes: usize, enforce: bool) -> Option<HeldWeights> {
        let bytes = bytes as u64;
        if !count_within_limit(bytes, enforce) {
            return None;
        }
        ACCESSES.fetch_add(1, Ordering::Relaxed);
        Some(HeldWeights(bytes))
    }
}

impl Drop for HeldWeights {
    fn drop(&mut self) {
        LIVE_BYTES.fetch_sub(self.0, Ordering::Relaxed);
        ACCESSES.fetch_add(1, Ordering::Relaxed);
    }
}

/// The text a failed allocation throws, and that a model over the limit is refused with.
pub(crate) const LIMIT_EXCEEDED: &str =
    "Onnxruntime memory limit exceeded, memory allocation failed.";

fn allocate_counted(size: usize) -> *mut c_void {
    let Some(layout) = layout(size) else {
        // More than the address space: as Rust does for an impossible allocation.
        std::process::abort();
    };
    // SAFETY: layout has a non-zero size (at least ALIGN).
    let block = unsafe { alloc(layout) };
    if block.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    // SAFETY: the block is at least ALIGN bytes and ALIGN-aligned, so the header fits.
    unsafe { block.cast::<usize>().write(size) };
    ACCESSES.fetch_add(1, Ordering::Relaxed);
    // SAFETY: within the block.
    unsafe { block.add(ALIGN).cast() }
}

unsafe extern "system" fn free_fn(_this: *mut OrtAllocator, p: *mut c_void) {
    let Some(p) = NonNull::new(p) else {
        return;
    };
    // SAFETY: p came from `allocate`, so the header sits ALIGN bytes before it and holds the
    // size the block was allocated with.
    unsafe {
        let block = p.as_ptr().cast::<u8>().sub(ALIGN);
        let size = block.cast::<usize>().read();
        if let Some(layout) = layout(size) {
            dealloc(block, layout);
        }
        LIVE_BYTES.fetch_sub(size as u64, Ordering::Relaxed);
    }
    ACCESSES.fetch_add(1, Ordering::Relaxed);
}

unsafe extern "system" fn info_fn(this: *const OrtAllocator) -> *const OrtMemoryInfo {
    // SAFETY: `this` is the `base` field of a leaked CountingAllocator (repr(C), first field).
    unsafe { (*this.cast::<CountingAllocator>()).info }
}

/// Registers the counting allocator as the environment's CPU allocator. Call once, right after
/// the environment is built and before any session exists.
pub(crate) fn register(env: &Environment) -> ort::Result<()> {
    let api = ort::api();
    let mut info: *mut OrtMemoryInfo = ptr::null_mut();
    // SAFETY: plain C API calls with valid out-pointers; `allocator` is leaked, so it outlives
    // the environment and every session, as ORT requires.
    unsafe {
        ort::Error::result_from_status((api.CreateCpuMemoryInfo)(
            OrtAllocatorType::OrtDeviceAllocator,
            OrtMemType::OrtMemTypeDefault,
            &mut info,
        ))?;
        let mut base = OrtAllocator::default();
        base.Alloc = Some(rai_ort_alloc_or_throw);
        base.Free = Some(free_fn);
        base.Info = Some(info_fn);
        base.Reserve = Some(rai_ort_reserve_or_throw);
        let allocator = Box::leak(Box::new(CountingAllocator { base, info }));
        ort::Error::result_from_status((api.RegisterAllocator)(
            env.ptr().cast_mut(),
            &mut allocator.base,
        ))
    }
}
