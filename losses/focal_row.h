// The per-row function shared by focal_loss and poly1_focal_loss (internal).
//   phi(l) = -a q^gamma l + e q^(gamma+1),  q = 1 - Pt = -expm1(l), Pt = e^l,
// e = eps a (alpha_on_poly) or eps (the paper's code); dq/dl = -Pt and
// d(q^gamma)/dl = -gamma q^(gamma-1) Pt, so
//   g = -dphi/dl = q^gamma (a (1 - gamma Pt (l / q)) + e (gamma + 1) Pt).
// l / q = log(Pt) / (1 - Pt) lies in (-inf, -1] and tends to -1 as Pt -> 1:
// it replaces the q^(gamma-1) that a composed implementation forms (and that
// is infinite at q = 0 for gamma < 1). q^gamma = exp(gamma log q) (0 at q = 0);
// gamma = 0 takes q^gamma = 1 exactly, so phi = -a l and g = a: cross-entropy.
#pragma once

#include <polygrad/core/vec_math.h>

namespace polygrad::losses::detail {

struct FocalRow {
  float gamma, eps;
  bool alpha_on_poly = true;
  void operator()(float l, float a, float &loss, float &g) const {
    const float q = -vm::vexpm1_le0(l), pt = vm::vexp_le0(l);
    const float qg = gamma == 0.f ? 1.f : vm::vexp_le0(gamma * vm::vlog(q));
    const float r = q > 0.f ? l / q : -1.f;
    if (alpha_on_poly) { // a (-q^gamma l + eps q^(gamma+1)): a factored out
      loss = a * qg * (eps * q - l);
      g = a * qg * (1.f - gamma * pt * r + eps * (gamma + 1.f) * pt);
    } else { // -a q^gamma l + eps q^(gamma+1)
      loss = qg * (eps * q - a * l);
      g = qg * (a * (1.f - gamma * pt * r) + eps * (gamma + 1.f) * pt);
    }
  }
};

} // namespace polygrad::losses::detail
