// Poly-1 cross-entropy (Leng et al., "PolyLoss", ICLR 2022): cross-entropy is
// sum_j (1-Pt)^j / j; Poly-1 moves only the leading coefficient, 1 -> 1 + eps:
//   L_i = -log Pt + eps (1 - Pt),      Pt = softmax(z)_y
//   dL_i/dz = (softmax(z) - onehot(y)) (1 + eps Pt)
// eps = 0 is exactly cross_entropy; eps = -1 removes the linear term; eps < -1
// is rejected (the loss would then reward lower confidence near Pt = 1). The
// paper found eps = 2 best on ImageNet and eps = -1 on COCO.
//
// With label smoothing or soft targets t: Pt = sum_j t_j p_j (optax / timm), the
// cross-entropy part is exactly cross_entropy's. Class weights, `weighting`:
//   Both             w_y (CE + eps (1 - Pt)), mean over sum w_y: leading coefficient
//                    w_y (1 + eps) / sum w, so eps = -1 cancels it for any weights.
//   CrossEntropyOnly w_y CE + eps (1 - Pt), mean over the count (abhuse/polyloss-pytorch):
//                    leading coefficient (w_y + eps) / n.
//   RescaledPt       w_y CE / sum w + eps (1 - Pt w_y / mean(w)) / n (pytorch-lightning-
//                    spells): leading coefficient w_y / sum w + eps w_y / (n mean(w)).
// Without weights the three are identical. For soft targets "w_y" is
// sum_j w_j t_j and every mean divides by N (as cross_entropy does).
#pragma once

#include <polygrad/losses/common.h>

namespace polygrad::losses {

enum class PolyWeighting { Both, CrossEntropyOnly, RescaledPt };
const char *weighting_name(PolyWeighting w); // "both", "ce_only", "rescaled_pt"

struct Poly1CrossEntropyOptions {
  float epsilon = 1.f;         // >= -1
  Tensor weight{};             // (C) class weights; undefined = all ones
  int64_t ignore_index = -100; // hard labels equal to it are skipped
  float label_smoothing = 0.f; // in [0, 1]
  PolyWeighting weighting = PolyWeighting::Both;
  Reduction reduction = Reduction::Mean;
  // The schema (registry specs, nn::Loss printing and buffers): every field once.
  template <class O, class F> static void fields(O &o, F &&f) {
    f("epsilon", o.epsilon), f("weight", o.weight), f("ignore_index", o.ignore_index),
        f("label_smoothing", o.label_smoothing), f("weighting", o.weighting),
        f("reduction", o.reduction);
  }
};
void check_options(const Poly1CrossEntropyOptions &o);

// input: (N, C) float logits; target: int64 labels (N) or float probabilities (N, C).
// K-dimensional: input (N, C, d1, ..., dk), labels (N, d1, ..., dk) or probabilities
// (N, C, d1, ..., dk); reduction none gives (N, d1, ..., dk) (docs/losses.md).
Tensor poly1_cross_entropy(const Tensor &input, const Tensor &target,
                           const Poly1CrossEntropyOptions &options = {});

} // namespace polygrad::losses

template <> struct polygrad::text::EnumNames<polygrad::losses::PolyWeighting> {
  using W = polygrad::losses::PolyWeighting;
  static constexpr std::pair<W, const char *> values[] = {
      {W::Both, "both"}, {W::CrossEntropyOnly, "ce_only"}, {W::RescaledPt, "rescaled_pt"}};
};
