// MSE, L1, smooth L1 and Huber: element-wise (pointwise_loss.h) on d = input -
// target, each a struct below with forward f(d) and backward f'(d); OnDifference
// makes the element: dL/dinput = f'(x - t), dL/dtarget = f'(t - x) (PyTorch
// evaluates the kernel at t - x: -f'(d) except at smooth_l1's kink with beta =
// 0, where PyTorch gives -1 to both). The kinks follow PyTorch's kernels
// exactly: sign(0) = 0 for l1; smooth_l1's backward is -1 for d <= -beta, +1
// for d >= beta, d / beta between (so beta = 0 gives -1 at d = 0, as PyTorch);
// huber's is d for |d| <= delta, else delta sign(d).
#include <polygrad/losses/regression.h>

#include <cmath>

#include <polygrad/core/kernels.h>
#include <polygrad/losses/pointwise_loss.h>
#include <polygrad/losses/registry.h>

namespace polygrad::losses {

namespace {
// The element of a loss L = f(d), d = x - t, in one loop (the terms are x
// and t, the differences x - t and t - x are formed where needed).
template <class F> struct OnDifference {
  F f;
  struct Terms {
    float x, t;
  };
  Terms terms(float x, float t) const { return {x, t}; }
  // forward: L = f(x - t)
  float forward(const Terms &k) const { return f.forward(k.x - k.t); }
  // backward: g dL/dx = g f'(x - t)
  float backward_input(float g, const Terms &k) const { return g * f.backward(k.x - k.t); }
  // backward w.r.t. the target: g f'(t - x) (PyTorch's kernel at t - x)
  float backward_target(float g, const Terms &k) const { return g * f.backward(k.t - k.x); }
};

template <class F>
Tensor regression(const char *op, const char *node, const Tensor &input, const Tensor &target,
                  Reduction r, F f) {
  check_reduction(op, r);
  check_same_shape(op, "target", input, target);
  const Tensor x = kernel::contiguous(input), t = kernel::contiguous(target);
  return run_pointwise_loss({op, node, input, target, r, true, (double)input.numel()},
                            elementwise(x.data<float>(), t.data<float>(), OnDifference<F>{f}));
}

struct Mse {
  float forward(float d) const { return d * d; }    // d^2
  float backward(float d) const { return 2.f * d; } // d(d^2)/dd = 2d
};

struct L1 {
  float forward(float d) const { return std::fabs(d); }                            // |d|
  float backward(float d) const { return d > 0.f ? 1.f : (d < 0.f ? -1.f : 0.f); } // sign(d)
};

struct SmoothL1 {
  float beta;
  // forward: 0.5 d^2 / beta inside |d| < beta, |d| - beta/2 outside
  float forward(float d) const {
    const float a = std::fabs(d);
    return a < beta ? 0.5f * d * d / beta : a - 0.5f * beta;
  }
  // backward: d / beta inside, sign(d) outside (-1 at d = 0 for beta = 0)
  float backward(float d) const { return d <= -beta ? -1.f : (d >= beta ? 1.f : d / beta); }
};

struct Huber {
  float delta;
  // forward: 0.5 d^2 inside |d| <= delta, delta (|d| - delta/2) outside
  float forward(float d) const {
    const float a = std::fabs(d);
    return a <= delta ? 0.5f * d * d : delta * (a - 0.5f * delta);
  }
  // backward: d inside, delta sign(d) outside
  float backward(float d) const { return d < -delta ? -delta : (d > delta ? delta : d); }
};
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
  return regression("mse_loss", "MseLossBackward", input, target, o.reduction, Mse{});
}

PG_REGISTER_LOSS(mse_loss, {.name = "mse",
                            .aliases = {"mse_loss"},
                            .kind = LossKind::Regression,
                            .formula = "per element: (x - y)^2"});

Tensor l1_loss(const Tensor &input, const Tensor &target, const L1LossOptions &o) {
  check_options(o);
  return regression("l1_loss", "L1LossBackward", input, target, o.reduction, L1{});
}

PG_REGISTER_LOSS(l1_loss, {.name = "l1",
                           .aliases = {"l1_loss"},
                           .kind = LossKind::Regression,
                           .formula = "per element: |x - y|"});

Tensor smooth_l1_loss(const Tensor &input, const Tensor &target, const SmoothL1LossOptions &o) {
  check_options(o);
  return regression("smooth_l1_loss", "SmoothL1LossBackward", input, target, o.reduction,
                    SmoothL1{o.beta});
}

PG_REGISTER_LOSS(smooth_l1_loss,
                 {.name = "smooth_l1",
                  .aliases = {"smooth_l1_loss"},
                  .kind = LossKind::Regression,
                  .formula = "per element: d^2/(2 beta) if |d| < beta else |d| - beta/2"});

Tensor huber_loss(const Tensor &input, const Tensor &target, const HuberLossOptions &o) {
  check_options(o);
  return regression("huber_loss", "HuberLossBackward", input, target, o.reduction, Huber{o.delta});
}

PG_REGISTER_LOSS(huber_loss,
                 {.name = "huber",
                  .aliases = {"huber_loss"},
                  .kind = LossKind::Regression,
                  .formula = "per element: d^2/2 if |d| <= delta else delta (|d| - delta/2)"});

} // namespace polygrad::losses
