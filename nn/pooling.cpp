#include <polygrad/nn/pooling.h>
#include <polygrad/nn/pooling_detail.h>

#include <cmath>
#include <cstring>
#include <limits>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <polygrad/autograd/node.h>
#include <polygrad/core/elementwise.h>
#include <polygrad/core/interleave.h>
#include <polygrad/core/kernels.h>

namespace polygrad::nn {
namespace {

using detail::PoolGeom;

inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// PyTorch's pooling_output_shape.
int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  int64_t o = floor_div(in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0), s) + 1;
  if (ceil_mode && (o - 1) * s >= in + p) // the last window must start inside
    --o;
  return o;
}

void check_input(const char *op, const Tensor &x) {
  PG_CHECK(x.defined(), op, ": input is undefined");
  PG_CHECK(x.dtype() == DType::Float32, op, ": expected a float32 input, got ",
           dtype_name(x.dtype()), " of shape ", shape_str(x.shape()));
  PG_CHECK(x.dim() == 3 || x.dim() == 4, op,
           ": expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape ",
           shape_str(x.shape()));
}

PoolGeom make_geom(const char *op, const Shape &x, Size2 k, Size2 s, Size2 p, Size2 d,
                   bool ceil_mode) {
  PG_CHECK(k.h >= 1 && k.w >= 1, op, ": kernel_size must be >= 1, got ", k.str());
  PG_CHECK(s.h >= 1 && s.w >= 1, op, ": stride must be >= 1, got ", s.str());
  PG_CHECK(d.h >= 1 && d.w >= 1, op, ": dilation must be >= 1, got ", d.str());
  PG_CHECK(p.h >= 0 && p.w >= 0 && p.h <= k.h / 2 && p.w <= k.w / 2, op,
           ": padding must be >= 0 and at most half of the kernel size, got padding=", p.str(),
           " and kernel_size=", k.str());
  PoolGeom g{};
  g.P = x[0] * x[1], g.H = x[2], g.W = x[3];
  g.kh = k.h, g.kw = k.w, g.sh = s.h, g.sw = s.w, g.ph = p.h, g.pw = p.w, g.dh = d.h, g.dw = d.w;
  g.OH = pool_out(g.H, k.h, s.h, p.h, d.h, ceil_mode);
  g.OW = pool_out(g.W, k.w, s.w, p.w, d.w, ceil_mode);
  PG_CHECK(g.OH >= 1 && g.OW >= 1, op, ": input of shape ", shape_str(x),
           " is too small for kernel_size=", k.str(), ", stride=", s.str(), ", padding=", p.str(),
           ", dilation=", d.str(), " (calculated output size (", g.OH, ", ", g.OW, "))");
  PG_CHECK(g.H * g.W < (int64_t(1) << 31), op, ": planes of ", g.H, "x", g.W,
           " are too large (argmax indices are 32-bit)");
  return g;
}

Shape out_shape(const Tensor &x, int64_t OH, int64_t OW) { return {x.size(0), x.size(1), OH, OW}; }

// PyTorch's comparison: a larger value or a NaN takes the max.
inline bool takes_max(float v, float m) { return v > m || std::isnan(v); }

