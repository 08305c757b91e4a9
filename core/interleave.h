// Even/odd (de)interleaving of a float row: the stride-2 access that GCC
// leaves scalar (one 4-byte load and store per element). With AVX-512 each
// step moves 16 pairs with two permutes, masking the row's tail (rows of
// 6-16 pairs are the common case in the Winograd tile transforms, where the
// scalar loops were a third of the transform time).
#pragma once

#include <algorithm>
#include <cstdint>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace polygrad::kernel {

#if defined(__AVX512F__)
// Register forms, for kernels that work on the pairs in between (max-pool's
// 2x2 windows). Lane masks for k <= 16 pairs: the first 16 floats hold pairs
// 0..7, the next 16 pairs 8..15.
inline __mmask16 pair_mask_lo(int64_t k) {
  return __mmask16(k >= 8 ? 0xffffu : (1u << (2 * k)) - 1);
}
inline __mmask16 pair_mask_hi(int64_t k) {
  return __mmask16(k <= 8 ? 0u : (1u << (2 * (k - 8))) - 1);
}

// k (1..16) pairs from src: even[j] = src[2 j], odd[j] = src[2 j + 1];
// lanes >= k are 0. Reads 2 k floats only.
inline void load_pairs(const float *src, int64_t k, __m512 &even, __m512 &odd) {
  const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512 a = _mm512_maskz_loadu_ps(pair_mask_lo(k), src);
  const __m512 b = _mm512_maskz_loadu_ps(pair_mask_hi(k), src + 16);
  even = _mm512_permutex2var_ps(a, ie, b);
  odd = _mm512_permutex2var_ps(a, _mm512_add_epi32(ie, _mm512_set1_epi32(1)), b);
}

// dst[2 j] = even[j], dst[2 j + 1] = odd[j] for j < k (1..16). Writes 2 k
// floats only.
inline void store_pairs(float *dst, int64_t k, __m512 even, __m512 odd) {
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
  _mm512_mask_storeu_ps(dst, pair_mask_lo(k), _mm512_permutex2var_ps(even, lo, odd));
  _mm512_mask_storeu_ps(dst + 16, pair_mask_hi(k), _mm512_permutex2var_ps(even, hi, odd));
}
#endif

// even[j] = src[2 j], odd[j] = src[2 j + 1] for j < n (reads 2 n floats).
inline void deinterleave(const float *src, int64_t n, float *even, float *odd) {
#if defined(__AVX512F__)
  for (int64_t j = 0; j < n; j += 16) {
    const int64_t k = std::min<int64_t>(16, n - j);
    const __mmask16 m = __mmask16((1u << k) - 1);
    __m512 e, o;
    load_pairs(src + 2 * j, k, e, o);
    _mm512_mask_storeu_ps(even + j, m, e);
    _mm512_mask_storeu_ps(odd + j, m, o);
  }
#else
  for (int64_t j = 0; j < n; ++j) {
    even[j] = src[2 * j];
    odd[j] = src[2 * j + 1];
  }
#endif
}

// dst[2 j] = even[j], dst[2 j + 1] = odd[j] for j < n (writes 2 n floats).
inline void interleave(const float *even, const float *odd, int64_t n, float *dst) {
#if defined(__AVX512F__)
  for (int64_t j = 0; j < n; j += 16) {
    const int64_t k = std::min<int64_t>(16, n - j);
    const __mmask16 m = __mmask16((1u << k) - 1);
    store_pairs(dst + 2 * j, k, _mm512_maskz_loadu_ps(m, even + j),
                _mm512_maskz_loadu_ps(m, odd + j));
  }
#else
  for (int64_t j = 0; j < n; ++j) {
    dst[2 * j] = even[j];
    dst[2 * j + 1] = odd[j];
  }
#endif
}

} // namespace polygrad::kernel
