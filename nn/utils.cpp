#include <polygrad/nn/utils.h>

#include <algorithm>
#include <cmath>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/elementwise.h>

namespace polygrad::nn::utils {

namespace {

// ||g||_p of one gradient, accumulated in double over fixed blocks (so the
// result does not depend on the thread count), rounded to float as
// PyTorch's per-tensor torch.norm returns it.
float grad_norm(const Tensor &grad, double p) {
  const Tensor g = grad.contiguous();
  const float *x = g.data<float>();
  const int64_t n = g.numel();
  constexpr int64_t kBlocks = 64;
  double part[kBlocks] = {};
  const bool inf = std::isinf(p);
  kernel::parallel_range(kBlocks, n, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t s = n * b / kBlocks, e = n * (b + 1) / kBlocks;
      double acc = 0;
      if (inf)
        for (int64_t i = s; i < e; ++i)
          acc = std::max(acc, double(std::fabs(x[i])));
      else if (p == 2)
        for (int64_t i = s; i < e; ++i)
          acc += double(x[i]) * x[i];
      else if (p == 1)
        for (int64_t i = s; i < e; ++i)
          acc += std::fabs(x[i]);
      else
        for (int64_t i = s; i < e; ++i)
          acc += std::pow(std::fabs(double(x[i])), p);
      // NaN must survive the max above (std::max drops it).
      for (int64_t i = s; i < e && inf; ++i)
        if (x[i] != x[i])
          acc = NAN;
      part[b] = acc;
    }
  });
  double total = 0;
  for (double v : part)
    total = inf ? (v != v || total != total ? NAN : std::max(total, v)) : total + v;
  if (inf)
    return float(total);
  return float(p == 1 ? total : p == 2 ? std::sqrt(total) : std::pow(total, 1.0 / p));
}

} // namespace

double clip_grad_norm_(const std::vector<Tensor> &parameters, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  PG_CHECK(norm_type > 0, "clip_grad_norm_: norm_type must be > 0 or inf, got ", norm_type);
  std::vector<Tensor> grads;
  for (const Tensor &p : parameters)
    if (p.defined() && p.grad().defined())
      grads.push_back(p.grad());
  if (grads.empty())
    return 0.0;
  const bool inf = std::isinf(norm_type);
  // total = the p-norm of the per-tensor norms (float, like torch.stack).
  double acc = 0;
  for (const Tensor &g : grads) {
    const double v = grad_norm(g, norm_type);
    if (inf)
      acc = (v != v || acc != acc) ? NAN : std::max(acc, v);
    else
      acc += norm_type == 2 ? v * v : norm_type == 1 ? v : std::pow(v, norm_type);
  }
  const float total = float(inf || norm_type == 1 ? acc
                            : norm_type == 2      ? std::sqrt(acc)
                                                  : std::pow(acc, 1.0 / norm_type));
  PG_CHECK(!error_if_nonfinite || std::isfinite(total), "clip_grad_norm_: the total norm of order ",
           norm_type, " of the gradients is non-finite (", total,
           "), so it cannot be clipped; pass error_if_nonfinite=false to scale anyway");
  // PyTorch: clip_coef = max_norm / (total + 1e-6), a float tensor computed
  // as reciprocal(total + 1e-6) * max_norm, then clamp(max=1). Always
  // applied (a multiply by 1 when no clipping is needed).
  float coef = (1.0f / (total + 1e-6f)) * float(max_norm);
  coef = coef > 1.0f ? 1.0f : coef; // NaN stays NaN, as in torch.clamp
  NoGradGuard ng;
  for (Tensor &g : grads)
    g.mul_(coef);
  return double(total);
}

void clip_grad_value_(const std::vector<Tensor> &parameters, double clip_value) {
  PG_CHECK(clip_value >= 0, "clip_grad_value_: clip_value must be >= 0, got ", clip_value);
  const float c = float(clip_value);
  NoGradGuard ng;
  for (const Tensor &p : parameters) {
    if (!p.defined() || !p.grad().defined())
      continue;
    Tensor g = p.grad();
    kernel::apply_inplace(g, Tensor(), [c](float x, float) { return x < -c ? -c : x > c ? c : x; });
    g.bump_version();
  }
}

} // namespace polygrad::nn::utils
