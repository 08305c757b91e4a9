// The autograd graph. Every differentiable op that sees an input requiring
// grad records one Node: it knows the op's name, the output shape, an Edge to
// each input's own node (its grad_fn, or the AccumulateGrad of a leaf) and how
// to turn the gradient of its output into gradients of its inputs.
//
// Adding an op (see docs/autograd.md): compute the forward with a kernel, then
//   if (needs_grad({a, b}))
//     record("MulBackward", out, {a, b},
//            [sa = SavedTensor(a), sb = SavedTensor(b)](const Tensor &g) {
//              // d(ab)/da = b, d(ab)/db = a
//              return grads{g * sb.get(), g * sa.get()};
//            });
// Gradients returned for broadcast inputs are reduced to the input's shape by
// the engine (kernel::sum_to); an undefined Tensor means "no gradient".
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <polygrad/core/tensor.h>

namespace polygrad {

class Node;

struct Edge {
  std::shared_ptr<Node> fn; // null: that input needs no gradient
  Shape shape;              // the input's shape (gradients are reduced to it)
};

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;        // null for leaves
  std::weak_ptr<Node> grad_accumulator; // a leaf's AccumulateGrad, if alive
  // A leaf's Tensor::register_post_accumulate_grad_hook hooks, by handle.
  std::vector<std::pair<uint64_t, std::function<void(const Tensor &)>>> post_accumulate_hooks;
};

using grads = std::vector<Tensor>;

class Node {
public:
  virtual ~Node();
  // Gradients w.r.t. each input, given the gradient w.r.t. the output.
  virtual grads apply(const Tensor &grad_output) = 0;
  virtual std::string name() const = 0;
  // Frees what was saved for backward (called after use unless retain_graph).
  virtual void release_saved() {}

  std::vector<Edge> next;
  Shape out_shape;
  bool released = false;
  // Anomaly mode only (autograd/anomaly_mode.h): the forward op that created
  // this node, for the message of a non-finite gradient. Empty otherwise.
  std::string forward_trace;
};

// A node whose backward is a closure; releasing it drops the closure and,
// with it, every SavedTensor it captured.
class FunctionNode final : public Node {
public:
  using Fn = std::function<grads(const Tensor &)>;
  FunctionNode(const char *name, Fn fn) : name_(name), fn_(std::move(fn)) {}
  grads apply(const Tensor &g) override { return fn_(g); }
  std::string name() const override { return name_; }
  void release_saved() override { fn_ = nullptr; }

private:
  const char *name_;
  Fn fn_;
};

// The sink at a leaf: adds the incoming gradient into the leaf's .grad(),
// then runs the leaf's post-accumulate-grad hooks.
class AccumulateGrad final : public Node {
public:
  explicit AccumulateGrad(std::shared_ptr<AutogradMeta> meta) : meta(std::move(meta)) {}
  grads apply(const Tensor &g) override;
  std::string name() const override { return "AccumulateGrad"; }
  std::shared_ptr<AutogradMeta> meta;

private:
  void accumulate(const Tensor &g);
};

// A tensor kept for backward: a history-free alias plus the storage version
// at save time, so an in-place write in between is detected, not silently
// turned into a wrong gradient. Aliases never own graph nodes (no cycles).
class SavedTensor {
public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor &t);
  const Tensor &get() const;

private:
  Tensor data_;
  uint64_t version_ = 0;
};

// True when grad mode is on and some input requires grad.
bool needs_grad(std::initializer_list<Tensor> inputs);
bool needs_grad(const std::vector<Tensor> &inputs);
// Makes `out` the output of a new FunctionNode over `inputs` and returns it.
Tensor record(const char *name, Tensor out, const std::vector<Tensor> &inputs,
              FunctionNode::Fn backward);
// Same, for a hand-written Node subclass (e.g. a fused loss).
Tensor record_node(std::shared_ptr<Node> node, Tensor out, const std::vector<Tensor> &inputs);

// Runs the backward pass (iterative, frees saved tensors as it goes).
void run_backward(const Tensor &root, const Tensor &grad, bool retain_graph);

} // namespace polygrad
