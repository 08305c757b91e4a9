// Binary cross-entropy with logits, element-wise (pointwise_loss.h), BceLoss below:
//   forward   L = -w (pw t log p + (1 - t) log(1 - p)),  p = sigmoid(x)
//   backward  dL/dx = w (-pw t (1 - p) + (1 - t) p) = w (p (pw t + 1 - t) - pw t)
//             dL/dt = w (log(1 - p) - pw log p)
// per element from detail::BceElem (bce_elem.h, with the stable log p,
// log(1 - p) = min(x, 0) - log1p(e^-|x|), min(-x, 0) - log1p(e^-|x|)).
#include <polygrad/losses/bce.h>

#include <cmath>

#include <polygrad/core/kernels.h>
#include <polygrad/losses/bce_elem.h>
#include <polygrad/losses/pointwise_loss.h>
#include <polygrad/losses/registry.h>

namespace polygrad::losses {

namespace {
// The weight w and pos_weight pw are optional per-element inputs: template
// flags, since a `W ? W[i] : 1` inside the loops would keep them from
// vectorising.
template <bool HasW, bool HasPW> struct BceLoss {
  const float *W, *PW;
  float w(int64_t i) const {
    if constexpr (HasW)
      return W[i];
    else
      return 1.f;
  }
  float pw(int64_t i) const {
    if constexpr (HasPW)
      return PW[i];
    else
      return 1.f;
  }
  // forward: L = -w (pw t log p + (1 - t) log(1 - p))
  float forward(float x, float t, int64_t i) const {
    return w(i) * detail::bce_elem(x, t, pw(i)).forward();
  }
  // backward: g dL/dx = g w (p (pw t + 1 - t) - pw t)
  float backward_input(float g, float x, float t, int64_t i) const {
    return g * w(i) * detail::bce_elem(x, t, pw(i)).backward();
  }
  // backward w.r.t. the target: g dL/dt = g w (log(1 - p) - pw log p)
  float backward_target(float g, float x, float t, int64_t i) const {
    return g * w(i) * detail::bce_elem(x, t, pw(i)).backward_target();
  }
};
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
  const PointwiseBody body = W && PW ? elementwise(X, T, BceLoss<true, true>{W, PW})
                             : W     ? elementwise(X, T, BceLoss<true, false>{W, PW})
                             : PW    ? elementwise(X, T, BceLoss<false, true>{W, PW})
                                     : elementwise(X, T, BceLoss<false, false>{W, PW});
  return run_pointwise_loss({op, "BinaryCrossEntropyWithLogitsBackward", input, targets,
                             o.reduction, true, (double)input.numel()},
                            body);
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