// ---- max pooling ----
// The common 2x2 / stride 2 window, one output row: input rows r0 and r1,
// outputs j = 0..OW-1 read r0[2j], r0[2j+1], r1[2j], r1[2j+1] (PyTorch's
// order for ties). `base` is the plane index of r0[0]. With Relu the result
// is relu(max) and a window whose max is <= 0 gets index -1 (no gradient; see
// relu_max_pool2d). With AVX-512 each
// step handles 16 outputs, deinterleaving the even/odd columns with two
// permutes and masking the row's tail (rows of 7 or 14 outputs are common:
// a scalar tail there would cost more than the vector body). Elsewhere a
// branch-free loop the compiler vectorises.
template <bool Relu>
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
template <bool Relu> void max_forward(const PoolGeom &g, const float *x, float *y, int32_t *idx) {
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  const bool k2s2 = g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 &&
                    g.OH == g.H / 2 && g.OW == g.W / 2;
  kernel::parallel_range(g.P, g.P * HW, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float *xp = x + p * HW;
      float *yp = y + p * OHW;
      int32_t *ip = idx + p * OHW;
      if (k2s2) {
        for (int64_t i = 0; i < g.OH; ++i) {
          const float *r0 = xp + 2 * i * g.W;
          max2x2_row<Relu>(r0, r0 + g.W, yp + i * g.OW, ip + i * g.OW, int32_t(2 * i * g.W),
                           int32_t(g.W), g.OW);
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

// ---- average pooling ----
struct AvgOpts {
  bool count_include_pad;
  int64_t divisor_override; // 0: none
};

// Calls fn(o, h0, h1, w0, w1, divisor) for output o = i * OW + j of one plane,
// with the window clipped to the input (PyTorch's avg_pool2d rules).
template <class Fn> inline void avg_windows(const PoolGeom &g, const AvgOpts &a, Fn &&fn) {
  for (int64_t i = 0; i < g.OH; ++i) {
    int64_t h0 = i * g.sh - g.ph, h1 = std::min(h0 + g.kh, g.H + g.ph);
    const int64_t ph_size = h1 - h0;
    h0 = std::max<int64_t>(h0, 0), h1 = std::min(h1, g.H);
    for (int64_t j = 0; j < g.OW; ++j) {
      int64_t w0 = j * g.sw - g.pw, w1 = std::min(w0 + g.kw, g.W + g.pw);
      const int64_t pool_size = ph_size * (w1 - w0);
      w0 = std::max<int64_t>(w0, 0), w1 = std::min(w1, g.W);
      const int64_t div = a.divisor_override    ? a.divisor_override
                          : a.count_include_pad ? pool_size
                                                : (h1 - h0) * (w1 - w0);
      fn(i * g.OW + j, h0, h1, w0, w1, float(div));
    }
  }
}

void avg_forward(const PoolGeom &g, const AvgOpts &a, const float *x, float *y) {
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  kernel::parallel_range(g.P, g.P * HW, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float *xp = x + p * HW;
      float *yp = y + p * OHW;
      avg_windows(g, a, [&](int64_t o, int64_t h0, int64_t h1, int64_t w0, int64_t w1, float div) {
        if (h0 >= h1 || w0 >= w1) {
          yp[o] = 0.f;
          return;
        }
        float s = 0.f;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w)
            s += xp[h * g.W + w];
        yp[o] = s / div;
      });
    }
  });
}

void avg_backward(const PoolGeom &g, const AvgOpts &a, const float *gy, float *dx) {
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  kernel::parallel_range(g.P, g.P * HW, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float *gp = gy + p * OHW;
      float *dp = dx + p * HW;
      std::memset(dp, 0, sizeof(float) * HW);
      avg_windows(g, a, [&](int64_t o, int64_t h0, int64_t h1, int64_t w0, int64_t w1, float div) {
        const float v = gp[o] / div;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w)
            dp[h * g.W + w] += v;
      });
    }
  });
}

// ---- adaptive average pooling ----
inline int64_t start_index(int64_t o, int64_t out, int64_t in) { return (o * in) / out; }
inline int64_t end_index(int64_t o, int64_t out, int64_t in) {
  return ((o + 1) * in + out - 1) / out;
}

void adaptive_forward(const PoolGeom &g, const float *x, float *y) {
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  kernel::parallel_range(g.P, g.P * HW, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float *xp = x + p * HW;
      float *yp = y + p * OHW;
      if (OHW == 1) { // global average pooling
        yp[0] = kernel::row_sum(xp, HW) / float(HW);
        continue;
      }
      for (int64_t i = 0; i < g.OH; ++i) {
        const int64_t h0 = start_index(i, g.OH, g.H), h1 = end_index(i, g.OH, g.H);
        for (int64_t j = 0; j < g.OW; ++j) {
          const int64_t w0 = start_index(j, g.OW, g.W), w1 = end_index(j, g.OW, g.W);
          float s = 0.f;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w)
              s += xp[h * g.W + w];
          yp[i * g.OW + j] = s / float((h1 - h0) * (w1 - w0));
        }
      }
    }
  });
}

