// Softmax focal loss: the fused softmax engine with detail::FocalRow at eps = 0
// (formula and gradient derivation in focal_row.h).
#include <polygrad/losses/focal.h>

#include <polygrad/losses/focal_row.h>
#include <polygrad/losses/registry.h>
#include <polygrad/losses/softmax_loss.h>

namespace polygrad::losses {

void check_options(const FocalLossOptions &o) {
  check_reduction("focal_loss", o.reduction);
  PG_CHECK(o.gamma >= 0.f, "focal_loss: gamma must be >= 0, got ", o.gamma);
}

Tensor focal_loss(const Tensor &input, const Tensor &labels, const FocalLossOptions &o) {
  check_options(o);
  const SoftmaxLossPlan plan = plan_softmax_loss(
      {"focal_loss", "FocalLossBackward", input, labels, o.alpha, o.ignore_index, o.reduction});
  return run_softmax_loss(plan, plan.stats.weight_sum, rowwise(detail::FocalRow<>{o.gamma, 0.f}));
}

namespace {
Series focal_series(const FocalLossOptions &o, int n) { return log_series(n, 1, 1 + o.gamma); }
} // namespace

PG_REGISTER_LOSS(focal_loss,
                 {.name = "focal",
                  .aliases = {"focal_loss"},
                  .kind = LossKind::Softmax,
                  .formula = "-alpha_y (1-Pt)^gamma log Pt"},
                 focal_series);

} // namespace polygrad::losses
