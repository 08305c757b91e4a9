// Threading: one setting for the whole library.
//
// All parallelism is OpenMP. OpenBLAS is kept at one thread and GEMMs are split
// across OpenMP threads by polygrad itself (core/matmul.cpp), so there are never
// two thread pools (OpenMP's spinning workers and OpenBLAS's pthreads) fighting
// over the cores, and never nested oversubscription. Measured on the 2-core VM
// (bench/core_bench, docs/benchmarks.md): a Linear layer's forward with
// OpenBLAS threads for the GEMM and OpenMP for the bias/ReLU runs 1.4x to 200x
// slower than with the single OpenMP pool.
//
// libgomp's idle workers spin for a while after each parallel region (unless
// OMP_WAIT_POLICY=passive), which keeps the next fork cheap (~3 us here)
// when ops follow each other; see docs/benchmarks.md for the passive policy.
#pragma once

#include <cstdint>

namespace polygrad {

// Sets the thread count for every kernel (default: the core count) and keeps
// OpenBLAS single-threaded. n >= 1, else polygrad::Error.
void set_num_threads(int n);
int get_num_threads();

// Element-wise kernels go parallel only above this much work, counted in
// elements of a cheap op (add, mul, relu, copy: memory-bound, 0.05-0.1 ns per
// element while the data sit in L2). Below it the fork/join (~3 us on the VM)
// and the cross-core traffic cost more than the second core gains. Measured
// at 2 threads (bench/core_bench "crossover", forced parallel / serial time of
// an add, two runs): 64K elements 1.44-1.84, 128K 0.77-0.80, 256K 0.63-0.73.
constexpr int64_t kParallelGrain = 131072;

// How many parallel regions (forks onto more than one thread) polygrad's
// kernels have run in this process. A test that means to exercise a parallel
// path reads it before and after the op, so the path cannot silently go
// serial when a grain or threshold changes; also handy to count forks per
// training step. One relaxed atomic increment per fork (a fork costs ~3 us).
uint64_t parallel_regions();

namespace detail {
// Called by every kernel right before it forks onto nt > 1 threads.
void count_parallel_region();
} // namespace detail

} // namespace polygrad
