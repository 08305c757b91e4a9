// (internal) The average-pooling kernels behind nn::functional::avg_pool2d
// and adaptive_avg_pool2d (nn/pooling.cpp, which states their math). Not part
// of the public API.
#pragma once

#include <cstdint>

#include <polygrad/nn/kernels/pool_geom.h>

namespace polygrad::nn::detail {

struct AvgOpts {
  bool count_include_pad;
  int64_t divisor_override; // 0: none
};

// y = window sums / divisor over g.P planes; its backward overwrites dx.
void avg_pool_forward(const PoolGeom &g, const AvgOpts &a, const float *x, float *y);
void avg_pool_backward(const PoolGeom &g, const AvgOpts &a, const float *gy, float *dx);
// Adaptive windows (only g.P, H, W, OH, OW are read); the backward overwrites dx.
void adaptive_avg_pool_forward(const PoolGeom &g, const float *x, float *y);
void adaptive_avg_pool_backward(const PoolGeom &g, const float *gy, float *dx);

} // namespace polygrad::nn::detail
