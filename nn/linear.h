// Linear (fully connected) layer, PyTorch's nn.Linear.
//
//   y = x W^T + b      x: (*, in_features)   W: (out_features, in_features)
//                      b: (out_features)     y: (*, out_features)
//
// One fused autograd node (three GEMMs on kernel::sgemm, no transposed
// copies), with the leading dims of x flattened to R rows:
//   forward   y  = x W^T + b     GEMM NT: (R x in) (in x out), the bias added
//                                by the GEMM's epilogue (no pass over y)
//   backward  dX = dY W          GEMM NN: (R x out) (out x in)
//             dW = dY^T X        GEMM TN: (out x R) (R x in)
//             db = sum_rows dY
// Only the gradients some input needs are computed (no dX for a first layer).
// linear_relu is relu(linear(x)) as one node: the ReLU applied by the same
// epilogue, and dY masked by y > 0 before the three products (an MLP's
// hidden layer; nn::Sequential uses it for Linear followed by ReLU).
#pragma once

#include <polygrad/nn/module.h>

namespace polygrad::nn {

namespace functional {
// y = x W^T + b; b may be undefined (no bias).
Tensor linear(const Tensor &x, const Tensor &weight, const Tensor &bias = Tensor());
// y = relu(x W^T + b): the same values and gradients as relu(linear(...)),
// bitwise (NaN included), in one node.
Tensor linear_relu(const Tensor &x, const Tensor &weight, const Tensor &bias = Tensor());
} // namespace functional

class Linear : public Module {
public:
  // PyTorch's default init: W ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_
  // with a = sqrt(5)) and b ~ U(-1/sqrt(in), 1/sqrt(in)), drawn from the
  // global generator (manual_seed makes it reproducible).
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor &x) override;
  // relu(forward(x)) as one node (functional::linear_relu).
  Tensor forward_relu(const Tensor &x) const;
  // Throws unless x's last dim is in_features (naming the layer and shapes).
  void check_input(const Tensor &x) const;
  std::string name() const override { return "Linear"; }
  // "in_features=784, out_features=512, bias=true"
  std::string extra_repr() const override;
  // Re-draws weight and bias with the default init.
  void reset_parameters();

  int64_t in_features, out_features;
  Tensor weight; // (out_features, in_features)
  Tensor bias;   // (out_features), undefined when bias=false
};

} // namespace polygrad::nn
