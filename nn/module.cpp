#include <polygrad/nn/module.h>

#include <ostream>

namespace polygrad::nn {

Tensor Module::forward(const Tensor &) {
  throw Error(name() + ": this module has no single-input forward(x)");
}

Tensor Module::register_parameter(const std::string &n, Tensor t) {
  PG_CHECK(n.find('.') == std::string::npos && !n.empty(), name(), ": invalid parameter name '", n,
           "'");
  if (t.defined())
    t.requires_grad_(true);
  params_.push_back({n, t});
  return t;
}

Tensor Module::register_buffer(const std::string &n, Tensor t) {
  PG_CHECK(n.find('.') == std::string::npos && !n.empty(), name(), ": invalid buffer name '", n,
           "'");
  buffers_.push_back({n, t});
  return t;
}

void Module::add_child(const std::string &n, std::shared_ptr<Module> m) {
  PG_CHECK(m != nullptr, name(), ": submodule '", n, "' is null");
  children_.push_back({n, std::move(m)});
}

void Module::collect(const std::string &prefix, bool params, bool recurse,
                     NamedTensors &out) const {
  for (const auto &[n, t] : params ? params_ : buffers_)
    if (t.defined())
      out.push_back({prefix + n, t});
  if (recurse)
    for (const auto &[n, c] : children_)
      c->collect(prefix + n + ".", params, true, out);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  collect("", true, recurse, out);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  collect("", false, recurse, out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto &[n, t] : named_parameters(recurse))
    out.push_back(t);
  return out;
}

NamedTensors Module::state_dict() const {
  // PyTorch orders a module's own parameters, then its buffers, then its
  // children, recursively.
  NamedTensors out;
  struct Walk {
    static void go(const Module &m, const std::string &prefix, NamedTensors &out) {
      for (auto &[n, t] : m.named_parameters(false))
        out.push_back({prefix + n, t});
      for (auto &[n, t] : m.named_buffers(false))
        out.push_back({prefix + n, t});
      for (auto &[n, c] : m.named_children())
        go(*c, prefix + n + ".", out);
    }
  };
  Walk::go(*this, "", out);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto &[n, c] : children_)
    c->train(on);
}

void Module::zero_grad() {
  for (Tensor &p : parameters())
    p.zero_grad();
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const Tensor &p : parameters())
    n += p.numel();
  return n;
}

void Module::repr_into(std::string &out, const std::string &indent,
                       const std::string &label) const {
  out += indent + (label.empty() ? "" : "(" + label + "): ") + name() + "(" + extra_repr();
  if (children_.empty()) {
    out += ")";
    const int64_t n = num_parameters();
    if (n)
      out += "  # " + std::to_string(n) + " params";
    out += "\n";
    return;
  }
  out += "\n";
  for (const auto &[n, c] : children_)
    c->repr_into(out, indent + "  ", n);
  out += indent + ")\n";
}

std::string Module::repr() const {
  std::string out;
  repr_into(out, "", "");
  out += "Total parameters: " + std::to_string(num_parameters()) + "\n";
  return out;
}

std::ostream &operator<<(std::ostream &os, const Module &m) { return os << m.repr(); }

} // namespace polygrad::nn
