// The backward engine and the autograd side of Tensor.
//
// backward() walks the graph without recursion: one iterative DFS counts each
// node's consumers, then Kahn's algorithm runs a node once all gradients for
// its output have arrived. Saved tensors are released right after a node runs
// (unless retain_graph), so memory falls back as the pass proceeds.
#include <atomic>
#include <cmath>
#include <unordered_map>

#include <polygrad/autograd/anomaly_mode.h>
#include <polygrad/autograd/grad_mode.h>
#include <polygrad/autograd/hooks.h>
#include <polygrad/autograd/node.h>
#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>

namespace polygrad {

namespace {
thread_local bool g_grad_enabled = true;
} // namespace

bool is_grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool on) { g_grad_enabled = on; }

// ----- anomaly mode -----
namespace {
// Process-wide like PyTorch's: a backward may run on another thread than the
// forward that built its graph. Relaxed: a flag, it orders nothing.
std::atomic<bool> g_anomaly{false};
std::atomic<uint64_t> g_anomaly_ops{0}; // nodes recorded since the mode went on

// The first non-finite element of a float32 tensor in row-major order:
// "element [i, j] = nan", or "" if every element is finite.
std::string first_nonfinite(const Tensor &t) {
  if (!t.defined() || t.dtype() != DType::Float32)
    return "";
  const Tensor c = t.contiguous();
  const float *p = c.data<float>();
  const int64_t n = c.numel();
  int64_t i = 0;
  while (i < n && std::isfinite(p[i]))
    ++i;
  if (i == n)
    return "";
  std::string idx;
  int64_t rest = i;
  const Shape &s = c.shape();
  std::vector<int64_t> at(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    at[d] = rest % s[d];
    rest /= s[d];
  }
  for (size_t d = 0; d < at.size(); ++d) {
    if (d)
      idx += ", ";
    idx += std::to_string(at[d]);
  }
  std::string out = "element [";
  out += idx;
  out += "] = ";
  out += std::isnan(p[i]) ? "nan" : p[i] > 0 ? "inf" : "-inf";
  return out;
}

// The forward op behind `node`, with its inputs' shapes and producers.
std::string forward_trace(uint64_t number, const Node &node, const std::vector<Tensor> &inputs) {
  std::string s = "forward op #";
  s += std::to_string(number);
  s += " (inputs";
  for (size_t i = 0; i < inputs.size(); ++i) {
    s += i ? ", " : " ";
    if (!inputs[i].defined()) {
      s += "none";
      continue;
    }
    s += shape_str(inputs[i].shape());
    const auto fn = inputs[i].grad_fn();
    if (fn) {
      s += " from ";
      s += fn->name();
    } else {
      s += inputs[i].requires_grad() ? " a leaf" : " a constant";
    }
  }
  s += " -> output ";
  s += shape_str(node.out_shape);
  s += ")";
  return s;
}

// Anomaly mode's forward check, at record time.
void check_forward(Node &node, const Tensor &out, const std::vector<Tensor> &inputs) {
  node.forward_trace = forward_trace(++g_anomaly_ops, node, inputs);
  const std::string bad = first_nonfinite(out);
  if (!bad.empty()) {
    std::string m = "anomaly: the forward of ";
    m += node.name();
    m += " produced a non-finite output of shape ";
    m += shape_str(out.shape());
    m += ": ";
    m += bad;
    m += "; ";
    m += node.forward_trace;
    throw Error(m);
  }
}

// Anomaly mode's backward check, before gradient `i` of `node` is accumulated.
void check_backward(const Node &node, size_t i, const Tensor &g, const Tensor &grad_output) {
  const std::string bad = first_nonfinite(g);
  if (bad.empty())
    return;
  std::string m = "anomaly: ";
  m += node.name();
  m += " returned a non-finite gradient for input ";
  m += std::to_string(i);
  m += " of shape ";
  m += shape_str(g.shape());
  m += ": ";
  m += bad;
  const std::string bad_in = first_nonfinite(grad_output);
  m += " (its incoming gradient, of shape ";
  m += shape_str(grad_output.shape());
  if (bad_in.empty()) {
    m += ", is finite)";
  } else {
    m += ", was already non-finite: ";
    m += bad_in;
    m += ")";
  }
  m += "; the node was created by ";
  m +=
      node.forward_trace.empty() ? "an op recorded before anomaly mode was on" : node.forward_trace;
  throw Error(m);
}
} // namespace

