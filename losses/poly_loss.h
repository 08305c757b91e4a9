// Poly-N loss (PolyLoss paper, eq. 2): cross-entropy plus the first N terms
// of its Taylor series in (1 - Pt), perturbed:
//   L_i = w_y (-log Pt + sum_{j=1..N} eps_j (1 - Pt)^j)
//   dL_i/dz = w_y (1 + Pt sum_j j eps_j (1 - Pt)^(j-1)) (softmax(z) - onehot(y))
// so the coefficient of (1 - Pt)^j becomes 1/j + eps_j. Each must stay >= 0
// (eps_j >= -1/j; for j = 1 that is Poly-1's eps >= -1), otherwise the loss
// would reward lower confidence. Poly-N with epsilons {e} is Poly-1 with e.
// Mean divides by the sum of w_y over non-ignored labels (like cross_entropy).
#pragma once

#include <vector>

#include <polygrad/losses/common.h>

namespace polygrad::losses {

struct PolyLossOptions {
  std::vector<float> epsilons = {1.f, 0.5f}; // eps_1 .. eps_N, N >= 1
  Tensor weight{};                           // (C) class weights; undefined = all ones
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::Mean;
  // The schema (registry specs, nn::Loss printing and buffers): every field once.
  template <class O, class F> static void fields(O &o, F &&f) {
    f("epsilons", o.epsilons), f("weight", o.weight), f("ignore_index", o.ignore_index),
        f("reduction", o.reduction);
  }
};
void check_options(const PolyLossOptions &o);

// input: (N, C) float logits; labels: (N) int64. K-dimensional: input (N, C, d1, ...,
// dk), labels (N, d1, ..., dk); reduction none gives (N, d1, ..., dk).
Tensor poly_loss(const Tensor &input, const Tensor &labels, const PolyLossOptions &options = {});

} // namespace polygrad::losses
