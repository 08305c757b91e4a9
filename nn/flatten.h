// Shape-only modules: Flatten (PyTorch's nn.Flatten, default start_dim = 1
// so the batch dim is kept) and Identity. Both are views: no copy when the
// input is contiguous, and the gradient is reshaped back.
#pragma once

#include <polygrad/nn/module.h>

namespace polygrad::nn {

class Flatten : public Module {
public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
      : start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor &x) override { return x.flatten(start_dim, end_dim); }
  std::string name() const override { return "Flatten"; }
  std::string extra_repr() const override {
    return "start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim);
  }
  int64_t start_dim, end_dim;
};

// Returns its input unchanged (a placeholder, e.g. an optional shortcut).
class Identity : public Module {
public:
  Tensor forward(const Tensor &x) override { return x; }
  std::string name() const override { return "Identity"; }
};

} // namespace polygrad::nn
