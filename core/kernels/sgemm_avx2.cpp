// The AVX2 micro-kernel of kernel::sgemm: a 6 x 16 block of C in 12 ymm
// accumulators (sgemm_ukernel.h has the contract), for x86-64 CPUs without
// AVX-512; and its 6 x 8 variant for a narrow last panel; each also with A
// read in place (run_direct_a).
//
// Per k: 2 loads of b, 6 broadcasts of a, 12 FMAs; 12 accumulators + 2 b
// registers + 1 broadcast = 15 of the 16 ymm registers. The N edge is stored
// through vmaskmov masks.
#include <polygrad/core/kernels/sgemm_ukernel.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

namespace polygrad::kernel::detail {
namespace {

constexpr int MR = 6, NR = 16;

// Lanes j < n set (n may be <= 0 or >= 8).
__attribute__((target("avx2,fma"))) inline __m256i tail_mask(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// acc += the kc rank-1 products; Masked: b's last columns through vmaskmov
// (only for a partial panel read in place: AMD runs vmaskmov loads at a
// fraction of plain loads' rate, 0.55-0.77x of OpenBLAS's GEMM with them on
// every load, bench/core_bench "own"). op(A)[i][k] is a[i rs + k cs]: a
// packed panel (rs = 1, cs = MR) or, with DirectA, MR rows of A read in
// place (rs = lda, cs = 1; the broadcasts need no contiguity).
template <int NV, bool Masked, bool DirectA>
__attribute__((target("avx2,fma"), always_inline)) inline void
accumulate(int64_t kc, const float *a, int64_t lda, const float *b, int64_t ldb,
           const __m256i *mask, __m256 (&acc)[MR][NV]) {
  const int64_t rs = DirectA ? lda : 1;
  constexpr int64_t cs = DirectA ? 1 : MR;
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    __m256 bv[NV];
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j)
      bv[j] = Masked ? _mm256_maskload_ps(b + 8 * j, mask[j]) : _mm256_loadu_ps(b + 8 * j);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i * rs);
#pragma GCC unroll 2
      for (int j = 0; j < NV; ++j)
        acc[i][j] = _mm256_fmadd_ps(ai, bv[j], acc[i][j]);
    }
    a += cs;
    b += ldb;
  }
}

// NV ymm columns (a panel NV 8 wide).
template <int NV, bool DirectA>
__attribute__((target("avx2,fma"), always_inline)) inline void
ukernel_body(int64_t kc, const float *a, int64_t lda, const float *b, int64_t ldb, float *c,
             int64_t ldc, int m, int n, float alpha, float beta) {
  // Columns past n: neither read from b (it may be B itself) nor stored.
  __m256i mask[NV];
#pragma GCC unroll 2
  for (int j = 0; j < NV; ++j)
    mask[j] = tail_mask(n - 8 * j);
  __m256 acc[MR][NV];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j)
      acc[i][j] = _mm256_setzero_ps();
  if (n >= 8 * NV)
    accumulate<NV, false, DirectA>(kc, a, lda, b, ldb, mask, acc);
  else
    accumulate<NV, true, DirectA>(kc, a, lda, b, ldb, mask, acc);
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) {
    if (i >= m)
      break;
    float *r = c + i * ldc;
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) {
      // Whole vectors through plain loads and stores: vmaskmov stores are
      // microcoded on AMD (M2 conv1's K = 9 GEMM ran at 0.27x OpenBLAS).
      const bool whole = n >= 8 * (j + 1);
      __m256 v = _mm256_mul_ps(va, acc[i][j]);
      if (beta != 0.f)
        v = _mm256_fmadd_ps(
            vb, whole ? _mm256_loadu_ps(r + 8 * j) : _mm256_maskload_ps(r + 8 * j, mask[j]), v);
      if (whole)
        _mm256_storeu_ps(r + 8 * j, v);
      else
        _mm256_maskstore_ps(r + 8 * j, mask[j], v);
    }
  }
}

template <int NV>
__attribute__((target("avx2,fma"))) void ukernel(int64_t kc, const float *a, const float *b,
                                                 int64_t ldb, float *c, int64_t ldc, int m, int n,
                                                 float alpha, float beta) {
  ukernel_body<NV, false>(kc, a, 0, b, ldb, c, ldc, m, n, alpha, beta);
}

template <int NV>
__attribute__((target("avx2,fma"))) void
ukernel_direct_a(int64_t kc, const float *a, int64_t lda, const float *b, int64_t ldb, float *c,
                 int64_t ldc, int n, float alpha, float beta) {
  ukernel_body<NV, true>(kc, a, lda, b, ldb, c, ldc, MR, n, alpha, beta);
}

// r[0..8) = rows of an 8 x 8 block -> r[k] = column k (unpack, shuffle,
// then swap 128-bit halves: 24 shuffles for 64 floats).
__attribute__((target("avx2"))) inline void transpose8x8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {
    u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x20);
    r[4 + i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x31);
  }
}

// The transposing pack (sgemm_ukernel.h) in 8 x 8 blocks; the row and K
// remainders one scalar at a time.
__attribute__((target("avx2"))) void transpose_pack(const float *src, int64_t ld, int rows,
                                                    int64_t kc, int width, float *out) {
  const int rows8 = rows / 8 * 8;
  const int64_t kc8 = kc / 8 * 8;
  for (int64_t kb = 0; kb < kc8; kb += 8) {
    for (int rb = 0; rb < rows8; rb += 8) {
      __m256 r[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i)
        r[i] = _mm256_loadu_ps(src + (rb + i) * ld + kb);
      transpose8x8(r);
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k)
        _mm256_storeu_ps(out + (kb + k) * width + rb, r[k]);
    }
    for (int64_t k = kb; k < kb + 8; ++k) {
      for (int i = rows8; i < rows; ++i)
        out[k * width + i] = src[i * ld + k];
      for (int i = rows; i < width; ++i)
        out[k * width + i] = 0.f;
    }
  }
  for (int64_t k = kc8; k < kc; ++k) {
    for (int i = 0; i < rows; ++i)
      out[k * width + i] = src[i * ld + k];
    for (int i = rows; i < width; ++i)
      out[k * width + i] = 0.f;
  }
}

constexpr SgemmKernelInfo kInfo{
    MR,      NR,
    8,       {ukernel<1>, ukernel<2>, nullptr, nullptr},
    nullptr, transpose_pack,
    true,    {ukernel_direct_a<1>, ukernel_direct_a<2>, nullptr, nullptr}};

} // namespace

const SgemmKernelInfo *sgemm_avx2_kernel() { return &kInfo; }
SgemmTransposePack sgemm_transpose_pack_avx2() { return transpose_pack; }

} // namespace polygrad::kernel::detail

#else

namespace polygrad::kernel::detail {
const SgemmKernelInfo *sgemm_avx2_kernel() { return nullptr; }
SgemmTransposePack sgemm_transpose_pack_avx2() { return nullptr; }
} // namespace polygrad::kernel::detail

#endif
