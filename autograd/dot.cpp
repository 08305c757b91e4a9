#include <polygrad/autograd/dot.h>

#include <sstream>
#include <unordered_map>

#include <polygrad/autograd/node.h>

namespace polygrad {
namespace {
// A user-chosen name inside a quoted DOT label.
std::string escape(const std::string &s) {
  std::string r;
  for (char c : s) {
    if (c == '"' || c == '\\')
      r += '\\';
    r += c;
  }
  return r;
}
} // namespace

std::string to_dot(const Tensor &root, const std::vector<std::pair<std::string, Tensor>> &params) {
  std::ostringstream os;
  os << "digraph polygrad {\n  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=10];\n";
  std::unordered_map<const AutogradMeta *, std::string> names;
  for (const auto &[name, t] : params)
    if (t.defined() && t.impl().autograd)
      names[t.impl().autograd.get()] = escape(name);
  std::shared_ptr<Node> start = root.grad_fn();
  os << "  out [label=\"output\\n"
     << shape_str(root.shape()) << "\", shape=box, style=filled, fillcolor=\"#f4cccc\"];\n";
  if (!start) {
    os << "}\n";
    return os.str();
  }
  std::unordered_map<Node *, int> id;
  std::vector<Node *> stack{start.get()};
  id[start.get()] = 0;
  os << "  out -> n0 [dir=back];\n";
  while (!stack.empty()) {
    Node *n = stack.back();
    stack.pop_back();
    const int me = id[n];
    if (auto *acc = dynamic_cast<AccumulateGrad *>(n)) {
      auto it = names.find(acc->meta.get());
      if (it != names.end())
        os << "  n" << me << " [label=\"" << it->second << "\\n"
           << shape_str(n->out_shape)
           << "\", shape=ellipse, style=filled, fillcolor=\"#b6d7a8\"];\n";
      else
        os << "  n" << me << " [label=\"leaf\\n"
           << shape_str(n->out_shape)
           << "\", shape=ellipse, style=filled, fillcolor=\"#dddddd\"];\n";
    } else {
      os << "  n" << me << " [label=\"" << n->name() << "\\n"
         << shape_str(n->out_shape) << "\", shape=box];\n";
    }
    for (const Edge &e : n->next) {
      if (!e.fn)
        continue;
      auto [it, fresh] = id.try_emplace(e.fn.get(), (int)id.size());
      if (fresh)
        stack.push_back(e.fn.get());
      os << "  n" << me << " -> n" << it->second << " [dir=back];\n";
    }
  }
  os << "}\n";
  return os.str();
}

} // namespace polygrad
