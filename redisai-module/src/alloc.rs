//! The module's global allocator: Redis's (`RedisModule_Alloc`), so tensors, models and
//! scripts count in `used_memory`, and `maxmemory` and the `deny-oom` commands see them, as
//! they saw the C module's. The crate's own `RedisAlloc` is not enough: it relies on jemalloc
//! size classes for alignment (Valkey's build uses libc malloc, which aligns to 16 bytes only)
//! and aborts when the API is missing (before the module's init, in unit tests).
//!
//! Every block carries a 16-byte header in front of what the caller gets: how far the caller's
//! pointer is from the block's start, which allocator made the block, and its size. A block
//! made before Redis's API was there (or in a test) comes from the system allocator and goes
//! back to it, whatever happens meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::c_void;

use redis_module::raw;

pub struct ModuleAlloc;

const HEADER: usize = 16;
const FROM_REDIS: u32 = 1;
const FROM_SYSTEM: u32 = 2;
/// The alignment of the system blocks this allocator asks for.
const SYSTEM_ALIGN: usize = 16;

#[derive(Clone, Copy)]
struct Header {
    /// From the block's start to the caller's pointer.
    offset: u32,
    source: u32,
    /// The block's size.
    total: u64,
}

impl Header {
    /// # Safety
    /// `user` is a pointer this allocator returned.
    unsafe fn read(user: *mut u8) -> Header {
        user.sub(HEADER).cast::<Header>().read_unaligned()
    }

    /// # Safety
    /// `user` has HEADER writable bytes before it.
    unsafe fn write(self, user: *mut u8) {
        user.sub(HEADER).cast::<Header>().write_unaligned(self)
    }
}

/// The block size for `layout`: room for the header and for moving the caller's pointer up to
/// its alignment, whatever the alignment of the block itself.
fn block_size(layout: Layout) -> Option<usize> {
    layout
        .size()
        .checked_add(HEADER)?
        .checked_add(layout.align())
}

/// The caller's pointer in `block`: after the header, aligned to `align`.
fn user_ptr(block: *mut u8, align: usize) -> *mut u8 {
    let start = block as usize + HEADER;
    let aligned = (start + align - 1) & !(align - 1);
    // SAFETY (for the caller): within the block, as block_size reserved `align` bytes.
    block.wrapping_add(aligned - block as usize)
}

fn redis_alloc() -> Option<unsafe extern "C" fn(usize) -> *mut c_void> {
    // SAFETY: a plain read of a function pointer Redis set at load, before any thread of ours.
    unsafe { raw::RedisModule_Alloc }
}

unsafe impl GlobalAlloc for ModuleAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(total) = block_size(layout) else {
            return std::ptr::null_mut();
        };
        let (block, source) = match redis_alloc() {
            Some(alloc) => (alloc(total).cast::<u8>(), FROM_REDIS),
            None => match Layout::from_size_align(total, SYSTEM_ALIGN) {
                Ok(l) => (System.alloc(l), FROM_SYSTEM),
                Err(_) => return std::ptr::null_mut(),
            },
        };
        if block.is_null() {
            return block;
        }
        let user = user_ptr(block, layout.align());
        Header {
            offset: (user as usize - block as usize) as u32,
            source,
            total: total as u64,
        }
        .write(user);
        user
    }

    unsafe fn dealloc(&self, user: *mut u8, _layout: Layout) {
        let header = Header::read(user);
        let block = user.sub(header.offset as usize);
        match header.source {
            FROM_REDIS => {
                if let Some(free) = raw::RedisModule_Free {
                    free(block.cast());
                }
            }
            _ => System.dealloc(
                block,
                Layout::from_size_align_unchecked(header.total as usize, SYSTEM_ALIGN),
            ),
        }
    }

    unsafe fn realloc(&self, user: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let header = Header::read(user);
        let Some(new_layout) = Layout::from_size_align(new_size, layout.align()).ok() else {
            return std::ptr::null_mut();
        };
        let Some(total) = block_size(new_layout) else {
            return std::ptr::null_mut();
        };
        let block = user.sub(header.offset as usize);
        let moved = match header.source {
            FROM_REDIS => match raw::RedisModule_Realloc {
                Some(realloc) => realloc(block.cast(), total).cast::<u8>(),
                None => std::ptr::null_mut(),
            },
            _ => System.realloc(
                block,
                Layout::from_size_align_unchecked(header.total as usize, SYSTEM_ALIGN),
                total,
            ),
        };
        if moved.is_null() {
            return moved;
        }
        // The new block may sit at another alignment: the data moves to where the caller's
        // pointer must now be.
        let new_user = user_ptr(moved, layout.align());
        let old_user = moved.add(header.offset as usize);
        if new_user != old_user {
            std::ptr::copy(old_user, new_user, layout.size().min(new_size));
        }
        Header {
            offset: (new_user as usize - moved as usize) as u32,
            source: header.source,
            total: total as u64,
        }
        .write(new_user);
        new_user
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_and_survive_realloc() {
        // No Redis here: every block comes from the system allocator, through the header.
        for align in [1usize, 8, 16, 64, 128, 4096] {
            let layout = Layout::from_size_align(100, align).unwrap();
            unsafe {
                let p = ModuleAlloc.alloc(layout);
                assert!(!p.is_null());
                assert_eq!(p as usize % align, 0, "align {align}");
                for i in 0..100 {
                    p.add(i).write(i as u8);
                }
                let q = ModuleAlloc.realloc(p, layout, 10_000);
                assert_eq!(q as usize % align, 0, "align {align} after realloc");
                for i in 0..100 {
                    assert_eq!(q.add(i).read(), i as u8);
                }
                ModuleAlloc.dealloc(q, Layout::from_size_align(10_000, align).unwrap());
            }
        }
    }
}
