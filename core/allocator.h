// The caching allocator behind every tensor's storage.
//
// Why: glibc mmaps every block above its threshold and unmaps it on free, so a
// training step that allocates the same activations each iteration pays a page
// fault per 4 KiB (~7 us here) every step. Blocks are rounded up to a size
// bucket (powers of two and 1.5x powers of two, so at most 33% slack) and
// freed blocks go to a per-bucket free list for reuse. At steady state a
// training step allocates nothing from the system; `stats()` proves it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace polygrad {

struct AllocatorStats {
  uint64_t system_bytes = 0;  // bytes ever requested from the OS (monotonic)
  uint64_t system_allocs = 0; // number of such requests
  uint64_t live_bytes = 0;    // bucket bytes currently handed out to tensors
  uint64_t cached_bytes = 0;  // bucket bytes sitting in free lists
  uint64_t requests = 0;      // allocate() calls
};

namespace allocator {
// 64-byte aligned block of at least `nbytes` (nbytes == 0 gives a valid,
// unique, zero-size block). Out of memory (after returning the cache to the
// system) or a request past kMaxTensorBytes is a polygrad::Error, never
// std::bad_alloc.
void *allocate(size_t nbytes);
void deallocate(void *p, size_t nbytes);
AllocatorStats stats();
// Returns every cached block to the system.
void empty_cache();
// The bucket a request of `nbytes` is served from.
size_t bucket_size(size_t nbytes);
} // namespace allocator

} // namespace polygrad
