// Every loss of the zoo on degenerate inputs and layouts vs PyTorch
// (tools/golden/losses.py degenerate_cases; the scenarios are listed there):
// N = 0, all weights zero, NaN / +-inf logits, label_smoothing = 1, transposed
// and sliced views, stride-0 (expanded) inputs, targets, weights and upstream
// gradients. Values and gradients must equal PyTorch's: NaN where it has NaN,
// the same infinity where it has one, else to 1e-5 relative.
#include <functional>

#include <catch2/catch.hpp>

#include "golden.h"
#include <polygrad/losses/losses.h>

namespace pg = polygrad;
namespace L = polygrad::losses;
using pg::Tensor;
using R = L::Reduction;
using W = L::PolyWeighting;

namespace {

enum class Kind { Hard, Soft, Elem };
const char *kind_name(Kind k) {
  return k == Kind::Hard ? "hard" : k == Kind::Soft ? "soft" : "elem";
}

using Fn = std::function<Tensor(const Tensor &x, const Tensor &t, const Tensor &w, R r, float ls)>;

// As DEGENERATE_LOSSES in tools/golden/losses.py.
struct LossDef {
  std::string id;
  Kind kind;
  float ls = -1.f; // default label smoothing; < 0: the loss has no such option
  bool target_grad = false;
  bool weighted = false;
  Fn fn;
};

L::Poly1CrossEntropyOptions p1(const Tensor &w, W wt, R r, float ls) {
  return {.epsilon = 2.f, .weight = w, .label_smoothing = ls, .weighting = wt, .reduction = r};
}

const std::vector<LossDef> &loss_defs() {
  static const std::vector<LossDef> defs = {
      {"ce", Kind::Hard, 0.f, false, true,
       [](auto &x, auto &t, auto &w, R r, float ls) {
         return L::cross_entropy(x, t, {.weight = w, .label_smoothing = ls, .reduction = r});
       }},
      {"ce_ls", Kind::Hard, 0.2f, false, true,
       [](auto &x, auto &t, auto &w, R r, float ls) {
         return L::cross_entropy(x, t, {.weight = w, .label_smoothing = ls, .reduction = r});
       }},
      {"nll", Kind::Hard, -1.f, false, true,
       [](auto &x, auto &t, auto &w, R r, float) {
         return L::nll_loss(x, t, {.weight = w, .reduction = r});
       }},
      {"poly1", Kind::Hard, 0.f, false, true,
       [](auto &x, auto &t, auto &w, R r, float ls) {
         return L::poly1_cross_entropy(x, t, p1(w, W::Both, r, ls));
       }},
      {"poly1_ce_only", Kind::Hard, 0.f, false, true,
       [](auto &x, auto &t, auto &w, R r, float ls) {
         return L::poly1_cross_entropy(x, t, p1(w, W::CrossEntropyOnly, r, ls));
       }},
      {"poly1_rescaled_pt", Kind::Hard, 0.f, false, true,
       [](auto &x, auto &t, auto &w, R r, float ls) {
         return L::poly1_cross_entropy(x, t, p1(w, W::RescaledPt, r, ls));
       }},
      {"poly1_ls", Kind::Hard, 0.2f, false, true,
       [](auto &x, auto &t, auto &w, R r, float ls) {
         return L::poly1_cross_entropy(x, t, p1(w, W::Both, r, ls));
       }},
      {"poly", Kind::Hard, -1.f, false, true,
       [](auto &x, auto &t, auto &w, R r, float) {
         return L::poly_loss(x, t, {.epsilons = {1.f, 0.5f}, .weight = w, .reduction = r});
       }},
      {"focal", Kind::Hard, -1.f, false, true,
       [](auto &x, auto &t, auto &w, R r, float) {
         return L::focal_loss(x, t, {.gamma = 2.f, .alpha = w, .reduction = r});
       }},
      {"poly1_focal", Kind::Hard, -1.f, false, true,
       [](auto &x, auto &t, auto &w, R r, float) {
         return L::poly1_focal_loss(x, t,
                                    {.epsilon = 1.f, .gamma = 2.f, .alpha = w, .reduction = r});
       }},
      {"ce_soft", Kind::Soft, 0.f, true, true,
       [](auto &x, auto &t, auto &w, R r, float ls) {
         return L::cross_entropy(x, t, {.weight = w, .label_smoothing = ls, .reduction = r});
       }},
      {"poly1_soft", Kind::Soft, 0.f, true, true,
       [](auto &x, auto &t, auto &w, R r, float ls) {
         return L::poly1_cross_entropy(x, t, p1(w, W::Both, r, ls));
       }},
      {"kl_div", Kind::Soft, -1.f, true, false,
       [](auto &x, auto &t, auto &, R r, float) { return L::kl_div(x, t, {.reduction = r}); }},
      {"kl_div_log", Kind::Soft, -1.f, true, false,
       [](auto &x, auto &t, auto &, R r, float) {
         return L::kl_div(x, t, {.reduction = r, .log_target = true});
       }},
      {"sigmoid_focal", Kind::Elem, -1.f, false, false,
       [](auto &x, auto &t, auto &, R r, float) {
         return L::sigmoid_focal_loss(x, t, {.alpha = 0.25f, .gamma = 2.f, .reduction = r});
       }},
      {"poly1_sigmoid_focal", Kind::Elem, -1.f, false, false,
       [](auto &x, auto &t, auto &, R r, float) {
         return L::poly1_sigmoid_focal_loss(
             x, t, {.epsilon = 1.f, .alpha = 0.25f, .gamma = 2.f, .reduction = r});
       }},
      {"bce", Kind::Elem, -1.f, true, true,
       [](auto &x, auto &t, auto &w, R r, float) {
         return L::binary_cross_entropy_with_logits(x, t, {.weight = w, .reduction = r});
       }},
      {"mse", Kind::Elem, -1.f, true, false,
       [](auto &x, auto &t, auto &, R r, float) { return L::mse_loss(x, t, {.reduction = r}); }},
      {"l1", Kind::Elem, -1.f, true, false,
       [](auto &x, auto &t, auto &, R r, float) { return L::l1_loss(x, t, {.reduction = r}); }},
      {"smooth_l1", Kind::Elem, -1.f, true, false,
       [](auto &x, auto &t, auto &, R r, float) {
         return L::smooth_l1_loss(x, t, {.beta = 1.f, .reduction = r});
       }},
      {"huber", Kind::Elem, -1.f, true, false,
       [](auto &x, auto &t, auto &, R r, float) {
         return L::huber_loss(x, t, {.delta = 1.f, .reduction = r});
       }},
  };
  return defs;
}

const std::vector<std::string> kScenarios = {"empty", "nonfinite", "nonfinite_wide", "zero_weight",
                                             "ls1",   "layout",    "expand"};

// As degenerate_applies in the generator.
bool applies(const LossDef &d, const std::string &scenario) {
  if (scenario == "nonfinite_wide")
    return d.kind == Kind::Hard;
  if (scenario == "zero_weight")
    return d.weighted;
  if (scenario == "ls1")
    return d.ls == 0.f;
  return true;
}

struct Views {
  Tensor x, t, w, vr, ve;
};

// As degenerate_views in the generator: the layouts under test.
Views make_views(Kind kind, const std::string &scenario, const Views &b) {
  Views v = b;
  if (scenario == "layout") {
    auto step2 = [](const Tensor &a) { return a.slice(0, 0, a.size(0), 2); };
    v.x = b.x.t();
    if (kind == Kind::Hard) {
      v.t = step2(b.t), v.w = step2(b.w), v.vr = step2(b.vr);
    } else if (kind == Kind::Soft) {
      v.t = b.t.t(), v.w = step2(b.w), v.vr = step2(b.vr), v.ve = b.ve.t();
    } else {
      v.t = b.t.t(), v.w = b.w.t(), v.ve = b.ve.t();
    }
  } else if (scenario == "expand") {
    const int64_t n = b.t.size(0), c = b.x.size(1);
    v.x = b.x.expand({n, c});
    if (kind == Kind::Hard) {
      v.w = b.w.expand({c}), v.vr = b.vr.expand({n});
    } else if (kind == Kind::Soft) {
      v.t = b.t.expand({n, c}), v.w = b.w.expand({c}), v.vr = b.vr.expand({n});
      v.ve = b.ve.expand({n, c});
    } else {
      v.t = b.t.expand({n, c}), v.w = b.w.expand({n, c}), v.ve = b.ve.expand({n, c});
    }
  }
  return v;
}

std::vector<std::pair<std::string, R>> reductions(const LossDef &d) {
  std::vector<std::pair<std::string, R>> r = {
      {"mean", R::Mean}, {"sum", R::Sum}, {"none", R::None}};
  if (d.id.rfind("kl_div", 0) == 0)
    r.push_back({"batchmean", R::BatchMean});
  return r;
}

Tensor opt(const golden::Fixture &f, const std::string &key) {
  return f.count(key) ? golden::get(f, key) : Tensor();
}

} // namespace

