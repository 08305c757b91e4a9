// Sigmoid (binary / multi-label) focal loss, torchvision.ops.sigmoid_focal_loss,
// and its Poly-1 form (PolyLoss paper, as used for detection), per element of
// logits x and targets t in [0, 1] (one-hot or multi-label, same shape):
//   p = sigmoid(x), ce = -(pw t log p + (1 - t) log(1 - p))   (pw = pos_weight, default 1)
//   q = 1 - p_t = t (1 - p) + (1 - t) p,  alpha_t = alpha t + (1 - alpha)(1 - t) (1 if alpha < 0)
//   sigmoid focal:  L = alpha_t ce q^gamma
//   Poly-1:         L = alpha_t ce q^gamma + eps [alpha_t if alpha_on_poly] q^(gamma+1)
// Gradient (dq/dx = (1 - 2t) p (1 - p), and p (1 - p) / q <= 1 is formed
// directly, so no q^(gamma-1) appears):
//   dL/dx = alpha_t q^gamma (dce/dx + gamma ce (1 - 2t) p (1 - p) / q)
//           + eps' (gamma + 1) q^gamma (1 - 2t) p (1 - p),
//   dce/dx = p (pw t + 1 - t) - pw t.
// log p and log(1 - p) are log-sigmoids (finite for any finite x). gamma = 0
// with alpha < 0 is exactly binary_cross_entropy_with_logits; eps = 0 is exactly
// sigmoid_focal_loss. Mean averages over all elements. ce is
// binary_cross_entropy_with_logits's, so a logit of -inf gives a NaN loss (bce.h).
#pragma once

#include <polygrad/losses/common.h>

namespace polygrad::losses {

struct SigmoidFocalLossOptions {
  float alpha = 0.25f; // weight of the positives in [0, 1]; < 0 disables
  float gamma = 2.f;   // >= 0
  Reduction reduction = Reduction::Mean;
  // The schema (registry specs, nn::Loss printing and buffers): every field once.
  template <class O, class F> static void fields(O &o, F &&f) {
    f("alpha", o.alpha), f("gamma", o.gamma), f("reduction", o.reduction);
  }
};
void check_options(const SigmoidFocalLossOptions &o);

struct Poly1SigmoidFocalLossOptions {
  float epsilon = 1.f; // >= -1
  float alpha = 0.25f; // in [0, 1]; < 0 disables
  float gamma = 2.f;   // >= 0
  Tensor pos_weight{}; // weight of positive targets in ce, broadcast to the input; undefined = 1
  bool alpha_on_poly = false; // also weight the eps term by alpha_t
  Reduction reduction = Reduction::Mean;
  // The schema (registry specs, nn::Loss printing and buffers): every field once.
  template <class O, class F> static void fields(O &o, F &&f) {
    f("epsilon", o.epsilon), f("alpha", o.alpha), f("gamma", o.gamma),
        f("pos_weight", o.pos_weight), f("alpha_on_poly", o.alpha_on_poly),
        f("reduction", o.reduction);
  }
};
void check_options(const Poly1SigmoidFocalLossOptions &o);

// input: float logits of any shape; targets: float, same shape.
Tensor sigmoid_focal_loss(const Tensor &input, const Tensor &targets,
                          const SigmoidFocalLossOptions &options = {});
Tensor poly1_sigmoid_focal_loss(const Tensor &input, const Tensor &targets,
                                const Poly1SigmoidFocalLossOptions &options = {});

} // namespace polygrad::losses
