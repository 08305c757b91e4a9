// Max pooling (max_pool.h): a plane-parallel loop over the windows, and a
// row kernel for the common 2x2 / stride-2 window, with AVX-512 where the
// compiler targets it.
#include <polygrad/nn/kernels/max_pool.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <polygrad/core/elementwise.h>
#include <polygrad/core/interleave.h>
#include <polygrad/core/kernels.h>

namespace polygrad::nn::detail {
namespace {

// PyTorch's comparison: a larger value or a NaN takes the max.
inline bool takes_max(float v, float m) { return v > m || std::isnan(v); }

// The common 2x2 / stride 2 window, one output row: input rows r0 and r1,
// outputs j = 0..OW-1 read r0[2j], r0[2j+1], r1[2j], r1[2j+1] (PyTorch's
// order for ties). `base` is the plane index of r0[0]. With Relu the result
// is relu(max) and a window whose max is <= 0 gets index -1 (no gradient; see
// relu_max_pool2d). With AVX-512 each
// step handles 16 outputs, deinterleaving the even/odd columns with two
// permutes and masking the row's tail (rows of 7 or 14 outputs are common:
// a scalar tail there would cost more than the vector body). Elsewhere a
// branch-free loop the compiler vectorises.
// Idx false: no argmax indices (inference, nothing to backpropagate).
template <bool Relu, bool Idx>
void max2x2_row(const float *r0, const float *r1, float *y, int32_t *idx, int32_t base, int32_t W,
                int64_t OW) {
#if defined(__AVX512F__)
  const __m512i lane2 =
      _mm512_slli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1);
  for (int64_t j = 0; j < OW; j += 16) {
    const int64_t n = std::min<int64_t>(16, OW - j);
    const __mmask16 m = __mmask16((1u << n) - 1);
    __m512 a_even, a_odd, b_even, b_odd;
    kernel::load_pairs(r0 + 2 * j, n, a_even, a_odd);
    kernel::load_pairs(r1 + 2 * j, n, b_even, b_odd);
    __m512 best = a_even;
    __m512i off = _mm512_setzero_si512();
    const __m512 cand[3] = {a_odd, b_even, b_odd};
    const int32_t coff[3] = {1, W, W + 1};
    for (int c = 0; c < 3; ++c) {
      // a larger value or a NaN takes the max (unordered compare of v with
      // itself is true exactly for NaN)
      const __mmask16 t = _mm512_cmp_ps_mask(cand[c], best, _CMP_GT_OQ) |
                          _mm512_cmp_ps_mask(cand[c], cand[c], _CMP_UNORD_Q);
      best = _mm512_mask_mov_ps(best, t, cand[c]);
      off = _mm512_mask_mov_epi32(off, t, _mm512_set1_epi32(coff[c]));
    }
    __m512i k =
        _mm512_add_epi32(_mm512_add_epi32(_mm512_set1_epi32(base + int32_t(2 * j)), lane2), off);
    if constexpr (Relu) { // ordered compare: a NaN max stays
      const __mmask16 z = _mm512_cmp_ps_mask(best, _mm512_setzero_ps(), _CMP_LE_OQ);
      best = _mm512_mask_mov_ps(best, z, _mm512_setzero_ps());
      k = _mm512_mask_mov_epi32(k, z, _mm512_set1_epi32(-1));
    }
    _mm512_mask_storeu_ps(y + j, m, best);
    if constexpr (Idx)
      _mm512_mask_storeu_epi32(idx + j, m, k);
  }
#else
#pragma omp simd
  for (int64_t j = 0; j < OW; ++j) {
    const float a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
    float m = a;
    int32_t k = base + int32_t(2 * j);
    bool t = (b > m) | (b != b);
    m = t ? b : m;
    k = t ? base + int32_t(2 * j) + 1 : k;
    t = (c > m) | (c != c);
    m = t ? c : m;
    k = t ? base + W + int32_t(2 * j) : k;
    t = (d > m) | (d != d);
    m = t ? d : m;
    k = t ? base + W + int32_t(2 * j) + 1 : k;
    if constexpr (Relu) {
      k = m <= 0.f ? -1 : k;
      m = m <= 0.f ? 0.f : m;
    }
    y[j] = m;
    if constexpr (Idx)
      idx[j] = k;
  }
#endif
}

// Its backward: each input of the two rows belongs to exactly one window, so
// d0/d1 are written once (dy where the argmax was, 0 elsewhere) without a
// zeroing pass.
void max2x2_row_backward(const float *gy, const int32_t *idx, float *d0, float *d1, int32_t base,
                         int32_t W, int64_t OW) {
#if defined(__AVX512F__)
  const __m512i lane2 =
      _mm512_slli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1);
  for (int64_t j = 0; j < OW; j += 16) {
    const int64_t n = std::min<int64_t>(16, OW - j);
    const __mmask16 m = __mmask16((1u << n) - 1);
    const __m512 g = _mm512_maskz_loadu_ps(m, gy + j);
    const __m512i rel =
        _mm512_sub_epi32(_mm512_maskz_loadu_epi32(m, idx + j),
                         _mm512_add_epi32(_mm512_set1_epi32(base + int32_t(2 * j)), lane2));
    const __m512 g00 = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(rel, _mm512_setzero_si512()), g);
    const __m512 g01 = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(rel, _mm512_set1_epi32(1)), g);
    const __m512 g10 = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(rel, _mm512_set1_epi32(W)), g);
    const __m512 g11 =
        _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(rel, _mm512_set1_epi32(W + 1)), g);
    kernel::store_pairs(d0 + 2 * j, n, g00, g01);
    kernel::store_pairs(d1 + 2 * j, n, g10, g11);
  }
