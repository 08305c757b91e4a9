#include <polygrad/nn/module.h>

#include <algorithm>
#include <map>
#include <ostream>
#include <set>

#include <polygrad/autograd/grad_mode.h>

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

void Module::replace_child(const std::string &n, std::shared_ptr<Module> m) {
  PG_CHECK(m != nullptr, name(), ": replace_child: the new submodule '", n, "' is null");
  for (auto &[cn, c] : children_)
    if (cn == n) {
      c = m;
      child_replaced(n, m);
      return;
    }
  throw Error(name() + ": replace_child: no submodule named '" + n + "'");
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

StateDict Module::state_dict() const {
  // PyTorch orders a module's own parameters, then its buffers, then its
  // children, recursively.
  StateDict out;
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
  Walk::go(*this, "", out.tensors);
  return out;
}

namespace {
// 'a', 'b', ... (N more): a long list of names stays readable.
std::string join_names(const std::vector<std::string> &names) {
  std::string out;
  const size_t shown = std::min<size_t>(names.size(), 20);
  for (size_t i = 0; i < shown; ++i) {
    out += i ? ", '" : "'";
    out += names[i] + "'";
  }
  if (names.size() > shown)
    out += ", ... (" + std::to_string(names.size() - shown) + " more)";
  return out;
}
} // namespace

void Module::load_state_dict(const StateDict &sd, bool strict) {
  const std::string where = "load_state_dict (" + name() + "): ";
  std::map<std::string, const Tensor *> given;
  for (const auto &[n, t] : sd.tensors)
    PG_CHECK(given.emplace(n, &t).second, where, "tensor '", n,
             "' appears twice in the state dict; nothing was loaded");
  const StateDict own = state_dict();
  std::set<std::string> own_names;
  std::vector<std::string> missing, unexpected;
  for (const auto &[n, t] : own) {
    own_names.insert(n);
    if (!given.count(n))
      missing.push_back(n);
  }
  for (const auto &[n, t] : sd)
    if (!own_names.count(n))
      unexpected.push_back(n);
  if (strict && (!missing.empty() || !unexpected.empty())) {
    std::string msg = where + "the state dict's tensors do not match the model's:";
    if (!missing.empty())
      msg += " missing from the state dict: " + join_names(missing) + ";";
    if (!unexpected.empty())
      msg += " unexpected in the state dict: " + join_names(unexpected) + ";";
    throw Error(msg + " nothing was loaded");
  }
  // Validate every pair before the first write, so a failure changes nothing.
  for (const auto &[n, t] : own) {
    auto it = given.find(n);
    if (it == given.end())
      continue;
    const Tensor &src = *it->second;
    PG_CHECK(src.defined(), where, "tensor '", n, "' is undefined; nothing was loaded");
    PG_CHECK(src.dtype() == t.dtype(), where, "tensor '", n, "': dtype ", dtype_name(src.dtype()),
             " in the state dict but ", dtype_name(t.dtype()), " in the model; nothing was loaded");
    PG_CHECK(src.shape() == t.shape(), where, "tensor '", n, "': shape ", shape_str(src.shape()),
             " in the state dict but ", shape_str(t.shape()), " in the model; nothing was loaded");
  }
  NoGradGuard ng;
  for (auto [n, t] : own) {
    auto it = given.find(n);
    if (it != given.end())
      t.copy_(*it->second);
  }
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
