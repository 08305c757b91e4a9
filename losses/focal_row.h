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

// AlphaOnPoly is a template parameter, not a field: a run-time choice inside
// the row makes GCC leave the block loop scalar (2x slower at C = 10).
template <bool AlphaOnPoly = true> struct FocalRow {
  float gamma, eps;
  // What both directions use, computed once per row: q = 1 - Pt, Pt,
  // q^gamma (1 at gamma = 0), l / q (-1 at q = 0).
  struct Terms {
    float q, pt, qg, r;
  };
  Terms terms(float l) const {
    const float q = -vm::vexpm1_le0(l), pt = vm::vexp_le0(l);
    return {q, pt, gamma == 0.f ? 1.f : vm::vexp_le0(gamma * vm::vlog(q)), q > 0.f ? l / q : -1.f};
  }
  // forward: phi = -a q^gamma l + e q^(gamma+1), e = eps a (AlphaOnPoly) or eps
  float forward(const Terms &t, float l, float a) const {
    if constexpr (AlphaOnPoly)
      return a * t.qg * (eps * t.q - l);
    else
      return t.qg * (eps * t.q - a * l);
  }
  // backward: g = -dphi/dl = q^gamma (a (1 - gamma Pt l / q) + e (gamma + 1) Pt)
  float backward(const Terms &t, float a) const {
    if constexpr (AlphaOnPoly)
      return a * t.qg * (1.f - gamma * t.pt * t.r + eps * (gamma + 1.f) * t.pt);
    else
      return t.qg * (a * (1.f - gamma * t.pt * t.r) + eps * (gamma + 1.f) * t.pt);
  }
};

} // namespace polygrad::losses::detail
