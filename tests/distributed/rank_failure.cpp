// A rank that throws must end the whole job with its message, never leave
// the others waiting: rank RANK (argv[1]) throws while every other rank
// waits in a barrier it would never leave. The training programs do the
// same through run_program (examples/common/program.h).
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <polygrad/distributed.h>

namespace dist = polygrad::distributed;

int main(int argc, char **argv) {
  dist::init();
  const int failing = argc > 1 ? std::atoi(argv[1]) : 1;
  try {
    if (dist::rank() == failing)
      throw std::runtime_error("bad data on this rank (test)");
    dist::barrier(); // the others wait here for a rank that will never come
    std::printf("rank %d: passed the barrier (must not happen)\n", dist::rank());
  } catch (const std::exception &e) {
    dist::abort(1, std::string("error: ") + e.what());
  }
  dist::finalize();
  return 0;
}
