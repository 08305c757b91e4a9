// Losses by name: polygrad::losses::make("poly1_focal:epsilon=2,gamma=1.5")
// returns a callable loss, so a training script can take the loss (and sweep
// its parameters) from the command line.
//
// Spec syntax:  name[:key=value[,key=value...]]
//   values in core/text.h's forms: numbers ("2", "-1", "0.25", "1e-3"),
//   booleans true/false/1/0, enums by name (reduction: none/mean/sum, kl_div
//   also batchmean; weighting: both/ce_only/rescaled_pt), lists separated by
//   ';' ("poly:epsilons=1;0.5", "ce:weight=1;2;0.5") or in brackets
//   ("ce:weight=[1, 2, 0.5]", the form describe() prints); "none" is an
//   undefined tensor.
// An unknown name or parameter, a malformed value or an invalid one (e.g.
// epsilon < -1) throws polygrad::Error listing what is valid.
//
// Every loss registers itself in its own .cpp, next to its function, with one
// statement (registered_losses() lists them; nothing else does):
//
//   PG_REGISTER_LOSS(focal_loss, {.name = "focal", .aliases = {"focal_loss"},
//                                 .kind = LossKind::Softmax,
//                                 .formula = "-alpha_y (1-Pt)^gamma log Pt"});
//
// The parameters come from the options struct's schema, a static
// `fields(o, f)` that names every field once:
//
//   template <class O, class F> static void fields(O &o, F &&f) {
//     f("gamma", o.gamma), f("alpha", o.alpha), f("reduction", o.reduction);
//   }
//
// and the options are validated by check_options(const O &) (found by ADL).
// The same works out of tree, in a program or library that links polygrad
// (tests/consumer/custom_loss.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <polygrad/core/tensor.h>
#include <polygrad/core/text.h>
#include <polygrad/losses/common.h>

namespace polygrad::losses {

// What a loss takes, so tools can feed it (loss_explorer, the loss lab):
//   Softmax       logits (N, C), int64 labels (N) (or probabilities (N, C))
//   Sigmoid       logits and targets in [0, 1] of the same shape
//   Regression    predictions and targets of the same shape
//   LogProbabilities  log-probabilities (N, C), int64 labels (N) (nll)
//   Distribution  log-probabilities and a target distribution (kl_div)
enum class LossKind { Softmax, Sigmoid, Regression, LogProbabilities, Distribution };

// A loss's expansion in q = 1 - Pt near Pt = 1, where its family has one:
//   L = sum_{j >= 1} coefficients[j-1] q^(power + j - 1)
// (cross-entropy: power 1, coefficients 1/j; Poly-1: 1 + eps, 1/2, 1/3, ...;
// focal: power 1 + gamma, 1/j). For a sigmoid loss, at target 1.
struct Series {
  double power = 1;
  std::vector<double> coefficients{};
};

// The cross-entropy family's series: scale q^(power-1) (-log(1-q)) =
// sum_j (scale / j) q^(power+j-1); the first n coefficients.
Series log_series(int n, double scale = 1, double power = 1);

using LossFn = std::function<Tensor(const Tensor &input, const Tensor &target)>;

// A configured loss: call it like the functional form.
struct Loss {
  std::string name;    // the registered name ("poly1_focal", also for aliases)
  std::string spec;    // the spec it was made from
  std::string formula; // e.g. "alpha_y (-(1-Pt)^gamma log Pt + epsilon (1-Pt)^(gamma+1))"
  LossKind kind = LossKind::Softmax;
  std::vector<std::pair<std::string, std::string>> params; // every parameter's value
  LossFn fn;
  // The first n coefficients of the expansion; empty when the family has none.
  std::function<Series(int n)> series;

