// Binary cross-entropy on logits, PyTorch's F.binary_cross_entropy_with_logits:
//   L = -w (pw t log sigmoid(x) + (1 - t) log sigmoid(-x))
//   dL/dx = w (sigmoid(x) (pw t + 1 - t) - pw t)
//   dL/dt = w (log sigmoid(-x) - pw log sigmoid(x))     (targets that require grad)
// log sigmoid is computed as min(x, 0) - log1p(exp(-|x|)): finite for any
// finite x. `weight` and `pos_weight` broadcast to the input's shape
// (pos_weight typically has shape (C)). Mean averages over all elements.
// Non-finite logits as PyTorch: x = -inf gives a NaN loss for every target
// (PyTorch's (1 - t) x - (pw t + 1 - t) log sigmoid(x) is -inf + inf), x = +inf
// gives inf (NaN at t = 1); the gradient stays sigmoid(x) (pw t + 1 - t) - pw t.
#pragma once

#include <polygrad/losses/common.h>

namespace polygrad::losses {

struct BCEWithLogitsOptions {
  Tensor weight{};     // broadcast to the input; undefined = 1
  Tensor pos_weight{}; // weight of positive targets, broadcast to the input; undefined = 1
  Reduction reduction = Reduction::Mean;
  // The schema (registry specs, nn::Loss printing and buffers): every field once.
  template <class O, class F> static void fields(O &o, F &&f) {
    f("weight", o.weight), f("pos_weight", o.pos_weight), f("reduction", o.reduction);
  }
};
void check_options(const BCEWithLogitsOptions &o);

// input: float logits of any shape; targets: float, same shape.
Tensor binary_cross_entropy_with_logits(const Tensor &input, const Tensor &targets,
                                        const BCEWithLogitsOptions &options = {});

} // namespace polygrad::losses
