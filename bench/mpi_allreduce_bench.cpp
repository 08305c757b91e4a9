// OpenMPI's allreduce alone on this machine, blocking (MPI_Allreduce) and
// non-blocking (MPI_Iallreduce + MPI_Wait, what DistributedDataParallel's
// buckets use), for the gradient sizes of M2 and M3 and a few others: the
// communication time docs/distributed.md compares the exposed wait with.
//
//   mpirun -np 2 build/mpi_allreduce_bench
//
// Output (rank 0): one line per size, the median of 30 rounds each, every
// round after a barrier.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {
double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
} // namespace

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (rank == 0)
    std::printf("%d processes; median of 30\n%12s %10s %14s %18s\n", size, "floats", "MB",
                "blocking ms", "non-blocking ms");
  // M2's and M3's gradients (421,642 and 597,578 floats), then powers of 4.
  for (int n : {421642, 597578, 1024, 16384, 262144, 4194304}) {
    std::vector<float> v(size_t(n), 1.f);
    std::vector<double> blocking, nonblocking;
    for (int r = 0; r < 30; ++r) {
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = now();
      MPI_Allreduce(MPI_IN_PLACE, v.data(), n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      blocking.push_back(now() - t0);
      MPI_Barrier(MPI_COMM_WORLD);
      t0 = now();
      MPI_Request q;
      MPI_Iallreduce(MPI_IN_PLACE, v.data(), n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &q);
      MPI_Wait(&q, MPI_STATUS_IGNORE);
      nonblocking.push_back(now() - t0);
    }
    std::sort(blocking.begin(), blocking.end());
    std::sort(nonblocking.begin(), nonblocking.end());
    if (rank == 0)
      std::printf("%12d %10.2f %14.3f %18.3f\n", n, n * 4 / 1e6, 1e3 * blocking[15],
                  1e3 * nonblocking[15]);
  }
  MPI_Finalize();
  return 0;
}
