// The max-pooling kernels behind functional::max_pool2d / relu_max_pool2d,
// for ops that pool as an epilogue of their own (the fused conv2d +
// relu + max-pool in conv2d.cpp). Not part of the public API.
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
// output size (PyTorch's rules, pooling.h); errors name `op`.
PoolGeom pool_geom(const char *op, const Shape &x, Size2 kernel, Size2 stride, Size2 padding,
                   Size2 dilation, bool ceil_mode);

// Max-pools g.P planes x -> y with the argmax's index in its plane (int32).
// relu: y = relu(max) and index -1 where the max is <= 0 (no gradient).
void max_pool_forward(const PoolGeom &g, const float *x, float *y, int32_t *idx, bool relu);
// dx[argmax] = sum of dy over the windows it won (0 elsewhere, index -1
// skipped): dx is fully written.
void max_pool_backward(const PoolGeom &g, const float *gy, const int32_t *idx, float *dx);

} // namespace polygrad::nn::detail
