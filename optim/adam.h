// optim::Adam (Kingma & Ba), with AMSGrad and L2 weight decay; PyTorch
// 1.13's update, element for element. With t the parameter's step count
// (1 on its first step):
//
//   g  = grad                      (-grad if maximize)
//   g  = g + weight_decay * p      (if weight_decay != 0; coupled L2)
//   m  = beta1 * m + (1 - beta1) * g
//   v  = beta2 * v + (1 - beta2) * g * g
//   v_max = max(v_max, v)          (amsgrad; v_max is then used for v below)
//   denom = sqrt(v) / sqrt(1 - beta2^t) + eps
//   p  = p - lr / (1 - beta1^t) * m / denom
//
// The bias corrections and step size are computed in double from the step
// count, the element-wise part in float32, as PyTorch does.
// State: "step" (0-d float32), "exp_avg" (m), "exp_avg_sq" (v) and, with
// amsgrad, "max_exp_avg_sq" (v_max).
#pragma once

#include <polygrad/optim/optimizer.h>

namespace polygrad::optim {

struct AdamOptions {
  Hyper<double> lr = Hyper<double>::fallback(1e-3);
  Hyper<std::array<double, 2>> betas = Hyper<std::array<double, 2>>::fallback({0.9, 0.999});
  Hyper<double> eps = Hyper<double>::fallback(1e-8);
  Hyper<double> weight_decay = Hyper<double>::fallback(0);
  Hyper<bool> amsgrad = Hyper<bool>::fallback(false);
  Hyper<bool> maximize = Hyper<bool>::fallback(false);

  template <class O, class F> static void fields(O &o, F &&f) {
    f("lr", o.lr);
    f("betas", o.betas);
    f("eps", o.eps);
    f("weight_decay", o.weight_decay);
    f("amsgrad", o.amsgrad);
    f("maximize", o.maximize);
  }
  // lr >= 0, eps >= 0, 0 <= beta < 1, weight_decay >= 0.
  void check(const std::string &who) const;
};

struct AdamState {
  Tensor step, exp_avg, exp_avg_sq, max_exp_avg_sq;
  template <class S, class F> static void fields(S &s, F &&f) {
    f("step", s.step, true);
    f("exp_avg", s.exp_avg, false);
    f("exp_avg_sq", s.exp_avg_sq, false);
    f("max_exp_avg_sq", s.max_exp_avg_sq, false);
  }
  template <class O> static std::vector<std::string> required(const O &o) {
    if (o.amsgrad)
      return {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    return {"step", "exp_avg", "exp_avg_sq"};
  }
};

class Adam : public OptimizerImpl<AdamOptions, AdamState> {
public:
  Adam(const std::vector<Tensor> &params, const AdamOptions &options = {});
  std::string name() const override { return "Adam"; }
  void step() override;
  bool has_momentum() const override { return true; }
  double momentum(size_t group) const override { return options(group).betas.value[0]; }
  void set_momentum(size_t group, double m) override {
    options(group).betas = {m, options(group).betas.value[1]};
  }
};

namespace detail {
struct AdamHyper {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, maximize;
  bool decoupled; // AdamW: p *= 1 - lr * weight_decay instead of g += wd * p
};
// One Adam/AdamW update of `p` with gradient `grad` (both contiguous),
// creating the state on the first call. Shared by Adam and AdamW.
void adam_update(const Tensor &p, const Tensor &grad, AdamState &st, const AdamHyper &h);
// Validation shared by AdamOptions and AdamWOptions.
void check_adam_options(const std::string &who, double lr, const std::array<double, 2> &betas,
                        double eps, double weight_decay);
} // namespace detail

} // namespace polygrad::optim
