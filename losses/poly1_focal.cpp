// Poly-1 softmax focal loss: the fused softmax engine with detail::FocalRow
// (formula and gradient derivation in focal_row.h).
#include <polygrad/losses/poly1_focal.h>

#include <polygrad/losses/focal_row.h>
#include <polygrad/losses/registry.h>
#include <polygrad/losses/softmax_loss.h>

namespace polygrad::losses {

void check_options(const Poly1FocalLossOptions &o) {
  check_reduction("poly1_focal_loss", o.reduction);
  PG_CHECK(o.epsilon >= -1.f, "poly1_focal_loss: epsilon must be >= -1, got ", o.epsilon);
  PG_CHECK(o.gamma >= 0.f, "poly1_focal_loss: gamma must be >= 0, got ", o.gamma);
}

Tensor poly1_focal_loss(const Tensor &input, const Tensor &labels, const Poly1FocalLossOptions &o) {
  check_options(o);
  const SoftmaxLossPlan plan =
      plan_softmax_loss({"poly1_focal_loss", "Poly1FocalLossBackward", input, labels, o.alpha,
                         o.ignore_index, o.reduction});
  // alpha_on_poly = false: the eps term is unweighted and the mean is over the
  // count (the paper's code followed by a plain mean).
  if (o.alpha.defined() && !o.alpha_on_poly)
    return run_softmax_loss(plan, (double)plan.stats.count,
                            rowwise(detail::FocalRow<false>{o.gamma, o.epsilon}));
  return run_softmax_loss(plan, plan.stats.weight_sum,
                          rowwise(detail::FocalRow<true>{o.gamma, o.epsilon}));
}

namespace {
Series poly1_focal_series(const Poly1FocalLossOptions &o, int n) { // alpha = 1
  Series s = log_series(n, 1, 1 + o.gamma);
  s.coefficients[0] += o.epsilon;
  return s;
}
} // namespace

PG_REGISTER_LOSS(
    poly1_focal_loss,
    {.name = "poly1_focal",
     .aliases = {"poly1_focal_loss"},
     .kind = LossKind::Softmax,
     .formula =
         "alpha_y (-(1-Pt)^gamma log Pt) + epsilon [alpha_y if alpha_on_poly] (1-Pt)^(gamma+1)"},
    poly1_focal_series);

} // namespace polygrad::losses
