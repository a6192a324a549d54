// The ONNX backend's allocator entry points for ONNX Runtime. The bookkeeping is Rust's
// (src/onnx/alloc.rs); this file exists because BACKEND_MEMORY_LIMIT must fail an allocation the
// way ONNX Runtime expects: ORT uses what Alloc returns without a check, but catches a C++
// exception thrown from it and turns it into an error status ("Exception during
// initialization: ..." at session creation), as RedisAI's allocator did. An exception must
// not cross Rust frames, so the throw happens here, in C++, with no Rust frame between this
// function and ORT.
#include <cstddef>
#include <stdexcept>

extern "C" {
// Rust: the block, or null when the limit would be exceeded (nothing counted then). The
// text is alloc::LIMIT_EXCEEDED's.
void* rai_ort_allocate(size_t size);

void* rai_ort_alloc_or_throw(void* /*allocator*/, size_t size) {
    void* block = rai_ort_allocate(size);
    if (block == nullptr) {
        throw std::runtime_error("Onnxruntime memory limit exceeded, memory allocation failed.");
    }
    return block;
}

void* rai_ort_reserve_or_throw(const void* allocator, size_t size) {
    return rai_ort_alloc_or_throw(const_cast<void*>(allocator), size);
}
}
