// nn::Sequential: applies its children in order; they are named "0", "1", ...
//
// Layer fusion. Runs of children that have a fused kernel run as one graph
// node (nn/fusion.h): Conv2d, ReLU, MaxPool2d -> conv2d_relu_max_pool2d and
// ReLU, MaxPool2d -> relu_max_pool2d. These fusions are exact: values and
// gradients are bitwise those of the layers one after the other (NaN
// included); only the graph differs (one node where to_dot would show three,
// no intermediate tensors to inspect). In inference (eval mode, grad mode
// off) a Conv2d followed by a BatchNorm2d also runs as one conv with the
// BatchNorm folded into its weights: the same values up to rounding. For
// debugging, turn fusion off for one Sequential (set_fusion(false)) or for
// every one (nn::set_fusion_enabled(false)).
#pragma once

#include <initializer_list>
#include <memory>
#include <vector>

#include <polygrad/nn/module.h>

namespace polygrad::nn {

// Global switch for Sequential's layer fusion (default on); a Sequential
// fuses when both this and its own setting are on.
void set_fusion_enabled(bool on);
bool fusion_enabled();

class Sequential : public Module {
public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> mods);
  void push_back(std::shared_ptr<Module> m);
  Tensor forward(const Tensor &x) override;
  std::string name() const override { return "Sequential"; }
  size_t size() const { return mods_.size(); }
  std::shared_ptr<Module> operator[](size_t i) const { return mods_.at(i); }
  // This Sequential's fusion setting (default on; see above).
  void set_fusion(bool on) { fusion_ = on; }
  bool fusion() const { return fusion_; }

protected:
  void child_replaced(const std::string &name, const std::shared_ptr<Module> &m) override;

private:
  std::vector<std::shared_ptr<Module>> mods_;
  bool fusion_ = true;
};

} // namespace polygrad::nn
