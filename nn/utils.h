// nn::utils: gradient clipping, as torch.nn.utils.
#pragma once

#include <vector>

#include <polygrad/core/tensor.h>

namespace polygrad::nn::utils {

// Scales all gradients together so that their joint norm is at most
// max_norm, PyTorch's clip_grad_norm_:
//   total = || ( ||g_1||_p, ..., ||g_k||_p ) ||_p      over the params with a grad
//           (norm_type = inf: the largest |g| entry)
//   coef  = min(1, max_norm / (total + 1e-6));   every g *= coef
// Returns total (before clipping), as libtorch's C++ clip_grad_norm_ does.
// Parameters without a gradient are ignored (0 if none has one).
// error_if_nonfinite: throw instead of scaling when total is NaN or inf.
double clip_grad_norm_(const std::vector<Tensor> &parameters, double max_norm,
                       double norm_type = 2.0, bool error_if_nonfinite = false);

// Clamps every gradient entry into [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor> &parameters, double clip_value);

} // namespace polygrad::nn::utils
