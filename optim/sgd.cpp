#include <polygrad/optim/sgd.h>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/elementwise.h>

namespace polygrad::optim {

void SGDOptions::check(const std::string &who) const {
  PG_CHECK(lr.value >= 0, who, ": lr is required and must be >= 0 (e.g. {.lr = 0.1}), got ",
           lr.value);
  PG_CHECK(momentum.value >= 0, who, ": invalid momentum ", momentum.value, " (must be >= 0)");
  PG_CHECK(weight_decay.value >= 0, who, ": invalid weight_decay ", weight_decay.value,
           " (must be >= 0)");
  PG_CHECK(!nesterov.value || (momentum.value > 0 && dampening.value == 0), who,
           ": nesterov momentum requires a momentum > 0 and zero dampening (got momentum ",
           momentum.value, ", dampening ", dampening.value, ")");
}

SGD::SGD(const std::vector<Tensor> &params, const SGDOptions &options) : OptimizerImpl(options) {
  defaults_.check(name());
  add_param_group(params, options);
}

void SGD::step() {
  NoGradGuard ng;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const SGDOptions &o = options_[gi];
    // Scalars rounded to float once, as PyTorch passes them to its float
    // kernels (alpha = 1 - dampening and -lr are computed in double first).
    const float lr_neg = float(-o.lr.value), wd = float(o.weight_decay.value),
                mom = float(o.momentum.value), damp1 = float(1.0 - o.dampening.value);
    const bool use_wd = o.weight_decay.value != 0, use_mom = o.momentum.value != 0,
               nesterov = o.nesterov, maximize = o.maximize;
    for (size_t j = 0; j < groups_[gi].params.size(); ++j) {
      const Tensor &p = groups_[gi].params[j];
      Tensor grad = p.grad();
      if (!grad.defined())
        continue; // PyTorch skips parameters whose grad is None
      if (!grad.is_contiguous())
        grad = grad.contiguous();
      SGDState &st = state_[gi][j];
      bool first = false;
      if (use_mom && !st.momentum_buffer.defined()) {
        st.momentum_buffer = Tensor::empty(p.shape());
        first = true;
      }
      float *__restrict w = p.data<float>();
      const float *__restrict g = grad.data<float>();
      float *__restrict b = use_mom ? st.momentum_buffer.data<float>() : nullptr;
      const int64_t n = p.numel();
      kernel::parallel_range(n, n, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) {
          float d = maximize ? -g[i] : g[i];
          if (use_wd)
            d = d + wd * w[i];
          if (use_mom) {
            // b = d on the first step (torch.clone(d_p)), else
            // b = momentum * b + (1 - dampening) * d.
            const float bi = first ? d : b[i] * mom + damp1 * d;
            b[i] = bi;
            d = nesterov ? d + mom * bi : bi;
          }
          w[i] = w[i] + lr_neg * d;
        }
      });
      p.bump_version();
      if (use_mom)
        st.momentum_buffer.bump_version();
    }
  }
}

} // namespace polygrad::optim
