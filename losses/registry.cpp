// The loss registry: the table of built-in losses (one entry per loss), the
// spec parser and the value parsers.
#include <polygrad/losses/registry.h>

#include <cmath>
#include <cstdlib>
#include <mutex>
#include <sstream>

#include <polygrad/losses/bce.h>
#include <polygrad/losses/cross_entropy.h>
#include <polygrad/losses/focal.h>
#include <polygrad/losses/kl_div.h>
#include <polygrad/losses/nll.h>
#include <polygrad/losses/poly1_cross_entropy.h>
#include <polygrad/losses/poly1_focal.h>
#include <polygrad/losses/poly_loss.h>
#include <polygrad/losses/regression.h>
#include <polygrad/losses/sigmoid_focal.h>

namespace polygrad::losses {

#define PG_FIELD(O, f) field(#f, &O::f)

namespace {

using CE = CrossEntropyOptions;
using NLL = NLLLossOptions;
using P1 = Poly1CrossEntropyOptions;
using PN = PolyLossOptions;
using FL = FocalLossOptions;
using P1F = Poly1FocalLossOptions;
using SF = SigmoidFocalLossOptions;
using P1SF = Poly1SigmoidFocalLossOptions;
using BCE = BCEWithLogitsOptions;
using SL1 = SmoothL1LossOptions;
using HU = HuberLossOptions;
using KL = KLDivOptions;

// The built-in losses: one entry each.
std::vector<LossEntry> builtin() {
  // clang-format off
  return {
    make_entry<CE>("cross_entropy", {"ce"}, "-sum_j w_j t_j log p_j (hard label: -w_y log Pt)", cross_entropy, {PG_FIELD(CE, weight), PG_FIELD(CE, ignore_index), PG_FIELD(CE, label_smoothing), PG_FIELD(CE, reduction)}),
    make_entry<NLL>("nll", {"nll_loss"}, "-w_y x_y (x: log-probabilities)", nll_loss, {PG_FIELD(NLL, weight), PG_FIELD(NLL, ignore_index), PG_FIELD(NLL, reduction)}),
    make_entry<P1>("poly1", {"poly1_ce", "poly1_cross_entropy"}, "w_y (-log Pt + epsilon (1-Pt))", poly1_cross_entropy, {PG_FIELD(P1, epsilon), PG_FIELD(P1, weight), PG_FIELD(P1, ignore_index), PG_FIELD(P1, label_smoothing), PG_FIELD(P1, weighting), PG_FIELD(P1, reduction)}),
    make_entry<PN>("poly", {"poly_loss"}, "w_y (-log Pt + sum_j epsilons[j-1] (1-Pt)^j)", poly_loss, {PG_FIELD(PN, epsilons), PG_FIELD(PN, weight), PG_FIELD(PN, ignore_index), PG_FIELD(PN, reduction)}),
    make_entry<FL>("focal", {"focal_loss"}, "-alpha_y (1-Pt)^gamma log Pt", focal_loss, {PG_FIELD(FL, gamma), PG_FIELD(FL, alpha), PG_FIELD(FL, ignore_index), PG_FIELD(FL, reduction)}),
    make_entry<P1F>("poly1_focal", {"poly1_focal_loss"}, "alpha_y (-(1-Pt)^gamma log Pt) + epsilon [alpha_y if alpha_on_poly] (1-Pt)^(gamma+1)", poly1_focal_loss, {PG_FIELD(P1F, epsilon), PG_FIELD(P1F, gamma), PG_FIELD(P1F, alpha), PG_FIELD(P1F, alpha_on_poly), PG_FIELD(P1F, ignore_index), PG_FIELD(P1F, reduction)}),
    make_entry<SF>("sigmoid_focal", {"sigmoid_focal_loss"}, "per element: alpha_t bce(x, t) (1-p_t)^gamma", sigmoid_focal_loss, {PG_FIELD(SF, alpha), PG_FIELD(SF, gamma), PG_FIELD(SF, reduction)}),
    make_entry<P1SF>("poly1_sigmoid_focal", {"poly1_sigmoid_focal_loss"}, "per element: alpha_t bce(x, t) (1-p_t)^gamma + epsilon (1-p_t)^(gamma+1)", poly1_sigmoid_focal_loss, {PG_FIELD(P1SF, epsilon), PG_FIELD(P1SF, alpha), PG_FIELD(P1SF, gamma), PG_FIELD(P1SF, pos_weight), PG_FIELD(P1SF, alpha_on_poly), PG_FIELD(P1SF, reduction)}),
    make_entry<BCE>("bce_with_logits", {"bce", "binary_cross_entropy_with_logits"}, "per element: -w (pw t log sigmoid(x) + (1-t) log sigmoid(-x))", binary_cross_entropy_with_logits, {PG_FIELD(BCE, weight), PG_FIELD(BCE, pos_weight), PG_FIELD(BCE, reduction)}),
    make_entry<MSELossOptions>("mse", {"mse_loss"}, "per element: (x - y)^2", mse_loss, {PG_FIELD(MSELossOptions, reduction)}),
    make_entry<L1LossOptions>("l1", {"l1_loss"}, "per element: |x - y|", l1_loss, {PG_FIELD(L1LossOptions, reduction)}),
    make_entry<SL1>("smooth_l1", {"smooth_l1_loss"}, "per element: d^2/(2 beta) if |d| < beta else |d| - beta/2", smooth_l1_loss, {PG_FIELD(SL1, beta), PG_FIELD(SL1, reduction)}),
    make_entry<HU>("huber", {"huber_loss"}, "per element: d^2/2 if |d| <= delta else delta (|d| - delta/2)", huber_loss, {PG_FIELD(HU, delta), PG_FIELD(HU, reduction)}),
    make_entry<KL>("kl_div", {"kl"}, "per element: t (log t - x) (log_target: e^t (t - x))", kl_div, {PG_FIELD(KL, reduction), PG_FIELD(KL, log_target)}),
  };
  // clang-format on
}

std::mutex g_mutex;
std::vector<LossEntry> &table() {
  static std::vector<LossEntry> t = builtin();
  return t;
}

std::string trim(const std::string &s) {
  const size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string valid_names(const std::vector<LossEntry> &t) {
  std::string r;
  for (const LossEntry &e : t) {
    if (!r.empty())
      r += ", ";
    r += e.name;
    if (!e.aliases.empty()) {
      r += " (";
      for (size_t i = 0; i < e.aliases.size(); ++i)
        r.append(i ? ", " : "").append(e.aliases[i]);
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

} // namespace

namespace detail {
void throw_bad_value(const std::string &loss, const std::string &key, const std::string &value,
                     const std::string &why) {
  if (key.empty())
    throw Error("losses::make: invalid options for '" + loss + "': " + why);
  throw Error("losses::make: '" + loss + "': bad value '" + value + "' for " + key + ": " + why);
}
} // namespace detail

std::vector<LossEntry> registered_losses() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return table();
}

void register_loss(LossEntry entry) {
  std::lock_guard<std::mutex> lock(g_mutex);
  PG_CHECK(!entry.name.empty() && entry.build, "register_loss: an entry needs a name and build");
  std::vector<std::string> names = entry.aliases;
  names.push_back(entry.name);
  for (const LossEntry &e : table())
    for (const std::string &n : names) {
      PG_CHECK(n != e.name, "register_loss: '", n, "' is already registered");
      for (const std::string &a : e.aliases)
        PG_CHECK(n != a, "register_loss: '", n, "' is already an alias of '", e.name, "'");
    }
  table().push_back(std::move(entry));
}

Loss make(const std::string &spec_in) {
  const std::string spec = trim(spec_in);
  const size_t colon = spec.find(':');
  const std::string name = trim(spec.substr(0, colon));
  LossEntry entry;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    const LossEntry *found = nullptr;
    for (const LossEntry &e : table()) {
      if (e.name == name)
        found = &e;
      for (const std::string &a : e.aliases)
        if (a == name)
          found = &e;
    }
    PG_CHECK(found, "losses::make: unknown loss '", name, "' in spec '", spec,
             "'; valid: ", valid_names(table()));
    entry = *found;
  }
  std::vector<std::pair<std::string, std::string>> kv;
  if (colon != std::string::npos) {
    std::stringstream ss(spec.substr(colon + 1));
    std::string item;
    while (std::getline(ss, item, ',')) {
      item = trim(item);
      if (item.empty())
        continue;
      const size_t eq = item.find('=');
      PG_CHECK(eq != std::string::npos, "losses::make: expected key=value in '", spec, "', got '",
               item, "'; parameters of ", entry.name, ": ", valid_params(entry));
      const std::string key = trim(item.substr(0, eq)), value = trim(item.substr(eq + 1));
      bool known = false;
      for (const LossParam &p : entry.params)
        known |= p.name == key;
      PG_CHECK(known, "losses::make: '", entry.name, "' has no parameter '", key,
               "'; valid: ", valid_params(entry));
      for (const auto &[k, v] : kv)
        PG_CHECK(k != key, "losses::make: parameter '", key, "' given twice in '", spec, "'");
      kv.push_back({key, value});
    }
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

// ----- value parsing -----
namespace spec {

void parse(const std::string &text, float &out) {
  const std::string t = trim(text);
  char *end = nullptr;
  const float v = std::strtof(t.c_str(), &end);
  PG_CHECK(!t.empty() && end == t.c_str() + t.size() && std::isfinite(v),
           "expected a number, got '", text, "'");
  out = v;
}

void parse(const std::string &text, int64_t &out) {
  const std::string t = trim(text);
  char *end = nullptr;
  const long long v = std::strtoll(t.c_str(), &end, 10);
  PG_CHECK(!t.empty() && end == t.c_str() + t.size(), "expected an integer, got '", text, "'");
  out = v;
}

void parse(const std::string &text, bool &out) {
  const std::string t = trim(text);
  PG_CHECK(t == "true" || t == "false" || t == "1" || t == "0",
           "expected a boolean (true, false, 1, 0), got '", text, "'");
  out = t == "true" || t == "1";
}

void parse(const std::string &text, Reduction &out) {
  const std::string t = trim(text);
  if (t == "none")
    out = Reduction::None;
  else if (t == "mean")
    out = Reduction::Mean;
  else if (t == "sum")
    out = Reduction::Sum;
  else if (t == "batchmean")
    out = Reduction::BatchMean;
  else
    throw Error("expected a reduction (none, mean, sum, batchmean), got '" + text + "'");
}

void parse(const std::string &text, PolyWeighting &out) {
  const std::string t = trim(text);
  if (t == "both")
    out = PolyWeighting::Both;
  else if (t == "ce_only")
    out = PolyWeighting::CrossEntropyOnly;
  else if (t == "rescaled_pt")
    out = PolyWeighting::RescaledPt;
  else
    throw Error("expected a weighting (both, ce_only, rescaled_pt), got '" + text + "'");
}

void parse(const std::string &text, std::vector<float> &out) {
  std::vector<float> v;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ';')) {
    float f;
    parse(item, f);
    v.push_back(f);
  }
  PG_CHECK(!v.empty(), "expected a ';'-separated list of numbers, got '", text, "'");
  out = v;
}

void parse(const std::string &text, Tensor &out) {
  if (trim(text) == "none") {
    out = Tensor();
    return;
  }
  std::vector<float> v;
  parse(text, v);
  out = from_vector(v, {(int64_t)v.size()});
}

std::string show(float v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
std::string show(int64_t v) { return std::to_string(v); }
std::string show(bool v) { return v ? "true" : "false"; }
std::string show(Reduction v) { return reduction_name(v); }
std::string show(PolyWeighting v) { return weighting_name(v); }
std::string show(const std::vector<float> &v) {
  std::string r;
  for (size_t i = 0; i < v.size(); ++i)
    r.append(i ? ";" : "").append(show(v[i]));
  return r;
}
std::string show(const Tensor &v) {
  if (!v.defined())
    return "none";
  return show(v.to_vector());
}

const char *type_name(const float *) { return "number"; }
const char *type_name(const int64_t *) { return "integer"; }
const char *type_name(const bool *) { return "true/false"; }
const char *type_name(const Reduction *) { return "none/mean/sum"; }
const char *type_name(const PolyWeighting *) { return "both/ce_only/rescaled_pt"; }
const char *type_name(const std::vector<float> *) { return "numbers separated by ';'"; }
const char *type_name(const Tensor *) { return "numbers separated by ';', or none"; }

} // namespace spec

} // namespace polygrad::losses
