// KL divergence, element-wise (pointwise_loss.h), with x = input (log-probs):
//   target probabilities t:  L = t log t - t x (t log t = 0 at t = 0, xlogy)
//                            dL/dx = -t,  dL/dt = log t + 1 - x
//   log_target (t = log q):  L = e^t (t - x)
//                            dL/dx = -e^t, dL/dt = e^t (t - x) + e^t
#include <polygrad/losses/kl_div.h>

#include <cmath>

#include <polygrad/core/kernels.h>
#include <polygrad/core/vec_math.h>
#include <polygrad/losses/pointwise_loss.h>
#include <polygrad/losses/registry.h>

namespace polygrad::losses {

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
  const bool log_target = o.log_target;
  return run_pointwise_loss(
      {"kl_div", "KlDivBackward", input, target, o.reduction, true, denom},
      [=](int64_t b, int64_t e, float scale, float *loss, float *gx, float *gt) {
        // separate loops per case so each one vectorises
        if (log_target) {
          for (int64_t i = b; i < e; ++i)
            loss[i - b] = vm::vexp(T[i]) * (T[i] - X[i]);
          if (gx)
            for (int64_t i = b; i < e; ++i)
              gx[i] = -scale * vm::vexp(T[i]);
          if (gt)
            for (int64_t i = b; i < e; ++i)
              gt[i] = scale * vm::vexp(T[i]) * (T[i] - X[i] + 1.f);
        } else {
          for (int64_t i = b; i < e; ++i) {
            const float ti = T[i];
            const float tlogt = ti == 0.f ? 0.f : ti * vm::vlog(ti); // xlogy(t, t)
            loss[i - b] = tlogt - ti * X[i];
          }
          if (gx)
            for (int64_t i = b; i < e; ++i)
              gx[i] = -scale * T[i];
          if (gt)
            for (int64_t i = b; i < e; ++i)
              gt[i] = T[i] == 0.f ? NAN : scale * (vm::vlog(T[i]) + 1.f - X[i]);
        }
      });
}

PG_REGISTER_LOSS(kl_div, {.name = "kl_div",
                          .aliases = {"kl"},
                          .kind = LossKind::Distribution,
                          .formula = "per element: t (log t - x) (log_target: e^t (t - x))"});

} // namespace polygrad::losses
