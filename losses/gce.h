// Generalized cross-entropy (Zhang & Sabuncu, "Generalized Cross Entropy Loss
// for Training Deep Neural Networks with Noisy Labels", NeurIPS 2018):
//   L_i = w_y (1 - Pt^q) / q,      Pt = softmax(z)_y, q in (0, 1]
//   dL_i/dz = w_y Pt^q (softmax(z) - onehot(y))
// q -> 0 is cross-entropy (Pt^q = e^(q log Pt) ~ 1 + q log Pt), q = 1 is the
// mean absolute error 1 - Pt: q trades CE's fast fitting for MAE's
// robustness to noisy labels (the paper uses q = 0.7). Its expansion in
// 1 - Pt has leading coefficient 1 for every q (then (1-q)/2, (1-q)(2-q)/6,
// ...): GCE keeps CE's leading term and damps the others.
// Mean divides by sum w_y (as cross_entropy).
#pragma once

#include <polygrad/losses/common.h>

namespace polygrad::losses {

struct GCELossOptions {
  float q = 0.7f;              // in (0, 1]
  Tensor weight{};             // (C) class weights; undefined = all ones
  int64_t ignore_index = -100; // labels equal to it are skipped
  Reduction reduction = Reduction::Mean;
  // The schema (registry specs, nn::Loss printing and buffers): every field once.
  template <class O, class F> static void fields(O &o, F &&f) {
    f("q", o.q), f("weight", o.weight), f("ignore_index", o.ignore_index),
        f("reduction", o.reduction);
  }
};
void check_options(const GCELossOptions &o); // q in (0, 1], reduction

// input: (N, C) float logits; labels: (N) int64. K-dimensional: input (N, C, d1, ...,
// dk), labels (N, d1, ..., dk); reduction none gives (N, d1, ..., dk).
Tensor gce_loss(const Tensor &input, const Tensor &labels, const GCELossOptions &options = {});

} // namespace polygrad::losses
