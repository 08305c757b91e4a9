// The loss zoo as nn modules, like torch.nn.CrossEntropyLoss: each holds its
// options and calls the functional form in polygrad::losses, so
// nn::Poly1CrossEntropyLoss(o)(x, y) == losses::poly1_cross_entropy(x, y, o)
// exactly. Class weights (weight / alpha / pos_weight) are registered as
// buffers under PyTorch's names, so they appear in state_dict().
//   auto crit = nn::Poly1CrossEntropyLoss({.epsilon = 2.f});
//   Tensor loss = crit(logits, labels);
#pragma once

#include <string>

#include <polygrad/losses/losses.h>
#include <polygrad/nn/module.h>

namespace polygrad::nn {

// Base of the loss modules: forward(input, target). The one-argument forward
// of Module throws (a loss needs a target).
class LossModule : public Module {
public:
  virtual Tensor forward(const Tensor &input, const Tensor &target) = 0;
  Tensor operator()(const Tensor &input, const Tensor &target) { return forward(input, target); }
  using Module::forward;
  using Module::operator();
};

#define PG_LOSS_MODULE(Class, Options)                                                             \
  class Class : public LossModule {                                                                \
  public:                                                                                          \
    explicit Class(losses::Options options = {});                                                  \
    Tensor forward(const Tensor &input, const Tensor &target) override;                            \
    using LossModule::forward; /* the one-argument form throws: a loss needs a target */           \
    std::string name() const override { return #Class; }                                           \
    std::string extra_repr() const override;                                                       \
    const losses::Options &options() const { return options_; }                                    \
                                                                                                   \
  private:                                                                                         \
    losses::Options options_;                                                                      \
  }

PG_LOSS_MODULE(CrossEntropyLoss, CrossEntropyOptions);               // losses::cross_entropy
PG_LOSS_MODULE(NLLLoss, NLLLossOptions);                             // losses::nll_loss
PG_LOSS_MODULE(Poly1CrossEntropyLoss, Poly1CrossEntropyOptions);     // losses::poly1_cross_entropy
PG_LOSS_MODULE(PolyLoss, PolyLossOptions);                           // losses::poly_loss
PG_LOSS_MODULE(FocalLoss, FocalLossOptions);                         // losses::focal_loss
PG_LOSS_MODULE(Poly1FocalLoss, Poly1FocalLossOptions);               // losses::poly1_focal_loss
PG_LOSS_MODULE(SigmoidFocalLoss, SigmoidFocalLossOptions);           // losses::sigmoid_focal_loss
PG_LOSS_MODULE(Poly1SigmoidFocalLoss, Poly1SigmoidFocalLossOptions); // poly1_sigmoid_focal_loss
PG_LOSS_MODULE(BCEWithLogitsLoss, BCEWithLogitsOptions); // binary_cross_entropy_with_logits
PG_LOSS_MODULE(MSELoss, MSELossOptions);                 // losses::mse_loss
PG_LOSS_MODULE(L1Loss, L1LossOptions);                   // losses::l1_loss
PG_LOSS_MODULE(SmoothL1Loss, SmoothL1LossOptions);       // losses::smooth_l1_loss
PG_LOSS_MODULE(HuberLoss, HuberLossOptions);             // losses::huber_loss
PG_LOSS_MODULE(KLDivLoss, KLDivOptions);                 // losses::kl_div

#undef PG_LOSS_MODULE

// A module around a registry spec: nn::RegistryLoss("poly1_focal:epsilon=2").
class RegistryLoss : public LossModule {
public:
  explicit RegistryLoss(const std::string &spec) : loss_(losses::make(spec)) {}
  Tensor forward(const Tensor &input, const Tensor &target) override {
    return loss_(input, target);
  }
  std::string name() const override { return "RegistryLoss"; }
  std::string extra_repr() const override { return loss_.describe(); }
  const losses::Loss &loss() const { return loss_; }

private:
  losses::Loss loss_;
};

} // namespace polygrad::nn
