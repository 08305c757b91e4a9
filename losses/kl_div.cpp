// KL divergence, element-wise (pointwise_loss.h), with x = input (log-probs):
//   target probabilities t (KlDivElem):  forward   L = t log t - t x  (t log t = 0 at t = 0, xlogy)
//                                        backward  dL/dx = -t,  dL/dt = log t + 1 - x
//   log_target, t = log q (KlDivLogTargetElem):
//                                        forward   L = e^t (t - x)
//                                        backward  dL/dx = -e^t, dL/dt = e^t (t - x) + e^t
#include <polygrad/losses/kl_div.h>

#include <cmath>

#include <polygrad/core/kernels.h>
#include <polygrad/core/vec_math.h>
#include <polygrad/losses/pointwise_loss.h>
#include <polygrad/losses/registry.h>

namespace polygrad::losses {

namespace {

struct KlDivElem {
  // forward: L = xlogy(t, t) - t x
  float forward(float x, float t) const {
    const float tlogt = t == 0.f ? 0.f : t * vm::vlog(t); // xlogy(t, t)
    return tlogt - t * x;
  }
  // backward: g dL/dx = -g t
  float backward_input(float g, float, float t) const { return -g * t; }
  // backward w.r.t. the target: g dL/dt = g (log t + 1 - x); NaN at t = 0
  float backward_target(float g, float x, float t) const {
    return t == 0.f ? NAN : g * (vm::vlog(t) + 1.f - x);
  }
};

struct KlDivLogTargetElem {
  // forward: L = e^t (t - x)
  float forward(float x, float t) const { return vm::vexp(t) * (t - x); }
  // backward: g dL/dx = -g e^t
  float backward_input(float g, float, float t) const { return -g * vm::vexp(t); }
  // backward w.r.t. the target: g dL/dt = g e^t (t - x + 1)
  float backward_target(float g, float x, float t) const { return g * vm::vexp(t) * (t - x + 1.f); }
};

} // namespace

void check_options(const KLDivOptions &o) { check_reduction("kl_div", o.reduction, true); }

Tensor kl_div(const Tensor &input, const Tensor &target, const KLDivOptions &o) {
  check_options(o);
  check_same_shape("kl_div", "target", input, target);
  PG_CHECK(o.reduction != Reduction::BatchMean || input.dim() >= 1,
           "kl_div: reduction batchmean needs an input with a batch dimension, got shape ",
           shape_str(input.shape()));
  const Tensor x = kernel::contiguous(input), t = kernel::contiguous(target);
  const float *X = x.data<float>(), *T = t.data<float>();
  const double denom =
      o.reduction == Reduction::BatchMean ? (double)input.size(0) : (double)input.numel();
  return run_pointwise_loss({"kl_div", "KlDivBackward", input, target, o.reduction, true, denom},
                            o.log_target ? elementwise(X, T, KlDivLogTargetElem{})
                                         : elementwise(X, T, KlDivElem{}));
}

PG_REGISTER_LOSS(kl_div, {.name = "kl_div",
                          .aliases = {"kl"},
                          .kind = LossKind::Distribution,
                          .formula = "per element: t (log t - x) (log_target: e^t (t - x))"});

} // namespace polygrad::losses
