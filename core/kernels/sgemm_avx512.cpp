// The AVX-512 micro-kernel of kernel::sgemm: an 8 x 48 block of C in 24 zmm
// accumulators (sgemm_ukernel.h has the contract), and its 8 x 32 and 8 x 16
// variants for the last, narrow panel of a matrix.
//
// Per k: 3 loads of b (48 floats), 8 broadcasts of a (folded into the FMAs
// as embedded-broadcast memory operands), 24 FMAs: 24 FMA-slots of work for
// 11 loads, so the two 512-bit FMA pipes, not the load ports, set the pace;
// 24 independent accumulators cover the FMA latency (4 cycles x 2 pipes = 8
// in flight needed). 8 rows: every channel count of the reference models is
// a multiple of 8, so no register rows are wasted on the M edge; the N edge
// (tiles, pixels) is stored through AVX-512 masks.
#include <polygrad/core/kernels/sgemm_ukernel.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <algorithm>
#include <immintrin.h>

namespace polygrad::kernel::detail {
namespace {

constexpr int MR = 8, NR = 48;

__attribute__((target("avx512f,fma"))) inline __mmask16 tail_mask(int n) {
  return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

// NV zmm columns (a panel NV 16 wide). op(A)[i][k] is a[i rs + k cs]: a
// packed panel (rs = 1, cs = MR), or, with DirectA, MR rows of A itself
// read in place (rs = lda, cs = 1; the broadcasts need no contiguity, so a
// row-major A skips its transposing pack).
template <int NV, bool DirectA>
__attribute__((target("avx512f,fma"), always_inline)) inline void
ukernel_body(int64_t kc, const float *a, int64_t lda, const float *b, int64_t ldb, float *c,
             int64_t ldc, int m, int n, float alpha, float beta) {
  const int64_t rs = DirectA ? lda : 1;
  constexpr int64_t cs = DirectA ? 1 : MR;
  // Columns past n: neither read from b (it may be B itself) nor stored.
  __mmask16 mask[NV];
#pragma GCC unroll 3
  for (int j = 0; j < NV; ++j)
    mask[j] = tail_mask(n - 16 * j);
  __m512 acc[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 3
    for (int j = 0; j < NV; ++j)
      acc[i][j] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    __m512 bv[NV];
#pragma GCC unroll 3
    for (int j = 0; j < NV; ++j)
      bv[j] = _mm512_maskz_loadu_ps(mask[j], b + 16 * j);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i * rs]);
#pragma GCC unroll 3
      for (int j = 0; j < NV; ++j)
        acc[i][j] = _mm512_fmadd_ps(ai, bv[j], acc[i][j]);
    }
    a += cs;
    b += ldb;
  }
  // C = alpha acc (+ beta C): rows i < m, columns through the masks.
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    if (i >= m)
      break;
    float *r = c + i * ldc;
#pragma GCC unroll 3
    for (int j = 0; j < NV; ++j) {
      __m512 v = alpha == 1.f ? acc[i][j] : _mm512_mul_ps(va, acc[i][j]);
      if (beta != 0.f)
        v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask[j], r + 16 * j), v);
      _mm512_mask_storeu_ps(r + 16 * j, mask[j], v);
    }
  }
}

template <int NV>
__attribute__((target("avx512f,fma"))) void ukernel(int64_t kc, const float *a, const float *b,
                                                    int64_t ldb, float *c, int64_t ldc, int m,
                                                    int n, float alpha, float beta) {
  ukernel_body<NV, false>(kc, a, 0, b, ldb, c, ldc, m, n, alpha, beta);
}

template <int NV>
__attribute__((target("avx512f,fma"))) void
ukernel_direct_a(int64_t kc, const float *a, int64_t lda, const float *b, int64_t ldb, float *c,
                 int64_t ldc, int n, float alpha, float beta) {
  ukernel_body<NV, true>(kc, a, lda, b, ldb, c, ldc, MR, n, alpha, beta);
}

// _mm512_shuffle_f32x4 / unpacklo / unpackhi through their masked forms
// with every lane selected: the plain ones pass _mm512_undefined_ps() as the
// merge source, which GCC 12 reports as maybe-uninitialized (a false
// positive; the same instructions).
constexpr __mmask16 kAll = 0xFFFF;
template <int Imm>
__attribute__((target("avx512f"))) inline __m512 shuffle_quarters(__m512 a, __m512 b) {
  return _mm512_mask_shuffle_f32x4(a, kAll, a, b, Imm);
}
__attribute__((target("avx512f"))) inline __m512 unpacklo(__m512 a, __m512 b) {
  return _mm512_mask_unpacklo_ps(a, kAll, a, b);
}
__attribute__((target("avx512f"))) inline __m512 unpackhi(__m512 a, __m512 b) {
  return _mm512_mask_unpackhi_ps(a, kAll, a, b);
}

