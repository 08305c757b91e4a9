// polygrad::StateDict: named tensors in order plus string metadata, PyTorch's
// state-dict OrderedDict with its _metadata. It is the one type that
// nn::Module::state_dict() and optim::Optimizer::state_dict() return, that
// both load_state_dict()s take and that a checkpoint file holds
// (io::save_safetensors / io::load_safetensors), so either is saved with the
// same call and the two combine into one:
//
//   StateDict ckpt;
//   ckpt.add("model.", model.state_dict());
//   ckpt.add("optim.", opt.state_dict());
//   io::save_safetensors(ckpt, "ckpt.safetensors");
//   ... later, after building the same model and optimizer:
//   StateDict back = io::load_safetensors("ckpt.safetensors");
//   model.load_state_dict(back.extract("model."));
//   opt.load_state_dict(back.extract("optim."));
//
// Like PyTorch's, the dict is a container over the live tensors (handles
// sharing storage), not a snapshot: clone() what must not change.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <polygrad/core/tensor.h>

namespace polygrad {

using NamedTensor = std::pair<std::string, Tensor>;
using NamedTensors = std::vector<NamedTensor>;
// String key/value pairs: a safetensors header's "__metadata__". A module's
// state dict has none; an optimizer's holds its hyper-parameters.
using Metadata = std::map<std::string, std::string>;

// An aggregate: StateDict{tensors, metadata} builds one.
struct StateDict {
  NamedTensors tensors; // in order; names unique (add(), saving and loading check it)
  Metadata metadata;

  // A range over the named tensors, as iterating a PyTorch state dict; size()
  // and empty() count tensors, not metadata (len() of a PyTorch state dict).
  size_t size() const { return tensors.size(); }
  bool empty() const { return tensors.empty(); }
  NamedTensors::iterator begin() { return tensors.begin(); }
  NamedTensors::iterator end() { return tensors.end(); }
  NamedTensors::const_iterator begin() const { return tensors.begin(); }
  NamedTensors::const_iterator end() const { return tensors.end(); }
  NamedTensor &operator[](size_t i) { return tensors.at(i); }
  const NamedTensor &operator[](size_t i) const { return tensors.at(i); }

  bool contains(const std::string &name) const;
  // The tensor called `name` (a handle to it, so it outlives a temporary
  // dict); throws naming it if there is none.
  Tensor at(const std::string &name) const;

  // Appends `other`'s tensors and metadata with `prefix` before every name
  // and key. A name or key already present is an error naming it, and then
  // nothing is added.
  void add(const std::string &prefix, const StateDict &other);
  // The tensors and metadata whose names start with `prefix`, with the
  // prefix removed, in order: add()'s inverse.
  StateDict extract(const std::string &prefix) const;
};

} // namespace polygrad
