// Threading: one setting for the whole library.
//
// All parallelism is OpenMP. OpenBLAS is kept at one thread and GEMMs are split
// across OpenMP threads by polygrad itself (core/matmul.cpp), so there are never
// two thread pools (OpenMP's spinning workers and OpenBLAS's pthreads) fighting
// over the cores, and never nested oversubscription.
#pragma once

#include <cstdint>

namespace polygrad {

// Sets the thread count for every kernel (default: the core count).
void set_num_threads(int n);
int get_num_threads();

// Element-wise kernels go parallel only above this many elements: below it
// the fork/join (~1-2 us) costs more than the loop (see bench/core_bench).
constexpr int64_t kParallelGrain = 32768;

} // namespace polygrad