// The NT dot kernel (sgemm_ukernel.h): 4 x 4 blocks of C, 16 zmm
// accumulators along K (8 loads per 16 FMAs), the K tail through a mask;
// then the 16 accumulators reduced to one vector by a tree of 15 adds
// (quarter shuffles, then in-lane unpacks) instead of 16 full reductions.
// Lane 4 q + e of the result holds acc[v] with v = q + (0, 8, 4, 12)[e].
__attribute__((target("avx512f,fma"))) void nt_dot(int64_t M, int64_t N, int64_t K, float alpha,
                                                   const float *A, int64_t lda, const float *B,
                                                   int64_t ldb, float beta, float *C, int64_t ldc) {
  constexpr int vmap[4] = {0, 8, 4, 12};
  for (int64_t i0 = 0; i0 < M; i0 += 4) {
    const int m = (int)std::min<int64_t>(4, M - i0);
    const float *a[4];
    for (int i = 0; i < 4; ++i) // rows past M repeat the last one (computed, not stored)
      a[i] = A + (i0 + std::min(i, m - 1)) * lda;
    for (int64_t j0 = 0; j0 < N; j0 += 4) {
      const int n = (int)std::min<int64_t>(4, N - j0);
      const float *b[4];
      for (int j = 0; j < 4; ++j)
        b[j] = B + (j0 + std::min(j, n - 1)) * ldb;
      __m512 acc[16];
#pragma GCC unroll 16
      for (int v = 0; v < 16; ++v)
        acc[v] = _mm512_setzero_ps();
      for (int64_t k = 0; k < K; k += 16) {
        const __mmask16 mk = tail_mask((int)std::min<int64_t>(16, K - k));
        __m512 av[4], bv[4];
#pragma GCC unroll 4
        for (int i = 0; i < 4; ++i)
          av[i] = _mm512_maskz_loadu_ps(mk, a[i] + k);
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j)
          bv[j] = _mm512_maskz_loadu_ps(mk, b[j] + k);
#pragma GCC unroll 4
        for (int i = 0; i < 4; ++i)
#pragma GCC unroll 4
          for (int j = 0; j < 4; ++j)
            acc[4 * i + j] = _mm512_fmadd_ps(av[i], bv[j], acc[4 * i + j]);
      }
      // 16 vectors -> 8: quarters (0, 2) + (1, 3) of a pair side by side.
      __m512 u[8];
#pragma GCC unroll 8
      for (int p = 0; p < 8; ++p)
        u[p] = _mm512_add_ps(shuffle_quarters<0x44>(acc[2 * p], acc[2 * p + 1]),
                             shuffle_quarters<0xEE>(acc[2 * p], acc[2 * p + 1]));
      // 8 -> 4: each quarter 4 partial sums of one accumulator.
      __m512 w[4];
#pragma GCC unroll 4
      for (int p = 0; p < 4; ++p)
        w[p] = _mm512_add_ps(shuffle_quarters<0x88>(u[2 * p], u[2 * p + 1]),
                             shuffle_quarters<0xDD>(u[2 * p], u[2 * p + 1]));
      // 4 -> 2 -> 1 within the 128-bit lanes.
      const __m512 x0 = _mm512_add_ps(unpacklo(w[0], w[1]), unpackhi(w[0], w[1]));
      const __m512 x1 = _mm512_add_ps(unpacklo(w[2], w[3]), unpackhi(w[2], w[3]));
      const __m512 r = _mm512_add_ps(unpacklo(x0, x1), unpackhi(x0, x1));
      alignas(64) float s[16];
      _mm512_store_ps(s, r);
      for (int q = 0; q < 4; ++q)
        for (int e = 0; e < 4; ++e) {
          const int v = q + vmap[e], i = v / 4, j = v % 4;
          if (i < m && j < n) {
            float *c = C + (i0 + i) * ldc + j0 + j;
            *c = beta == 0.f ? alpha * s[4 * q + e] : alpha * s[4 * q + e] + beta * *c;
          }
        }
    }
  }
}

} // namespace

const SgemmKernelInfo *sgemm_avx512_kernel() {
  // Every AVX-512F CPU has AVX2: its 8 x 8 transposing pack serves here too.
  static const SgemmKernelInfo info{
      MR,     NR,
      16,     {ukernel<1>, ukernel<2>, ukernel<3>, nullptr},
      nt_dot, sgemm_transpose_pack_avx2(),
      true,   {ukernel_direct_a<1>, ukernel_direct_a<2>, ukernel_direct_a<3>, nullptr}};
  return &info;
}

} // namespace polygrad::kernel::detail

#else

namespace polygrad::kernel::detail {
const SgemmKernelInfo *sgemm_avx512_kernel() { return nullptr; }
} // namespace polygrad::kernel::detail

#endif
