// (internal) The thread split shared by kernel::gemm (OpenBLAS) and
// kernel::sgemm (own kernels): the empty cases, then one slab of rows of C
// per OpenMP thread (of columns when C has too few rows), each slab one
// serial GEMM. The thresholds (kGemmSplitFlops, kSlabAlign) and their
// measurements are in core/kernels.h.
#pragma once

#include <algorithm>
#include <cstdint>
#include <omp.h>

#include <polygrad/core/kernels.h>

namespace polygrad::kernel::detail {

// C (M x N) = beta C: a product with K == 0 (an empty sum); beta == 0 must
// not read C.
inline void scale_c(int64_t M, int64_t N, float beta, float *C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
}

// The slabs of an M x N x K product: slab(r0, r1, c0, c1) once per OpenMP
// thread, rows [r0, r1) and columns [c0, c1) of C, or once on the calling
// thread for the whole of C (one thread, inside a parallel region, below
// kGemmSplitFlops, or too few rows and columns). Row slabs start on
// multiples of row_unit (kSlabAlign, or a packed operand's panel height).
template <class Slab>
void split_slabs(int64_t M, int64_t N, int64_t K, int64_t row_unit, Slab &&slab) {
  const int nt = get_num_threads();
  // Rows whenever there are enough: measured faster than columns on every
  // shape (core/matmul.cpp), even where splitting columns would pack less.
  const bool split_m = M >= 2 * kSlabAlign;
  const int64_t D = split_m ? M : N, unit = split_m ? row_unit : kSlabAlign;
  if (nt <= 1 || omp_in_parallel() || 2.0 * M * N * K < kGemmSplitFlops || D < 2 * kSlabAlign) {
    slab(int64_t(0), M, int64_t(0), N);
    return;
  }
  const int64_t blocks = (D + unit - 1) / unit;
  const int parts = (int)std::min<int64_t>(nt, blocks);
  polygrad::detail::count_parallel_region();
#pragma omp parallel num_threads(parts)
  {
    const int t = omp_get_thread_num(), n = omp_get_num_threads();
    const int64_t d0 = std::min(D, blocks * t / n * unit);
    const int64_t d1 = std::min(D, blocks * (t + 1) / n * unit);
    if (d1 > d0) {
      if (split_m)
        slab(d0, d1, int64_t(0), N);
      else
        slab(int64_t(0), M, d0, d1);
    }
  }
}

// serial(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) computes one
// slab on the calling thread (M, N, K >= 1).
template <class Serial>
void split_gemm(Serial &&serial, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                int64_t ldc) {
  if (M == 0 || N == 0)
    return;
  if (K == 0) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  split_slabs(M, N, K, kSlabAlign, [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    // rows r0..r1 of op(A) and C, columns c0..c1 of op(B) and C
    serial(ta, tb, r1 - r0, c1 - c0, K, alpha, ta ? A + r0 : A + r0 * lda, lda,
           tb ? B + c0 * ldb : B + c0, ldb, beta, C + r0 * ldc + c0, ldc);
  });
}

} // namespace polygrad::kernel::detail
