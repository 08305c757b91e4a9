#include <polygrad/core/parallel.h>

#include <atomic>

#include <cblas.h>
#include <omp.h>

#include <polygrad/core/error.h>

namespace polygrad {
namespace {
int &threads() {
  static int n = [] {
    // OpenBLAS stays single-threaded: GEMMs are split across OpenMP threads
    // by core/matmul.cpp instead (one thread pool, no oversubscription).
    openblas_set_num_threads(1);
    return omp_get_num_procs();
  }();
  return n;
}
} // namespace

void set_num_threads(int n) {
  PG_CHECK(n >= 1, "set_num_threads: need n >= 1, got ", n);
  threads() = n;
  omp_set_num_threads(n);
  openblas_set_num_threads(1);
}

int get_num_threads() { return threads(); }

namespace {
std::atomic<uint64_t> g_parallel_regions{0};
}
uint64_t parallel_regions() { return g_parallel_regions.load(std::memory_order_relaxed); }
void detail::count_parallel_region() { g_parallel_regions.fetch_add(1, std::memory_order_relaxed); }

// Apply the default at load time so omp regions use it from the start.
static const int kInit = (omp_set_num_threads(get_num_threads()), 0);

} // namespace polygrad
