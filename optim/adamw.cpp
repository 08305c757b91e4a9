#include <polygrad/optim/adamw.h>

#include <polygrad/autograd/grad_mode.h>

namespace polygrad::optim {

void AdamWOptions::check(const std::string &who) const {
  detail::check_adam_options(who, lr, betas, eps, weight_decay);
}

AdamW::AdamW(const std::vector<Tensor> &params, const AdamWOptions &options)
    : OptimizerImpl(options) {
  defaults_.check(name());
  add_param_group(params, options);
}

void AdamW::step() {
  NoGradGuard ng;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const AdamWOptions &o = options_[gi];
    const detail::AdamHyper h{o.lr,           o.betas.value[0], o.betas.value[1], o.eps,
                              o.weight_decay, o.amsgrad,        o.maximize,       true};
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
