#include <polygrad/autograd/gradcheck.h>

#include <cmath>
#include <limits>
#include <random>
#include <sstream>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>

namespace polygrad {
namespace {
double project(const Tensor &out, const std::vector<float> &v) {
  const std::vector<float> o = out.to_vector();
  double s = 0;
  for (size_t i = 0; i < o.size(); ++i)
    s += double(o[i]) * double(v[i]);
  return s;
}
} // namespace

GradcheckResult gradcheck(const GradFn &fn, const std::vector<Tensor> &inputs_in,
                          const GradcheckOptions &opt) {
  // Fresh leaves, so gradients from earlier use do not leak in.
  std::vector<Tensor> inputs;
  for (const Tensor &t : inputs_in) {
    if (t.dtype() != DType::Float32) {
      inputs.push_back(t);
      continue;
    }
    Tensor c = kernel::contiguous(t.detach()).detach();
    if (c.same(t) || c.storage() == t.storage()) {
      Tensor copy = Tensor::empty(t.shape());
      kernel::apply_inplace(copy, t, [](float, float s) { return s; });
      c = copy;
    }
    inputs.push_back(t.requires_grad() ? c.requires_grad_(true) : c);
  }
  PG_CHECK(opt.order == 2 || opt.order == 4, "gradcheck: order must be 2 or 4, got ", opt.order);
  PG_CHECK(opt.eps > 0.f, "gradcheck: eps must be > 0, got ", opt.eps);
  Tensor out = fn(inputs);
  // |v_i| in [0.5, 1.5] with a random sign: no output is weighted ~0.
  std::mt19937 gen((uint32_t)opt.seed);
  std::uniform_real_distribution<float> mag(0.5f, 1.5f);
  std::bernoulli_distribution neg(0.5);
  std::vector<float> v(out.numel());
  for (float &x : v)
    x = neg(gen) ? -mag(gen) : mag(gen);
  GradcheckResult res;
  if (!out.requires_grad()) {
    res.ok = false;
    res.message = "gradcheck: the output does not require grad";
    return res;
  }
  out.backward(from_vector(v, out.shape()));

  // Largest excess over the tolerance; starts below any real excess so the
  // worst element is always reported, even when everything passes.
  double worst = -std::numeric_limits<double>::infinity();
  double max_abs_analytic = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor &x = inputs[k];
    if (!x.requires_grad())
      continue;
    const Tensor g = x.grad();
    const std::vector<float> ga = g.defined() ? g.to_vector() : std::vector<float>(x.numel(), 0.f);
    float *px = x.data<float>();
    for (int64_t j = 0; j < x.numel(); ++j) {
      const float orig = px[j];
      // s at orig + k h; the perturbed input is what the function sees (a
      // float), so the step actually taken is used, not the nominal one.
      auto s_at = [&](float k) {
        NoGradGuard ng;
        px[j] = orig + k * opt.eps;
        const double taken = double(px[j]) - double(orig);
        const double sv = project(fn(inputs), v);
        px[j] = orig;
        return std::make_pair(sv, taken);
      };
      const auto [sp, hp] = s_at(1.f);
      const auto [sm, hm] = s_at(-1.f);
      double num = (sp - sm) / (hp - hm);
      if (opt.order == 4) {
        const auto [sp2, hp2] = s_at(2.f);
        const auto [sm2, hm2] = s_at(-2.f);
        // Richardson: D(h) = s' + c h^2 + O(h^4), D(2h) = s' + 4 c h^2 + ...
        num = (4.0 * num - (sp2 - sm2) / (hp2 - hm2)) / 3.0;
      }
      const double ana = ga[j];
      const double err = std::fabs(ana - num);
      const double rel = err / std::max(std::fabs(num), 1e-12);
      const double tol = opt.atol + opt.rtol * std::fabs(num);
      const double excess = err - tol;
      ++res.checked;
      max_abs_analytic = std::max(max_abs_analytic, std::fabs(ana));
      if (std::fabs(ana * (1 + opt.detect) - num) > tol &&
          std::fabs(ana * (1 - opt.detect) - num) > tol)
        res.sensitive = true;
      res.max_abs_err = std::max(res.max_abs_err, err);
      if (err > opt.atol)
        res.max_rel_err = std::max(res.max_rel_err, rel);
      if (excess > worst || !std::isfinite(ana) || !std::isfinite(num)) {
        worst = std::isfinite(ana) && std::isfinite(num) ? excess : 1e30;
        res.input = (int)k;
        res.index = j;
        res.analytic = ana;
        res.numeric = num;
      }
    }
  }
  // A gradient that is exactly zero everywhere (floor, sign, a constant
  // branch) is the same when scaled: only atol can catch an error there.
  if (max_abs_analytic == 0 && res.max_abs_err <= opt.atol)
    res.sensitive = true;
  res.ok = worst <= 0 && res.checked > 0;
  std::ostringstream os;
  if (res.checked == 0)
    os << "gradcheck FAILED: no input element was checked (none requires grad, or all are empty)";
  else
    os << (res.ok ? "gradcheck passed" : "gradcheck FAILED") << ": worst element is input "
       << res.input << " [" << res.index << "]: analytic " << res.analytic << " vs numeric "
       << res.numeric << " (max abs err " << res.max_abs_err << ", atol " << opt.atol << ", rtol "
       << opt.rtol << ", " << res.checked << " elements)";
  if (res.checked > 0 && !res.sensitive)
    os << "; NOT sensitive: a gradient off by " << opt.detect * 100
       << " % would pass these tolerances (tighten atol/rtol or change the step)";
  res.message = os.str();
  return res;
}

} // namespace polygrad
