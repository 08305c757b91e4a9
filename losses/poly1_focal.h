// Poly-1 focal loss (PolyLoss paper, eq. 4), softmax form: the focal loss's
// series is sum_j (1-Pt)^(j+gamma) / j; Poly-1 adds eps to its leading term:
//   L_i = alpha_y (-(1 - Pt)^gamma log Pt + eps (1 - Pt)^(gamma+1))
//   dL_i/dz = alpha_y q^gamma (1 - gamma Pt l / q + eps (gamma + 1) Pt) (softmax(z) - onehot(y))
// with l = log Pt, q = 1 - Pt = -expm1(l) (see focal.h for why this is finite).
// eps = 0 is exactly focal_loss; gamma = 0 is Poly-1 cross-entropy.
// eps < -1 and gamma < 0 are rejected.
//
// Where alpha (per-class weights) goes, `alpha_on_poly`:
//   true (default)  L_i = alpha_y (FL_i + eps q^(gamma+1)), mean over sum alpha_y.
//                   Poly-1 CE's default `Both` weighting: alpha scales the whole
//                   series, so the leading coefficient is alpha_y (1 + eps) and
//                   eps = -1 removes the leading term for any alpha (the paper's
//                   reading of eps as a relative change of that coefficient).
//   false           L_i = alpha_y FL_i + eps q^(gamma+1), mean over the count of
//                   non-ignored rows: the PolyLoss paper's code (and
//                   abhuse/polyloss-pytorch) adds the eps term unweighted to the
//                   alpha-weighted focal loss and takes a plain mean, as
//                   poly1_sigmoid_focal_loss does by default and Poly-1 CE's
//                   `CrossEntropyOnly`. Leading coefficient alpha_y + eps.
//   dL_i/dz = q^gamma (alpha_y (1 - gamma Pt l / q) + e_y (gamma + 1) Pt) (softmax(z) - onehot(y)),
//   e_y = eps alpha_y or eps. Without alpha the two are identical.
// The softmax form keeps alpha on the eps term by default because here alpha
// is a class weight (like cross_entropy's `weight`, whose weighted mean it
// follows); in the sigmoid form it is torchvision's positive/negative balance.
#pragma once

#include <polygrad/losses/common.h>

namespace polygrad::losses {

struct Poly1FocalLossOptions {
  float epsilon = 1.f; // >= -1
  float gamma = 2.f;   // >= 0
  Tensor alpha{};      // (C) per-class weights; undefined = all ones
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::Mean;
  bool alpha_on_poly = true; // weight the eps term by alpha_y too (see above)
  // The schema (registry specs, nn::Loss printing and buffers): every field once.
  template <class O, class F> static void fields(O &o, F &&f) {
    f("epsilon", o.epsilon), f("gamma", o.gamma), f("alpha", o.alpha),
        f("alpha_on_poly", o.alpha_on_poly), f("ignore_index", o.ignore_index),
        f("reduction", o.reduction);
  }
};
void check_options(const Poly1FocalLossOptions &o);

// input: (N, C) float logits; labels: (N) int64. K-dimensional: input (N, C, d1, ...,
// dk), labels (N, d1, ..., dk); reduction none gives (N, d1, ..., dk).
Tensor poly1_focal_loss(const Tensor &input, const Tensor &labels,
                        const Poly1FocalLossOptions &options = {});

} // namespace polygrad::losses
