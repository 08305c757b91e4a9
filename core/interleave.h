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

// q0[j] = src[4 j], q1[j] = src[4 j + 1], q2[j] = src[4 j + 2], q3[j] =
// src[4 j + 3] for j < n (reads 4 n floats): the stride-4 phases of a row
// (Winograd F(4x4, 3x3)'s tiles). AVX-512: 8 permutes per 16 quads.
inline void deinterleave4(const float *src, int64_t n, float *q0, float *q1, float *q2, float *q3) {
#if defined(__AVX512F__)
  const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i io = _mm512_add_epi32(ie, _mm512_set1_epi32(1));
  for (int64_t j = 0; j < n; j += 16) {
    const int64_t k = std::min<int64_t>(16, n - j), f = 4 * k; // quads, floats
    auto mask = [&](int64_t from) {
      const int64_t c = std::clamp<int64_t>(f - from, 0, 16);
      return __mmask16(c == 16 ? 0xffffu : (1u << c) - 1);
    };
    const float *s = src + 4 * j;
    const __m512 a0 = _mm512_maskz_loadu_ps(mask(0), s),
                 a1 = _mm512_maskz_loadu_ps(mask(16), s + 16);
    const __m512 a2 = _mm512_maskz_loadu_ps(mask(32), s + 32),
                 a3 = _mm512_maskz_loadu_ps(mask(48), s + 48);
    // even / odd floats of each 32, then even / odd of those: phases 0, 2 and 1, 3
    const __m512 e01 = _mm512_permutex2var_ps(a0, ie, a1), o01 = _mm512_permutex2var_ps(a0, io, a1);
    const __m512 e23 = _mm512_permutex2var_ps(a2, ie, a3), o23 = _mm512_permutex2var_ps(a2, io, a3);
    const __mmask16 m = __mmask16(k == 16 ? 0xffffu : (1u << k) - 1);
    _mm512_mask_storeu_ps(q0 + j, m, _mm512_permutex2var_ps(e01, ie, e23));
    _mm512_mask_storeu_ps(q2 + j, m, _mm512_permutex2var_ps(e01, io, e23));
    _mm512_mask_storeu_ps(q1 + j, m, _mm512_permutex2var_ps(o01, ie, o23));
    _mm512_mask_storeu_ps(q3 + j, m, _mm512_permutex2var_ps(o01, io, o23));
  }
#else
  for (int64_t j = 0; j < n; ++j) {
    q0[j] = src[4 * j];
    q1[j] = src[4 * j + 1];
    q2[j] = src[4 * j + 2];
    q3[j] = src[4 * j + 3];
  }
#endif
}

// dst[4 j + b] = q_b[j] for j < n (writes 4 n floats): deinterleave4's inverse.
inline void interleave4(const float *q0, const float *q1, const float *q2, const float *q3,
                        int64_t n, float *dst) {
#if defined(__AVX512F__)
  // pairs (x[j], y[j]) of two 16-float vectors: lanes 0..7 then 8..15
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
  for (int64_t j = 0; j < n; j += 16) {
    const int64_t k = std::min<int64_t>(16, n - j), f = 4 * k;
    const __mmask16 m = __mmask16(k == 16 ? 0xffffu : (1u << k) - 1);
    const __m512 v0 = _mm512_maskz_loadu_ps(m, q0 + j), v1 = _mm512_maskz_loadu_ps(m, q1 + j);
    const __m512 v2 = _mm512_maskz_loadu_ps(m, q2 + j), v3 = _mm512_maskz_loadu_ps(m, q3 + j);
    // (q0, q2) and (q1, q3) pairs, then pairs of those: q0 q1 q2 q3 per j
    const __m512 e_lo = _mm512_permutex2var_ps(v0, lo, v2),
                 e_hi = _mm512_permutex2var_ps(v0, hi, v2);
    const __m512 o_lo = _mm512_permutex2var_ps(v1, lo, v3),
                 o_hi = _mm512_permutex2var_ps(v1, hi, v3);
    auto mask = [&](int64_t from) {
      const int64_t c = std::clamp<int64_t>(f - from, 0, 16);
      return __mmask16(c == 16 ? 0xffffu : (1u << c) - 1);
    };
    float *d = dst + 4 * j;
    _mm512_mask_storeu_ps(d, mask(0), _mm512_permutex2var_ps(e_lo, lo, o_lo));
    _mm512_mask_storeu_ps(d + 16, mask(16), _mm512_permutex2var_ps(e_lo, hi, o_lo));
    _mm512_mask_storeu_ps(d + 32, mask(32), _mm512_permutex2var_ps(e_hi, lo, o_hi));
    _mm512_mask_storeu_ps(d + 48, mask(48), _mm512_permutex2var_ps(e_hi, hi, o_hi));
  }
#else
  for (int64_t j = 0; j < n; ++j) {
    dst[4 * j] = q0[j];
    dst[4 * j + 1] = q1[j];
    dst[4 * j + 2] = q2[j];
    dst[4 * j + 3] = q3[j];
  }
#endif
}

} // namespace polygrad::kernel
