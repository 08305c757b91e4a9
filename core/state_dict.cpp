#include <polygrad/core/state_dict.h>

#include <set>

#include <polygrad/core/error.h>

namespace polygrad {

namespace {
// A linear scan: state dicts hold hundreds of entries, and the order is the
// point of the type (a map beside it would have to be kept in sync).
const Tensor *find(const NamedTensors &tensors, const std::string &name) {
  for (const auto &[n, t] : tensors)
    if (n == name)
      return &t;
  return nullptr;
}
} // namespace

bool StateDict::contains(const std::string &name) const { return find(tensors, name) != nullptr; }

Tensor StateDict::at(const std::string &name) const {
  const Tensor *t = find(tensors, name);
  PG_CHECK(t, "StateDict::at: no tensor named '", name, "' (of ", tensors.size(), ")");
  return *t;
}

void StateDict::add(const std::string &prefix, const StateDict &other) {
  if (&other == this) // appending to the vector being read would invalidate it
    return add(prefix, StateDict(other));
  std::set<std::string> names;
  for (const auto &[n, t] : tensors)
    names.insert(n);
  // Check everything first, so a clash leaves this dict as it was.
  for (const auto &[n, t] : other.tensors)
    PG_CHECK(names.insert(prefix + n).second, "StateDict::add: tensor '", prefix + n,
             "' is already present");
  for (const auto &[k, v] : other.metadata)
    PG_CHECK(!metadata.count(prefix + k), "StateDict::add: metadata key '", prefix + k,
             "' is already present");
  for (const auto &[n, t] : other.tensors)
    tensors.push_back({prefix + n, t});
  for (const auto &[k, v] : other.metadata)
    metadata.emplace(prefix + k, v);
}

StateDict StateDict::extract(const std::string &prefix) const {
  StateDict out;
  for (const auto &[n, t] : tensors)
    if (n.starts_with(prefix))
      out.tensors.push_back({n.substr(prefix.size()), t});
  for (const auto &[k, v] : metadata)
    if (k.starts_with(prefix))
      out.metadata.emplace(k.substr(prefix.size()), v);
  return out;
}

} // namespace polygrad
