// [core] The parallel-region counter that thread-coverage tests rely on:
// it moves exactly when a kernel forks onto more than one thread.
#include <catch2/catch.hpp>

#include "test_core_util.h"

namespace pg = polygrad;
using pg::Tensor;

TEST_CASE("parallel_regions counts forks onto more than one thread only", "[core][threads]") {
  const Tensor big = tu::uniform({pg::kParallelGrain + 1}, 1);
  const Tensor small = tu::uniform({pg::kParallelGrain / 2}, 2);
  const int saved = pg::get_num_threads();
  pg::set_num_threads(2);
  uint64_t before = pg::parallel_regions();
  (void)(small + small);
  CHECK(pg::parallel_regions() == before); // below the grain: serial
  before = pg::parallel_regions();
  (void)(big + big);
  CHECK(pg::parallel_regions() == before + 1); // one element-wise kernel, one fork
  pg::set_num_threads(1);
  before = pg::parallel_regions();
  (void)(big + big);
  CHECK(pg::parallel_regions() == before); // one thread never forks
  pg::set_num_threads(saved);

  // The helpers: at_1_and_2_threads fails a test whose input is too small.
  const auto [one, two] = tu::at_1_and_2_threads([&] { return (big * 3.f).exp(); });
  tu::require_bitwise(one, two, "exp(3x) at 1 and 2 threads");
  CHECK(pg::get_num_threads() == saved);
}
