// Cross-entropy's math, forward next to backward (internal), used by
// cross_entropy.cpp, and by poly1_cross_entropy.cpp, whose loss is this one
// plus an eps term).
//
// Hard label (softmax_loss.h's engine, l = log Pt = log p_y, w = w_y):
//   forward   phi(l, w) = -w l
//   backward  g = -dphi/dl = w      (the engine forms dL/dz = g (p - onehot(y)) / D)
// Target distribution t (soft_targets.h's engine, label smoothing or soft
// targets; l_j = log p_j):
//   forward   L = -sum_j w_j t_j l_j
//   backward  dL/dz_j = W p_j - w_j t_j,  W = sum_k w_k t_k
//             (d l_k/dz_j = [k == j] - p_j)
//   backward w.r.t. the target  dL/dt_j = -w_j l_j
#pragma once

#include <polygrad/losses/soft_targets.h>

namespace polygrad::losses::detail {

struct CrossEntropyRow {
  // forward: phi = -w log Pt
  float forward(float l, float w) const { return -w * l; }
  // backward: g = -d(-w l)/dl = w
  float backward(float, float w) const { return w; }
};

struct CrossEntropyTargetRow {
  // What both directions use: CE = -sum_j w_j t_j l_j and W = sum_j w_j t_j.
  struct Terms {
    float ce = 0.f, W = 0.f;
  };
  // class j's part of the sums
  void add_class(Terms &k, float w, float t, float l) const {
    k.ce -= w * t * l;
    k.W += w * t;
  }
  Terms terms(const TargetRow &r) const {
    Terms k;
    for (int64_t j = 0; j < r.C; ++j)
      add_class(k, r.w[j], r.t[j], r.l(j));
    return k;
  }
  // forward: L = -sum_j w_j t_j log p_j
  float forward(const Terms &k) const { return k.ce; }
  // backward: dL/dz_j = W p_j - w_j t_j
  float backward(const Terms &k, float p, float t, float w) const { return k.W * p - t * w; }
  // backward w.r.t. the target: dL/dt_j = -w_j log p_j
  float backward_target(const Terms &, float l, float w) const { return -w * l; }
};

} // namespace polygrad::losses::detail
