// (internal) Per-image hooks for fused epilogues (conv_pool.h, behind
// nn/conv2d.cpp's conv2d_relu_max_pool2d), taken by both conv algorithms
// (conv_gemm.h's im2col drivers and winograd.h). Not part of the public API.
//
// A sink receives image n's conv output y_n (O x OH x OW) from `worker`'s
// buffer right after it is computed, instead of it being written to a batch
// tensor. A source returns image n's dy_n, computed into `buf` (O x OH x OW
// floats of `worker`'s) or pointing elsewhere. Workers are OpenMP threads
// 0..T-1; calls for one worker are sequential.
#pragma once

#include <cstdint>
#include <functional>

namespace polygrad::nn::detail {

using ImageSink = std::function<void(int worker, int64_t n, const float *yn)>;
using ImageSource = std::function<const float *(int worker, int64_t n, float *buf)>;

} // namespace polygrad::nn::detail