  Tensor operator()(const Tensor &input, const Tensor &target) const { return fn(input, target); }
  // "poly1_focal(epsilon=2, gamma=1.5, alpha=none, ..., reduction=mean):
  //  L = alpha_y (-(1-Pt)^gamma log Pt) + ..."
  std::string describe() const;
};

// What make() may need besides the spec: the training set's class counts
// let a per-class weight be given by scheme (losses/class_weights.h):
//   make("ce:weight=cb:0.999", {.class_counts = counts})
//   make("focal:gamma=2", {.class_counts = counts, .class_weights = "inverse"})
// class_weights ("none", "inverse", "cb:BETA") fills the loss's per-class
// weight parameter (weight, or focal's alpha) unless the spec sets it; a loss
// without one is an error naming it.
struct MakeContext {
  std::vector<int64_t> class_counts{};
  std::string class_weights = "none";
};

Loss make(const std::string &spec, const MakeContext &context = {});

// ----- the registry -----
struct LossParam {
  std::string name, type, default_value; // type as shown in errors: "number", "none/mean/sum"
};
// What a registration says besides the function: PG_REGISTER_LOSS's second argument.
struct LossInfo {
  std::string name{};
  std::vector<std::string> aliases{};
  LossKind kind = LossKind::Softmax;
  std::string formula{};
};
struct LossEntry {
  LossInfo info;
  std::vector<LossParam> params;
  // Builds the loss from key=value pairs (already checked against params).
  std::function<Loss(const std::vector<std::pair<std::string, std::string>> &kv)> build;
  const void *function = nullptr; // the functional form's address (lookups by function)
};

// The name of the entry's per-class weight parameter ("weight", or "alpha"
// for the focal family), or "" when it has none.
std::string class_weight_parameter(const LossEntry &entry);

// Every registered entry, in registration order.
std::vector<LossEntry> registered_losses();
// The entry registered for a functional form, or null.
const LossEntry *find_loss(const void *function);
// Adds an entry; throws if the name or an alias is taken.
void register_loss(LossEntry entry);

namespace detail {
[[noreturn]] void throw_bad_value(const std::string &loss, const std::string &key,
                                  const std::string &value, const std::string &why);
bool register_at_load(LossEntry entry); // register_loss for static initialisers
} // namespace detail

// An entry for a loss Tensor fn(input, target, const O &) whose options
// struct has the `fields` schema; `series` (optional) gives its expansion.
template <class O>
LossEntry make_entry(Tensor (*fn)(const Tensor &, const Tensor &, const O &), LossInfo info,
                     Series (*series)(const O &, int n) = nullptr) {
  LossEntry e;
  e.info = std::move(info);
  e.function = reinterpret_cast<const void *>(fn);
  const O defaults{};
  O::fields(defaults, [&](const char *name, const auto &v) {
    using T = std::decay_t<decltype(v)>;
    e.params.push_back({name, text::type_name<T>(), text::show(v)});
  });
  e.build = [info = e.info, fn,
             series](const std::vector<std::pair<std::string, std::string>> &kv) {
    O o{};
    for (const auto &[k, v] : kv)
      O::fields(o, [&, &k = k, &v = v](const char *name, auto &field) {
        if (k != name)
          return;
        try {
          text::parse(v, field);
        } catch (const Error &err) {
          detail::throw_bad_value(info.name, k, v, err.what());
        }
      });
    try {
      check_options(o);
    } catch (const Error &err) {
      detail::throw_bad_value(info.name, "", "", err.what());
    }
    Loss l;
    l.name = info.name;
    l.formula = info.formula;
    l.kind = info.kind;
    O::fields(o, [&](const char *name, const auto &field) {
      l.params.push_back({name, text::show(field)});
    });
    l.fn = [fn, o](const Tensor &input, const Tensor &target) { return fn(input, target, o); };
    if (series)
      l.series = [series, o](int n) { return series(o, n); };
    return l;
  };
  return e;
}

} // namespace polygrad::losses

template <> struct polygrad::text::EnumNames<polygrad::losses::LossKind> {
  using K = polygrad::losses::LossKind;
  static constexpr std::pair<K, const char *> values[] = {
      {K::Softmax, "softmax"},
      {K::Sigmoid, "sigmoid"},
      {K::Regression, "regression"},
      {K::LogProbabilities, "log_probabilities"},
      {K::Distribution, "distribution"}};
};

#define PG_LOSS_CONCAT_(a, b) a##b
#define PG_LOSS_CONCAT(a, b) PG_LOSS_CONCAT_(a, b)
// One statement in a loss's .cpp registers it when the library (or program)
// loads: PG_REGISTER_LOSS(fn, {.name = ..., .aliases = ..., .kind = ...,
// .formula = ...}[, series]).
#define PG_REGISTER_LOSS(fn, ...)                                                                  \
  [[maybe_unused]] static const bool PG_LOSS_CONCAT(pg_registered_loss_, __LINE__) =               \
      ::polygrad::losses::detail::register_at_load(                                                \
          ::polygrad::losses::make_entry(fn, ::polygrad::losses::LossInfo __VA_ARGS__))