void set_detect_anomaly(bool on) {
  if (on && !g_anomaly.load(std::memory_order_relaxed))
    g_anomaly_ops = 0;
  g_anomaly.store(on, std::memory_order_relaxed);
}
bool is_anomaly_enabled() { return g_anomaly.load(std::memory_order_relaxed); }

Node::~Node() {
  // A chain of 100,000 ops would be destroyed recursively (one frame per
  // node) and overflow the stack: take the children this node owns alone and
  // destroy them in a loop instead.
  std::vector<std::shared_ptr<Node>> stack;
  for (Edge &e : next)
    if (e.fn && e.fn.use_count() == 1)
      stack.push_back(std::move(e.fn));
  while (!stack.empty()) {
    std::shared_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    for (Edge &e : n->next)
      if (e.fn && e.fn.use_count() == 1)
        stack.push_back(std::move(e.fn));
  }
}

SavedTensor::SavedTensor(const Tensor &t) {
  if (!t.defined())
    return;
  data_ = kernel::as_strided(t, t.shape(), t.strides(), t.offset());
  version_ = t.storage()->version;
}

const Tensor &SavedTensor::get() const {
  if (data_.defined())
    PG_CHECK(data_.storage()->version == version_,
             "a tensor saved for backward was modified by an in-place "
             "operation (its version is ",
             data_.storage()->version, ", it was saved at version ", version_,
             "); clone() it before modifying it");
  return data_;
}

grads AccumulateGrad::apply(const Tensor &g) {
  accumulate(g);
  // By index: a hook may register or remove hooks (the vector may move).
  for (size_t i = 0; i < meta->post_accumulate_hooks.size(); ++i) {
    const auto hook = meta->post_accumulate_hooks[i].second;
    hook(meta->grad);
  }
  return {};
}

void AccumulateGrad::accumulate(const Tensor &g) {
  if (!meta->grad.defined()) {
    // As PyTorch's AccumulateGrad: a gradient nobody else holds (the fresh,
    // contiguous buffer the producing node returned, no view of it alive, no
    // autograd history) becomes .grad as it is, saving a pass over it (a
    // fifth of a fused loss's forward+backward at (4096, 1000)). Anything
    // else may alias a user's tensor, a saved tensor or another buffer: copy.
    if (g.impl_ptr().use_count() == 1 && g.storage().use_count() == 1 && g.is_contiguous() &&
        g.offset() == 0 && !g.impl().autograd && g.dtype() == DType::Float32) {
      meta->grad = g;
      return;
    }
    Tensor c = Tensor::empty(g.shape());
    kernel::apply_inplace(c, g, [](float, float s) { return s; });
    meta->grad = c;
  } else {
    kernel::apply_inplace(meta->grad, g, [](float a, float b) { return a + b; });
    meta->grad.bump_version();
  }
}

// ----- backward callbacks (autograd/hooks.h) -----
namespace {
// The callbacks of the backward pass running on this thread; null outside one.
thread_local std::vector<std::function<void()>> *g_backward_callbacks = nullptr;

// Installs a callback list for one pass, restoring the outer one after (a
// backward inside a hook or callback is a pass of its own).
class BackwardPassScope {
public:
  BackwardPassScope() : prev_(g_backward_callbacks) { g_backward_callbacks = &callbacks_; }
  ~BackwardPassScope() { g_backward_callbacks = prev_; }
  BackwardPassScope(const BackwardPassScope &) = delete;
  BackwardPassScope &operator=(const BackwardPassScope &) = delete;
  // By index: a callback may queue another.
  void run_callbacks() {
    for (size_t i = 0; i < callbacks_.size(); ++i) {
      const auto fn = std::move(callbacks_[i]);
      fn();
    }
    callbacks_.clear();
  }

private:
  std::vector<std::function<void()>> callbacks_;
  std::vector<std::function<void()>> *prev_;
};
} // namespace

