// The schedules of lr_scheduler.h; each get_lr() is PyTorch 1.13's formula,
// same operations in the same order, in double.
#include <polygrad/optim/lr_scheduler.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include <polygrad/io/detail/json.h>

namespace polygrad::optim {

namespace {

constexpr double kPi = std::numbers::pi;

std::string format_list(const std::vector<double> &v) { return text::show(v); }

std::vector<double> parse_list(const std::string &s, const std::string &what) {
  std::vector<double> out;
  detail::parse_value(s, what, out);
  return out;
}

int64_t parse_int(const Metadata &m, const std::string &key, const std::string &where) {
  auto it = m.find(key);
  PG_CHECK(it != m.end(), where, "missing '", key, "'");
  double d = 0;
  detail::parse_value(it->second, where + "'" + key + "'", d);
  PG_CHECK(d == std::floor(d) && std::fabs(d) < 1e15, where, "'", key, "' = '", it->second,
           "' is not an integer");
  return int64_t(d);
}

} // namespace

// ----------------------------------------------------------------- base --

LRScheduler::LRScheduler(Optimizer &opt) : opt_(opt) {
  // PyTorch: group.setdefault('initial_lr', group['lr']).
  for (size_t g = 0; g < opt.num_param_groups(); ++g) {
    auto &ex = opt.group_extras(g);
    ex.emplace("initial_lr", opt.lr(g));
    base_lrs_.push_back(ex.at("initial_lr"));
  }
}

std::vector<double> LRScheduler::group_lrs() const {
  std::vector<double> v;
  for (size_t g = 0; g < opt_.num_param_groups(); ++g)
    v.push_back(opt_.lr(g));
  return v;
}

void LRScheduler::apply(const std::vector<double> &lrs) {
  PG_CHECK(lrs.size() == opt_.num_param_groups(), "lr scheduler: the optimizer has ",
           opt_.num_param_groups(), " param groups but the scheduler was built for ", lrs.size(),
           " (add param groups before attaching schedulers)");
  for (size_t g = 0; g < lrs.size(); ++g)
    opt_.set_lr(g, lrs[g]);
  last_lr_ = group_lrs();
}

void LRScheduler::initial_step() {
  step_count_ = 0;
  step();
}

void LRScheduler::step() {
  ++step_count_;
  ++last_epoch_;
  apply(get_lr());
}

void LRScheduler::step_to(int64_t epoch) {
  ++step_count_;
  last_epoch_ = epoch;
  apply(has_closed_form() ? closed_form_lr() : get_lr());
}

Metadata LRScheduler::state_dict() const {
  return {{"last_epoch", std::to_string(last_epoch_)},
          {"step_count", std::to_string(step_count_)},
          {"base_lrs", format_list(base_lrs_)},
          {"last_lr", format_list(last_lr_)}};
}

namespace {
struct SavedState {
  int64_t last_epoch, step_count;
  std::vector<double> base_lrs, last_lr;
};
SavedState parse_state(const Metadata &m, size_t groups, const std::string &where) {
  SavedState st;
  st.last_epoch = parse_int(m, "last_epoch", where);
  st.step_count = parse_int(m, "step_count", where);
  auto b = m.find("base_lrs"), l = m.find("last_lr");
  PG_CHECK(b != m.end() && l != m.end(), where, "missing 'base_lrs' or 'last_lr'");
  st.base_lrs = parse_list(b->second, where + "'base_lrs'");
  st.last_lr = parse_list(l->second, where + "'last_lr'");
  PG_CHECK(st.base_lrs.size() == groups && st.last_lr.size() == groups, where, "saved for ",
           st.base_lrs.size(), " param groups, the optimizer has ", groups);
  return st;
}
} // namespace

void LRScheduler::validate_state_dict(const Metadata &m) const {
  parse_state(m, opt_.num_param_groups(), "lr scheduler: load_state_dict: ");
}

void LRScheduler::load_state_dict(const Metadata &m) {
  const SavedState st = parse_state(m, opt_.num_param_groups(), "lr scheduler: load_state_dict: ");
  last_epoch_ = st.last_epoch;
  step_count_ = st.step_count;
  base_lrs_ = st.base_lrs;
  last_lr_ = st.last_lr;
}

// --------------------------------------------------------------- StepLR --

StepLR::StepLR(Optimizer &opt, const StepLROptions &o) : LRScheduler(opt), o_(o) {
  PG_CHECK(o.step_size > 0, "StepLR: step_size must be > 0, got ", o.step_size);
  initial_step();
}

std::vector<double> StepLR::get_lr() {
  auto lrs = group_lrs();
  if (last_epoch_ == 0 || last_epoch_ % o_.step_size != 0)
    return lrs;
  for (double &lr : lrs)
    lr = lr * o_.gamma;
  return lrs;
}

std::vector<double> StepLR::closed_form_lr() const {
  std::vector<double> out;
  for (double b : base_lrs_)
    out.push_back(b * std::pow(o_.gamma, double(last_epoch_ / o_.step_size)));
  return out;
}

// ---------------------------------------------------------- MultiStepLR --

MultiStepLR::MultiStepLR(Optimizer &opt, const MultiStepLROptions &o) : LRScheduler(opt), o_(o) {
  std::sort(o_.milestones.begin(), o_.milestones.end());
  initial_step();
}

std::vector<double> MultiStepLR::get_lr() {
  auto lrs = group_lrs();
  const auto count = std::count(o_.milestones.begin(), o_.milestones.end(), last_epoch_);
  if (count == 0)
    return lrs;
  for (double &lr : lrs)
    lr = lr * std::pow(o_.gamma, double(count));
  return lrs;
}

std::vector<double> MultiStepLR::closed_form_lr() const {
  // bisect_right: the number of milestones <= last_epoch.
  const auto k = std::upper_bound(o_.milestones.begin(), o_.milestones.end(), last_epoch_) -
                 o_.milestones.begin();
  std::vector<double> out;
  for (double b : base_lrs_)
    out.push_back(b * std::pow(o_.gamma, double(k)));
  return out;
}

// ---------------------------------------------------- CosineAnnealingLR --

CosineAnnealingLR::CosineAnnealingLR(Optimizer &opt, const CosineAnnealingLROptions &o)
    : LRScheduler(opt), o_(o) {
  PG_CHECK(o.T_max > 0, "CosineAnnealingLR: T_max must be > 0, got ", o.T_max);
  initial_step();
}

std::vector<double> CosineAnnealingLR::get_lr() {
  auto lrs = group_lrs();
  const double T = double(o_.T_max), e = double(last_epoch_), eta = o_.eta_min;
  if (last_epoch_ == 0)
    return lrs;
  if (step_count_ == 1 && last_epoch_ > 0)
    return closed_form_lr();
  if ((last_epoch_ - 1 - o_.T_max) % (2 * o_.T_max) == 0) {
    // At a trough of the cosine the ratio below would be 0/0: step up by
    // the first increment instead.
    for (size_t g = 0; g < lrs.size(); ++g)
      lrs[g] = lrs[g] + (base_lrs_[g] - eta) * (1 - std::cos(kPi / T)) / 2;
    return lrs;
  }
  // lr_e - eta = (lr_{e-1} - eta) * (1 + cos(pi e / T)) / (1 + cos(pi (e-1) / T))
  for (double &lr : lrs)
    lr = (1 + std::cos(kPi * e / T)) / (1 + std::cos(kPi * (e - 1) / T)) * (lr - eta) + eta;
  return lrs;
}

std::vector<double> CosineAnnealingLR::closed_form_lr() const {
  std::vector<double> out;
  const double e = double(last_epoch_), T = double(o_.T_max);
  for (double b : base_lrs_)
    out.push_back(o_.eta_min + (b - o_.eta_min) * (1 + std::cos(kPi * e / T)) / 2);
  return out;
}

// ------------------------------------------------------------- LinearLR --

LinearLR::LinearLR(Optimizer &opt, const LinearLROptions &o) : LRScheduler(opt), o_(o) {
  PG_CHECK(o.start_factor > 0 && o.start_factor <= 1,
           "LinearLR: start_factor must be in (0, 1], got ", o.start_factor);
  PG_CHECK(o.end_factor >= 0 && o.end_factor <= 1, "LinearLR: end_factor must be in [0, 1], got ",
           o.end_factor);
  PG_CHECK(o.total_iters > 0, "LinearLR: total_iters must be > 0, got ", o.total_iters);
  initial_step();
}

std::vector<double> LinearLR::get_lr() {
  auto lrs = group_lrs();
  const double s = o_.start_factor, f = o_.end_factor, n = double(o_.total_iters);
  if (last_epoch_ == 0) {
    for (double &lr : lrs)
      lr = lr * s;
    return lrs;
  }
  if (last_epoch_ > o_.total_iters)
    return lrs;
  // lr_e / lr_{e-1} = (s + (f - s) e / n) / (s + (f - s)(e - 1) / n)
  for (double &lr : lrs)
    lr = lr * (1. + (f - s) / (n * s + double(last_epoch_ - 1) * (f - s)));
  return lrs;
}

std::vector<double> LinearLR::closed_form_lr() const {
  std::vector<double> out;
  const double s = o_.start_factor, f = o_.end_factor;
  for (double b : base_lrs_)
    out.push_back(
        b * (s + (f - s) * double(std::min(o_.total_iters, last_epoch_)) / double(o_.total_iters)));
  return out;
}

// ----------------------------------------------------------- OneCycleLR --

OneCycleLR::OneCycleLR(Optimizer &opt, const OneCycleLROptions &o)
    : LRScheduler(opt), o_(o), total_steps_(o.total_steps) {
  if (o.total_steps == 0) {
    PG_CHECK(o.epochs > 0 && o.steps_per_epoch > 0,
             "OneCycleLR: give total_steps > 0, or epochs > 0 and steps_per_epoch > 0 (got ",
             o.epochs, " and ", o.steps_per_epoch, ")");
    total_steps_ = o.epochs * o.steps_per_epoch;
  }
  PG_CHECK(total_steps_ > 0, "OneCycleLR: total_steps must be > 0, got ", total_steps_);
  PG_CHECK(o.pct_start >= 0 && o.pct_start <= 1, "OneCycleLR: pct_start must be in [0, 1], got ",
           o.pct_start);
  PG_CHECK(o.anneal_strategy == "cos" || o.anneal_strategy == "linear",
           "OneCycleLR: anneal_strategy must be 'cos' or 'linear', got '", o.anneal_strategy, "'");
  const size_t ng = opt.num_param_groups();
  PG_CHECK(o.max_lr.size() == 1 || o.max_lr.size() == ng, "OneCycleLR: expected 1 or ", ng,
           " values for max_lr, got ", o.max_lr.size());
  PG_CHECK(!o.cycle_momentum || opt.has_momentum(), "OneCycleLR: optimizer ", opt.name(),
           " must support momentum (momentum or betas) with cycle_momentum enabled");
  const double T = double(total_steps_), p = o.pct_start;
  if (o.three_phase)
    phases_ = {{p * T - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"},
               {2 * p * T - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"},
               {T - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"}};
  else
    phases_ = {{p * T - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"},
               {T - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"}};
  // The schedule's anchors live in the groups, as in PyTorch; initial_lr is
  // overwritten (not setdefault), so base_lrs are max_lr / div_factor.
  for (size_t g = 0; g < ng; ++g) {
    auto &ex = opt.group_extras(g);
    const double max_lr = o.max_lr.size() == 1 ? o.max_lr[0] : o.max_lr[g];
    ex["initial_lr"] = max_lr / o.div_factor;
    ex["max_lr"] = max_lr;
    ex["min_lr"] = ex["initial_lr"] / o.final_div_factor;
    base_lrs_[g] = ex["initial_lr"];
    if (o.cycle_momentum) {
      opt.set_momentum(g, o.max_momentum);
      ex["max_momentum"] = o.max_momentum;
      ex["base_momentum"] = o.base_momentum;
    }
  }
  initial_step();
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (o_.anneal_strategy == "cos") {
    const double cos_out = std::cos(kPi * pct) + 1;
    return end + (start - end) / 2.0 * cos_out;
  }
  return (end - start) * pct + start;
}

std::vector<double> OneCycleLR::get_lr() {
  const int64_t step_num = last_epoch_;
  PG_CHECK(step_num <= total_steps_, "OneCycleLR: tried to step ", step_num + 1,
           " times; the specified number of total steps is ", total_steps_);
  std::vector<double> lrs;
  for (size_t g = 0; g < opt_.num_param_groups(); ++g) {
    const auto &ex = opt_.group_extras(g);
    double start_step = 0, lr = 0, mom = 0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const Phase &ph = phases_[i];
      if (double(step_num) <= ph.end_step || i == phases_.size() - 1) {
        PG_CHECK(ph.end_step != start_step, "OneCycleLR: phase ", i, " has zero length (pct_start ",
                 o_.pct_start, ", total_steps ", total_steps_, ")");
        const double pct = (double(step_num) - start_step) / (ph.end_step - start_step);
        lr = anneal(ex.at(ph.start_lr), ex.at(ph.end_lr), pct);
        if (o_.cycle_momentum)
          mom = anneal(ex.at(ph.start_momentum), ex.at(ph.end_momentum), pct);
        break;
      }
      start_step = ph.end_step;
    }
    lrs.push_back(lr);
    if (o_.cycle_momentum)
      opt_.set_momentum(g, mom);
  }
  return lrs;
}

// --------------------------------------------------------- SequentialLR --

SequentialLR::SequentialLR(Optimizer &opt, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<int64_t> milestones)
    : LRScheduler(opt), schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
  PG_CHECK(!schedulers_.empty(), "SequentialLR: needs at least one scheduler");
  for (size_t i = 0; i < schedulers_.size(); ++i) {
    PG_CHECK(schedulers_[i] != nullptr, "SequentialLR: scheduler ", i, " is null");
    PG_CHECK(&schedulers_[i]->optimizer() == &opt, "SequentialLR: scheduler ", i,
             " drives a different optimizer");
  }
  PG_CHECK(milestones_.size() == schedulers_.size() - 1, "SequentialLR: expected ",
           schedulers_.size() - 1, " milestones for ", schedulers_.size(), " schedulers, got ",
           milestones_.size());
  PG_CHECK(std::is_sorted(milestones_.begin(), milestones_.end()),
           "SequentialLR: milestones must be increasing");
  last_epoch_ = 0;
  // Back to the initial lrs; undo the step every child took when built;
  // restart the first child.
  for (size_t g = 0; g < opt.num_param_groups(); ++g)
    opt.set_lr(g, opt.group_extras(g).at("initial_lr"));
  for (auto &s : schedulers_)
    s->last_epoch_ -= 1;
  schedulers_[0]->initial_step();
  last_lr_ = schedulers_[0]->get_last_lr();
}

std::vector<double> SequentialLR::get_lr() { return group_lrs(); }

void SequentialLR::step() {
  ++last_epoch_;
  const size_t idx = size_t(std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) -
                            milestones_.begin());
  LRScheduler &s = *schedulers_[idx];
  if (idx > 0 && milestones_[idx - 1] == last_epoch_)
    s.step_to(0);
  else
    s.step();
  last_lr_ = s.get_last_lr();
}

Metadata SequentialLR::state_dict() const {
  Metadata m = LRScheduler::state_dict();
  for (size_t i = 0; i < schedulers_.size(); ++i)
    for (const auto &[k, v] : schedulers_[i]->state_dict())
      m["schedulers." + std::to_string(i) + "." + k] = v;
  return m;
}

std::vector<Metadata> SequentialLR::split(const Metadata &m) const {
  // [0] = own entries, [i + 1] = scheduler i's (prefix removed).
  std::vector<Metadata> parts(schedulers_.size() + 1);
  for (const auto &[k, v] : m) {
    size_t dest = 0;
    for (size_t i = 0; i < schedulers_.size() && !dest; ++i) {
      const std::string p = "schedulers." + std::to_string(i) + ".";
      if (k.rfind(p, 0) == 0) {
        parts[i + 1][k.substr(p.size())] = v;
        dest = i + 1;
      }
    }
    if (!dest)
      parts[0][k] = v;
  }
  return parts;
}

void SequentialLR::validate_state_dict(const Metadata &m) const {
  const auto parts = split(m);
  LRScheduler::validate_state_dict(parts[0]);
  for (size_t i = 0; i < schedulers_.size(); ++i)
    schedulers_[i]->validate_state_dict(parts[i + 1]);
}

void SequentialLR::load_state_dict(const Metadata &m) {
  validate_state_dict(m); // all parts, before any changes
  const auto parts = split(m);
  LRScheduler::load_state_dict(parts[0]);
  for (size_t i = 0; i < schedulers_.size(); ++i)
    schedulers_[i]->load_state_dict(parts[i + 1]);
}

LinearWarmup::LinearWarmup(Optimizer &opt, std::shared_ptr<LRScheduler> after, int64_t warmup_iters,
                           double start_factor)
    : SequentialLR(
          opt,
          {std::make_shared<LinearLR>(opt, LinearLROptions{start_factor, 1.0, warmup_iters}),
           std::move(after)},
          {warmup_iters}) {}

} // namespace polygrad::optim
