// Regression losses on d = input - target (same shapes), as PyTorch:
//   mse_loss        L = d^2                                  dL/dd = 2 d
//   l1_loss         L = |d|                                  dL/dd = sign(d) (0 at 0)
//   smooth_l1_loss  L = d^2 / (2 beta) if |d| < beta else |d| - beta / 2
//                   dL/dd = d / beta inside, sign(d) outside (beta = 0: l1, with
//                   PyTorch's -1 at d = 0)
//   huber_loss      L = d^2 / 2 if |d| <= delta else delta (|d| - delta / 2)
//                   dL/dd = d inside, delta sign(d) outside
// dL/dtarget = -dL/dd (PyTorch evaluates the kernel at target - input, so at
// smooth_l1's kink with beta = 0 both gradients are -1). Mean averages over all elements.
#pragma once

#include <polygrad/losses/common.h>

namespace polygrad::losses {

struct MSELossOptions {
  Reduction reduction = Reduction::Mean;
  // The schema (registry specs, nn::Loss printing and buffers): every field once.
  template <class O, class F> static void fields(O &o, F &&f) { f("reduction", o.reduction); }
};
struct L1LossOptions {
  Reduction reduction = Reduction::Mean;
  // The schema (registry specs, nn::Loss printing and buffers): every field once.
  template <class O, class F> static void fields(O &o, F &&f) { f("reduction", o.reduction); }
};
struct SmoothL1LossOptions {
  float beta = 1.f; // >= 0
  Reduction reduction = Reduction::Mean;
  // The schema (registry specs, nn::Loss printing and buffers): every field once.
  template <class O, class F> static void fields(O &o, F &&f) {
    f("beta", o.beta), f("reduction", o.reduction);
  }
};
struct HuberLossOptions {
  float delta = 1.f; // > 0
  Reduction reduction = Reduction::Mean;
  // The schema (registry specs, nn::Loss printing and buffers): every field once.
  template <class O, class F> static void fields(O &o, F &&f) {
    f("delta", o.delta), f("reduction", o.reduction);
  }
};
void check_options(const MSELossOptions &o);
void check_options(const L1LossOptions &o);
void check_options(const SmoothL1LossOptions &o);
void check_options(const HuberLossOptions &o);

Tensor mse_loss(const Tensor &input, const Tensor &target, const MSELossOptions &options = {});
Tensor l1_loss(const Tensor &input, const Tensor &target, const L1LossOptions &options = {});
Tensor smooth_l1_loss(const Tensor &input, const Tensor &target,
                      const SmoothL1LossOptions &options = {});
Tensor huber_loss(const Tensor &input, const Tensor &target, const HuberLossOptions &options = {});

} // namespace polygrad::losses
