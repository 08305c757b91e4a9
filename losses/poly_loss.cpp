// Poly-N: phi(l, w) = w (-l + sum_j eps_j q^j) with q = 1 - Pt = -expm1(l).
// dq/dl = -Pt, so g = -dphi/dl = w (1 + Pt sum_j j eps_j q^(j-1)).
// Both sums by Horner's rule in q.
#include <polygrad/losses/poly_loss.h>

#include <polygrad/core/vec_math.h>
#include <polygrad/losses/registry.h>
#include <polygrad/losses/softmax_loss.h>

namespace polygrad::losses {

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
  std::vector<float> eps = o.epsilons;
  const int n = (int)eps.size();
  return run_softmax_loss(
      plan, plan.stats.weight_sum,
      [eps, n](const float *logpt, const float *w, int64_t rows, float *loss, float *g) {
        for (int64_t r = 0; r < rows; ++r) {
          const float l = logpt[r], q = -vm::vexpm1_le0(l), pt = vm::vexp_le0(l);
          float s = 0.f, d = 0.f; // s = sum eps_j q^(j-1), d = sum j eps_j q^(j-1)
          for (int j = n; j >= 1; --j) {
            s = s * q + eps[j - 1];
            d = d * q + (float)j * eps[j - 1];
          }
          loss[r] = w[r] * (-l + q * s);
          g[r] = w[r] * (1.f + pt * d);
        }
      });
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
