// Cross-entropy's math, forward next to backward (internal; used by
// cross_entropy.cpp, and by poly1_cross_entropy.cpp, whose loss is this one
// plus an eps term).
//
// Hard label (softmax_loss.h's engine, l = log Pt = log p_y, w = w_y):
//   forward   phi(l, w) = -w l
//   backward  g = -dphi/dl = w      (the engine forms dL/dz = g (p - onehot(y)) / D)
#pragma once

namespace polygrad::losses::detail {

struct CrossEntropyRow {
  // forward: phi = -w log Pt
  float forward(float l, float w) const { return -w * l; }
  // backward: g = -d(-w l)/dl = w
  float backward(float, float w) const { return w; }
};

} // namespace polygrad::losses::detail
