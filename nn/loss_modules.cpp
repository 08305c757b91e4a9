#include <polygrad/nn/loss_modules.h>

namespace polygrad::nn {

namespace {
namespace S = losses::spec;
std::string red(losses::Reduction r) {
  return std::string("reduction=") + losses::reduction_name(r);
}
std::string tensor(const char *name, const Tensor &t) {
  return t.defined() ? std::string(name) + "=" + S::show(t) + ", " : "";
}
} // namespace

// Each module checks its options up front (like the registry) and forwards.
#define PG_LOSS_IMPL(Class, Options, fn, buffers, repr)                                            \
  Class::Class(losses::Options options) : options_(std::move(options)) {                           \
    check_options(options_);                                                                       \
    buffers;                                                                                       \
  }                                                                                                \
  Tensor Class::forward(const Tensor &input, const Tensor &target) {                               \
    return losses::fn(input, target, options_);                                                    \
  }                                                                                                \
  std::string Class::extra_repr() const {                                                          \
    const auto &o = options_;                                                                      \
    return repr;                                                                                   \
  }

#define BUF(field)                                                                                 \
  if (options_.field.defined())                                                                    \
  register_buffer(#field, options_.field)

PG_LOSS_IMPL(CrossEntropyLoss, CrossEntropyOptions, cross_entropy, BUF(weight),
             tensor("weight", o.weight) + "ignore_index=" + S::show(o.ignore_index) +
                 ", label_smoothing=" + S::show(o.label_smoothing) + ", " + red(o.reduction))
PG_LOSS_IMPL(NLLLoss, NLLLossOptions, nll_loss, BUF(weight),
             tensor("weight", o.weight) + "ignore_index=" + S::show(o.ignore_index) + ", " +
                 red(o.reduction))
PG_LOSS_IMPL(Poly1CrossEntropyLoss, Poly1CrossEntropyOptions, poly1_cross_entropy, BUF(weight),
             "epsilon=" + S::show(o.epsilon) + ", " + tensor("weight", o.weight) + "ignore_index=" +
                 S::show(o.ignore_index) + ", label_smoothing=" + S::show(o.label_smoothing) +
                 ", weighting=" + S::show(o.weighting) + ", " + red(o.reduction))
PG_LOSS_IMPL(PolyLoss, PolyLossOptions, poly_loss, BUF(weight),
             "epsilons=" + S::show(o.epsilons) + ", " + tensor("weight", o.weight) +
                 "ignore_index=" + S::show(o.ignore_index) + ", " + red(o.reduction))
PG_LOSS_IMPL(FocalLoss, FocalLossOptions, focal_loss, BUF(alpha),
             "gamma=" + S::show(o.gamma) + ", " + tensor("alpha", o.alpha) +
                 "ignore_index=" + S::show(o.ignore_index) + ", " + red(o.reduction))
PG_LOSS_IMPL(Poly1FocalLoss, Poly1FocalLossOptions, poly1_focal_loss, BUF(alpha),
             "epsilon=" + S::show(o.epsilon) + ", gamma=" + S::show(o.gamma) + ", " +
                 tensor("alpha", o.alpha) + "alpha_on_poly=" + S::show(o.alpha_on_poly) +
                 ", ignore_index=" + S::show(o.ignore_index) + ", " + red(o.reduction))
PG_LOSS_IMPL(SigmoidFocalLoss, SigmoidFocalLossOptions, sigmoid_focal_loss, (void)0,
             "alpha=" + S::show(o.alpha) + ", gamma=" + S::show(o.gamma) + ", " + red(o.reduction))
PG_LOSS_IMPL(Poly1SigmoidFocalLoss, Poly1SigmoidFocalLossOptions, poly1_sigmoid_focal_loss,
             BUF(pos_weight),
             "epsilon=" + S::show(o.epsilon) + ", alpha=" + S::show(o.alpha) +
                 ", gamma=" + S::show(o.gamma) + ", " + tensor("pos_weight", o.pos_weight) +
                 "alpha_on_poly=" + S::show(o.alpha_on_poly) + ", " + red(o.reduction))
PG_LOSS_IMPL(BCEWithLogitsLoss, BCEWithLogitsOptions, binary_cross_entropy_with_logits, BUF(weight);
             BUF(pos_weight),
             tensor("weight", o.weight) + tensor("pos_weight", o.pos_weight) + red(o.reduction))
PG_LOSS_IMPL(MSELoss, MSELossOptions, mse_loss, (void)0, red(o.reduction))
PG_LOSS_IMPL(L1Loss, L1LossOptions, l1_loss, (void)0, red(o.reduction))
PG_LOSS_IMPL(SmoothL1Loss, SmoothL1LossOptions, smooth_l1_loss, (void)0,
             "beta=" + S::show(o.beta) + ", " + red(o.reduction))
PG_LOSS_IMPL(HuberLoss, HuberLossOptions, huber_loss, (void)0,
             "delta=" + S::show(o.delta) + ", " + red(o.reduction))
PG_LOSS_IMPL(KLDivLoss, KLDivOptions, kl_div, (void)0,
             red(o.reduction) + ", log_target=" + S::show(o.log_target))

} // namespace polygrad::nn
