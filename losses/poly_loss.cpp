// Poly-N: the fused softmax engine (softmax_loss.h) with PolyRow below,
//   forward   phi(l, w) = w (-l + sum_j eps_j q^j),  q = 1 - Pt = -expm1(l)
//   backward  g = -dphi/dl = w (1 + Pt sum_j j eps_j q^(j-1))   (dq/dl = -Pt)
// Both sums by Horner's rule in q.
#include <polygrad/losses/poly_loss.h>

#include <polygrad/core/vec_math.h>
#include <polygrad/losses/registry.h>
#include <polygrad/losses/softmax_loss.h>

namespace polygrad::losses {

namespace {

struct PolyRow {
  std::vector<float> eps; // eps_1, ..., eps_n
  // What both directions use, computed once per row: q = 1 - Pt, Pt and the
  // sums s = sum_j eps_j q^(j-1), d = sum_j j eps_j q^(j-1).
  struct Terms {
    float q, pt, s, d;
  };
  Terms terms(float l) const {
    const float q = -vm::vexpm1_le0(l), pt = vm::vexp_le0(l);
    float s = 0.f, d = 0.f;
    for (int j = (int)eps.size(); j >= 1; --j) {
      s = s * q + eps[j - 1];
      d = d * q + (float)j * eps[j - 1];
    }
    return {q, pt, s, d};
  }
  // forward: phi = w (-log Pt + q s) = w (-log Pt + sum_j eps_j q^j)
  float forward(const Terms &t, float l, float w) const { return w * (-l + t.q * t.s); }
  // backward: g = -dphi/dl = w (1 + Pt d)
  float backward(const Terms &t, float w) const { return w * (1.f + t.pt * t.d); }
};

} // namespace

void check_options(const PolyLossOptions &o) {
  check_reduction("poly_loss", o.reduction);
  PG_CHECK(!o.epsilons.empty(), "poly_loss: epsilons must hold at least one value (eps_1)");
  for (size_t j = 0; j < o.epsilons.size(); ++j) {
    const float bound = -1.f / float(j + 1);
    PG_CHECK(o.epsilons[j] >= bound, "poly_loss: epsilons[", j, "] = ", o.epsilons[j],
             " makes the coefficient of (1-Pt)^", j + 1, " (1/", j + 1,
             " + eps) negative; it must be >= ", bound);
  }
}

Tensor poly_loss(const Tensor &input, const Tensor &labels, const PolyLossOptions &o) {
  check_options(o);
  const SoftmaxLossPlan plan = plan_softmax_loss(
      {"poly_loss", "PolyLossBackward", input, labels, o.weight, o.ignore_index, o.reduction});
  return run_softmax_loss(plan, plan.stats.weight_sum, rowwise(PolyRow{o.epsilons}));
}

namespace {
Series poly_series(const PolyLossOptions &o, int n) { // 1/j + eps_j
  Series s = log_series(n);
  for (size_t j = 0; j < o.epsilons.size() && j < s.coefficients.size(); ++j)
    s.coefficients[j] += o.epsilons[j];
  return s;
}
} // namespace

PG_REGISTER_LOSS(poly_loss,
                 {.name = "poly",
                  .aliases = {"poly_loss"},
                  .kind = LossKind::Softmax,
                  .formula = "w_y (-log Pt + sum_j epsilons[j-1] (1-Pt)^j)"},
                 poly_series);

} // namespace polygrad::losses
