// Kullback-Leibler divergence, PyTorch's F.kl_div(input, target): input holds
// log-probabilities x; target holds probabilities t (or log-probabilities when
// log_target), same shape:
//   L = t (log t - x)   (0 where t = 0)        log_target: L = e^t (t - x)
//   dL/dx = -t                                  dL/dx = -e^t
//   dL/dt = log t + 1 - x  (NaN at t = 0, as PyTorch)   dL/dt = e^t (t - x + 1)
// Reductions: Mean averages over all elements (PyTorch's default, which is not
// the KL divergence); BatchMean divides the sum by input.size(0), the true KL
// divergence per sample; Sum; None.
#pragma once

#include <polygrad/losses/common.h>

namespace polygrad::losses {

struct KLDivOptions {
  Reduction reduction = Reduction::Mean; // also BatchMean
  bool log_target = false;
  // The schema (registry specs, nn::Loss printing and buffers): every field once.
  template <class O, class F> static void fields(O &o, F &&f) {
    f("reduction", o.reduction), f("log_target", o.log_target);
  }
};
void check_options(const KLDivOptions &o);

Tensor kl_div(const Tensor &input, const Tensor &target, const KLDivOptions &options = {});

} // namespace polygrad::losses
