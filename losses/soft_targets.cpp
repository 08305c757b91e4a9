// The target-distribution engine's work that is the same for every loss (see
// soft_targets.h); the losses' own math is in their row functions.
#include <polygrad/losses/soft_targets.h>

#include <cmath>
#include <vector>

#include <polygrad/autograd/node.h>
#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/vec_math.h>
#include <polygrad/losses/loss_node.h>

namespace polygrad::losses {

TargetLossPlan plan_target_loss(const TargetLossArgs &a) {
  check_logits(a.op, a.input);
  check_reduction(a.op, a.reduction);
  const int64_t N = a.input.size(0), C = a.input.size(1);
  check_class_vector(a.op, "weight", a.weight, C);
  TargetLossPlan p;
  p.args = a;
  p.soft = a.target.defined() && a.target.dtype() == DType::Float32;
  p.weight = a.weight.defined() ? kernel::contiguous(a.weight) : Tensor();
  if (p.soft)
    check_same_shape(a.op, "target probabilities", a.input, a.target);
  else
    p.stats = scan_labels(a.op, a.input, a.target,
                          p.weight.defined() ? p.weight.data<float>() : nullptr, a.ignore_index);
  p.mean_denominator = p.soft ? (double)N : p.stats.weight_sum;
  return p;
}

Tensor dense_as_rows(const TargetLossArgs &a,
                     const std::function<Tensor(const Tensor &, const Tensor &)> &rows) {
  check_logits(a.op, a.input, true);
  check_reduction(a.op, a.reduction);
  const bool soft = a.target.defined() && a.target.dtype() == DType::Float32;
  if (soft)
    check_same_shape(a.op, "target probabilities", a.input, a.target);
  else // the labels' shape and range; the weights are checked on the rows
    scan_labels(a.op, a.input, a.target, nullptr, a.ignore_index);
  const int64_t k = a.input.dim(), N = a.input.size(0), C = a.input.size(1);
  const int64_t NS = N * positions(a.input);
  Shape perm{0}; // (N, C, d1, ..., dk) -> (N, d1, ..., dk, C)
  for (int64_t d = 2; d < k; ++d)
    perm.push_back(d);
  perm.push_back(1);
  auto to_rows = [&](const Tensor &t) { return t.permute(perm).reshape({NS, C}); };
  const Tensor out = rows(to_rows(a.input), soft ? to_rows(a.target) : a.target.reshape({NS}));
  return a.reduction == Reduction::None ? out.reshape(label_shape(a.input.shape())) : out;
}

TargetPass::TargetPass(const TargetLossPlan &p, double D) : plan_(p), D_(D) {
  const TargetLossArgs &a = p.args;
  N = a.input.size(0), C = a.input.size(1);
  scale = a.reduction == Reduction::Mean ? (float)(1.0 / D) : 1.f;
  one_minus_ls = 1.f - a.label_smoothing;
  // the weights as a plain array (ones without weights): `pw ? pw[j] : 1`
  // inside the per-class loops would keep them from vectorising
  const float *pw = p.weight.defined() ? p.weight.data<float>() : nullptr;
  ones_.assign(pw ? 0 : C, 1.f);
  w_ = pw ? pw : ones_.data();
  x_ = kernel::contiguous(a.input);
  target_ = kernel::contiguous(a.target);
  z_ = x_.data<float>();
  T_ = p.soft ? target_.data<float>() : nullptr;
  Y_ = p.soft ? nullptr : target_.data<int64_t>();
  const bool need_x = needs_grad({a.input});
  const bool need_t = p.soft && needs_grad({a.target}) && a.target.requires_grad();
  G_ = need_x ? Tensor::empty({N, C}) : Tensor();
  GT_ = need_t ? Tensor::empty({N, C}) : Tensor();
  rows_ = Tensor::empty({N});
  pG_ = need_x ? G_.data<float>() : nullptr;
  pGT_ = need_t ? GT_.data<float>() : nullptr;
  row_loss = rows_.data<float>();
}

void TargetPass::for_rows(const std::function<void(int64_t, int64_t, float *)> &body) const {
  kernel::parallel_range(N, N * C * 8, [&](int64_t b, int64_t e) {
    std::vector<float> scratch(2 * C);
    body(b, e, scratch.data());
  });
}

Tensor TargetPass::finish() {
  const TargetLossArgs &a = plan_.args;
  const bool reduced = a.reduction != Reduction::None;
  Tensor out = rows_;
  if (reduced) {
    double total = 0;
    for (int64_t i = 0; i < N; ++i)
      total += row_loss[i];
    out = scalar_tensor(a.reduction == Reduction::Mean ? (float)(total / D_) : (float)total);
  }
  if (G_.defined() || GT_.defined())
    out = record_loss(a.node_name, out, {a.input, a.target}, grad_scale_for(reduced, true),
                      {G_, GT_});
  return out;
}

} // namespace polygrad::losses
