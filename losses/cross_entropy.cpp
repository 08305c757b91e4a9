// Cross-entropy. The math, forward next to backward, is in
// cross_entropy_row.h: hard labels take the fused softmax engine
// (softmax_loss.h) with detail::CrossEntropyRow (forward phi(l, w) = -w l,
// backward g = w, so dL/dz = w (p - onehot(y)) / D); soft targets and label
// smoothing take the target-distribution engine (soft_targets.h) with
// detail::CrossEntropyTargetRow (L = -sum_j w_j t_j log p_j, dL/dz_j = W p_j -
// w_j t_j, dL/dt_j = -w_j log p_j).
#include <polygrad/losses/cross_entropy.h>

#include <polygrad/losses/cross_entropy_row.h>
#include <polygrad/losses/registry.h>
#include <polygrad/losses/softmax_loss.h>

namespace polygrad::losses {

void check_options(const CrossEntropyOptions &o) {
  check_reduction("cross_entropy", o.reduction);
  PG_CHECK(o.label_smoothing >= 0.f && o.label_smoothing <= 1.f,
           "cross_entropy: label_smoothing must be in [0, 1], got ", o.label_smoothing);
}

Tensor cross_entropy(const Tensor &input, const Tensor &target, const CrossEntropyOptions &o) {
  check_options(o);
  const bool soft = target.defined() && target.dtype() == DType::Float32;
  if (soft || o.label_smoothing > 0.f) {
    if (input.defined() && input.dim() > 2) // (N, C, d1, ..., dk): as rows (soft_targets.h)
      return dense_as_rows(
          {"cross_entropy", "CrossEntropyBackward", input, target, o.weight, o.ignore_index,
           o.label_smoothing, o.reduction},
          [&](const Tensor &x, const Tensor &t) { return cross_entropy(x, t, o); });
    const TargetLossPlan plan =
        plan_target_loss({"cross_entropy", "CrossEntropyBackward", input, target, o.weight,
                          o.ignore_index, o.label_smoothing, o.reduction});
    return run_target_loss(plan, plan.mean_denominator, detail::CrossEntropyTargetRow{});
  }
  const SoftmaxLossPlan plan = plan_softmax_loss({"cross_entropy", "CrossEntropyBackward", input,
                                                  target, o.weight, o.ignore_index, o.reduction});
  return run_softmax_loss(plan, plan.stats.weight_sum, rowwise(detail::CrossEntropyRow{}));
}

namespace {
Series ce_series(const CrossEntropyOptions &, int n) { return log_series(n); }
} // namespace

PG_REGISTER_LOSS(cross_entropy,
                 {.name = "cross_entropy",
                  .aliases = {"ce"},
                  .kind = LossKind::Softmax,
                  .formula = "-sum_j w_j t_j log p_j (hard label: -w_y log Pt)"},
                 ce_series);

} // namespace polygrad::losses
