// Activation functions, PyTorch's nn.ReLU, LeakyReLU, GELU, SiLU, Sigmoid,
// Tanh, Softmax and LogSoftmax. Each fused functional op is one element-wise
// pass forward and one backward (no chain of small ops):
//   leaky_relu(x) = x if x > 0 else a x          d = 1 if x > 0 else a
//   gelu(x)       = x Phi(x) = x/2 (1 + erf(x / sqrt 2))     ("none", exact)
//                   d = Phi(x) + x phi(x),  phi(x) = exp(-x^2/2) / sqrt(2 pi)
//   gelu tanh     = x/2 (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
//                   d = (1 + t)/2 + x/2 (1 - t^2) sqrt(2/pi) (1 + 3 0.044715 x^2)
//   silu(x)       = x sigmoid(x)                 d = s (1 + x (1 - s))
// relu, sigmoid, tanh, softmax and log_softmax are the tensor ops of
// core/tensor.h (already fused with their backward).
#pragma once

#include <string>

#include <polygrad/nn/module.h>

namespace polygrad::nn {

namespace functional {
Tensor leaky_relu(const Tensor &x, double negative_slope = 0.01);
// approximate: "none" (exact erf form, PyTorch's default) or "tanh".
Tensor gelu(const Tensor &x, const std::string &approximate = "none");
Tensor silu(const Tensor &x);
} // namespace functional

class ReLU : public Module {
public:
  Tensor forward(const Tensor &x) override { return relu(x); }
  std::string name() const override { return "ReLU"; }
};

class LeakyReLU : public Module {
public:
  explicit LeakyReLU(double negative_slope = 0.01) : negative_slope(negative_slope) {}
  Tensor forward(const Tensor &x) override;
  std::string name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override; // "negative_slope=0.01"
  double negative_slope;
};

class GELU : public Module {
public:
  explicit GELU(std::string approximate = "none");
  Tensor forward(const Tensor &x) override;
  std::string name() const override { return "GELU"; }
  std::string extra_repr() const override { return "approximate='" + approximate + "'"; }
  std::string approximate;
};

class SiLU : public Module {
public:
  Tensor forward(const Tensor &x) override { return functional::silu(x); }
  std::string name() const override { return "SiLU"; }
};

class Sigmoid : public Module {
public:
  Tensor forward(const Tensor &x) override { return sigmoid(x); }
  std::string name() const override { return "Sigmoid"; }
};

class Tanh : public Module {
public:
  Tensor forward(const Tensor &x) override { return tanh(x); }
  std::string name() const override { return "Tanh"; }
};

// softmax along `dim` (no implicit dim: PyTorch deprecated it).
class Softmax : public Module {
public:
  explicit Softmax(int64_t dim) : dim(dim) {}
  Tensor forward(const Tensor &x) override { return softmax(x, dim); }
  std::string name() const override { return "Softmax"; }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim); }
  int64_t dim;
};

class LogSoftmax : public Module {
public:
  explicit LogSoftmax(int64_t dim) : dim(dim) {}
  Tensor forward(const Tensor &x) override { return log_softmax(x, dim); }
  std::string name() const override { return "LogSoftmax"; }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim); }
  int64_t dim;
};

} // namespace polygrad::nn
