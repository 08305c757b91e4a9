// 2-D pooling over (N, C, H, W) or unbatched (C, H, W) tensors, PyTorch's
// MaxPool2d, AvgPool2d and AdaptiveAvgPool2d. Each (n, c) plane is pooled on
// its own; the planes are split across OpenMP threads.
//
// Output size (max and average pooling), per spatial dim:
//   out = floor((in + 2 pad - dil (k - 1) - 1) / stride) + 1      (floor mode)
//   ceil_mode rounds up instead, but the last window must start inside the
//   input or the left padding. pad <= k / 2 (as PyTorch); stride defaults to k.
//
// max_pool2d: y = max over the window (padding never wins; NaN propagates;
//   ties go to the first element in row-major order). The argmax of each
//   window is saved, and backward routes dy there: dx[argmax] += dy.
// relu_max_pool2d(x) = max_pool2d(relu(x)) in one pass and one graph node.
//   Exact, NaN included, because relu is monotone: max(relu(x)) =
//   relu(max(x)), so the window's argmax is found on x itself and
//   y = relu(max). Backward: dx[argmax] = dy where y > 0 or y is NaN (relu'
//   = [x > 0], PyTorch's NaN passes), 0 elsewhere. It saves relu's pass over
//   the (4x larger) input and its backward pass; nn::Sequential uses it for
//   every ReLU directly followed by a MaxPool2d.
// Both keep each window's argmax for backward only when a gradient will be
// wanted (grad mode on and x requiring grad); in inference they write y alone.
// avg_pool2d: y = sum(window inside the input) / divisor, where divisor is
//   divisor_override if given, else the window clipped to the padded input
//   (count_include_pad=true, PyTorch's default) or to the input itself.
//   Backward: dx[window] += dy / divisor.
// adaptive_avg_pool2d: output cell (i, j) averages rows
//   [floor(i H / OH), ceil((i + 1) H / OH)) and the matching columns; the
//   backward spreads dy / area over the same cells. Output (1, 1) is global
//   average pooling.
#pragma once

#include <optional>

#include <polygrad/nn/module.h>
#include <polygrad/nn/size2.h>

namespace polygrad::nn {

namespace functional {
Tensor max_pool2d(const Tensor &x, Size2 kernel_size, std::optional<Size2> stride = {},
                  Size2 padding = 0, Size2 dilation = 1, bool ceil_mode = false);
Tensor relu_max_pool2d(const Tensor &x, Size2 kernel_size, std::optional<Size2> stride = {},
                       Size2 padding = 0, Size2 dilation = 1, bool ceil_mode = false);
Tensor avg_pool2d(const Tensor &x, Size2 kernel_size, std::optional<Size2> stride = {},
                  Size2 padding = 0, bool ceil_mode = false, bool count_include_pad = true,
                  std::optional<int64_t> divisor_override = {});
Tensor adaptive_avg_pool2d(const Tensor &x, Size2 output_size);
} // namespace functional

class MaxPool2d : public Module {
public:
  MaxPool2d(Size2 kernel_size, std::optional<Size2> stride = {}, Size2 padding = 0,
            Size2 dilation = 1, bool ceil_mode = false);
  Tensor forward(const Tensor &x) override;
  std::string name() const override { return "MaxPool2d"; }
  // "kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=false"
  std::string extra_repr() const override;
  Size2 kernel_size, stride, padding, dilation;
  bool ceil_mode;
};

class AvgPool2d : public Module {
public:
  AvgPool2d(Size2 kernel_size, std::optional<Size2> stride = {}, Size2 padding = 0,
            bool ceil_mode = false, bool count_include_pad = true,
            std::optional<int64_t> divisor_override = {});
  Tensor forward(const Tensor &x) override;
  std::string name() const override { return "AvgPool2d"; }
  // "kernel_size=2, stride=2, padding=0"
  std::string extra_repr() const override;
  Size2 kernel_size, stride, padding;
  bool ceil_mode, count_include_pad;
  std::optional<int64_t> divisor_override;
};

class AdaptiveAvgPool2d : public Module {
public:
  explicit AdaptiveAvgPool2d(Size2 output_size);
  Tensor forward(const Tensor &x) override;
  std::string name() const override { return "AdaptiveAvgPool2d"; }
  // "output_size=1" or "output_size=(2, 3)"
  std::string extra_repr() const override;
  Size2 output_size;
};

} // namespace polygrad::nn
