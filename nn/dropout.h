// Dropout, PyTorch's nn.Dropout: in training, each element is zeroed with
// probability p and the survivors are scaled by 1 / (1 - p), so the expected
// value is unchanged; in eval it is the identity.
//   y = x * mask,  mask_i = (u_i >= p) / (1 - p),  u_i ~ U[0, 1)
//   dx = dy * mask
// The mask is drawn serially from the global generator (32 random bits per
// element), so manual_seed makes it reproducible for any thread count.
#pragma once

#include <polygrad/nn/module.h>

namespace polygrad::nn {

namespace functional {
// p in [0, 1]; with training = false or p = 0 the input is returned as is.
Tensor dropout(const Tensor &x, double p = 0.5, bool training = true);
} // namespace functional

class Dropout : public Module {
public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor &x) override;
  std::string name() const override { return "Dropout"; }
  std::string extra_repr() const override; // "p=0.5, inplace=false"
  double p;
};

} // namespace polygrad::nn
