// The loss zoo as nn modules, like torch.nn.CrossEntropyLoss: nn::Loss<fn>
// holds the options and calls the functional form in polygrad::losses, so
// nn::Poly1CrossEntropyLoss(o)(x, y) == losses::poly1_cross_entropy(x, y, o)
// exactly. Class weights (weight / alpha / pos_weight) are registered as
// buffers under PyTorch's names, so they appear in state_dict(). Any loss
// with an options schema has a module form without writing a class.
//   auto crit = nn::Poly1CrossEntropyLoss({.epsilon = 2.f});
//   Tensor loss = crit(logits, labels);
#pragma once

#include <string>
#include <type_traits>

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

namespace detail {
// The options type of a loss function Tensor fn(input, target, const O &).
template <auto Fn> struct loss_options;
template <class O, Tensor (*Fn)(const Tensor &, const Tensor &, const O &)>
struct loss_options<Fn> {
  using type = O;
};
// A class name as a template argument: Loss<fn, "FocalLoss">.
template <size_t N> struct LossName {
  char text[N];
  constexpr LossName(const char (&s)[N]) {
    for (size_t i = 0; i < N; ++i)
      text[i] = s[i];
  }
};
} // namespace detail

// The module form of any loss function with an options schema (see
// losses/registry.h), in tree or out: options checked up front, tensor
// options (weight, alpha, pos_weight) registered as buffers under their
// field names, printing from the schema. Name defaults to the registered name.
//   nn::Loss<losses::gce_loss> crit({.q = 0.7f});
template <auto Fn, detail::LossName Name = ""> class Loss : public LossModule {
public:
  using Options = typename detail::loss_options<Fn>::type;

  explicit Loss(Options options = {}) : options_(std::move(options)) {
    check_options(options_); // found by ADL next to the options struct
    Options::fields(options_, [this](const char *field, const auto &v) {
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>, Tensor>)
        if (v.defined())
          register_buffer(field, v);
    });
  }
  Tensor forward(const Tensor &input, const Tensor &target) override {
    return Fn(input, target, options_);
  }
  using LossModule::forward; // the one-argument form throws: a loss needs a target
  std::string name() const override {
    if (Name.text[0])
      return Name.text;
    const losses::LossEntry *e = losses::find_loss(reinterpret_cast<const void *>(Fn));
    return e ? e->info.name : "Loss";
  }
  // "gamma=2, alpha=0.5;2, ignore_index=-100, reduction=mean" (undefined tensors left out)
  std::string extra_repr() const override {
    std::string r;
    Options::fields(options_, [&](const char *field, const auto &v) {
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>, Tensor>)
        if (!v.defined())
          return;
      r.append(r.empty() ? "" : ", ").append(field).append("=").append(text::show(v));
    });
    return r;
  }
  const Options &options() const { return options_; }

private:
  Options options_;
};

// PyTorch's names for the built-in losses.
using CrossEntropyLoss = Loss<losses::cross_entropy, "CrossEntropyLoss">;
using NLLLoss = Loss<losses::nll_loss, "NLLLoss">;
using Poly1CrossEntropyLoss = Loss<losses::poly1_cross_entropy, "Poly1CrossEntropyLoss">;
using PolyLoss = Loss<losses::poly_loss, "PolyLoss">;
using FocalLoss = Loss<losses::focal_loss, "FocalLoss">;
using Poly1FocalLoss = Loss<losses::poly1_focal_loss, "Poly1FocalLoss">;
using SigmoidFocalLoss = Loss<losses::sigmoid_focal_loss, "SigmoidFocalLoss">;
using Poly1SigmoidFocalLoss = Loss<losses::poly1_sigmoid_focal_loss, "Poly1SigmoidFocalLoss">;
using BCEWithLogitsLoss = Loss<losses::binary_cross_entropy_with_logits, "BCEWithLogitsLoss">;
using MSELoss = Loss<losses::mse_loss, "MSELoss">;
using L1Loss = Loss<losses::l1_loss, "L1Loss">;
using SmoothL1Loss = Loss<losses::smooth_l1_loss, "SmoothL1Loss">;
using HuberLoss = Loss<losses::huber_loss, "HuberLoss">;
using KLDivLoss = Loss<losses::kl_div, "KLDivLoss">;

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
