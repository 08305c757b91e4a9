// Binary cross-entropy with logits for one element (internal, shared by
// bce.cpp and sigmoid_focal.cpp, so both compute it the same way):
//   e = exp(-|x|), p = sigmoid(x), 1 - p = sigmoid(-x) (no cancellation),
//   log p = min(x, 0) - log1p(e), log(1 - p) = min(-x, 0) - log1p(e),
//   forward   loss = -(pw t log p + (1 - t) log(1 - p))   (NaN at x = -inf, as PyTorch)
//   backward  dloss/dx = -pw t (1 - p) + (1 - t) p = p (pw t + 1 - t) - pw t
//             (d log p/dx = 1 - p, d log(1 - p)/dx = -p)
//   backward w.r.t. the target  dloss/dt = log(1 - p) - pw log p
#pragma once

#include <cmath>

#include <polygrad/core/vec_math.h>

namespace polygrad::losses::detail {

struct BceElem {
  float x, t, pw;           // logit, target, positive-class weight
  float p, np, logp, lognp; // p, 1 - p, log p, log(1 - p)
  // forward: loss = -(pw t log p + (1 - t) log(1 - p)). PyTorch's form, (1 -
  // t) x - (pw t + 1 - t) log p, is -inf + inf = NaN at x = -inf for every t;
  // ours would be inf for t > 0. Match PyTorch.
  float forward() const { return x == -INFINITY ? NAN : -(pw * t * logp + (1.f - t) * lognp); }
  // backward: dloss/dx = p (pw t + 1 - t) - pw t
  float backward() const { return p * (pw * t + 1.f - t) - pw * t; }
  // backward w.r.t. the target: dloss/dt = log(1 - p) - pw log p
  float backward_target() const { return lognp - pw * logp; }
};

// The terms of element x with target t and positive-class weight pw.
inline BceElem bce_elem(float x, float t, float pw) {
  const float e = vm::vexp_le0(-std::fabs(x)), inv = 1.f / (1.f + e), l1p = vm::vlog1p_unit(e);
  BceElem b;
  b.x = x, b.t = t, b.pw = pw;
  b.p = x >= 0.f ? inv : e * inv;
  b.np = x >= 0.f ? e * inv : inv;
  b.logp = vm::minf(x, 0.f) - l1p;
  b.lognp = vm::minf(-x, 0.f) - l1p;
  return b;
}

} // namespace polygrad::losses::detail
