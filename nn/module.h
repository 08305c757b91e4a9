// nn::Module: the base of every layer and model, as in PyTorch. A module
// registers its parameters, buffers and submodules by name; names nest with
// dots ("features.3.weight"), exactly like PyTorch's state_dict keys, so
// checkpoints interoperate.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <polygrad/core/state_dict.h>
#include <polygrad/core/tensor.h>

namespace polygrad::nn {

// (name, tensor) pairs, as named_parameters() returns them; also
// StateDict's tensors (core/state_dict.h).
using polygrad::NamedTensors;

class Module {
public:
  virtual ~Module() = default;

  // Single-input forward; layers override it. Losses and other multi-input
  // modules have their own forward(a, b) and leave this one throwing.
  virtual Tensor forward(const Tensor &x);
  Tensor operator()(const Tensor &x) { return forward(x); }

  // The class name shown when printing ("Linear", "Conv2d", ...).
  virtual std::string name() const = 0;
  // The constructor arguments shown when printing ("784, 512, bias=true").
  virtual std::string extra_repr() const { return ""; }

  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedTensors named_parameters(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  // Every parameter and buffer by its dotted name, in PyTorch's order (a
  // module's own parameters, then its buffers, then each child's, depth
  // first); no metadata. The tensors are the live ones, as in PyTorch.
  StateDict state_dict() const;
  // Copies `sd`'s tensors into the parameters and buffers of the same names,
  // in place (under NoGradGuard). strict: the names must equal state_dict()'s
  // exactly (else the missing and unexpected ones are listed); not strict:
  // names in both are loaded, the rest ignored. A shape or dtype mismatch is
  // always an error. Everything is validated first: on error nothing changes.
  // sd.metadata is not read.
  void load_state_dict(const StateDict &sd, bool strict = true);
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>> &named_children() const {
    return children_;
  }
  // Puts `m` in place of the child registered as `name` (an Error if there
  // is none): what torch's setattr(module, name, m) does for a submodule,
  // e.g. for convert_sync_batchnorm. A module that also keeps the child in a
  // member of its own updates it in child_replaced (Sequential does).
  void replace_child(const std::string &name, std::shared_ptr<Module> m);

  // train(true)/eval() switch this module and every submodule.
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Drops every parameter's gradient (PyTorch's set_to_none=True).
  void zero_grad();
  int64_t num_parameters() const;

  // PyTorch-style architecture listing, one line per layer with its
  // parameter count, and the total at the end.
  std::string repr() const;

protected:
  // Registers `t` as a parameter (it is made to require grad) and returns it.
  Tensor register_parameter(const std::string &name, Tensor t);
  Tensor register_buffer(const std::string &name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string &name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }
  void add_child(const std::string &name, std::shared_ptr<Module> m);
  // Called by replace_child after the registry holds the new child.
  virtual void child_replaced(const std::string &name, const std::shared_ptr<Module> &m) {
    (void)name, (void)m;
  }

private:
  void collect(const std::string &prefix, bool params, bool recurse, NamedTensors &out) const;
  void repr_into(std::string &out, const std::string &indent, const std::string &label) const;

  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

std::ostream &operator<<(std::ostream &os, const Module &m);

// Convenience: nn::make<Linear>(784, 512) == std::make_shared<Linear>(784, 512).
template <class M, class... Args> std::shared_ptr<M> make(Args &&...args) {
  return std::make_shared<M>(std::forward<Args>(args)...);
}

} // namespace polygrad::nn
