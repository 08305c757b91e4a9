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

  float *__restrict w = p.data<float>();
  const float *__restrict g = grad.data<float>();
  float *__restrict m = st.exp_avg.data<float>();
  float *__restrict v = st.exp_avg_sq.data<float>();
  float *__restrict vmax = amsgrad ? st.max_exp_avg_sq.data<float>() : nullptr;
  const int64_t n = p.numel();
  kernel::parallel_range(n, 4 * n, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) {
      float gi = maximize ? -g[i] : g[i];
      float wi = w[i];
      if (decoupled)
        wi = wi * decay; // AdamW: p.mul_(1 - lr * weight_decay)
      else if (coupled_wd)
        gi = gi + wd * wi; // Adam: grad.add(p, alpha=weight_decay)
      const float mi = m[i] * b1 + one_b1 * gi;
      float vi = v[i] * b2 + one_b2 * gi * gi; // addcmul: v + (1-b2) * g * g
      m[i] = mi;
      v[i] = vi;
      if (amsgrad) {
        // torch.maximum: NaN in either operand propagates.
        const float vm = vmax[i];
        vi = (vm > vi || vm != vm) ? vm : vi;
        vmax[i] = vi;
      }
      const float denom = std::sqrt(vi) / bc2_sqrt + eps;
      w[i] = wi + neg_step * mi / denom; // addcdiv: p + value * m / denom
    }
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
