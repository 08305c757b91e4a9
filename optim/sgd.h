// optim::SGD: stochastic gradient descent with momentum, dampening, Nesterov
// momentum and L2 weight decay; PyTorch 1.13's update, element for element:
//
//   g  = grad                      (-grad if maximize)
//   g  = g + weight_decay * p      (if weight_decay != 0)
//   if momentum != 0:
//     b = g                                      on the parameter's first step
//     b = momentum * b + (1 - dampening) * g     afterwards
//     g = g + momentum * b   (nesterov)   or   g = b
//   p  = p - lr * g
//
// State: "momentum_buffer" (b) per parameter, only when momentum != 0.
#pragma once

#include <polygrad/optim/optimizer.h>

namespace polygrad::optim {

struct SGDOptions {
  Hyper<double> lr = Hyper<double>::fallback(-1); // required
  Hyper<double> momentum = Hyper<double>::fallback(0);
  Hyper<double> dampening = Hyper<double>::fallback(0);
  Hyper<double> weight_decay = Hyper<double>::fallback(0);
  Hyper<bool> nesterov = Hyper<bool>::fallback(false);
  Hyper<bool> maximize = Hyper<bool>::fallback(false);

  template <class O, class F> static void fields(O &o, F &&f) {
    f("lr", o.lr);
    f("momentum", o.momentum);
    f("dampening", o.dampening);
    f("weight_decay", o.weight_decay);
    f("nesterov", o.nesterov);
    f("maximize", o.maximize);
  }
  // lr >= 0 (and given), momentum >= 0, weight_decay >= 0; nesterov needs
  // momentum > 0 and dampening 0.
  void check(const std::string &who) const;
};

struct SGDState {
  Tensor momentum_buffer;
  template <class S, class F> static void fields(S &s, F &&f) {
    f("momentum_buffer", s.momentum_buffer, false);
  }
  static std::vector<std::string> required(const SGDOptions &) { return {}; }
};

class SGD : public OptimizerImpl<SGDOptions, SGDState> {
public:
  SGD(const std::vector<Tensor> &params, const SGDOptions &options);
  std::string name() const override { return "SGD"; }
  void step() override;
  bool has_momentum() const override { return true; }
  double momentum(size_t group) const override { return options(group).momentum; }
  void set_momentum(size_t group, double m) override { options(group).momentum = m; }
};

} // namespace polygrad::optim
