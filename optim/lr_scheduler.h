// Learning-rate schedules, as torch.optim.lr_scheduler (PyTorch 1.13): the
// same lr sequences, computed the same way (the recursive "chainable" forms
// from the group's current lr, in double).
//
// Use: build the scheduler after the optimizer (building it sets the
// epoch-0 lr, as PyTorch's does), then call step() after each
// optimizer.step():
//   optim::SGD opt(params, {.lr = 0.1, .momentum = 0.9});
//   optim::CosineAnnealingLR sched(opt, {.T_max = 100});
//   for (...) { ...; opt.step(); sched.step(); }
//
// With e = last_epoch (0 after construction, +1 per step()), lr0 = the
// group's lr when the first scheduler was attached ("initial_lr"):
//   StepLR             lr = lr0 * gamma^floor(e / step_size)
//   MultiStepLR        lr = lr0 * gamma^(number of milestones <= e)
//   CosineAnnealingLR  lr = eta_min + (lr0 - eta_min) (1 + cos(pi e / T_max)) / 2,
//                      applied recursively (lr_e from lr_{e-1}) like PyTorch,
//                      so it keeps oscillating past T_max
//   LinearLR           lr = lr0 * (s + (end - s) * min(e, total_iters) / total_iters)
//   OneCycleLR         Smith's 1cycle: lr from max_lr/div_factor up to max_lr
//                      over pct_start of total_steps, then down to
//                      initial_lr/final_div_factor, cosine (or linear)
//                      annealed; momentum (SGD's momentum or Adam's beta1)
//                      cycles the opposite way between max_momentum and
//                      base_momentum
//   SequentialLR       runs schedulers[k] from milestones[k-1] on; each later
//                      scheduler restarts from epoch 0 (its closed form)
//   LinearWarmup       SequentialLR([LinearLR(start_factor, 1, warmup_iters),
//                      after], {warmup_iters}): a linear warmup in front of any
//                      schedule, exactly PyTorch's LinearLR + SequentialLR.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <polygrad/optim/optimizer.h>

namespace polygrad::optim {

class LRScheduler {
public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler &) = delete;
  LRScheduler &operator=(const LRScheduler &) = delete;

  // Advances one epoch (or iteration) and sets the groups' lrs.
  virtual void step();
  // The lrs set by the last step (or by construction), one per group.
  const std::vector<double> &get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  Optimizer &optimizer() const { return opt_; }
  const std::vector<double> &base_lrs() const { return base_lrs_; }

  // For resuming: "last_epoch", "step_count", "base_lrs", "last_lr" (and
  // the children's, prefixed, for SequentialLR). The optimizer's own state
  // (its lrs, momentum and the group extras) is saved with the optimizer.
  virtual Metadata state_dict() const;
  // Validated before anything changes.
  virtual void load_state_dict(const Metadata &m);
  // Throws what load_state_dict would, changing nothing.
  virtual void validate_state_dict(const Metadata &m) const;

protected:
  // Records each group's "initial_lr" (unless a scheduler already did) and
  // takes those as base_lrs. Derived constructors end with initial_step().
  explicit LRScheduler(Optimizer &opt);
  // PyTorch's _initial_step: resets the step count and performs step().
  void initial_step();
  // The lrs for last_epoch_, the chainable form (may read the groups' lrs).
  virtual std::vector<double> get_lr() = 0;
  // The closed form used by step(epoch) (SequentialLR's restart at a
  // milestone); schedulers without one use get_lr().
  virtual bool has_closed_form() const { return false; }
  virtual std::vector<double> closed_form_lr() const { return {}; }
  // PyTorch's deprecated step(epoch): jumps to `epoch`.
  void step_to(int64_t epoch);
  void apply(const std::vector<double> &lrs);
  std::vector<double> group_lrs() const;

  Optimizer &opt_;
  std::vector<double> base_lrs_, last_lr_;
  int64_t last_epoch_ = -1;
  int64_t step_count_ = 0;

  friend class SequentialLR;
};