TEST_CASE("losses degenerate: every loss on N = 0, zero weights, NaN/inf, label_smoothing = 1, "
          "views and stride-0 inputs vs PyTorch",
          "[losses]") {
  const auto f = golden::load("losses_degenerate.txt");
  int cases = 0;
  for (const LossDef &d : loss_defs()) {
    for (const std::string &scenario : kScenarios) {
      if (!applies(d, scenario))
        continue;
      const std::string in = std::string(kind_name(d.kind)) + "." + scenario;
      for (const auto &[rname, r] : reductions(d)) {
        const std::string key = d.id + "." + scenario + "." + rname;
        INFO("case " << key);
        Views b{golden::get(f, in + ".x").clone().requires_grad_(true),
                golden::get(f, in + ".y").clone(), golden::get(f, in + ".w"), opt(f, in + ".vr"),
                opt(f, in + ".ve")};
        if (d.target_grad)
          b.t.requires_grad_(true);
        const Views v = make_views(d.kind, scenario, b);
        const float ls = d.ls < 0.f ? 0.f : scenario == "ls1" ? 1.f : d.ls;
        Tensor loss = d.fn(v.x, v.t, d.weighted ? v.w : Tensor(), r, ls);
        golden::check_close(loss, golden::get(f, key + ".loss"), 1e-5, 1e-6, key + " loss");
        if (r == R::None)
          loss.backward(loss.dim() == 1 ? v.vr : v.ve);
        else
          loss.backward();
        golden::check_close(b.x.grad(), golden::get(f, key + ".gx"), 1e-5, 1e-6, key + " dL/dx");
        if (d.target_grad)
          golden::check_close(b.t.grad(), golden::get(f, key + ".gt"), 1e-5, 1e-6,
                              key + " dL/dtarget");
        ++cases;
      }
    }
  }
  // every case of the fixture ran (a generator case missing here fails)
  int in_fixture = 0;
  for (const auto &[name, t] : f)
    in_fixture += name.size() > 5 && name.compare(name.size() - 5, 5, ".loss") == 0;
  REQUIRE(cases == in_fixture);
  REQUIRE(cases > 300);
}
