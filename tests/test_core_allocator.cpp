// [core] The caching allocator: bucket sizes, alignment, reuse without new
// system allocations, the stats counters, empty_cache.
#include <cstdint>

#include "test_core_util.h"

namespace pg = polygrad;
namespace alloc = polygrad::allocator;

TEST_CASE("allocator buckets are 64-byte multiples with at most 50% slack", "[core]") {
  size_t prev = 0;
  for (size_t n : {size_t(0), size_t(1), size_t(63), size_t(64), size_t(65), size_t(96), size_t(97),
                   size_t(129), size_t(1000), size_t(4096), size_t(4097), size_t(1) << 20,
                   (size_t(1) << 20) + 1, size_t(3) << 19}) {
    const size_t b = alloc::bucket_size(n);
    INFO("n = " << n << " bucket = " << b);
    REQUIRE(b >= n);
    REQUIRE(b % 64 == 0); // aligned_alloc needs a multiple of the alignment
    REQUIRE(b >= prev);   // monotonic
    if (n > 256)
      REQUIRE(double(b) <= 1.5 * double(n));
    prev = b;
  }
  REQUIRE(alloc::bucket_size(3u << 19) == (3u << 19)); // 1.5 * 2^20 is a bucket
}

TEST_CASE("allocator returns 64-byte aligned blocks and reuses freed ones", "[core]") {
  for (size_t n : {size_t(0), size_t(4), size_t(100), size_t(5000), size_t(300000)}) {
    void *p = alloc::allocate(n);
    REQUIRE(p != nullptr);
    REQUIRE(reinterpret_cast<uintptr_t>(p) % 64 == 0);
    alloc::deallocate(p, n);
  }
  // Warm the bucket, then a free/alloc cycle of the same size (or any size
  // in the same bucket) takes nothing new from the system.
  const size_t n = 123456;
  alloc::deallocate(alloc::allocate(n), n);
  const auto s0 = alloc::stats();
  void *p = alloc::allocate(n);
  const auto s1 = alloc::stats();
  REQUIRE(s1.system_bytes == s0.system_bytes);
  REQUIRE(s1.requests == s0.requests + 1);
  REQUIRE(s1.live_bytes == s0.live_bytes + alloc::bucket_size(n));
  REQUIRE(s1.cached_bytes == s0.cached_bytes - alloc::bucket_size(n));
  alloc::deallocate(p, n);
  void *q = alloc::allocate(alloc::bucket_size(n) - 1);
  REQUIRE(q == p); // same bucket, same block back
  alloc::deallocate(q, alloc::bucket_size(n) - 1);
  REQUIRE(alloc::stats().live_bytes == s0.live_bytes);

  // Tensors go through it: a tensor's storage is live while it exists.
  const auto t0 = alloc::stats();
  {
    pg::Tensor t = pg::zeros({1000});
    REQUIRE(alloc::stats().live_bytes == t0.live_bytes + alloc::bucket_size(4000));
    REQUIRE(reinterpret_cast<uintptr_t>(t.data<float>()) % 64 == 0);
  }
  REQUIRE(alloc::stats().live_bytes == t0.live_bytes);

  // empty_cache hands the cached blocks back; live blocks are untouched.
  pg::Tensor keep = pg::ones({10});
  alloc::empty_cache();
  REQUIRE(alloc::stats().cached_bytes == 0);
  REQUIRE(keep.to_vector() == std::vector<float>(10, 1.f));
  const auto e0 = alloc::stats();
  pg::zeros({1000}); // must come from the system again
  REQUIRE(alloc::stats().system_bytes == e0.system_bytes + alloc::bucket_size(4000));
}

TEST_CASE("allocator buckets are exactly 64, 128 and then 2^k or 1.5 * 2^k", "[core]") {
  // The reference: the smallest bucket >= n, buckets listed in order.
  std::vector<size_t> buckets = {64, 128};
  for (int k = 7; k < 62; ++k) {
    buckets.push_back((size_t(3) << k) / 2); // 1.5 * 2^k
    buckets.push_back(size_t(1) << (k + 1));
  }
  auto reference = [&](size_t n) {
    for (size_t b : buckets)
      if (b >= n)
        return b;
    return size_t(0);
  };
  // Every size up to 2^16, then each bucket edge and its neighbours.
  for (size_t n = 0; n <= (size_t(1) << 16); ++n)
    if (alloc::bucket_size(n) != reference(n))
      FAIL("bucket_size(" << n << ") = " << alloc::bucket_size(n) << ", expected " << reference(n));
  for (size_t b : buckets)
    for (size_t n : {b - 1, b, b + 1}) {
      if (n > (size_t(1) << 62))
        continue;
      INFO("n = " << n);
      REQUIRE(alloc::bucket_size(n) == reference(n));
    }
}