#else
#pragma omp simd
  for (int64_t j = 0; j < OW; ++j) {
    const int32_t rel = idx[j] - base - int32_t(2 * j);
    const float v = gy[j];
    d0[2 * j] = rel == 0 ? v : 0.f;
    d0[2 * j + 1] = rel == 1 ? v : 0.f;
    d1[2 * j] = rel == W ? v : 0.f;
    d1[2 * j + 1] = rel == W + 1 ? v : 0.f;
  }
#endif
}

// `idx` holds, per output, the argmax's flat index in its H x W plane (-1
// for a window that lies entirely in the padding, which cannot happen for
// valid arguments, or with Relu for a max <= 0). It is 32-bit: half the
// memory traffic of int64.
template <bool Relu, bool Idx>
void max_forward(const PoolGeom &g, const float *x, float *y, int32_t *idx) {
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  const bool k2s2 = g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 &&
                    g.OH == g.H / 2 && g.OW == g.W / 2;
  kernel::parallel_range(g.P, g.P * HW, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float *xp = x + p * HW;
      float *yp = y + p * OHW;
      int32_t *ip = Idx ? idx + p * OHW : nullptr;
      if (k2s2) {
        for (int64_t i = 0; i < g.OH; ++i) {
          const float *r0 = xp + 2 * i * g.W;
          max2x2_row<Relu, Idx>(r0, r0 + g.W, yp + i * g.OW, Idx ? ip + i * g.OW : nullptr,
                                int32_t(2 * i * g.W), int32_t(g.W), g.OW);
        }
        continue;
      }
      for (int64_t i = 0; i < g.OH; ++i) {
        int64_t h0 = i * g.sh - g.ph;
        const int64_t h1 = std::min(h0 + (g.kh - 1) * g.dh + 1, g.H);
        while (h0 < 0)
          h0 += g.dh;
        for (int64_t j = 0; j < g.OW; ++j) {
          int64_t w0 = j * g.sw - g.pw;
          const int64_t w1 = std::min(w0 + (g.kw - 1) * g.dw + 1, g.W);
          while (w0 < 0)
            w0 += g.dw;
          float m = -std::numeric_limits<float>::infinity();
          int64_t k = (h0 < h1 && w0 < w1) ? h0 * g.W + w0 : -1;
          for (int64_t h = h0; h < h1; h += g.dh)
            for (int64_t w = w0; w < w1; w += g.dw) {
              const float v = xp[h * g.W + w];
              if (takes_max(v, m))
                m = v, k = h * g.W + w;
            }
          if (Relu && m <= 0.f)
            m = 0.f, k = -1;
          yp[i * g.OW + j] = m;
          if constexpr (Idx)
            ip[i * g.OW + j] = int32_t(k);
        }
      }
    }
  });
}

// dx[argmax] += dy (nothing for index -1). With 2x2 / stride 2 windows every input belongs to one
// window, so dx is written once, without a zeroing pass.
void max_backward(const PoolGeom &g, const float *gy, const int32_t *idx, float *dx) {
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  const bool k2s2 = g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 &&
                    g.OH == g.H / 2 && g.OW == g.W / 2;
  kernel::parallel_range(g.P, g.P * HW, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float *gp = gy + p * OHW;
      const int32_t *ip = idx + p * OHW;
      float *dp = dx + p * HW;
      if (k2s2) {
        for (int64_t i = 0; i < g.OH; ++i) {
          float *d0 = dp + 2 * i * g.W;
          max2x2_row_backward(gp + i * g.OW, ip + i * g.OW, d0, d0 + g.W, int32_t(2 * i * g.W),
                              int32_t(g.W), g.OW);
          if (g.W & 1)
            d0[g.W - 1] = d0[2 * g.W - 1] = 0.f;
        }
        if (g.H & 1)
          std::memset(dp + (g.H - 1) * g.W, 0, sizeof(float) * g.W);
        continue;
      }
      std::memset(dp, 0, sizeof(float) * HW);
      for (int64_t o = 0; o < OHW; ++o)
        if (ip[o] >= 0)
          dp[ip[o]] += gp[o];
    }
  });
}

} // namespace

void max_pool_forward(const PoolGeom &g, const float *x, float *y, int32_t *idx, bool relu) {
  if (idx)
    (relu ? max_forward<true, true> : max_forward<false, true>)(g, x, y, idx);
  else
    (relu ? max_forward<true, false> : max_forward<false, false>)(g, x, y, nullptr);
}

void max_pool_backward(const PoolGeom &g, const float *gy, const int32_t *idx, float *dx) {
  max_backward(g, gy, idx, dx);
}

} // namespace polygrad::nn::detail