void adaptive_backward(const PoolGeom &g, const float *gy, float *dx) {
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  kernel::parallel_range(g.P, g.P * HW, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float *gp = gy + p * OHW;
      float *dp = dx + p * HW;
      if (OHW == 1) {
        std::fill_n(dp, HW, gp[0] / float(HW));
        continue;
      }
      std::memset(dp, 0, sizeof(float) * HW);
      for (int64_t i = 0; i < g.OH; ++i) {
        const int64_t h0 = start_index(i, g.OH, g.H), h1 = end_index(i, g.OH, g.H);
        for (int64_t j = 0; j < g.OW; ++j) {
          const int64_t w0 = start_index(j, g.OW, g.W), w1 = end_index(j, g.OW, g.W);
          const float v = gp[i * g.OW + j] / float((h1 - h0) * (w1 - w0));
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w)
              dp[h * g.W + w] += v;
        }
      }
    }
  });
}

// max_pool2d and relu_max_pool2d: one pass, one node.
Tensor max_pool(const char *op, bool relu, const Tensor &x, Size2 k, std::optional<Size2> stride,
                Size2 padding, Size2 dilation, bool ceil_mode) {
  check_input(op, x);
  if (x.dim() == 3)
    return max_pool(op, relu, x.unsqueeze(0), k, stride, padding, dilation, ceil_mode).squeeze(0);
  const PoolGeom g = make_geom(op, x.shape(), k, stride.value_or(k), padding, dilation, ceil_mode);
  const Tensor xc = kernel::contiguous(x);
  Tensor y = Tensor::empty(out_shape(x, g.OH, g.OW));
  // int32 argmax indices in a float32-sized buffer (same 4-byte elements);
  // they never leave this file.
  Tensor idx = Tensor::empty({y.numel()});
  int32_t *pi = reinterpret_cast<int32_t *>(idx.storage()->data);
  detail::max_pool_forward(g, xc.data<float>(), y.data<float>(), pi, relu);
  if (needs_grad({x}))
    record(relu ? "ReluMaxPool2dBackward" : "MaxPool2dBackward", y, {x},
           [g, idx, xshape = x.shape()](const Tensor &gy) {
             const Tensor gc = kernel::contiguous(gy);
             Tensor dx = Tensor::empty(xshape);
             detail::max_pool_backward(g, gc.data<float>(),
                                       reinterpret_cast<const int32_t *>(idx.storage()->data),
                                       dx.data<float>());
             return grads{dx};
           });
  return y;
}

} // namespace

namespace detail {

PoolGeom pool_geom(const char *op, const Shape &x, Size2 k, Size2 s, Size2 p, Size2 d,
                   bool ceil_mode) {
  return make_geom(op, x, k, s, p, d, ceil_mode);
}

void max_pool_forward(const PoolGeom &g, const float *x, float *y, int32_t *idx, bool relu) {
  (relu ? max_forward<true> : max_forward<false>)(g, x, y, idx);
}

void max_pool_backward(const PoolGeom &g, const float *gy, const int32_t *idx, float *dx) {
  max_backward(g, gy, idx, dx);
}

} // namespace detail