void queue_backward_callback(std::function<void()> fn) {
  PG_CHECK(g_backward_callbacks, "queue_backward_callback: no backward pass is running on this "
                                 "thread (queue from a hook or a node's backward)");
  g_backward_callbacks->push_back(std::move(fn));
}

bool in_backward() { return g_backward_callbacks != nullptr; }

namespace {
std::shared_ptr<Node> edge_for(const Tensor &t) {
  if (!t.defined() || !t.requires_grad())
    return nullptr;
  auto &meta = t.impl().autograd;
  if (meta->grad_fn)
    return meta->grad_fn;
  if (auto acc = meta->grad_accumulator.lock())
    return acc;
  auto acc = std::make_shared<AccumulateGrad>(meta);
  acc->out_shape = t.shape();
  meta->grad_accumulator = acc;
  return acc;
}
} // namespace

bool needs_grad(std::initializer_list<Tensor> inputs) {
  if (!g_grad_enabled)
    return false;
  for (const Tensor &t : inputs)
    if (t.defined() && t.requires_grad())
      return true;
  return false;
}
bool needs_grad(const std::vector<Tensor> &inputs) {
  if (!g_grad_enabled)
    return false;
  for (const Tensor &t : inputs)
    if (t.defined() && t.requires_grad())
      return true;
  return false;
}

Tensor record_node(std::shared_ptr<Node> node, Tensor out, const std::vector<Tensor> &inputs) {
  node->next.reserve(inputs.size());
  for (const Tensor &t : inputs)
    node->next.push_back({edge_for(t), t.defined() ? t.shape() : Shape{}});
  node->out_shape = out.shape();
  if (g_anomaly.load(std::memory_order_relaxed)) [[unlikely]]
    check_forward(*node, out, inputs);
  auto meta = std::make_shared<AutogradMeta>();
  meta->requires_grad = true;
  meta->grad_fn = std::move(node);
  out.impl().autograd = std::move(meta);
  return out;
}

Tensor record(const char *name, Tensor out, const std::vector<Tensor> &inputs,
              FunctionNode::Fn backward) {
  return record_node(std::make_shared<FunctionNode>(name, std::move(backward)), std::move(out),
                     inputs);
}

void run_backward(const Tensor &root, const Tensor &grad_in, bool retain) {
  PG_CHECK(root.requires_grad(), "backward: the tensor does not require grad and has no grad_fn");
  Tensor grad = grad_in;
  if (!grad.defined()) {
    PG_CHECK(root.numel() == 1,
             "backward: grad can be implicitly created only for a one-element "
             "output, got shape ",
             shape_str(root.shape()), "; pass a gradient of that shape");
    grad = ones(root.shape());
  } else {
    PG_CHECK(grad.shape() == root.shape(), "backward: gradient of shape ", shape_str(grad.shape()),
             " does not match the output shape ", shape_str(root.shape()));
  }
  NoGradGuard no_grad;
  BackwardPassScope pass;
  std::shared_ptr<Node> start = edge_for(root);

  // Consumers per node, by an iterative DFS.
  std::unordered_map<Node *, int> deps;
  std::vector<Node *> stack{start.get()};
  deps[start.get()] = 0;
  while (!stack.empty()) {
    Node *n = stack.back();
    stack.pop_back();
    for (const Edge &e : n->next) {
      if (!e.fn)
        continue;
      auto [it, fresh] = deps.try_emplace(e.fn.get(), 0);
      it->second++;
      if (fresh)
        stack.push_back(e.fn.get());
    }
  }

  const bool anomaly = g_anomaly.load(std::memory_order_relaxed);
  std::unordered_map<Node *, Tensor> buffer;
  buffer[start.get()] = grad;
  std::vector<Node *> ready{start.get()};
  while (!ready.empty()) {
    Node *n = ready.back();
    ready.pop_back();
    // A node can become ready without any gradient (every consumer returned
    // "none" for it). It is still visited, so that its inputs' consumer
    // counts drop and gradients arriving there by other paths flow on.
    Tensor g;
    if (auto it = buffer.find(n); it != buffer.end()) {
      g = std::move(it->second);
      buffer.erase(it);
    }
    grads gs;
    if (g.defined()) {
      PG_CHECK(!n->released,
               "backward: trying to backward through the graph a "
               "second time (",
               n->name(),
               "'s saved tensors were "
               "freed); call backward(grad, /*retain_graph=*/true) "
               "the first time if you need to");
      try {
        gs = n->apply(g);
      } catch (const Error &e) {
        throw Error(std::string(n->name()) + ": " + e.what());
      }
    }
    if (!retain && n->next.size()) {
      n->release_saved();
      n->released = true;
    }
    for (size_t i = 0; i < n->next.size(); ++i) {
      const Edge &e = n->next[i];
      if (!e.fn)
        continue;
      Tensor gi = i < gs.size() ? gs[i] : Tensor();
      if (gi.defined()) {
        if (anomaly) [[unlikely]]
          check_backward(*n, i, gi, g);
        if (gi.shape() != e.shape)
          gi = kernel::sum_to(gi, e.shape);
        Tensor &slot = buffer[e.fn.get()];
        slot = slot.defined()
                   ? kernel::zip(slot, gi, "backward", [](float a, float b) { return a + b; })
                   : gi;
      }
      if (--deps[e.fn.get()] == 0)
        ready.push_back(e.fn.get());
    }
  }
  pass.run_callbacks();
}

