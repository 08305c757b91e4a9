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
  Tensor out = fn(inputs);
  std::mt19937 gen((uint32_t)opt.seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(out.numel());
  for (float &x : v)
    x = dist(gen);
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
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor &x = inputs[k];
    if (!x.requires_grad())
      continue;
    const Tensor g = x.grad();
    const std::vector<float> ga = g.defined() ? g.to_vector() : std::vector<float>(x.numel(), 0.f);
    float *px = x.data<float>();
    for (int64_t j = 0; j < x.numel(); ++j) {
      const float orig = px[j];
      double sp, sm;
      {
        NoGradGuard ng;
        px[j] = orig + opt.eps;
        sp = project(fn(inputs), v);
        px[j] = orig - opt.eps;
        sm = project(fn(inputs), v);
        px[j] = orig;
      }
      const double num = (sp - sm) / (2.0 * opt.eps);
      const double ana = ga[j];
      const double err = std::fabs(ana - num);
      const double rel = err / std::max(std::fabs(num), 1e-12);
      const double excess = err - (opt.atol + opt.rtol * std::fabs(num));
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
  res.ok = worst <= 0;
  std::ostringstream os;
  os << (res.ok ? "gradcheck passed" : "gradcheck FAILED") << ": worst element is input "
     << res.input << " [" << res.index << "]: analytic " << res.analytic << " vs numeric "
     << res.numeric << " (max abs err " << res.max_abs_err << ", atol " << opt.atol << ", rtol "
     << opt.rtol << ")";
  res.message = os.str();
  return res;
}

} // namespace polygrad
