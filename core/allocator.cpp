#include <polygrad/core/allocator.h>

#include <polygrad/core/error.h>
#include <polygrad/core/tensor.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace polygrad::allocator {
namespace {

struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void *>> free_lists;
  AllocatorStats stats;
};

Cache &cache() {
  // Leaked on purpose: tensors with static storage duration may be destroyed
  // after a function-local static cache would be.
  static Cache *c = new Cache();
  return *c;
}

} // namespace

size_t bucket_size(size_t n) {
  // Tensors are at most kMaxTensorBytes (2^62), so the doubling below never
  // wraps; a larger request is an error, not an endless loop.
  PG_CHECK(n <= size_t(kMaxTensorBytes), "allocate: ", n,
           " bytes is larger than the 2^62-byte limit");
  if (n <= 64)
    return 64;
  if (n <= 128)
    return 128;
  // Round up to the next of 2^k or 1.5 * 2^k (k >= 7, so every bucket is a
  // multiple of 64, as aligned_alloc requires): above 128 bytes at most a
  // third of a block is unused.
  size_t p = 128;
  while (p < n) {
    size_t mid = p + p / 2;
    if (mid >= n)
      return mid;
    p <<= 1;
  }
  return p;
}

void *allocate(size_t nbytes) {
  const size_t b = bucket_size(nbytes);
  Cache &c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    c.stats.requests++;
    auto it = c.free_lists.find(b);
    if (it != c.free_lists.end() && !it->second.empty()) {
      void *p = it->second.back();
      it->second.pop_back();
      c.stats.cached_bytes -= b;
      c.stats.live_bytes += b;
      return p;
    }
  }
  void *p = std::aligned_alloc(64, b); // b is a multiple of 64
  if (!p) {
    // Give the cached blocks back and try once more before giving up.
    empty_cache();
    p = std::aligned_alloc(64, b);
  }
  PG_CHECK(p, "allocate: out of memory: cannot allocate ", b, " bytes (", nbytes, " requested; ",
           stats().live_bytes, " bytes in use)");
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.system_bytes += b;
  c.stats.system_allocs++;
  c.stats.live_bytes += b;
  return p;
}

void deallocate(void *p, size_t nbytes) {
  if (!p)
    return;
  const size_t b = bucket_size(nbytes);
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.free_lists[b].push_back(p);
  c.stats.live_bytes -= b;
  c.stats.cached_bytes += b;
}

AllocatorStats stats() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

void empty_cache() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto &[b, list] : c.free_lists)
    for (void *p : list)
      std::free(p);
  c.free_lists.clear();
  c.stats.cached_bytes = 0;
}

} // namespace polygrad::allocator
