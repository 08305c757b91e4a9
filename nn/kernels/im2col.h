// (internal) im2col and its adjoint col2im, over a block of output rows: the
// lowering that turns conv2d into GEMMs (conv_gemm.h). Not part of the
// public API.
//
//   col[(c kh + p) kw + q, (i - i0) OW + j] = x[c, i sh - ph + p dh, j sw - pw + q dw]
// for output rows i in [i0, i1) (0 outside the image); col has row length
// (i1 - i0) OW and C kh kw rows. col2im adds every col entry back into the
// input position it was copied from (overlapping windows sum).
#pragma once

#include <cstdint>

#include <polygrad/nn/kernels/conv_geom.h>

namespace polygrad::nn::detail {

// col = im2col(x_n) for output rows [i0, i1); x is one image (C, H, W).
void im2col(const ConvGeom &g, const float *x, float *col, int64_t i0, int64_t i1);
// dx += col2im(col) for output rows [i0, i1). col is scratch: the stride-1
// "same" path zeroes entries of it.
void col2im_add(const ConvGeom &g, float *col, float *dx, int64_t i0, int64_t i1);

} // namespace polygrad::nn::detail
