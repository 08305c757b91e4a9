// The engine behind the element-wise losses (sigmoid focal, BCE with logits,
// MSE, L1, smooth L1, Huber, KL divergence): one pass over the elements
// computes each element's loss and, when needed, its gradient w.r.t. the input
// (and the target), pre-scaled for the reduction; backward only scales by the
// upstream gradient (see loss_node.h). Blocks of 4096 elements are split
// across OpenMP threads; the sum is taken block by block in double, so the
// result does not depend on the thread count.
#pragma once

#include <functional>

#include <polygrad/losses/common.h>

namespace polygrad::losses {

// Computes elements [begin, end) of the flattened input:
//   loss[i - begin] = L_i,
//   gx[i] = scale * dL_i/dinput_i   (when gx is not null),
//   gt[i] = scale * dL_i/dtarget_i  (when gt is not null).
using PointwiseBody =
    std::function<void(int64_t begin, int64_t end, float scale, float *loss, float *gx, float *gt)>;

struct PointwiseLossArgs {
  const char *op = "";        // for error messages
  const char *node_name = ""; // the grad_fn's name
  Tensor input{}, target{};   // same shape, float32
  Reduction reduction = Reduction::Mean;
  bool target_grad = true;     // false: a target that requires grad is an error
  double mean_denominator = 1; // for Mean / BatchMean
};

Tensor run_pointwise_loss(const PointwiseLossArgs &args, const PointwiseBody &body);

} // namespace polygrad::losses
