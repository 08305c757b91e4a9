#include <polygrad/nn/fusion.h>

#include <typeinfo>

#include <polygrad/nn/activation.h>
#include <polygrad/nn/pooling.h>

namespace polygrad::nn::detail {

bool fused_forward(const Module &a, const Module &b, const Tensor &x, Tensor &y) {
  if (typeid(a) == typeid(ReLU) && typeid(b) == typeid(MaxPool2d)) {
    const auto &p = static_cast<const MaxPool2d &>(b);
    y = functional::relu_max_pool2d(x, p.kernel_size, p.stride, p.padding, p.dilation, p.ceil_mode);
    return true;
  }
  return false;
}

} // namespace polygrad::nn::detail
