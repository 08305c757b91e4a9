// The generic parts of every optimizer: groups, zero_grad and the state dict.
#include <polygrad/optim/optimizer.h>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/io/detail/json.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace polygrad::optim {

// ------------------------------------------------------------------ groups --

namespace {
// A decimal index with no sign, no leading zeros (except "0") and no excess.
bool parse_index(const std::string &s, size_t &out) {
  if (s.empty() || s.size() > 12 || (s.size() > 1 && s[0] == '0'))
    return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return false;
    out = out * 10 + size_t(c - '0');
  }
  return true;
}
} // namespace

void Optimizer::zero_grad() {
  for (auto &g : groups_)
    for (auto &p : g.params)
      p.zero_grad();
}

const std::vector<Tensor> &Optimizer::params(size_t group) const {
  PG_CHECK(group < groups_.size(), name(), ": no param group ", group, " (there are ",
           groups_.size(), ")");
  return groups_[group].params;
}

std::vector<Tensor> Optimizer::parameters() const {
  std::vector<Tensor> out;
  for (auto &g : groups_)
    out.insert(out.end(), g.params.begin(), g.params.end());
  return out;
}

void Optimizer::set_lr(double lr) {
  for (size_t g = 0; g < groups_.size(); ++g)
    set_lr(g, lr);
}

double Optimizer::momentum(size_t) const {
  throw Error(name() + ": has no momentum (neither momentum nor betas)");
}
void Optimizer::set_momentum(size_t, double) {
  throw Error(name() + ": has no momentum (neither momentum nor betas)");
}

std::map<std::string, double> &Optimizer::group_extras(size_t group) {
  PG_CHECK(group < groups_.size(), name(), ": no param group ", group);
  return groups_[group].extras;
}
const std::map<std::string, double> &Optimizer::group_extras(size_t group) const {
  PG_CHECK(group < groups_.size(), name(), ": no param group ", group);
  return groups_[group].extras;
}

void Optimizer::add_group_params(const std::vector<Tensor> &params) {
  const std::string who = name() + ": add_param_group: ";
  PG_CHECK(!params.empty(), who, "got an empty parameter list");
  std::set<const TensorImpl *> seen;
  for (auto &g : groups_)
    for (auto &p : g.params)
      seen.insert(&p.impl());
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor &p = params[i];
    PG_CHECK(p.defined(), who, "parameter ", i, " is undefined");
    PG_CHECK(p.dtype() == DType::Float32, who, "parameter ", i, " has dtype ",
             dtype_name(p.dtype()), "; only float32 tensors can be optimized");
    PG_CHECK(p.is_leaf(), who, "parameter ", i, " (shape ", shape_str(p.shape()),
             ") is not a leaf tensor; can't optimize a non-leaf tensor");
    PG_CHECK(p.is_contiguous(), who, "parameter ", i, " (shape ", shape_str(p.shape()),
             ") is not contiguous");
    PG_CHECK(seen.insert(&p.impl()).second, who, "parameter ", i, " (shape ", shape_str(p.shape()),
             ") appears in more than one parameter group or twice");
  }
  groups_.push_back({params, {}});
}

// -------------------------------------------------------------- state dict --

StateDict Optimizer::state_dict() const {
  StateDict sd;
  sd.metadata["optimizer"] = name();
  const auto slots = state_slots();
  size_t index = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    std::string ids = "[";
    for (size_t j = 0; j < groups_[g].params.size(); ++j, ++index) {
      ids += j ? ", " : "";
      ids += std::to_string(index);
      for (const Slot &s : slots) {
        Tensor t = get_state(g, j, s.name);
        if (t.defined())
          sd.tensors.push_back({"state." + std::to_string(index) + "." + s.name, t});
      }
    }
    sd.metadata[prefix + "params"] = ids + "]";
    options_to_text(g, sd.metadata, prefix);
    for (const auto &[k, v] : groups_[g].extras)
      sd.metadata[prefix + k] = text::show(v);
  }
  return sd;
}

