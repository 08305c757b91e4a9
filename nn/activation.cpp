#include <polygrad/nn/activation.h>

#include <cmath>
#include <cstdio>

#include <polygrad/autograd/node.h>
#include <polygrad/core/elementwise.h>

namespace polygrad::nn {
namespace functional {

namespace {
constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;  // 1 / sqrt(2 pi)
constexpr float kSqrt2OverPi = 0.79788456080286536f; // sqrt(2 / pi)
constexpr float kGeluC = 0.044715f;
} // namespace

Tensor leaky_relu(const Tensor &x, double negative_slope) {
  const float a = float(negative_slope);
  Tensor y = kernel::map(x, "leaky_relu", [a](float v) { return v > 0.f ? v : a * v; });
  if (needs_grad({x}))
    // d/dx = 1 if x > 0 else a (the sign of x is the sign of y for a > 0, but
    // not for a <= 0, so x itself is saved)
    record("LeakyReluBackward", y, {x}, [sx = SavedTensor(x), a](const Tensor &g) {
      return grads{kernel::zip(g, sx.get(), "leaky_relu_backward",
                               [a](float gv, float v) { return v > 0.f ? gv : a * gv; })};
    });
  return y;
}

Tensor gelu(const Tensor &x, const std::string &approximate) {
  PG_CHECK(approximate == "none" || approximate == "tanh", "gelu: approximate must be \"none\" ",
           "or \"tanh\", got \"", approximate, "\"");
  const bool tanh_form = approximate == "tanh";
  Tensor y = tanh_form ? kernel::map(x, "gelu",
                                     [](float v) {
                                       const float u = kSqrt2OverPi * (v + kGeluC * v * v * v);
                                       return 0.5f * v * (1.f + std::tanh(u));
                                     })
                       : kernel::map(x, "gelu", [](float v) {
                           return 0.5f * v * (1.f + std::erf(v * kInvSqrt2));
                         });
  if (needs_grad({x}))
    record("GeluBackward", y, {x}, [sx = SavedTensor(x), tanh_form](const Tensor &g) {
      if (tanh_form)
        return grads{kernel::zip(g, sx.get(), "gelu_backward", [](float gv, float v) {
          const float u = kSqrt2OverPi * (v + kGeluC * v * v * v);
          const float t = std::tanh(u);
          const float du = kSqrt2OverPi * (1.f + 3.f * kGeluC * v * v);
          return gv * (0.5f * (1.f + t) + 0.5f * v * (1.f - t * t) * du);
        })};
      // d/dx x Phi(x) = Phi(x) + x phi(x)
      return grads{kernel::zip(g, sx.get(), "gelu_backward", [](float gv, float v) {
        const float cdf = 0.5f * (1.f + std::erf(v * kInvSqrt2));
        const float pdf = kInvSqrt2Pi * std::exp(-0.5f * v * v);
        return gv * (cdf + v * pdf);
      })};
    });
  return y;
}

Tensor silu(const Tensor &x) {
  Tensor y = kernel::map(x, "silu", [](float v) { return v / (1.f + std::exp(-v)); });
  if (needs_grad({x}))
    // d/dx x s(x) = s + x s (1 - s) = s (1 + x (1 - s))
    record("SiluBackward", y, {x}, [sx = SavedTensor(x)](const Tensor &g) {
      return grads{kernel::zip(g, sx.get(), "silu_backward", [](float gv, float v) {
        const float s = 1.f / (1.f + std::exp(-v));
        return gv * s * (1.f + v * (1.f - s));
      })};
    });
  return y;
}

} // namespace functional

Tensor LeakyReLU::forward(const Tensor &x) { return functional::leaky_relu(x, negative_slope); }

std::string LeakyReLU::extra_repr() const {
  char buf[48];
  std::snprintf(buf, sizeof buf, "negative_slope=%g", negative_slope);
  return buf;
}

GELU::GELU(std::string approx) : approximate(std::move(approx)) {
  PG_CHECK(approximate == "none" || approximate == "tanh",
           "GELU: approximate must be \"none\" or \"tanh\", got \"", approximate, "\"");
}

Tensor GELU::forward(const Tensor &x) { return functional::gelu(x, approximate); }

} // namespace polygrad::nn
