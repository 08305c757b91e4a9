// optim::AdamW (Loshchilov & Hutter): Adam with decoupled weight decay;
// PyTorch 1.13's update. Identical to Adam (optim/adam.h) except that the
// decay shrinks the parameter directly instead of entering the gradient:
//
//   p  = p * (1 - lr * weight_decay)     (first, every step)
//   m, v, v_max, denom as in Adam with g = grad (-grad if maximize)
//   p  = p - lr / (1 - beta1^t) * m / denom
//
// Default weight_decay 0.01. Same state buffers as Adam.
#pragma once

#include <polygrad/optim/adam.h>

namespace polygrad::optim {

struct AdamWOptions {
  Hyper<double> lr = Hyper<double>::fallback(1e-3);
  Hyper<std::array<double, 2>> betas = Hyper<std::array<double, 2>>::fallback({0.9, 0.999});
  Hyper<double> eps = Hyper<double>::fallback(1e-8);
  Hyper<double> weight_decay = Hyper<double>::fallback(1e-2);
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
  void check(const std::string &who) const;
};

class AdamW : public OptimizerImpl<AdamWOptions, AdamState> {
public:
  AdamW(const std::vector<Tensor> &params, const AdamWOptions &options = {});
  std::string name() const override { return "AdamW"; }
  void step() override;
  bool has_momentum() const override { return true; }
  double momentum(size_t group) const override { return options(group).betas.value[0]; }
  void set_momentum(size_t group, double m) override {
    options(group).betas = {m, options(group).betas.value[1]};
  }
};

} // namespace polygrad::optim
