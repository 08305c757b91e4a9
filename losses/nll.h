// Negative log-likelihood on log-probabilities, PyTorch's F.nll_loss:
//   L_i = -w_y x_{i,y}      dL_i/dx_{i,j} = -w_y onehot_j(y)
// Mean divides by the sum of w_y over the non-ignored targets (NaN if none).
#pragma once

#include <polygrad/losses/common.h>

namespace polygrad::losses {

struct NLLLossOptions {
  Tensor weight{};             // (C) class weights; undefined = all ones
  int64_t ignore_index = -100; // labels equal to it are skipped
  Reduction reduction = Reduction::Mean;
  // The schema (registry specs, nn::Loss printing and buffers): every field once.
  template <class O, class F> static void fields(O &o, F &&f) {
    f("weight", o.weight), f("ignore_index", o.ignore_index), f("reduction", o.reduction);
  }
};
void check_options(const NLLLossOptions &o);

// input: (N, C) float log-probabilities; labels: (N) int64. K-dimensional: input (N, C,
// d1, ..., dk), labels (N, d1, ..., dk); reduction none gives (N, d1, ..., dk).
Tensor nll_loss(const Tensor &input, const Tensor &labels, const NLLLossOptions &options = {});

} // namespace polygrad::losses
