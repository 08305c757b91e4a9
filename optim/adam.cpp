#include <polygrad/optim/adam.h>

#include <cmath>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/elementwise.h>

namespace polygrad::optim {

namespace detail {

void check_adam_options(const std::string &who, double lr, const std::array<double, 2> &betas,
                        double eps, double weight_decay) {
  PG_CHECK(lr >= 0, who, ": invalid lr ", lr, " (must be >= 0)");
  PG_CHECK(eps >= 0, who, ": invalid eps ", eps, " (must be >= 0)");
  PG_CHECK(betas[0] >= 0 && betas[0] < 1, who, ": invalid beta1 ", betas[0],
           " (must be in [0, 1))");
  PG_CHECK(betas[1] >= 0 && betas[1] < 1, who, ": invalid beta2 ", betas[1],
           " (must be in [0, 1))");
  PG_CHECK(weight_decay >= 0, who, ": invalid weight_decay ", weight_decay, " (must be >= 0)");
}

namespace {

struct Consts {
  float sign, shrink, wd, b1, one_b1, b2, one_b2, bc2_sqrt, eps, neg_step;
};

// The element-wise update over [s, e): restrict pointers, no branches. GCC
// vectorises it only with -fno-math-errno (else every sqrt keeps a scalar
// errno path; a per-function pragma/attribute does not lift that).
template <bool CoupledWd, bool Amsgrad>
void adam_loop(float *__restrict w, const float *__restrict g, float *__restrict m,
               float *__restrict v, float *__restrict vmax, int64_t s, int64_t e, const Consts c) {
  for (int64_t i = s; i < e; ++i) {
    float gi = g[i] * c.sign;
    const float wi = w[i] * c.shrink; // AdamW: p.mul_(1 - lr * weight_decay)
    if constexpr (CoupledWd)
      gi = gi + c.wd * wi; // Adam: grad.add(p, alpha=weight_decay)
    const float mi = m[i] * c.b1 + c.one_b1 * gi;
    float vi = v[i] * c.b2 + c.one_b2 * gi * gi; // addcmul: v + (1-b2) * g * g
    m[i] = mi;
    v[i] = vi;
    if constexpr (Amsgrad) {
      // torch.maximum: NaN in either operand propagates.
      const float vm = vmax[i];
      vi = (vm > vi || vm != vm) ? vm : vi;
      vmax[i] = vi;
    }
    const float denom = std::sqrt(vi) / c.bc2_sqrt + c.eps;
    w[i] = wi + c.neg_step * mi / denom; // addcdiv: p + value * m / denom
  }
}

} // namespace

void adam_update(const Tensor &p, const Tensor &grad, AdamState &st, const AdamHyper &h) {
  if (!st.step.defined()) { // lazy state initialisation, as in PyTorch
    st.step = zeros({});
    st.exp_avg = zeros(p.shape());
    st.exp_avg_sq = zeros(p.shape());
  }
  if (h.amsgrad && !st.max_exp_avg_sq.defined())
    st.max_exp_avg_sq = zeros(p.shape());

  // The step count is a float32 tensor (PyTorch's state['step']); the
  // scalar math is Python's: doubles.
  float &count = *st.step.data<float>();
  count += 1.f;
  const double t = count;
  const double bias_correction1 = 1 - std::pow(h.beta1, t);
  const double bias_correction2 = 1 - std::pow(h.beta2, t);
  const double step_size = h.lr / bias_correction1;

  const float b1 = float(h.beta1), one_b1 = float(1 - h.beta1), b2 = float(h.beta2),
              one_b2 = float(1 - h.beta2), bc2_sqrt = float(std::sqrt(bias_correction2)),
              eps = float(h.eps), neg_step = float(-step_size), wd = float(h.weight_decay),
              decay = float(1 - h.lr * h.weight_decay);
  const bool coupled_wd = !h.decoupled && h.weight_decay != 0, decoupled = h.decoupled,
             amsgrad = h.amsgrad, maximize = h.maximize;

  // maximize as a multiply by -1 and Adam's "no decay" as a multiply by 1
  // are exact, so only coupled decay and amsgrad need their own loops.
  const Consts c{maximize ? -1.f : 1.f,
                 decoupled ? decay : 1.f,
                 wd,
                 b1,
                 one_b1,
                 b2,
                 one_b2,
                 bc2_sqrt,
                 eps,
                 neg_step};
  float *w = p.data<float>(), *m = st.exp_avg.data<float>(), *v = st.exp_avg_sq.data<float>();
  float *vmax = amsgrad ? st.max_exp_avg_sq.data<float>() : nullptr;
  const float *g = grad.data<float>();
  const int64_t n = p.numel();
  kernel::parallel_range(n, 4 * n, [&](int64_t s, int64_t e) {
    if (coupled_wd)
      amsgrad ? adam_loop<true, true>(w, g, m, v, vmax, s, e, c)
              : adam_loop<true, false>(w, g, m, v, vmax, s, e, c);
    else
      amsgrad ? adam_loop<false, true>(w, g, m, v, vmax, s, e, c)
              : adam_loop<false, false>(w, g, m, v, vmax, s, e, c);
  });
  p.bump_version();
  st.exp_avg.bump_version();
  st.exp_avg_sq.bump_version();
  if (amsgrad)
    st.max_exp_avg_sq.bump_version();
}

} // namespace detail

void AdamOptions::check(const std::string &who) const {
  detail::check_adam_options(who, lr, betas, eps, weight_decay);
}

Adam::Adam(const std::vector<Tensor> &params, const AdamOptions &options) : OptimizerImpl(options) {
  defaults_.check(name());
  add_param_group(params, options);
}

void Adam::step() {
  NoGradGuard ng;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const AdamOptions &o = options_[gi];
    const detail::AdamHyper h{o.lr,           o.betas.value[0], o.betas.value[1], o.eps,
                              o.weight_decay, o.amsgrad,        o.maximize,       false};
    for (size_t j = 0; j < groups_[gi].params.size(); ++j) {
      const Tensor &p = groups_[gi].params[j];
      Tensor grad = p.grad();
      if (!grad.defined())
        continue;
      detail::adam_update(p, grad.is_contiguous() ? grad : grad.contiguous(), state_[gi][j], h);
    }
  }
}

} // namespace polygrad::optim
