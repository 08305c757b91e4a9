// The graph node of a fused loss. A loss kernel computes, in the same pass as
// the loss, the gradient of the loss w.r.t. each differentiable input (for an
// upstream gradient of 1), so backward only has to scale it by the upstream
// gradient g:
//   Scalar       (reduction mean/sum): dL/dx = g * G            (g is 0-d)
//   Rows         (reduction none, one loss per row of an (N, C) input):
//                dL/dx[i, :] = g[i] * G[i, :]
//   Positions    (reduction none, one loss per position of an (N, C, d1, ...,
//                dk) input): dL/dx[n, c, s] = g[n, s] * G[n, c, s]
//   Elementwise  (reduction none, one loss per element): dL/dx = g * G
// With g == 1 (the usual loss.backward()) G itself is handed on, no copy.
#pragma once

#include <vector>

#include <polygrad/autograd/node.h>

namespace polygrad::losses {

enum class GradScale { Scalar, Rows, Positions, Elementwise };

class LossNode final : public Node {
public:
  // grads[k] is the gradient for input k (undefined: none).
  LossNode(const char *name, GradScale scale, std::vector<Tensor> grads)
      : name_(name), scale_(scale), grads_(std::move(grads)) {}
  grads apply(const Tensor &grad_output) override;
  std::string name() const override { return name_; }
  void release_saved() override { grads_.clear(); }

private:
  const char *name_;
  GradScale scale_;
  std::vector<Tensor> grads_;
};

// The reduction's GradScale.
GradScale grad_scale_for(bool reduced, bool per_row);

// Makes `out` the output of a LossNode over `inputs` (grads aligned with them).
Tensor record_loss(const char *name, Tensor out, const std::vector<Tensor> &inputs, GradScale scale,
                   std::vector<Tensor> grads);

} // namespace polygrad::losses
