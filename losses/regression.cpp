// MSE, L1, smooth L1 and Huber: element-wise on d = input - target
// (pointwise_loss.h); dL/dtarget = g(target - input) = -dL/dinput except at
// smooth_l1's kink with beta = 0, where PyTorch gives -1 to both. The kinks follow PyTorch's
// kernels exactly: sign(0) = 0 for l1; smooth_l1's backward is -1 for
// d <= -beta, +1 for d >= beta, d / beta between (so beta = 0 gives -1 at
// d = 0, as PyTorch); huber's is d for |d| <= delta, else delta sign(d).
#include <polygrad/losses/regression.h>

#include <cmath>

#include <polygrad/core/kernels.h>
#include <polygrad/losses/pointwise_loss.h>
#include <polygrad/losses/registry.h>

namespace polygrad::losses {

namespace {
// Runs f(d, loss, dloss_dd) per element.
template <class F>
Tensor regression(const char *op, const char *node, const Tensor &input, const Tensor &target,
                  Reduction r, F f) {
  check_reduction(op, r);
  check_same_shape(op, "target", input, target);
  const Tensor x = kernel::contiguous(input), t = kernel::contiguous(target);
  const float *X = x.data<float>(), *T = t.data<float>();
  return run_pointwise_loss(
      {op, node, input, target, r, true, (double)input.numel()},
      [=](int64_t b, int64_t e, float scale, float *loss, float *gx, float *gt) {
        for (int64_t i = b; i < e; ++i) {
          float L, g;
          f(X[i] - T[i], L, g);
          loss[i - b] = L;
          if (gx)
            gx[i] = scale * g;
          if (gt) { // PyTorch evaluates the kernel at t - x: -g(d) except at a kink
            float L2, g2;
            f(T[i] - X[i], L2, g2);
            gt[i] = scale * g2;
          }
        }
      });
}
} // namespace

void check_options(const MSELossOptions &o) { check_reduction("mse_loss", o.reduction); }
void check_options(const L1LossOptions &o) { check_reduction("l1_loss", o.reduction); }
void check_options(const SmoothL1LossOptions &o) {
  check_reduction("smooth_l1_loss", o.reduction);
  PG_CHECK(o.beta >= 0.f, "smooth_l1_loss: beta must be >= 0, got ", o.beta);
}
void check_options(const HuberLossOptions &o) {
  check_reduction("huber_loss", o.reduction);
  PG_CHECK(o.delta > 0.f, "huber_loss: delta must be > 0, got ", o.delta);
}

Tensor mse_loss(const Tensor &input, const Tensor &target, const MSELossOptions &o) {
  check_options(o);
  return regression("mse_loss", "MseLossBackward", input, target, o.reduction,
                    [](float d, float &L, float &g) {
                      L = d * d; // d(d^2)/dd = 2d
                      g = 2.f * d;
                    });
}

PG_REGISTER_LOSS(mse_loss, {.name = "mse",
                            .aliases = {"mse_loss"},
                            .kind = LossKind::Regression,
                            .formula = "per element: (x - y)^2"});

Tensor l1_loss(const Tensor &input, const Tensor &target, const L1LossOptions &o) {
  check_options(o);
  return regression("l1_loss", "L1LossBackward", input, target, o.reduction,
                    [](float d, float &L, float &g) {
                      L = std::fabs(d);
                      g = d > 0.f ? 1.f : (d < 0.f ? -1.f : 0.f); // sign(d)
                    });
}

PG_REGISTER_LOSS(l1_loss, {.name = "l1",
                           .aliases = {"l1_loss"},
                           .kind = LossKind::Regression,
                           .formula = "per element: |x - y|"});

Tensor smooth_l1_loss(const Tensor &input, const Tensor &target, const SmoothL1LossOptions &o) {
  check_options(o);
  const float beta = o.beta;
  return regression("smooth_l1_loss", "SmoothL1LossBackward", input, target, o.reduction,
                    [beta](float d, float &L, float &g) {
                      const float a = std::fabs(d);
                      // 0.5 d^2 / beta inside (gradient d / beta), |d| - beta/2 outside
                      L = a < beta ? 0.5f * d * d / beta : a - 0.5f * beta;
                      g = d <= -beta ? -1.f : (d >= beta ? 1.f : d / beta);
                    });
}

PG_REGISTER_LOSS(smooth_l1_loss,
                 {.name = "smooth_l1",
                  .aliases = {"smooth_l1_loss"},
                  .kind = LossKind::Regression,
                  .formula = "per element: d^2/(2 beta) if |d| < beta else |d| - beta/2"});

Tensor huber_loss(const Tensor &input, const Tensor &target, const HuberLossOptions &o) {
  check_options(o);
  const float delta = o.delta;
  return regression("huber_loss", "HuberLossBackward", input, target, o.reduction,
                    [delta](float d, float &L, float &g) {
                      const float a = std::fabs(d);
                      // 0.5 d^2 inside (gradient d), delta (|d| - delta/2) outside
                      L = a <= delta ? 0.5f * d * d : delta * (a - 0.5f * delta);
                      g = d < -delta ? -delta : (d > delta ? delta : d);
                    });
}

PG_REGISTER_LOSS(huber_loss,
                 {.name = "huber",
                  .aliases = {"huber_loss"},
                  .kind = LossKind::Regression,
                  .formula = "per element: d^2/2 if |d| <= delta else delta (|d| - delta/2)"});

} // namespace polygrad::losses