// ----- Tensor's autograd members -----
bool Tensor::requires_grad() const {
  return defined() && impl().autograd && impl().autograd->requires_grad;
}

Tensor Tensor::requires_grad_(bool on) const {
  PG_CHECK(on || is_leaf(), "requires_grad_: can only change requires_grad of "
                            "leaf tensors; use detach() on an op's output");
  PG_CHECK(!on || dtype() == DType::Float32,
           "requires_grad_: only float32 tensors can require grad, got ", dtype_name(dtype()));
  if (!impl().autograd)
    impl().autograd = std::make_shared<AutogradMeta>();
  impl().autograd->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return impl().autograd ? impl().autograd->grad : Tensor(); }

void Tensor::set_grad(const Tensor &g) const {
  PG_CHECK(!g.defined() || g.shape() == shape(), "set_grad: gradient of shape ",
           g.defined() ? shape_str(g.shape()) : "", " for a tensor of shape ", shape_str(shape()));
  if (!impl().autograd)
    impl().autograd = std::make_shared<AutogradMeta>();
  impl().autograd->grad = g;
}

void Tensor::zero_grad() const {
  if (impl().autograd)
    impl().autograd->grad = Tensor();
}

bool Tensor::is_leaf() const { return !impl().autograd || !impl().autograd->grad_fn; }

std::shared_ptr<Node> Tensor::grad_fn() const {
  return impl().autograd ? impl().autograd->grad_fn : nullptr;
}

std::string Tensor::grad_fn_name() const {
  auto fn = grad_fn();
  return fn ? fn->name() : "";
}

Tensor Tensor::detach() const { return kernel::as_strided(*this, shape(), strides(), offset()); }

void Tensor::backward(const Tensor &grad, bool retain_graph) const {
  run_backward(*this, grad, retain_graph);
}

uint64_t
Tensor::register_post_accumulate_grad_hook(std::function<void(const Tensor &)> hook) const {
  PG_CHECK(is_leaf() && requires_grad(), "register_post_accumulate_grad_hook: only a leaf tensor "
                                         "that requires grad accumulates a gradient");
  PG_CHECK(hook != nullptr, "register_post_accumulate_grad_hook: the hook is empty");
  static std::atomic<uint64_t> next_handle{1};
  const uint64_t h = next_handle++;
  impl().autograd->post_accumulate_hooks.emplace_back(h, std::move(hook));
  return h;
}

void Tensor::remove_post_accumulate_grad_hook(uint64_t handle) const {
  if (!defined() || !impl().autograd)
    return;
  auto &hooks = impl().autograd->post_accumulate_hooks;
  std::erase_if(hooks, [&](const auto &h) { return h.first == handle; });
}

} // namespace polygrad
