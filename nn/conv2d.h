// 2-D convolution over NCHW tensors, PyTorch's nn.Conv2d (cross-correlation).
//
//   x: (N, C, H, W) or unbatched (C, H, W)     W: (C_out, C / groups, kh, kw)
//   b: (C_out)                                 y: (N, C_out, OH, OW)
//   OH = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1     (OW likewise)
//   y[n, o, i, j] = b[o] + sum_{c in group(o), p, q}
//                   W[o, c, p, q] x[n, c, i sh - ph + p dh, j sw - pw + q dw]
// (x is zero outside the image).
//
// Lowering (im2col + GEMM; the kernels are in nn/kernels/, internal; the
// GEMMs run on kernel::sgemm, polygrad's own SGEMM or OpenBLAS as
// POLYGRAD_GEMM / kernel::set_gemm_kernel choose, core/sgemm.h),
// per image n and group g, with col = im2col(x_n): (C/groups * kh * kw) x
// (OH * OW):
//   forward          y_n,g  = W_g col_g                     GEMM NN
//   backward-data    dcol_g = W_g^T dy_n,g ; dx_n = col2im(dcol)   GEMM TN
//   backward-weight  dW_g  += dy_n,g col_g^T                GEMM NT
//   bias             db[o]  = sum_{n, i, j} dy[n, o, i, j]
// col2im is im2col's adjoint (it adds overlapping windows back). A 1x1,
// stride-1, unpadded conv needs no im2col: col is x_n itself and dcol is dx_n.
// The batch is split across the OpenMP threads (each with its own col buffer
// and its own dW partial, the GEMMs single-threaded inside); below one image
// per thread the image loop is serial and each GEMM is split across threads
// instead. Buffers come from the caching allocator.
//
// A 3x3, stride-1, undilated, ungrouped conv with padding <= 2 (the "same"
// 3x3 conv of most CNNs) can instead run as Winograd F(m x m, 3x3)
// (nn/kernels/winograd.h), forward and both backward passes, through the
// same GEMMs:
//   F(2x2, 3x3)  16 products per 2x2 output tile instead of 36: 2.25x fewer
//                multiply-adds. Its transforms only add and halve, so it
//                differs from im2col by float rounding only (y and dx alike;
//                dW's error is ~3x im2col's: 9e-5 vs 3e-5 relative over
//                10,240-term sums, tests/test_nn_layers).
//   F(4x4, 3x3)  36 products per 4x4 tile instead of 144: 4x fewer (less
//                the spare tiles at the right edge and the tiles past an
//                output size not divisible by 4). Its transforms scale by up
//                to 8 and 1/24: ~10x F(2x2, 3x3)'s rounding error (y, dx
//                ~3e-4, dW ~5e-4 relative on the tests' 40-64-channel
//                convs), and they cost more per output. Measured (1 thread,
//                fwd + bwd, docs/benchmarks.md): 0.92x F(2x2)'s time on 32x32
//                images, 1.0x on 16x16, slower below. So opt-in only.
// conv_algorithm() picks:
//   Auto         F(2x2, 3x3) for such a conv with >= 16 input and output
//                channels (thinner GEMMs gain nothing), else im2col
//                                                               (the default)
//   Im2col       im2col for every conv
//   Winograd     F(2x2, 3x3) for every conv whose shape allows it
//   Winograd4x4  F(4x4, 3x3) likewise
// The environment variable POLYGRAD_CONV=auto|im2col|winograd|winograd4x4
// sets the initial choice (a bad value throws at the first conv, listing
// the valid ones); set_conv_algorithm() overrides it.
// A conv's backward uses the algorithm its forward used.
#pragma once

#include <optional>

#include <polygrad/nn/module.h>
#include <polygrad/nn/size2.h>

namespace polygrad::nn {

enum class ConvAlgorithm { Auto, Im2col, Winograd, Winograd4x4 };

// The im2col path splits the batch across the threads only when every thread
// gets an image (N >= threads) and the conv has at least this many
// multiply-adds (N * C_out * OH * OW * C_in / groups * kh * kw): below it the
// fork costs more than the second core saves, and each GEMM may still be
// split on its own (kernel::kGemmSplitFlops). Winograd splits the batch
// whenever N >= threads. Public so that tests size their convs from it.
inline constexpr double kConvParallelMacs = 2e5;
void set_conv_algorithm(ConvAlgorithm algorithm); // for every thread
ConvAlgorithm conv_algorithm();

namespace functional {
Tensor conv2d(const Tensor &x, const Tensor &weight, const Tensor &bias = Tensor(),
              Size2 stride = 1, Size2 padding = 0, Size2 dilation = 1, int64_t groups = 1);

// conv2d, relu and max-pool as ONE node:
//   y = max_pool2d(relu(conv2d(x, weight, bias, stride, padding, dilation, groups)),
//                  pool_kernel, pool_stride, pool_padding, pool_dilation, ceil_mode)
// Each image's conv output lives only in a per-thread buffer and is pooled
// while still in cache; the backward rebuilds that image's conv gradient (dy
// at each window's argmax where y > 0, relu_max_pool2d in pooling.h) in the
// same buffer right before its GEMMs. So the conv output, 4x the pooled size
// for 2x2 pooling, is never written to memory nor read back, in either pass.
// Values and gradients are bitwise those of the three ops in a row (both
// conv algorithms: Winograd hands over whole images too). nn::Sequential
// runs every Conv2d, ReLU, MaxPool2d sequence through it (nn/fusion.h).
Tensor conv2d_relu_max_pool2d(const Tensor &x, const Tensor &weight, const Tensor &bias,
                              Size2 stride, Size2 padding, Size2 dilation, int64_t groups,
                              Size2 pool_kernel, std::optional<Size2> pool_stride = {},
                              Size2 pool_padding = 0, Size2 pool_dilation = 1,
                              bool ceil_mode = false);
} // namespace functional

struct Conv2dOptions {
  Size2 stride = 1;
  Size2 padding = 0;
  Size2 dilation = 1;
  int64_t groups = 1;
  bool bias = true;
};

class Conv2d : public Module {
public:
  // Conv2d(3, 64, 3, {.padding = 1}). PyTorch's default init: W ~
  // kaiming_uniform_(a = sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)) and
  // b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C/groups * kh * kw.
  Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size, Conv2dOptions options = {});
  Tensor forward(const Tensor &x) override;
  std::string name() const override { return "Conv2d"; }
  // "1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)" (padding,
  // dilation, groups and bias shown only when not the default, as PyTorch).
  std::string extra_repr() const override;
  void reset_parameters();
  // forward's argument checks (a 3-D or 4-D input with in_channels channels);
  // the errors name the layer.
  void check_input(const Tensor &x) const;

  int64_t in_channels, out_channels;
  Size2 kernel_size;
  Conv2dOptions options;
  Tensor weight; // (out_channels, in_channels / groups, kh, kw)
  Tensor bias;   // (out_channels), undefined when options.bias is false
};

} // namespace polygrad::nn
