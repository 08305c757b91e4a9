// The distributed tests' main: every rank of `mpirun -np N` runs every test
// case, in the same order (they are collective); without mpirun the same
// cases run as a group of one. The exit status is the worst over the ranks.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <polygrad/distributed.h>

namespace dist = polygrad::distributed;

int main(int argc, char **argv) {
  dist::init();
  const int rc = Catch::Session().run(argc, argv);
  polygrad::Tensor worst = polygrad::from_labels({rc});
  dist::all_reduce(worst, dist::ReduceOp::Max);
  dist::finalize();
  return int(worst.item<int64_t>());
}
