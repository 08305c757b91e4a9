// (internal) The per-image hooks (image_hooks.h) that make conv2d + relu +
// max-pool one pass (nn/conv2d.cpp's conv2d_relu_max_pool2d): the forward
// pools each image's conv output while it is still in the conv's per-worker
// buffer; the backward rebuilds each image's conv gradient (dy routed to the
// winning inputs) in that buffer right before its GEMMs. Not part of the
// public API.
#pragma once

#include <cstdint>

#include <polygrad/nn/kernels/image_hooks.h>
#include <polygrad/nn/kernels/max_pool.h>

namespace polygrad::nn::detail {

// pg: the pooling of one image's O planes (pg.P = O). Image n's pooled
// output and int32 argmax indices go to y + n per and idx + n per, per =
// pg.P pg.OH pg.OW (idx null: no indices).
inline ImageSink relu_max_pool_sink(const PoolGeom &pg, float *y, int32_t *idx) {
  const int64_t per = pg.P * pg.OH * pg.OW;
  return [pg, per, y, idx](int, int64_t n, const float *yn) {
    max_pool_forward(pg, yn, y + n * per, idx ? idx + n * per : nullptr, true);
  };
}

// Image n's conv gradient from the pooled gradient gy and the forward's idx.
inline ImageSource max_pool_grad_source(const PoolGeom &pg, const float *gy, const int32_t *idx) {
  const int64_t per = pg.P * pg.OH * pg.OW;
  return [pg, per, gy, idx](int, int64_t n, float *buf) -> const float * {
    max_pool_backward(pg, gy + n * per, idx + n * per, buf);
    return buf;
  };
}

} // namespace polygrad::nn::detail