struct StepLROptions {
  int64_t step_size = 0; // required, > 0
  double gamma = 0.1;
};
// lr = lr0 * gamma^floor(e / step_size).
class StepLR final : public LRScheduler {
public:
  StepLR(Optimizer &opt, const StepLROptions &o);

private:
  std::vector<double> get_lr() override;
  bool has_closed_form() const override { return true; }
  std::vector<double> closed_form_lr() const override;
  StepLROptions o_;
};

struct MultiStepLROptions {
  std::vector<int64_t> milestones; // epochs; a repeated one decays repeatedly
  double gamma = 0.1;
};
// lr = lr0 * gamma^(number of milestones <= e).
class MultiStepLR final : public LRScheduler {
public:
  MultiStepLR(Optimizer &opt, const MultiStepLROptions &o);

private:
  std::vector<double> get_lr() override;
  bool has_closed_form() const override { return true; }
  std::vector<double> closed_form_lr() const override;
  MultiStepLROptions o_; // milestones sorted
};

struct CosineAnnealingLROptions {
  int64_t T_max = 0; // required, > 0
  double eta_min = 0;
};
// lr = eta_min + (lr0 - eta_min) (1 + cos(pi e / T_max)) / 2 (recursive form).
class CosineAnnealingLR final : public LRScheduler {
public:
  CosineAnnealingLR(Optimizer &opt, const CosineAnnealingLROptions &o);

private:
  std::vector<double> get_lr() override;
  bool has_closed_form() const override { return true; }
  std::vector<double> closed_form_lr() const override;
  CosineAnnealingLROptions o_;
};

struct LinearLROptions {
  double start_factor = 1.0 / 3; // in (0, 1]
  double end_factor = 1.0;       // in [0, 1]
  int64_t total_iters = 5;
};
// lr = lr0 * (start + (end - start) * min(e, total_iters) / total_iters).
class LinearLR final : public LRScheduler {
public:
  LinearLR(Optimizer &opt, const LinearLROptions &o = {});

private:
  std::vector<double> get_lr() override;
  bool has_closed_form() const override { return true; }
  std::vector<double> closed_form_lr() const override;
  LinearLROptions o_;
};

struct OneCycleLROptions {
  std::vector<double> max_lr; // one value for all groups, or one per group
  int64_t total_steps = 0;    // or epochs * steps_per_epoch
  int64_t epochs = 0, steps_per_epoch = 0;
  double pct_start = 0.3;
  std::string anneal_strategy = "cos"; // "cos" or "linear"
  bool cycle_momentum = true;
  double base_momentum = 0.85, max_momentum = 0.95;
  double div_factor = 25, final_div_factor = 1e4;
  bool three_phase = false;
};
// Stepping past total_steps is an error, as in PyTorch.
class OneCycleLR final : public LRScheduler {
public:
  OneCycleLR(Optimizer &opt, const OneCycleLROptions &o);
  int64_t total_steps() const { return total_steps_; }

private:
  std::vector<double> get_lr() override;
  double anneal(double start, double end, double pct) const;
  struct Phase {
    double end_step;
    const char *start_lr, *end_lr, *start_momentum, *end_momentum; // group extras
  };
  OneCycleLROptions o_;
  int64_t total_steps_;
  std::vector<Phase> phases_;
};

// Runs schedulers[0] until milestones[0], then schedulers[1] (restarted at
// its epoch 0), and so on. All schedulers must drive `opt`.
class SequentialLR : public LRScheduler {
public:
  SequentialLR(Optimizer &opt, std::vector<std::shared_ptr<LRScheduler>> schedulers,
               std::vector<int64_t> milestones);
  void step() override;
  Metadata state_dict() const override;
  void load_state_dict(const Metadata &m) override;
  void validate_state_dict(const Metadata &m) const override;

private:
  std::vector<double> get_lr() override; // unused: step() delegates
  std::vector<Metadata> split(const Metadata &m) const;
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<int64_t> milestones_;
};

// A linear warmup in front of `after`: warmup_iters steps from
// start_factor * lr up to lr, then `after` from its epoch 0.
class LinearWarmup final : public SequentialLR {
public:
  LinearWarmup(Optimizer &opt, std::shared_ptr<LRScheduler> after, int64_t warmup_iters,
               double start_factor = 1.0 / 3);
};

} // namespace polygrad::optim
