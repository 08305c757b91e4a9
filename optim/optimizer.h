// optim::Optimizer: the base of SGD, Adam and AdamW, as in torch.optim.
//
// An optimizer holds parameter groups, each a list of parameters with its own
// hyper-parameters (lr, weight_decay, ...), and a per-parameter state
// (momentum buffers, moment estimates) created lazily on the first step in
// which that parameter has a gradient. step() updates every parameter that
// has a gradient and skips the others; zero_grad() drops all gradients
// (PyTorch's set_to_none=True).
//
// Options are plain structs usable with designated initializers:
//   optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
//   opt.add_param_group(head.parameters(), {.lr = 0.01}); // momentum 0.9 kept
// A field left out of a group's options takes the optimizer's default (the
// constructor's options), like a key missing from a PyTorch param-group dict;
// Hyper<T> is what remembers whether a field was given.
//
// State dict (resuming; see state_dict()): a StateDict (core/state_dict.h),
// the same type as nn::Module::state_dict(), holding PyTorch's
// optimizer.state_dict() flattened to names:
//   tensors   "state.<i>.<buffer>" for the i-th parameter counted over all
//             groups in order: "state.3.momentum_buffer", "state.0.exp_avg",
//             "state.0.step" (a 0-d float32 step count, as in PyTorch 1.13)
//   metadata  "optimizer" = "SGD" | "Adam" | "AdamW",
//             "param_groups.<g>.params" = "[0, 1, 2]",
//             "param_groups.<g>.<option>" = "0.1" | "true" | "[0.9, 0.999]",
//             "param_groups.<g>.<extra>" (numbers schedulers keep in a group,
//             e.g. "initial_lr").
#pragma once

#include <array>
#include <concepts>
#include <map>
#include <string>
#include <vector>

#include <polygrad/core/state_dict.h>
#include <polygrad/core/tensor.h>
#include <polygrad/core/text.h>

namespace polygrad::optim {

// A hyper-parameter that remembers whether it was given explicitly. It
// converts from and to T, so options read like plain structs.
template <class T> struct Hyper {
  T value{};
  bool given = false;

  Hyper() = default;
  Hyper(T v) : value(v), given(true) {} // implicit: `.lr = 0.1`
  // `.betas = {0.9, 0.99}`
  Hyper(double a, double b) requires std::same_as<T, std::array<double, 2>> : value{a, b},
                                                                              given(true) {}
  // A default value (not "given").
  static Hyper fallback(T v) {
    Hyper h(v);
    h.given = false;
    return h;
  }
  operator const T &() const { return value; }
  const T &get() const { return value; }
};

// ---- text forms of option values in state-dict metadata (core/text.h) ----
namespace detail {
// text::parse with the context (`what`: which key of which state dict) in the error.
template <class T> void parse_value(const std::string &s, const std::string &what, T &out) {
  try {
    text::parse(s, out);
  } catch (const Error &e) {
    throw Error(what + ": " + e.what());
  }
}
} // namespace detail

class Optimizer {
public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer &) = delete;
  Optimizer &operator=(const Optimizer &) = delete;

  // "SGD", "Adam", "AdamW".
  virtual std::string name() const = 0;
  // One update of every parameter that has a gradient (under NoGradGuard).
  virtual void step() = 0;
  // Drops every parameter's gradient.
  void zero_grad();

  size_t num_param_groups() const { return groups_.size(); }
  const std::vector<Tensor> &params(size_t group) const;
  // All parameters, groups in order: index i is the "<i>" of "state.<i>".
  std::vector<Tensor> parameters() const;

  // A group's learning rate; set_lr(lr) sets every group's.
  virtual double lr(size_t group = 0) const = 0;
  virtual void set_lr(size_t group, double lr) = 0;
  void set_lr(double lr);
  // The momentum OneCycleLR cycles: SGD's momentum, Adam's beta1 (PyTorch's
  // use_beta1). has_momentum() is false for optimizers with neither.
  virtual bool has_momentum() const { return false; }
  virtual double momentum(size_t group) const;
  virtual void set_momentum(size_t group, double m);

  // Numbers schedulers keep in a group, as PyTorch keeps them in the
  // param-group dict ("initial_lr", "max_lr", "min_lr", "max_momentum",
  // "base_momentum"); part of the state dict.
  std::map<std::string, double> &group_extras(size_t group);
  const std::map<std::string, double> &group_extras(size_t group) const;

  // The state for resuming. Its tensors are the live buffers (as PyTorch's
  // are): save or clone them before the next step if they must not change.
  StateDict state_dict() const;
  // Restores hyper-parameters, extras and buffers (copied). Validated first:
  // optimizer type, group count and sizes, option values, buffer names,
  // shapes and dtypes; on error the optimizer is unchanged.
  void load_state_dict(const StateDict &sd);

protected:
  Optimizer() = default;
  // Validates `params` (non-empty, defined, float32, contiguous leaves, in no
  // other group) and appends a group of them.
  void add_group_params(const std::vector<Tensor> &params);