namespace functional {

Tensor max_pool2d(const Tensor &x, Size2 k, std::optional<Size2> stride, Size2 padding,
                  Size2 dilation, bool ceil_mode) {
  return max_pool("max_pool2d", false, x, k, stride, padding, dilation, ceil_mode);
}

Tensor relu_max_pool2d(const Tensor &x, Size2 k, std::optional<Size2> stride, Size2 padding,
                       Size2 dilation, bool ceil_mode) {
  return max_pool("relu_max_pool2d", true, x, k, stride, padding, dilation, ceil_mode);
}

Tensor avg_pool2d(const Tensor &x, Size2 k, std::optional<Size2> stride, Size2 padding,
                  bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
  check_input("avg_pool2d", x);
  if (x.dim() == 3)
    return avg_pool2d(x.unsqueeze(0), k, stride, padding, ceil_mode, count_include_pad,
                      divisor_override)
        .squeeze(0);
  PG_CHECK(!divisor_override || *divisor_override != 0,
           "avg_pool2d: divisor_override must be non-zero");
  const PoolGeom g =
      make_geom("avg_pool2d", x.shape(), k, stride.value_or(k), padding, 1, ceil_mode);
  const AvgOpts a{count_include_pad, divisor_override.value_or(0)};
  const Tensor xc = kernel::contiguous(x);
  Tensor y = Tensor::empty(out_shape(x, g.OH, g.OW));
  avg_forward(g, a, xc.data<float>(), y.data<float>());
  if (needs_grad({x}))
    record("AvgPool2dBackward", y, {x}, [g, a, xshape = x.shape()](const Tensor &gy) {
      const Tensor gc = kernel::contiguous(gy);
      Tensor dx = Tensor::empty(xshape);
      avg_backward(g, a, gc.data<float>(), dx.data<float>());
      return grads{dx};
    });
  return y;
}

Tensor adaptive_avg_pool2d(const Tensor &x, Size2 output_size) {
  check_input("adaptive_avg_pool2d", x);
  if (x.dim() == 3)
    return adaptive_avg_pool2d(x.unsqueeze(0), output_size).squeeze(0);
  PG_CHECK(output_size.h >= 1 && output_size.w >= 1,
           "adaptive_avg_pool2d: output_size must be >= 1, got ", output_size.str());
  PG_CHECK(x.size(2) >= 1 && x.size(3) >= 1, "adaptive_avg_pool2d: input of shape ",
           shape_str(x.shape()), " has an empty plane");
  PoolGeom g{};
  g.P = x.size(0) * x.size(1), g.H = x.size(2), g.W = x.size(3);
  g.OH = output_size.h, g.OW = output_size.w;
  const Tensor xc = kernel::contiguous(x);
  Tensor y = Tensor::empty(out_shape(x, g.OH, g.OW));
  adaptive_forward(g, xc.data<float>(), y.data<float>());
  if (needs_grad({x}))
    record("AdaptiveAvgPool2dBackward", y, {x}, [g, xshape = x.shape()](const Tensor &gy) {
      const Tensor gc = kernel::contiguous(gy);
      Tensor dx = Tensor::empty(xshape);
      adaptive_backward(g, gc.data<float>(), dx.data<float>());
      return grads{dx};
    });
  return y;
}

} // namespace functional

namespace {
std::string bool_str(bool b) { return b ? "true" : "false"; }
} // namespace

MaxPool2d::MaxPool2d(Size2 k, std::optional<Size2> s, Size2 p, Size2 d, bool ceil)
    : kernel_size(k), stride(s.value_or(k)), padding(p), dilation(d), ceil_mode(ceil) {}

Tensor MaxPool2d::forward(const Tensor &x) {
  return functional::max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode);
}

std::string MaxPool2d::extra_repr() const {
  return "kernel_size=" + kernel_size.short_str() + ", stride=" + stride.short_str() +
         ", padding=" + padding.short_str() + ", dilation=" + dilation.short_str() +
         ", ceil_mode=" + bool_str(ceil_mode);
}

AvgPool2d::AvgPool2d(Size2 k, std::optional<Size2> s, Size2 p, bool ceil, bool include_pad,
                     std::optional<int64_t> div)
    : kernel_size(k), stride(s.value_or(k)), padding(p), ceil_mode(ceil),
      count_include_pad(include_pad), divisor_override(div) {}

Tensor AvgPool2d::forward(const Tensor &x) {
  return functional::avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                divisor_override);
}

std::string AvgPool2d::extra_repr() const {
  return "kernel_size=" + kernel_size.short_str() + ", stride=" + stride.short_str() +
         ", padding=" + padding.short_str();
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Size2 out) : output_size(out) {}

Tensor AdaptiveAvgPool2d::forward(const Tensor &x) {
  return functional::adaptive_avg_pool2d(x, output_size);
}

std::string AdaptiveAvgPool2d::extra_repr() const {
  return "output_size=" + output_size.short_str();
}

} // namespace polygrad::nn
