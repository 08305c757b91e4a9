// Losses by name: polygrad::losses::make("poly1_focal:epsilon=2,gamma=1.5")
// returns a callable loss, so a training script can take the loss (and sweep
// its parameters) from the command line.
//
// Spec syntax:  name[:key=value[,key=value...]]
//   float / integer values as usual ("2", "-1", "0.25", "1e-3");
//   booleans: true/false/1/0; reduction: none/mean/sum (kl_div: batchmean);
//   weighting: both/ce_only/rescaled_pt;
//   lists (poly's epsilons, class weights/alpha/pos_weight) are separated by
//   ';': "poly:epsilons=1;0.5", "ce:weight=1;2;0.5"; "none" is an undefined tensor.
// An unknown name or parameter, a malformed value or an invalid one (e.g.
// epsilon < -1) throws polygrad::Error listing what is valid.
//
// Registered names (aliases in brackets): cross_entropy [ce], nll, poly1
// [poly1_ce], poly, focal, poly1_focal, sigmoid_focal, poly1_sigmoid_focal,
// bce_with_logits [bce], mse, l1, smooth_l1, huber, kl_div.
//
// Adding a loss in-tree is one entry in the table in registry.cpp; out of tree
// call register_loss(make_entry<MyOptions>(...)) (see docs/adding-a-loss.md).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <polygrad/core/tensor.h>
#include <polygrad/losses/common.h>
#include <polygrad/losses/poly1_cross_entropy.h>

namespace polygrad::losses {

using LossFn = std::function<Tensor(const Tensor &input, const Tensor &target)>;

// A configured loss: call it like the functional form.
struct Loss {
  std::string name;    // the registered name ("poly1_focal", also for aliases)
  std::string spec;    // the spec it was made from
  std::string formula; // e.g. "alpha_y (-(1-Pt)^gamma log Pt + epsilon (1-Pt)^(gamma+1))"
  std::vector<std::pair<std::string, std::string>> params; // every parameter's value
  LossFn fn;

  Tensor operator()(const Tensor &input, const Tensor &target) const { return fn(input, target); }
  // "poly1_focal(epsilon=2, gamma=1.5, alpha=none, ignore_index=-100,
  //  reduction=mean): L = alpha_y (-(1-Pt)^gamma log Pt + ...)"
  std::string describe() const;
};

Loss make(const std::string &spec);

// ----- the registry -----
struct LossParam {
  std::string name, type; // type as shown in errors: "float >= -1", "reduction", ...
};
struct LossEntry {
  std::string name;
  std::vector<std::string> aliases;
  std::string formula;
  std::vector<LossParam> params;
  // Builds the loss from key=value pairs (already checked against params).
  std::function<Loss(const std::vector<std::pair<std::string, std::string>> &kv)> build;
};

// Every registered entry, built-ins first.
std::vector<LossEntry> registered_losses();
// Adds an entry at run time; throws if the name or an alias is taken.
void register_loss(LossEntry entry);

// ----- building entries from an options struct -----
// Value parsing/printing for the option field types (throw Error on bad text).
namespace spec {
void parse(const std::string &text, float &out);
void parse(const std::string &text, int64_t &out);
void parse(const std::string &text, bool &out);
void parse(const std::string &text, Reduction &out);
void parse(const std::string &text, PolyWeighting &out);
void parse(const std::string &text, std::vector<float> &out);
void parse(const std::string &text, Tensor &out);
std::string show(float v);
std::string show(int64_t v);
std::string show(bool v);
std::string show(Reduction v);
std::string show(PolyWeighting v);
std::string show(const std::vector<float> &v);
std::string show(const Tensor &v);
const char *type_name(const float *);
const char *type_name(const int64_t *);
const char *type_name(const bool *);
const char *type_name(const Reduction *);
const char *type_name(const PolyWeighting *);
const char *type_name(const std::vector<float> *);
const char *type_name(const Tensor *);
} // namespace spec

// One named field of an options struct O.
template <class O> struct Field {
  std::string name, type;
  std::function<void(O &, const std::string &)> set;
  std::function<std::string(const O &)> get;
};
template <class O, class T> Field<O> field(const char *name, T O::*member) {
  return {name, spec::type_name((const T *)nullptr),
          [member](O &o, const std::string &text) { spec::parse(text, o.*member); },
          [member](const O &o) { return spec::show(o.*member); }};
}

namespace detail {
[[noreturn]] void throw_bad_value(const std::string &loss, const std::string &key,
                                  const std::string &value, const std::string &why);
}

// An entry for a loss with the signature Tensor f(input, target, const O &).
// The options are checked with check_options(O) (found by ADL), so make()
// rejects invalid values up front.
template <class O>
LossEntry make_entry(std::string name, std::vector<std::string> aliases, std::string formula,
                     Tensor (*fn)(const Tensor &, const Tensor &, const O &),
                     std::vector<Field<O>> fields) {
  LossEntry e;
  e.name = name;
  e.aliases = std::move(aliases);
  e.formula = formula;
  for (const auto &f : fields)
    e.params.push_back({f.name, f.type});
  e.build = [name, formula, fn,
             fields](const std::vector<std::pair<std::string, std::string>> &kv) {
    O o{};
    for (const auto &[k, v] : kv)
      for (const auto &f : fields)
        if (f.name == k) {
          try {
            f.set(o, v);
          } catch (const Error &err) {
            detail::throw_bad_value(name, k, v, err.what());
          }
        }
    try {
      check_options(o);
    } catch (const Error &err) {
      detail::throw_bad_value(name, "", "", err.what());
    }
    Loss l;
    l.name = name;
    l.formula = formula;
    for (const auto &f : fields)
      l.params.push_back({f.name, f.get(o)});
    l.fn = [fn, o](const Tensor &input, const Tensor &target) { return fn(input, target, o); };
    return l;
  };
  return e;
}

} // namespace polygrad::losses