  // ---- what the generic state dict needs from a concrete optimizer ----
  struct Slot {
    std::string name;
    bool scalar; // a 0-d tensor (the step count) rather than param-shaped
  };
  virtual std::vector<Slot> state_slots() const = 0;
  virtual Tensor get_state(size_t g, size_t j, const std::string &slot) const = 0;
  virtual void set_state(size_t g, size_t j, const std::string &slot, const Tensor &t) = 0;
  virtual void reset_state(size_t g, size_t j) = 0;
  virtual std::vector<std::string> option_names() const = 0;
  virtual void options_to_text(size_t g, Metadata &out, const std::string &prefix) const = 0;
  // Parses and validates a group's options from `in` (keys prefix+name);
  // applies them only if `commit_to_group` is a valid group index.
  virtual void options_from_text(const Metadata &in, const std::string &prefix,
                                 const std::string &where, size_t commit_to_group) = 0;
  // Slots that must all be present once a parameter has state, for the
  // group options found at `prefix` in `in` (already validated).
  virtual std::vector<std::string> required_slots(const Metadata &in,
                                                  const std::string &prefix) const = 0;

  struct Group {
    std::vector<Tensor> params;
    std::map<std::string, double> extras;
  };
  std::vector<Group> groups_;
};

// The typed middle layer: per-group Options, per-parameter State, and the
// state-dict hooks generated from their field lists. Options provides
//   template <class O, class F> static void fields(O &o, F &&f);  // f(name, Hyper&)
//   void check(const std::string &who) const;                      // throws on bad values
// and State provides
//   template <class S, class F> static void fields(S &s, F &&f);   // f(name, Tensor&, scalar)
//   static std::vector<std::string> required(const Options &o);
template <class Options, class State> class OptimizerImpl : public Optimizer {
public:
  // Adds a group; options not given take the constructor's defaults.
  void add_param_group(const std::vector<Tensor> &params, const Options &options = {}) {
    Options o = options;
    merge(o, defaults_);
    o.check(name());
    add_group_params(params);
    options_.push_back(o);
    state_.emplace_back(params.size());
  }
  const Options &defaults() const { return defaults_; }
  // A group's options; change them between steps as PyTorch users change
  // param_groups[g] entries.
  Options &options(size_t group) { return options_.at(group); }
  const Options &options(size_t group) const { return options_.at(group); }

  double lr(size_t group = 0) const override { return options_.at(group).lr; }
  void set_lr(size_t group, double lr) override { options_.at(group).lr = lr; }
  using Optimizer::set_lr;

protected:
  explicit OptimizerImpl(const Options &defaults) : defaults_(defaults) {}

  static void merge(Options &o, const Options &def) {
    // Pair the fields of o and def by walking both in the same order.
    std::vector<const void *> dv;
    Options::fields(def, [&](const char *, const auto &h) { dv.push_back(&h); });
    size_t i = 0;
    Options::fields(o, [&](const char *, auto &h) {
      using H = std::remove_reference_t<decltype(h)>;
      if (!h.given)
        h = H(static_cast<const H *>(dv[i])->value);
      ++i;
    });
  }

  std::vector<Slot> state_slots() const override {
    std::vector<Slot> out;
    State s;
    State::fields(s, [&](const char *n, Tensor &, bool scalar) { out.push_back({n, scalar}); });
    return out;
  }
  Tensor get_state(size_t g, size_t j, const std::string &slot) const override {
    Tensor out;
    State::fields(state_[g][j], [&](const char *n, const Tensor &t, bool) {
      if (slot == n)
        out = t;
    });
    return out;
  }
  void set_state(size_t g, size_t j, const std::string &slot, const Tensor &v) override {
    State::fields(state_[g][j], [&](const char *n, Tensor &t, bool) {
      if (slot == n)
        t = v;
    });
  }
  void reset_state(size_t g, size_t j) override { state_[g][j] = State(); }
  std::vector<std::string> option_names() const override {
    std::vector<std::string> out;
    Options::fields(defaults_, [&](const char *n, const auto &) { out.push_back(n); });
    return out;
  }
  void options_to_text(size_t g, Metadata &out, const std::string &prefix) const override {
    Options::fields(options_[g],
                    [&](const char *n, const auto &h) { out[prefix + n] = text::show(h.value); });
  }
  void options_from_text(const Metadata &in, const std::string &prefix, const std::string &where,
                         size_t commit_to_group) override {
    Options o = parse_options(in, prefix, where);
    if (commit_to_group < options_.size())
      options_[commit_to_group] = o;
  }
  std::vector<std::string> required_slots(const Metadata &in,
                                          const std::string &prefix) const override {
    return State::required(parse_options(in, prefix, ""));
  }

  Options parse_options(const Metadata &in, const std::string &prefix,
                        const std::string &where) const {
    Options o;
    Options::fields(o, [&](const char *n, auto &h) {
      auto it = in.find(prefix + n);
      if (it == in.end())
        throw Error(where + "missing '" + prefix + n + "'");
      using T = std::remove_cvref_t<decltype(h.value)>;
      T v{};
      detail::parse_value(it->second, where + "'" + prefix + n + "'", v);
      h = v;
    });
    o.check(name() + " (state dict)");
    return o;
  }

  Options defaults_;
  std::vector<Options> options_;
  std::vector<std::vector<State>> state_; // [group][param]
};

} // namespace polygrad::optim
