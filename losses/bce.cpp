// Binary cross-entropy with logits, element-wise (pointwise_loss.h):
//   L = -w (pw t log p + (1 - t) log(1 - p)),  p = sigmoid(x)
// with log p = min(x, 0) - log1p(e^-|x|), log(1 - p) = min(-x, 0) - log1p(e^-|x|).
// d log p/dx = 1 - p, d log(1 - p)/dx = -p, so
//   dL/dx = w (-pw t (1 - p) + (1 - t) p) = w (p (pw t + 1 - t) - pw t)
//   dL/dt = w (log(1 - p) - pw log p)
#include <polygrad/losses/bce.h>

#include <cmath>

#include <polygrad/core/kernels.h>
#include <polygrad/losses/bce_elem.h>
#include <polygrad/losses/pointwise_loss.h>
#include <polygrad/losses/registry.h>

namespace polygrad::losses {

namespace {
// Elements [b, e): three loops rather than one with `if (gx)` inside, so
// each vectorises.
template <bool HasW, bool HasPW>
void bce_block(const float *X, const float *T, const float *W, const float *PW, int64_t b,
               int64_t e, float scale, float *loss, float *gx, float *gt) {
  auto w_at = [&](int64_t i) {
    if constexpr (HasW)
      return W[i];
    else
      return 1.f;
  };
  auto pw_at = [&](int64_t i) {
    if constexpr (HasPW)
      return PW[i];
    else
      return 1.f;
  };
  for (int64_t i = b; i < e; ++i)
    loss[i - b] = w_at(i) * detail::bce_elem(X[i], T[i], pw_at(i)).loss;
  if (gx)
    for (int64_t i = b; i < e; ++i)
      gx[i] = scale * w_at(i) * detail::bce_elem(X[i], T[i], pw_at(i)).dx;
  if (gt)
    for (int64_t i = b; i < e; ++i) {
      const float pw = pw_at(i);
      const detail::BceElem be = detail::bce_elem(X[i], T[i], pw);
      gt[i] = scale * w_at(i) * (be.lognp - pw * be.logp);
    }
}
} // namespace

void check_options(const BCEWithLogitsOptions &o) {
  check_reduction("binary_cross_entropy_with_logits", o.reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor &input, const Tensor &targets,
                                        const BCEWithLogitsOptions &o) {
  const char *op = "binary_cross_entropy_with_logits";
  check_options(o);
  check_same_shape(op, "targets", input, targets);
  const Tensor x = kernel::contiguous(input), t = kernel::contiguous(targets);
  const Tensor wt = broadcast_to(op, "weight", o.weight, input.shape());
  const Tensor pwt = broadcast_to(op, "pos_weight", o.pos_weight, input.shape());
  const float *X = x.data<float>(), *T = t.data<float>();
  const float *W = wt.defined() ? wt.data<float>() : nullptr;
  const float *PW = pwt.defined() ? pwt.data<float>() : nullptr;
  return run_pointwise_loss(
      {op, "BinaryCrossEntropyWithLogitsBackward", input, targets, o.reduction, true,
       (double)input.numel()},
      [=](int64_t b, int64_t e, float scale, float *loss, float *gx, float *gt) {
        // the optional weights are template flags: a `W ? W[i] : 1` inside
        // the loop would keep it from vectorising
        if (W && PW)
          bce_block<true, true>(X, T, W, PW, b, e, scale, loss, gx, gt);
        else if (W)
          bce_block<true, false>(X, T, W, PW, b, e, scale, loss, gx, gt);
        else if (PW)
          bce_block<false, true>(X, T, W, PW, b, e, scale, loss, gx, gt);
        else
          bce_block<false, false>(X, T, W, PW, b, e, scale, loss, gx, gt);
      });
}

namespace {
Series bce_series(const BCEWithLogitsOptions &, int n) { return log_series(n); } // target 1: -log p
} // namespace

PG_REGISTER_LOSS(binary_cross_entropy_with_logits,
                 {.name = "bce_with_logits",
                  .aliases = {"bce", "binary_cross_entropy_with_logits"},
                  .kind = LossKind::Sigmoid,
                  .formula = "per element: -w (pw t log sigmoid(x) + (1-t) log sigmoid(-x))"},
                 bce_series);

} // namespace polygrad::losses