void Optimizer::load_state_dict(const StateDict &sd) {
  const std::string where = name() + ": load_state_dict: ";
  const Metadata &meta = sd.metadata;
  auto it = meta.find("optimizer");
  PG_CHECK(it != meta.end(), where, "no 'optimizer' entry (not an optimizer state dict)");
  PG_CHECK(it->second == name(), where, "the state dict is for optimizer '", it->second, "', not '",
           name(), "'");

  // Groups: their count and sizes must match this optimizer's.
  size_t saved_groups = 0;
  for (const auto &[k, v] : meta)
    if (k.rfind("param_groups.", 0) == 0) {
      const size_t dot = k.find('.', 13);
      size_t g = 0;
      PG_CHECK(dot != std::string::npos && parse_index(k.substr(13, dot - 13), g), where,
               "malformed key '", k, "' (expected param_groups.<group>.<name>)");
      saved_groups = std::max(saved_groups, g + 1);
    }
  PG_CHECK(saved_groups == groups_.size(), where, "the state dict has ", saved_groups,
           " param groups, the optimizer ", groups_.size());
  const auto opt_names = option_names();
  std::vector<std::map<std::string, double>> extras(groups_.size());
  std::vector<std::vector<std::string>> required(groups_.size());
  std::vector<size_t> first_index(groups_.size());
  size_t total = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    first_index[g] = total;
    const size_t n = groups_[g].params.size();
    std::string ids = "[";
    for (size_t j = 0; j < n; ++j) {
      ids += j ? ", " : "";
      ids += std::to_string(total + j);
    }
    ids += "]";
    total += n;
    auto pit = meta.find(prefix + "params");
    PG_CHECK(pit != meta.end(), where, "missing '", prefix, "params'");
    // Parameters are matched by position, as in PyTorch; the ids must be the
    // consecutive indices this group's parameters have.
    nlohmann::json pv;
    try {
      pv = io::parse_json(pit->second);
    } catch (const Error &) {
    }
    PG_CHECK(pv.is_array(), where, "'", prefix, "params' is not a list of indices: '", pit->second,
             "'");
    PG_CHECK(pv.size() == n, where, "param group ", g, " has ", pv.size(),
             " parameters in the state dict but ", n, " in the optimizer");
    for (size_t j = 0; j < n; ++j)
      PG_CHECK(pv[j].is_number_unsigned() && pv[j].get<uint64_t>() == total - n + j, where, "'",
               prefix, "params' is ", pit->second, ", expected ", ids);
    options_from_text(meta, prefix, where, size_t(-1)); // validate only
    required[g] = required_slots(meta, prefix);
    for (const auto &[k, v] : meta) {
      if (k.rfind(prefix, 0) != 0)
        continue;
      const std::string key = k.substr(prefix.size());
      if (key == "params" || std::find(opt_names.begin(), opt_names.end(), key) != opt_names.end())
        continue;
      double x = 0;
      detail::parse_value(v, where + "'" + k + "'", x);
      extras[g][key] = x;
    }
  }

  // Buffers: "state.<i>.<slot>", each with the right shape and dtype.
  const auto slots = state_slots();
  struct Item {
    size_t g, j;
    std::string slot;
    Tensor t;
  };
  std::vector<Item> items;
  std::vector<std::set<std::string>> present(total);
  std::vector<std::pair<size_t, size_t>> locate(total);
  for (size_t g = 0; g < groups_.size(); ++g)
    for (size_t j = 0; j < groups_[g].params.size(); ++j)
      locate[first_index[g] + j] = {g, j};
  for (const auto &[k, t] : sd.tensors) {
    PG_CHECK(k.rfind("state.", 0) == 0, where, "unexpected tensor '", k,
             "' (optimizer tensors are named state.<index>.<buffer>)");
    const size_t dot = k.find('.', 6);
    PG_CHECK(dot != std::string::npos && dot > 6, where, "malformed tensor name '", k, "'");
    size_t i = 0;
    PG_CHECK(parse_index(k.substr(6, dot - 6), i), where, "malformed tensor name '", k, "'");
    PG_CHECK(i < total, where, "tensor '", k, "': parameter index out of range (the optimizer has ",
             total, " parameters)");
    const std::string slot = k.substr(dot + 1);
    const Slot *s = nullptr;
    for (const Slot &x : slots)
      if (x.name == slot)
        s = &x;
    std::string valid;
    for (const Slot &x : slots) {
      valid += valid.empty() ? "" : ", ";
      valid += x.name;
    }
    PG_CHECK(s, where, "tensor '", k, "': '", slot, "' is not a ", name(),
             " state buffer (valid: ", valid, ")");
    PG_CHECK(present[i].insert(slot).second, where, "duplicate tensor '", k, "'");
    PG_CHECK(t.defined() && t.dtype() == DType::Float32, where, "tensor '", k,
             "': expected float32, got ", t.defined() ? dtype_name(t.dtype()) : "undefined");
    const auto [g, j] = locate[i];
    const Shape want = s->scalar ? Shape{} : groups_[g].params[j].shape();
    PG_CHECK(t.shape() == want, where, "tensor '", k, "': shape ", shape_str(t.shape()),
             " but the ", s->scalar ? "step count is 0-d " : "parameter has shape ",
             shape_str(want));
    items.push_back({g, j, slot, t});
  }
  for (size_t i = 0; i < total; ++i) {
    if (present[i].empty())
      continue;
    for (const std::string &r : required[locate[i].first])
      PG_CHECK(present[i].count(r), where, "parameter ", i, " has state but no 'state.", i, ".", r,
               "'");
  }

  // Everything is valid: apply.
  NoGradGuard ng;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    options_from_text(meta, prefix, where, g);
    groups_[g].extras = extras[g];
    for (size_t j = 0; j < groups_[g].params.size(); ++j)
      reset_state(g, j);
  }
  for (const Item &it2 : items)
    set_state(it2.g, it2.j, it2.slot, it2.t.contiguous().clone());
}

} // namespace polygrad::optim
