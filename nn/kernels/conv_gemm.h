// (internal) conv2d's drivers: per image, im2col (im2col.h) and the GEMMs
// over blocks of output rows, with the batch split across the threads; or
// the Winograd F(m x m, 3x3) kernels (winograd.h) on tensors. nn/conv2d.cpp
// holds the math they compute. Not part of the public API.
#pragma once

#include <polygrad/core/tensor.h>
#include <polygrad/nn/kernels/conv_geom.h>
#include <polygrad/nn/kernels/image_hooks.h>

namespace polygrad::nn::detail {

// y (N, O, OH, OW) = conv(x, w) + b (b may be undefined) for contiguous
// float32 x, w, b, by Winograd F(m x m, 3x3) when `winograd` = m is 2 or 4
// (g.winograd_fits() must hold), else (0) by im2col + GEMM. With a sink, image n's output goes to
// it from a per-worker buffer right after its GEMMs, while still in cache, and no y is returned.
Tensor conv_forward(const ConvGeom &g, int winograd, const Tensor &x, const Tensor &w,
                    const Tensor &b, const ImageSink &sink = nullptr);

struct ConvGrads {
  Tensor dx, dw, db;
};

// The gradients asked for (gx: dx, gw: dW, gb: db; the others undefined) from
// dy = gy (contiguous), or with dy_of, image n's dy_n from it (gy unused).
// x is needed for dW, w for dx. `winograd` as the forward's.
ConvGrads conv_backward(const ConvGeom &g, int winograd, const Tensor &gy, const Tensor &x,
                        const Tensor &w, bool gx, bool gw, bool gb,
                        const ImageSource &dy_of = nullptr);

} // namespace polygrad::nn::detail
