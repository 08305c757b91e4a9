// (internal) Winograd F(m x m, 3x3) convolution (Lavin & Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016), m = 2 or 4:
// conv2d's algorithm for 3x3, stride-1, undilated, ungrouped convolutions
// (padding 0..2). An m x m output tile needs n^2 products (n = m + 2) where
// the direct form needs 9 m^2: F(2x2, 3x3) 16 instead of 36 (2.25x fewer
// multiply-adds), F(4x4, 3x3) 36 instead of 144 (4x), in kernel::sgemm
// (core/sgemm.h: the n^2 transformed kernels packed once per call for it).
// Used by nn::functional::conv2d through conv_gemm.h (see nn/conv2d.h for
// the switch); not installed.
//
// One m x m output tile Y of one (output, input) channel pair comes from the
// n x n input tile d at rows m ti - ph .., columns m tj - pw .. (0 outside the
// image) and the 3x3 kernel g:
//   Y = A^T [ (G g G^T) .* (B^T d B) ] A
// with B^T (n x n), G (n x 3), A^T (m x n) of the tile size (winograd_f2.cpp,
// winograd_f4.cpp). With U[xi][c][t] = (B^T d_{c,t} B)[xi] and
// V[xi][o][c] = (G g_{o,c} G^T)[xi] for the n^2 positions xi of a tile, the
// sum over input channels for all tiles t is n^2 GEMMs:
//   M[xi] (O x T) = V[xi] (O x C) U[xi] (C x T),   Y_{o,t} = A^T M_{o,t} A
// Backward (the adjoints of those three linear maps):
//   weight  dM_t = A dY_t A^T,  dV[xi] = sum_t dM[xi] U[xi]^T  (GEMM NT),
//           dW = G^T dV G
//   data    dU[xi] = V[xi]^T dM[xi] (the same dM; GEMM TN), then dx = the
//           sum over tiles of B dU_t B^T added back at each tile's
//           overlapping input window. (Before: this forward on dy with the
//           kernel rotated by 180 degrees, a second transform of dy's O
//           planes; M2 train +7 %, M3 +3.5 %, docs/benchmarks.md.)
// The batch is split across the threads; each processes chunks of images
// small enough (~512 KB of U and M, n^2 (C + O) floats per tile; one image
// for M2's conv2) that the GEMMs read what the transforms wrote from L2.
// The backward does dx, dW and db in one pass over the chunks.
//
// Accuracy: F(2x2, 3x3)'s transforms only add, subtract and halve, so the
// result differs from the direct sum by rounding only: y and dx as close as
// im2col's; dW, a sum over every tile, ~3x im2col's error (conv2d.h).
// F(4x4, 3x3)'s scale by up to 8 and 1/24: ~10x that (conv2d.h).
#pragma once

#include <cstdint>

#include <polygrad/nn/kernels/image_hooks.h>

namespace polygrad::nn::detail {

struct Winograd3x3 {
  int64_t N, C, H, W; // input (N, C, H, W)
  int64_t O;          // output channels; weight (O, C, 3, 3)
  int64_t ph, pw;     // padding, 0..2
  int m = 2;          // output tile m x m: 2 (F(2x2, 3x3)) or 4 (F(4x4, 3x3))
  int64_t OH() const { return H + 2 * ph - 2; }
  int64_t OW() const { return W + 2 * pw - 2; }
};

// y (N, O, OH, OW) = conv(x, w) + b (b may be null); with a sink
// (image_hooks.h), y is unused (may be null).
void winograd_forward(const Winograd3x3 &g, const float *x, const float *w, const float *b,
                      float *y, const ImageSink &sink = nullptr);
// The backward, in one pass over the batch (dy_n is read, or rebuilt by
// dy_of, once per image for both halves): dx (N, C, H, W), dw (O, C, 3, 3)
// and db (O) = dy summed over (n, i, j), each skipped when null; dy
// (N, O, OH, OW) or dy_of (then dy is unused); x is needed for dw, w for dx.
// Overwrites what it computes.
void winograd_backward(const Winograd3x3 &g, const float *dy, const float *x, const float *w,
                       float *dx, float *dw, float *db, const ImageSource &dy_of = nullptr);

} // namespace polygrad::nn::detail
