#include <polygrad/nn/fusion.h>

#include <cmath>
#include <typeinfo>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/nn/activation.h>
#include <polygrad/nn/batchnorm.h>
#include <polygrad/nn/conv2d.h>
#include <polygrad/nn/linear.h>
#include <polygrad/nn/pooling.h>

namespace polygrad::nn::detail {
namespace {
template <class M> const M *exactly(const std::vector<std::shared_ptr<Module>> &mods, size_t i) {
  if (i >= mods.size())
    return nullptr;
  // typeid of a reference, not of *mods[i]: clang warns that the latter's
  // operand (operator* of shared_ptr) is evaluated.
  const Module &m = *mods[i];
  return typeid(m) == typeid(M) ? static_cast<const M *>(&m) : nullptr;
}
// A BatchNorm2d that only applies its running statistics, under no_grad:
// foldable into the conv before it.
bool foldable(const BatchNorm2d *bn) {
  return bn && !bn->is_training() && bn->options.track_running_stats && !is_grad_enabled();
}

// The conv's weight and bias with the eval-mode BatchNorm after it folded in:
//   s[o] = gamma[o] / sqrt(running_var[o] + eps)
//   W'[o] = W[o] s[o],   b'[o] = (b[o] - running_mean[o]) s[o] + beta[o]
// (in double, then rounded once), so conv'(x) = bn(conv(x)) up to rounding.
std::pair<Tensor, Tensor> fold_batch_norm(const Conv2d &conv, const BatchNorm2d &bn) {
  const Tensor w = conv.weight.contiguous();
  const int64_t out = w.size(0), per = w.numel() / out;
  PG_CHECK(bn.num_features == out, bn.name(), "(", bn.extra_repr(), ") after ", conv.name(),
           " with ", out, " output channels");
  Tensor fw = Tensor::empty(w.shape()), fb = Tensor::empty({out});
  const float *pw = w.data<float>(), *rm = bn.running_mean.data<float>(),
              *rv = bn.running_var.data<float>();
  const float *gamma = bn.weight.defined() ? bn.weight.data<float>() : nullptr;
  const float *beta = bn.bias.defined() ? bn.bias.data<float>() : nullptr;
  const Tensor b = conv.bias.defined() ? conv.bias.contiguous() : Tensor();
  float *pfw = fw.data<float>(), *pfb = fb.data<float>();
  for (int64_t o = 0; o < out; ++o) {
    const double s = (gamma ? gamma[o] : 1.0) / std::sqrt(double(rv[o]) + bn.options.eps);
    for (int64_t k = 0; k < per; ++k)
      pfw[o * per + k] = float(pw[o * per + k] * s);
    const double bias = b.defined() ? b.data<float>()[o] : 0.0;
    pfb[o] = float((bias - rm[o]) * s + (beta ? beta[o] : 0.0));
  }
  return {fw, fb};
}

} // namespace

size_t fused_forward(const std::vector<std::shared_ptr<Module>> &mods, size_t i, const Tensor &x,
                     Tensor &y) {
  // Inference: Conv2d, BatchNorm2d [, ReLU [, MaxPool2d]] -> one conv with
  // the statistics folded into its weights (then the fused conv-ReLU-pool).
  if (const auto *conv = exactly<Conv2d>(mods, i); conv) {
    const auto *bn = exactly<BatchNorm2d>(mods, i + 1);
    if (foldable(bn)) {
      conv->check_input(x);
      const auto [w, b] = fold_batch_norm(*conv, *bn);
      const Conv2dOptions &o = conv->options;
      const auto *relu = exactly<ReLU>(mods, i + 2);
      const auto *pool = relu ? exactly<MaxPool2d>(mods, i + 3) : nullptr;
      if (pool) {
        y = functional::conv2d_relu_max_pool2d(x, w, b, o.stride, o.padding, o.dilation, o.groups,
                                               pool->kernel_size, pool->stride, pool->padding,
                                               pool->dilation, pool->ceil_mode);
        return 4;
      }
      y = functional::conv2d(x, w, b, o.stride, o.padding, o.dilation, o.groups);
      if (relu)
        y = polygrad::relu(y);
      return relu ? 3 : 2;
    }
  }
  // BatchNorm1d/2d, ReLU (not before a MaxPool2d, where the ReLU goes into
  // the pooling instead, below, and the backward needs no output mask).
  // (forward_relu updates the running statistics: the module itself, not a
  // const view of it.)
  if ((exactly<BatchNorm2d>(mods, i) || exactly<BatchNorm1d>(mods, i)) &&
      exactly<ReLU>(mods, i + 1) && !exactly<MaxPool2d>(mods, i + 2)) {
    y = static_cast<BatchNormBase &>(*mods[i]).forward_relu(x);
    return 2;
  }
  // Linear, ReLU -> one node, the ReLU in the GEMM's epilogue.
  if (const auto *lin = exactly<Linear>(mods, i); lin && exactly<ReLU>(mods, i + 1)) {
    y = lin->forward_relu(x);
    return 2;
  }
  const auto *conv = exactly<Conv2d>(mods, i);
  const auto *relu_at = exactly<ReLU>(mods, conv ? i + 1 : i);
  const auto *pool = exactly<MaxPool2d>(mods, conv ? i + 2 : i + 1);
  if (!relu_at || !pool)
    return 0;
  if (conv) {
    conv->check_input(x);
    const Conv2dOptions &o = conv->options;
    y = functional::conv2d_relu_max_pool2d(x, conv->weight, conv->bias, o.stride, o.padding,
                                           o.dilation, o.groups, pool->kernel_size, pool->stride,
                                           pool->padding, pool->dilation, pool->ceil_mode);
    return 3;
  }
  y = functional::relu_max_pool2d(x, pool->kernel_size, pool->stride, pool->padding, pool->dilation,
                                  pool->ceil_mode);
  return 2;
}

} // namespace polygrad::nn::detail
