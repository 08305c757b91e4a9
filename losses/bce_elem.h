// Binary cross-entropy with logits for one element (internal, shared by
// bce.cpp and sigmoid_focal.cpp, so both compute ce the same way):
//   e = exp(-|x|), p = sigmoid(x), 1 - p = sigmoid(-x) (no cancellation),
//   log p = min(x, 0) - log1p(e), log(1 - p) = min(-x, 0) - log1p(e),
//   loss = -(pw t log p + (1 - t) log(1 - p))   (NaN at x = -inf, as PyTorch),
//   dloss/dx = -pw t (1 - p) + (1 - t) p = p (pw t + 1 - t) - pw t.
#pragma once

#include <cmath>

#include <polygrad/core/vec_math.h>

namespace polygrad::losses::detail {

struct BceElem {
  float p, np, logp, lognp, loss, dx;
};

inline BceElem bce_elem(float x, float t, float pw) {
  BceElem b;
  const float e = vm::vexp_le0(-std::fabs(x)), inv = 1.f / (1.f + e), l1p = vm::vlog1p_unit(e);
  b.p = x >= 0.f ? inv : e * inv;
  b.np = x >= 0.f ? e * inv : inv;
  b.logp = vm::minf(x, 0.f) - l1p;
  b.lognp = vm::minf(-x, 0.f) - l1p;
  // PyTorch's loss, (1 - t) x - (pw t + 1 - t) log p, is -inf + inf = NaN at
  // x = -inf for every t; ours would be inf for t > 0. Match PyTorch.
  b.loss = x == -INFINITY ? NAN : -(pw * t * b.logp + (1.f - t) * b.lognp);
  b.dx = b.p * (pw * t + 1.f - t) - pw * t;
  return b;
}

} // namespace polygrad::losses::detail
