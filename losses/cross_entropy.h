// Cross-entropy on logits, PyTorch's F.cross_entropy.
//
//   hard labels y:      L_i = -w_y log p_y,          p = softmax(z_i)
//   with smoothing ls:  t = (1 - ls) onehot(y) + ls / C,  L_i = -sum_j w_j t_j log p_j
//   soft targets t:     L_i = -sum_j w_j t_j log p_j  (t: float (N, C) probabilities,
//                                                     smoothed the same way if ls > 0)
//   gradient:           dL_i/dz_j = (sum_k w_k t_k) p_j - w_j t_j   (= w_y (p_j - onehot_j))
//                       dL_i/dt_j = -w_j log p_j    (soft targets that require grad)
// Mean: hard labels divide by the sum of w_y over the non-ignored targets (NaN
// when all are ignored), soft targets divide by N. One fused graph node.
#pragma once

#include <polygrad/losses/common.h>

namespace polygrad::losses {

struct CrossEntropyOptions {
  Tensor weight{};             // (C) class weights; undefined = all ones
  int64_t ignore_index = -100; // hard labels equal to it are skipped
  float label_smoothing = 0.f; // in [0, 1]
  Reduction reduction = Reduction::Mean;
  // The schema (registry specs, nn::Loss printing and buffers): every field once.
  template <class O, class F> static void fields(O &o, F &&f) {
    f("weight", o.weight), f("ignore_index", o.ignore_index),
        f("label_smoothing", o.label_smoothing), f("reduction", o.reduction);
  }
};
void check_options(const CrossEntropyOptions &o); // label_smoothing in [0, 1], reduction

// input: (N, C) float logits; target: int64 labels (N) or float probabilities (N, C).
// K-dimensional: input (N, C, d1, ..., dk), labels (N, d1, ..., dk) or probabilities
// (N, C, d1, ..., dk); reduction none gives (N, d1, ..., dk) (docs/losses.md).
Tensor cross_entropy(const Tensor &input, const Tensor &target,
                     const CrossEntropyOptions &options = {});

} // namespace polygrad::losses
