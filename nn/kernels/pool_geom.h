// (internal) A 2-D pooling's geometry as its kernels see it (max_pool.h,
// avg_pool.h): P = N C planes of H x W pooled to OH x OW. Not part of the
// public API.
#pragma once

#include <cstdint>

#include <polygrad/core/tensor.h>
#include <polygrad/nn/size2.h>

namespace polygrad::nn::detail {

struct PoolGeom {
  int64_t P, H, W, OH, OW; // planes (N * C), input and output sizes
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
};

// Validates the arguments for an input of shape (N, C, H, W) and computes the
// output size (PyTorch's rules, nn/pooling.h); errors name `op`. Defined in
// nn/pooling.cpp with the rest of the pooling ops' argument checks.
PoolGeom pool_geom(const char *op, const Shape &x, Size2 kernel, Size2 stride, Size2 padding,
                   Size2 dilation, bool ceil_mode);

} // namespace polygrad::nn::detail
