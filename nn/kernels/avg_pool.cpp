// Average and adaptive average pooling (avg_pool.h): plane-parallel loops
// over the windows, clipped to the input as PyTorch clips them.
#include <polygrad/nn/kernels/avg_pool.h>

#include <algorithm>
#include <cstring>

#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>

namespace polygrad::nn::detail {
namespace {

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

inline int64_t start_index(int64_t o, int64_t out, int64_t in) { return (o * in) / out; }
inline int64_t end_index(int64_t o, int64_t out, int64_t in) {
  return ((o + 1) * in + out - 1) / out;
}

} // namespace

void avg_pool_forward(const PoolGeom &g, const AvgOpts &a, const float *x, float *y) {
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

void avg_pool_backward(const PoolGeom &g, const AvgOpts &a, const float *gy, float *dx) {
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

void adaptive_avg_pool_forward(const PoolGeom &g, const float *x, float *y) {
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

void adaptive_avg_pool_backward(const PoolGeom &g, const float *gy, float *dx) {
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

} // namespace polygrad::nn::detail
