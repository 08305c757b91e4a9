// [core] Sizes never overflow: element counts, strides, byte counts,
// reshape/view/expand and the allocator's bucket rounding are checked, and an
// impossible or merely too-large size is a polygrad::Error naming the op and
// the shape (never a wrapped count, a hang, an out-of-bounds write or
// std::bad_alloc).
#include <catch2/catch.hpp>

#include <polygrad/core/allocator.h>
#include <polygrad/polygrad.h>

namespace pg = polygrad;
using Catch::Matchers::Contains;
using pg::Tensor;

namespace {
constexpr int64_t k31 = int64_t(1) << 31, k32 = int64_t(1) << 32, k40 = int64_t(1) << 40;
} // namespace

TEST_CASE("sizes: factories reject shapes whose size overflows or passes 2^62 bytes", "[core]") {
  // 2^62 elements: the byte count (2^64) used to wrap to 0 and return a
  // 64-byte buffer that narrow(0, 0, 1).fill_(1) then overran.
  REQUIRE_THROWS_WITH(pg::zeros({k31, k31}), Contains("zeros") &&
                                                 Contains("[2147483648, 2147483648]") &&
                                                 Contains("2^62-byte limit"));
  // 2^64 elements: signed overflow of numel (it was silently 0).
  REQUIRE_THROWS_WITH(pg::zeros({k32, k32}), Contains("zeros") &&
                                                 Contains("[4294967296, 4294967296]") &&
                                                 Contains("more than 2^63 - 1 elements"));
  // (2^62 - 1) floats: the allocator's bucket doubling used to loop forever.
  REQUIRE_THROWS_WITH(pg::zeros({(int64_t(1) << 62) - 1}), Contains("zeros") && Contains("limit"));
  REQUIRE_THROWS_WITH(pg::ones({k32, k32, 4}), Contains("ones"));
  REQUIRE_THROWS_WITH(pg::randn({k32, k32}), Contains("randn"));
  REQUIRE_THROWS_WITH(pg::rand({k31, k31}), Contains("rand"));
  REQUIRE_THROWS_WITH(pg::full({k31, k31}, 1.f), Contains("full"));
  REQUIRE_THROWS_WITH(Tensor::empty({k31, k31 / 2}, pg::DType::Int64), Contains("empty"));
  // A zero dim does not make absurd other dims acceptable: the strides
  // (product of the later sizes) would overflow.
  REQUIRE_THROWS_WITH(pg::zeros({0, int64_t(1) << 60, int64_t(1) << 60}),
                      Contains("zeros") && Contains("[0, 1152921504606846976"));
  REQUIRE_THROWS_WITH(pg::zeros({2, -3}), Contains("zeros") && Contains("negative size -3"));
  // Still fine: empty tensors with ordinary sizes.
  REQUIRE(pg::zeros({0, 1 << 20, 1 << 20}).numel() == 0);
  REQUIRE(pg::shape_numel({3, 0, int64_t(1) << 62}) == 0);
}

TEST_CASE("sizes: a size larger than memory is a polygrad::Error, not std::bad_alloc", "[core]") {
  // 4 TiB of floats: valid as a shape, impossible to allocate here.
  try {
    (void)pg::zeros({k40});
    FAIL("allocating 4 TiB succeeded");
  } catch (const pg::Error &e) {
    CHECK_THAT(e.what(), Contains("allocate: out of memory") && Contains("4398046511104"));
  }
  // The allocator itself: no endless loop, an error past the limit.
  REQUIRE_THROWS_AS(pg::allocator::bucket_size(~size_t(0)), pg::Error);
  REQUIRE_THROWS_AS(pg::allocator::bucket_size((size_t(1) << 62) + 1), pg::Error);
  REQUIRE(pg::allocator::bucket_size(size_t(1) << 62) == size_t(1) << 62);
  REQUIRE(pg::allocator::bucket_size((size_t(1) << 61) + 1) == size_t(3) << 60);
}

TEST_CASE("sizes: reshape, view and expand check their element counts", "[core]") {
  const Tensor t = pg::zeros({4});
  REQUIRE_THROWS_WITH(t.reshape({k32, k32}), Contains("reshape") && Contains("[4294967296"));
  REQUIRE_THROWS_WITH(t.reshape({k32, k32, -1}), Contains("reshape"));
  REQUIRE_THROWS_WITH(t.view({k32, k32, 0, -1}), Contains("view"));
  // expand makes a stride-0 view: its element count must not wrap either.
  REQUIRE_THROWS_WITH(pg::scalar_tensor(1.f).expand({k40, k40}),
                      Contains("expand") && Contains("[1099511627776, 1099511627776]"));
  REQUIRE_THROWS_AS(pg::scalar_tensor(1.f).expand({k32, k31}), pg::Error); // 2^63 elements
  // Within range a huge expanded view is fine: it allocates nothing.
  REQUIRE(pg::scalar_tensor(1.f).expand({k31, k31}).numel() == int64_t(1) << 62);
}
