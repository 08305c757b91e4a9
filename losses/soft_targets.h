// The general (slower) path of cross_entropy and poly1_cross_entropy: target
// distributions t per row, from soft targets (float (N, C)) and/or label
// smoothing of hard labels. Per row, with p = softmax(z), l_j = log p_j:
//   L = -sum_j w_j t_j l_j + eps k A (1 - B Pt),     Pt = sum_j t_j p_j
//   dL/dz_j = (W + c Pt) p_j - t_j (w_j + c p_j),     W = sum_j w_j t_j, c = eps k A B
// where (A, B) = (w_row, 1) for PolyWeighting::Both, (1, 1) for CrossEntropyOnly,
// (1, w_row / mean(w)) for RescaledPt, w_row = w_y (hard labels) or W (soft),
// and k = sum w / count for RescaledPt with hard labels and reduction mean (so the eps term is
// averaged over the count while the CE term is averaged over the weight sum),
// else 1. eps = 0 is exactly PyTorch's cross_entropy.
#pragma once

#include <polygrad/losses/poly1_cross_entropy.h>

namespace polygrad::losses {

struct SoftPoly1Args {
  const char *op = "";
  const char *node_name = "";
  Tensor input{}, target{}, weight{};
  int64_t ignore_index = -100;
  float label_smoothing = 0.f;
  Reduction reduction = Reduction::Mean;
  float epsilon = 0.f;
  PolyWeighting weighting = PolyWeighting::Both;
};

Tensor soft_target_poly1(const SoftPoly1Args &args);

} // namespace polygrad::losses
