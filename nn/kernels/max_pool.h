// (internal) The max-pooling kernels behind nn::functional::max_pool2d and
// relu_max_pool2d (nn/pooling.cpp), also run per image as the fused
// conv2d + relu + max-pool's epilogue (conv_pool.h). Not part of the public
// API.
#pragma once

#include <cstdint>

#include <polygrad/nn/kernels/pool_geom.h>

namespace polygrad::nn::detail {

// Max-pools g.P planes x -> y with the argmax's index in its plane (int32).
// relu: y = relu(max) and index -1 where the max is <= 0 (no gradient).
// idx null: no indices (inference: nothing will backpropagate).
void max_pool_forward(const PoolGeom &g, const float *x, float *y, int32_t *idx, bool relu);
// dx[argmax] = sum of dy over the windows it won (0 elsewhere, index -1
// skipped): dx is fully written.
void max_pool_backward(const PoolGeom &g, const float *gy, const int32_t *idx, float *dx);

} // namespace polygrad::nn::detail
