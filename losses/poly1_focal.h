// Poly-1 focal loss (PolyLoss paper, eq. 4), softmax form: the focal loss's
// series is sum_j (1-Pt)^(j+gamma) / j; Poly-1 adds eps to its leading term:
//   L_i = alpha_y (-(1 - Pt)^gamma log Pt + eps (1 - Pt)^(gamma+1))
//   dL_i/dz = alpha_y q^gamma (1 - gamma Pt l / q + eps (gamma + 1) Pt) (softmax(z) - onehot(y))
// with l = log Pt, q = 1 - Pt = -expm1(l) (see focal.h for why this is finite).
// eps = 0 is exactly focal_loss; gamma = 0 is Poly-1 cross-entropy.
// eps < -1 and gamma < 0 are rejected. Mean divides by sum alpha_y.
#pragma once

#include <polygrad/losses/common.h>

namespace polygrad::losses {

struct Poly1FocalLossOptions {
  float epsilon = 1.f; // >= -1
  float gamma = 2.f;   // >= 0
  Tensor alpha{};      // (C) per-class weights; undefined = all ones
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::Mean;
};
void check_options(const Poly1FocalLossOptions &o);

// input: (N, C) float logits; labels: (N) int64.
Tensor poly1_focal_loss(const Tensor &input, const Tensor &labels,
                        const Poly1FocalLossOptions &options = {});

} // namespace polygrad::losses
