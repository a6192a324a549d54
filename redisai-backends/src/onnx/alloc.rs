//! The env allocator: every CPU session allocates through it (`session.use_env_allocators`), so it
//! can count what ONNX Runtime holds (`onnxruntime_memory`) and how often it allocates or frees
//! (`onnxruntime_memory_access_num`), as RedisAI's allocator did.
//!
//! ORT dereferences what `Alloc` returns without a check, so an allocation that fails aborts the
//! process, as Rust's own allocation failures do. (RedisAI's BACKEND_MEMORY_LIMIT needs `Alloc`
//! to throw a C++ exception instead; not done here.)

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

fn allocate(size: usize) -> *mut c_void {
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
    LIVE_BYTES.fetch_add(size as u64, Ordering::Relaxed);
    ACCESSES.fetch_add(1, Ordering::Relaxed);
    // SAFETY: within the block.
    unsafe { block.add(ALIGN).cast() }
}

unsafe extern "system" fn alloc_fn(_this: *mut OrtAllocator, size: usize) -> *mut c_void {
    allocate(size)
}

unsafe extern "system" fn reserve_fn(_this: *const OrtAllocator, size: usize) -> *mut c_void {
    allocate(size)
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
        base.Alloc = Some(alloc_fn);
        base.Free = Some(free_fn);
        base.Info = Some(info_fn);
        base.Reserve = Some(reserve_fn);
        let allocator = Box::leak(Box::new(CountingAllocator { base, info }));
        ort::Error::result_from_status((api.RegisterAllocator)(
            env.ptr().cast_mut(),
            &mut allocator.base,
        ))
    }
}
