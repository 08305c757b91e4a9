// The loss registry's machinery: the table every loss adds itself to when
// the library loads (PG_REGISTER_LOSS in each loss's .cpp) and the spec
// parser. Value texts are core/text.h's.
#include <polygrad/losses/registry.h>

#include <polygrad/losses/class_weights.h>

#include <deque>
#include <mutex>

namespace polygrad::losses {

namespace {

std::mutex &table_mutex() {
  static std::mutex m;
  return m;
}
// Constructed on first use: the registrations run as static initialisers of
// other translation units, in an order the language leaves open. A deque
// keeps find_loss's pointers valid as entries are added.
std::deque<LossEntry> &table() {
  static std::deque<LossEntry> t;
  return t;
}

std::string trim(const std::string &s) { return std::string(text::trim(s)); }

std::string valid_names(const std::deque<LossEntry> &t) {
  std::string r;
  for (const LossEntry &e : t) {
    r.append(r.empty() ? "" : ", ").append(e.info.name);
    if (!e.info.aliases.empty()) {
      r += " (";
      for (size_t i = 0; i < e.info.aliases.size(); ++i)
        r.append(i ? ", " : "").append(e.info.aliases[i]);
      r += ")";
    }
  }
  return r;
}

std::string valid_params(const LossEntry &e) {
  std::string r;
  for (const LossParam &p : e.params)
    r.append(r.empty() ? "" : ", ").append(p.name).append(" (").append(p.type).append(")");
  return r.empty() ? "none" : r;
}

// "a=1,b=[1, 2],c=x" -> items split at the commas outside brackets.
std::vector<std::string> split_items(const std::string &s, const std::string &spec) {
  std::vector<std::string> items;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    depth += c == '[' ? 1 : c == ']' ? -1 : 0;
    PG_CHECK(depth >= 0, "losses::make: unbalanced ']' in '", spec, "'");
    if (c == ',' && depth == 0) {
      items.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  PG_CHECK(depth == 0, "losses::make: unbalanced '[' in '", spec, "'");
  items.push_back(cur);
  return items;
}

} // namespace

namespace detail {
void throw_bad_value(const std::string &loss, const std::string &key, const std::string &value,
                     const std::string &why) {
  if (key.empty())
    throw Error("losses::make: invalid options for '" + loss + "': " + why);
  throw Error("losses::make: '" + loss + "': bad value '" + value + "' for " + key + ": " + why);
}
bool register_at_load(LossEntry entry) {
  register_loss(std::move(entry));
  return true;
}
} // namespace detail

Series log_series(int n, double scale, double power) {
  Series s{.power = power};
  for (int j = 1; j <= n; ++j)
    s.coefficients.push_back(scale / j);
  return s;
}

std::vector<LossEntry> registered_losses() {
  std::lock_guard<std::mutex> lock(table_mutex());
  return {table().begin(), table().end()};
}

const LossEntry *find_loss(const void *function) {
  std::lock_guard<std::mutex> lock(table_mutex());
  for (const LossEntry &e : table()) // entries are never removed: the pointer stays valid
    if (e.function == function)
      return &e;
  return nullptr;
}

void register_loss(LossEntry entry) {
  std::lock_guard<std::mutex> lock(table_mutex());
  PG_CHECK(!entry.info.name.empty() && entry.build,
           "register_loss: an entry needs a name and build");
  std::vector<std::string> names = entry.info.aliases;
  names.push_back(entry.info.name);
  for (const LossEntry &e : table())
    for (const std::string &n : names) {
      PG_CHECK(n != e.info.name, "register_loss: '", n, "' is already registered");
      for (const std::string &a : e.info.aliases)
        PG_CHECK(n != a, "register_loss: '", n, "' is already an alias of '", e.info.name, "'");
    }
  table().push_back(std::move(entry));
}

std::string class_weight_parameter(const LossEntry &e) {
  for (const LossParam &p : e.params)
    if ((p.name == "weight" || p.name == "alpha") && p.type == text::type_name<Tensor>())
      return p.name;
  return "";
}

Loss make(const std::string &spec_in, const MakeContext &ctx) {
  const std::string spec = trim(spec_in);
  const size_t colon = spec.find(':');
  const std::string name = trim(spec.substr(0, colon));
  LossEntry entry;
  {
    std::lock_guard<std::mutex> lock(table_mutex());
    const LossEntry *found = nullptr;
    for (const LossEntry &e : table()) {
      if (e.info.name == name)
        found = &e;
      for (const std::string &a : e.info.aliases)
        if (a == name)
          found = &e;
    }
    PG_CHECK(found, "losses::make: unknown loss '", name, "' in spec '", spec,
             "'; valid: ", valid_names(table()));
    entry = *found;
  }
  std::vector<std::pair<std::string, std::string>> kv;
  if (colon != std::string::npos) {
    for (std::string item : split_items(spec.substr(colon + 1), spec)) {
      item = trim(item);
      if (item.empty())
        continue;
      const size_t eq = item.find('=');
      PG_CHECK(eq != std::string::npos, "losses::make: expected key=value in '", spec, "', got '",
               item, "'; parameters of ", entry.info.name, ": ", valid_params(entry));
      const std::string key = trim(item.substr(0, eq)), value = trim(item.substr(eq + 1));
      bool known = false;
      for (const LossParam &p : entry.params)
        known |= p.name == key;
      PG_CHECK(known, "losses::make: '", entry.info.name, "' has no parameter '", key,
               "'; valid: ", valid_params(entry));
      for (const auto &[k, v] : kv)
        PG_CHECK(k != key, "losses::make: parameter '", key, "' given twice in '", spec, "'");
      kv.push_back({key, value});
    }
  }
  // Per-class weights by scheme ("cb:0.999", "inverse") become the numbers
  // for this training set.
  const std::string wparam = class_weight_parameter(entry);
  bool weight_given = false;
  for (auto &[k, v] : kv) {
    weight_given |= k == wparam;
    if (k == wparam && is_class_weight_scheme(v)) {
      PG_CHECK(!ctx.class_counts.empty(), "losses::make: '", k, "=", v, "' in '", spec,
               "' needs the class counts of the training set (MakeContext::class_counts)");
      v = text::show(class_weights(v, ctx.class_counts));
    }
  }
  if (!weight_given && ctx.class_weights != "none") {
    PG_CHECK(!wparam.empty(), "losses::make: class weights '", ctx.class_weights, "' given but '",
             entry.info.name, "' has no per-class weight parameter");
    PG_CHECK(!ctx.class_counts.empty(), "losses::make: class weights '", ctx.class_weights,
             "' need the class counts of the training set (MakeContext::class_counts)");
    kv.push_back({wparam, text::show(class_weights(ctx.class_weights, ctx.class_counts))});
  }
  Loss l = entry.build(kv);
  l.spec = spec;
  return l;
}

std::string Loss::describe() const {
  std::string r = name + "(";
  for (size_t i = 0; i < params.size(); ++i)
    r.append(i ? ", " : "").append(params[i].first).append("=").append(params[i].second);
  return r + "): L = " + formula;
}

} // namespace polygrad::losses
