// Softmax focal loss (Lin et al. 2017, multi-class form):
//   L_i = -alpha_y (1 - Pt)^gamma log Pt,      Pt = softmax(z)_y, l = log Pt, q = 1 - Pt
//   dL_i/dz = alpha_y q^gamma (1 - gamma Pt l / q) (softmax(z) - onehot(y))
// q is computed as -expm1(l) and l / q -> -1 as q -> 0, so the gradient never
// forms q^(gamma-1): it stays finite for 0 < gamma < 1 at saturated logits,
// where composed implementations produce NaN. gamma = 0 is exactly
// cross_entropy with weight = alpha. alpha is a per-class weight vector and
// behaves like cross_entropy's weight (mean divides by sum alpha_y).
#pragma once

#include <polygrad/losses/common.h>

namespace polygrad::losses {

struct FocalLossOptions {
  float gamma = 2.f; // >= 0
  Tensor alpha{};    // (C) per-class weights; undefined = all ones
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::Mean;
  // The schema (registry specs, nn::Loss printing and buffers): every field once.
  template <class O, class F> static void fields(O &o, F &&f) {
    f("gamma", o.gamma), f("alpha", o.alpha), f("ignore_index", o.ignore_index),
        f("reduction", o.reduction);
  }
};
void check_options(const FocalLossOptions &o);

// input: (N, C) float logits; labels: (N) int64. K-dimensional: input (N, C, d1, ...,
// dk), labels (N, d1, ..., dk); reduction none gives (N, d1, ..., dk).
Tensor focal_loss(const Tensor &input, const Tensor &labels, const FocalLossOptions &options = {});

} // namespace polygrad::losses
