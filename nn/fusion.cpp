#include <polygrad/nn/fusion.h>

#include <typeinfo>

#include <polygrad/nn/activation.h>
#include <polygrad/nn/conv2d.h>
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
} // namespace

size_t fused_forward(const std::vector<std::shared_ptr<Module>> &mods, size_t i, const Tensor &x,
                     Tensor &y) {
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
