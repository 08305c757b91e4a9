// (internal) A 2-D convolution's geometry as its kernels see it (im2col.h,
// conv_gemm.h): sizes, stride, padding, dilation and groups, already checked
// by nn/conv2d.cpp. Not part of the public API.
#pragma once

#include <cstdint>

namespace polygrad::nn::detail {

struct ConvGeom {
  int64_t N, C, H, W; // input
  int64_t O, kh, kw;  // output channels, kernel
  int64_t sh, sw, ph, pw, dh, dw, G;
  int64_t OH, OW;
  int64_t Cg() const { return C / G; }          // input channels per group
  int64_t Og() const { return O / G; }          // output channels per group
  int64_t Kg() const { return Cg() * kh * kw; } // GEMM K per group
  int64_t L() const { return OH * OW; }         // output pixels per image
  int64_t K() const { return C * kh * kw; }     // rows of col
  // 1x1, stride 1, no padding: col = x_n, no im2col needed.
  bool direct() const { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
  // Whether Winograd F(2x2, 3x3) (winograd.h) can run this conv.
  bool winograd_fits() const {
    return kh == 3 && kw == 3 && sh == 1 && sw == 1 && dh == 1 && dw == 1 && G == 1 && ph <= 2 &&
           pw <= 2;
  }
};

} // namespace polygrad::nn::detail
