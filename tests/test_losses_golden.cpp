// Every loss vs PyTorch: values and gradients from tools/golden/losses.py
// (PyTorch's own losses where they exist, issue 4's formulas written with
// torch ops where they don't), compared to 1e-5 relative. Each case names its
// options here; the fixture holds inputs, the upstream gradient for
// reduction none, and the expected loss and gradients.
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

// (x, y, w, pw) -> loss; w / pw are undefined when the case has none.
using LossFn =
    std::function<Tensor(const Tensor &, const Tensor &, const Tensor &, const Tensor &)>;

struct Case {
  std::string name;
  LossFn fn;
  bool target_grad = false;
};

void run_case(const golden::Fixture &f, const Case &c, const std::string &input_prefix = "") {
  INFO("case " << c.name);
  const std::string in = input_prefix.empty() ? c.name : input_prefix;
  Tensor x = golden::get(f, in + ".x").clone().requires_grad_(true);
  Tensor y = golden::get(f, in + ".y").clone();
  if (c.target_grad)
    y.requires_grad_(true);
  const Tensor w = f.count(c.name + ".w") ? golden::get(f, c.name + ".w") : Tensor();
  const Tensor pw = f.count(c.name + ".pw") ? golden::get(f, c.name + ".pw") : Tensor();
  Tensor loss = c.fn(x, y, w, pw);
  golden::require_close(loss, golden::get(f, c.name + ".loss"), 1e-5, 1e-6, c.name + " loss");
  if (f.count(c.name + ".v"))
    loss.backward(golden::get(f, c.name + ".v"));
  else
    loss.backward();
  golden::require_close(x.grad(), golden::get(f, c.name + ".gx"), 1e-5, 1e-6, c.name + " dL/dx");
  if (c.target_grad)
    golden::require_close(y.grad(), golden::get(f, c.name + ".gt"), 1e-5, 1e-6,
                          c.name + " dL/dtarget");
}

// shorthands for the option structs
L::CrossEntropyOptions ce(const Tensor &w, R r = R::Mean, float ls = 0.f, int64_t ig = -100) {
  return {.weight = w, .ignore_index = ig, .label_smoothing = ls, .reduction = r};
}
L::Poly1CrossEntropyOptions p1(float eps, const Tensor &w, W wt = W::Both, R r = R::Mean,
                               float ls = 0.f) {
  return {.epsilon = eps, .weight = w, .label_smoothing = ls, .weighting = wt, .reduction = r};
}

} // namespace

TEST_CASE("losses golden: softmax family vs PyTorch", "[losses]") {
  const auto f = golden::load("losses_softmax.txt");
  std::vector<Case> cases = {
      {"ce_basic", [](auto &x, auto &y, auto &w, auto &) { return L::cross_entropy(x, y, ce(w)); }},
      {"ce_weight", [](auto &x, auto &y, auto &w, auto &) { return L::cross_entropy(x, y, ce(w)); }},
      {"ce_weight_ignore",
       [](auto &x, auto &y, auto &w, auto &) { return L::cross_entropy(x, y, ce(w)); }},
      {"ce_ignore2_sum",
       [](auto &x, auto &y, auto &w, auto &) {
         return L::cross_entropy(x, y, ce(w, R::Sum, 0.f, 2));
       }},
      {"ce_none",
       [](auto &x, auto &y, auto &w, auto &) { return L::cross_entropy(x, y, ce(w, R::None)); }},
      {"ce_ls",
       [](auto &x, auto &y, auto &w, auto &) {
         return L::cross_entropy(x, y, ce(w, R::Mean, 0.1f));
       }},
      {"ce_ls_weight_ignore",
       [](auto &x, auto &y, auto &w, auto &) {
         return L::cross_entropy(x, y, ce(w, R::Mean, 0.2f));
       }},
      {"ce_ls_none",
       [](auto &x, auto &y, auto &w, auto &) {
         return L::cross_entropy(x, y, ce(w, R::None, 0.15f));
       }},
      {"ce_soft", [](auto &x, auto &y, auto &w, auto &) { return L::cross_entropy(x, y, ce(w)); },
       true},
      {"ce_soft_weight_ls_sum",
       [](auto &x, auto &y, auto &w, auto &) {
         return L::cross_entropy(x, y, ce(w, R::Sum, 0.1f));
       },
       true},
      {"ce_soft_none",
       [](auto &x, auto &y, auto &w, auto &) { return L::cross_entropy(x, y, ce(w, R::None)); },
       true},
      {"ce_all_ignored",
       [](auto &x, auto &y, auto &w, auto &) { return L::cross_entropy(x, y, ce(w)); }},
      {"ce_all_ignored_ls",
       [](auto &x, auto &y, auto &w, auto &) {
         return L::cross_entropy(x, y, ce(w, R::Mean, 0.1f));
       }},
      {"ce_n1", [](auto &x, auto &y, auto &w, auto &) { return L::cross_entropy(x, y, ce(w)); }},
      {"ce_c2", [](auto &x, auto &y, auto &w, auto &) { return L::cross_entropy(x, y, ce(w)); }},
      {"nll_weight_ignore",
       [](auto &x, auto &y, auto &w, auto &) { return L::nll_loss(x, y, {.weight = w}); }},
      {"nll_none",
       [](auto &x, auto &y, auto &w, auto &) {
         return L::nll_loss(x, y, {.weight = w, .reduction = R::None});
       }},
      {"nll_sum",
       [](auto &x, auto &y, auto &, auto &) { return L::nll_loss(x, y, {.reduction = R::Sum}); }},
      {"poly1_eps2",
       [](auto &x, auto &y, auto &w, auto &) { return L::poly1_cross_entropy(x, y, p1(2.f, w)); }},
      {"poly1_epsm1",
       [](auto &x, auto &y, auto &w, auto &) {
         return L::poly1_cross_entropy(x, y, p1(-1.f, w));
       }},
      {"poly1_none",
       [](auto &x, auto &y, auto &w, auto &) {
         return L::poly1_cross_entropy(x, y, p1(1.f, w, W::Both, R::None));
       }},
      {"poly1_ls_now",
       [](auto &x, auto &y, auto &w, auto &) {
         return L::poly1_cross_entropy(x, y, p1(2.f, w, W::Both, R::Mean, 0.2f));
       }},
      {"poly1_soft_now_ls_none",
       [](auto &x, auto &y, auto &w, auto &) {
         return L::poly1_cross_entropy(x, y, p1(1.f, w, W::Both, R::None, 0.1f));
       },
       true},
      {"poly_default", [](auto &x, auto &y, auto &w, auto &) {
         return L::poly_loss(x, y, {.epsilons = {1.f, 0.5f}, .weight = w});
       }},
      {"poly_3_w_ignore", [](auto &x, auto &y, auto &w, auto &) {
         return L::poly_loss(x, y, {.epsilons = {2.f, -0.3f, 0.1f}, .weight = w});
       }},
      {"poly_2_none", [](auto &x, auto &y, auto &w, auto &) {
         return L::poly_loss(x, y, {.epsilons = {-1.f, 1.f}, .weight = w, .reduction = R::None});
       }},
      {"focal_none",
       [](auto &x, auto &y, auto &w, auto &) {
         return L::focal_loss(x, y, {.gamma = 2.f, .alpha = w, .reduction = R::None});
       }},
      {"focal_sum",
       [](auto &x, auto &y, auto &w, auto &) {
         return L::focal_loss(x, y, {.gamma = 1.f, .alpha = w, .reduction = R::Sum});
       }},
      {"poly1_focal_epsm1",
       [](auto &x, auto &y, auto &w, auto &) {
         return L::poly1_focal_loss(x, y, {.epsilon = -1.f, .gamma = 2.f, .alpha = w});
       }},
      {"poly1_focal_none",
       [](auto &x, auto &y, auto &w, auto &) {
         return L::poly1_focal_loss(
             x, y, {.epsilon = 2.f, .gamma = 0.5f, .alpha = w, .reduction = R::None});
       }},
  };
  // the three Poly-1 weighting conventions, with weights and ignored labels,
  // label smoothing and soft targets
  const std::pair<const char *, W> wts[] = {
      {"both", W::Both}, {"ce_only", W::CrossEntropyOnly}, {"rescaled_pt", W::RescaledPt}};
  // (named copies, not structured bindings: clang 14 cannot capture those)
  for (const auto &entry : wts) {
    const std::string s = entry.first;
    const W wt = entry.second;
    cases.push_back({"poly1_w_" + s, [wt](auto &x, auto &y, auto &w, auto &) {
                       return L::poly1_cross_entropy(x, y, p1(2.f, w, wt));
                     }});
    cases.push_back({"poly1_w_" + s + "_sum", [wt](auto &x, auto &y, auto &w, auto &) {
                       return L::poly1_cross_entropy(x, y, p1(-0.5f, w, wt, R::Sum));
                     }});
    cases.push_back({"poly1_w_" + s + "_none", [wt](auto &x, auto &y, auto &w, auto &) {
                       return L::poly1_cross_entropy(x, y, p1(1.5f, w, wt, R::None));
                     }});
    cases.push_back({"poly1_ls_" + s, [wt](auto &x, auto &y, auto &w, auto &) {
                       return L::poly1_cross_entropy(x, y, p1(1.f, w, wt, R::Mean, 0.1f));
                     }});
    cases.push_back({"poly1_soft_" + s,
                     [wt](auto &x, auto &y, auto &w, auto &) {
                       return L::poly1_cross_entropy(x, y, p1(2.f, w, wt));
                     },
                     true});
  }
  // focal and Poly-1 focal for gamma in {0, 0.5, 2, 5}, alpha = class weights
  for (float g : {0.f, 0.5f, 2.f, 5.f}) {
    std::string gs = g == 0.f ? "0p0" : g == 0.5f ? "0p5" : g == 2.f ? "2p0" : "5p0";
    cases.push_back({"focal_g" + gs, [g](auto &x, auto &y, auto &w, auto &) {
                       return L::focal_loss(x, y, {.gamma = g, .alpha = w});
                     }});
    cases.push_back({"poly1_focal_g" + gs, [g](auto &x, auto &y, auto &w, auto &) {
                       return L::poly1_focal_loss(x, y, {.epsilon = 1.f, .gamma = g, .alpha = w});
                     }});
  }
  for (const Case &c : cases)
    run_case(f, c);
}

TEST_CASE("losses golden: C = 1000", "[losses]") {
  const auto f = golden::load("losses_large.txt");
  const std::vector<Case> cases = {
      {"ce_c1000", [](auto &x, auto &y, auto &, auto &) { return L::cross_entropy(x, y); }},
      {"poly1_c1000", [](auto &x, auto &y, auto &,
                         auto &) { return L::poly1_cross_entropy(x, y, {.epsilon = 2.f}); }},
      {"focal_c1000",
       [](auto &x, auto &y, auto &, auto &) { return L::focal_loss(x, y, {.gamma = 2.f}); }},
      {"poly1_focal_c1000",
       [](auto &x, auto &y, auto &, auto &) {
         return L::poly1_focal_loss(x, y, {.epsilon = 1.f, .gamma = 1.5f});
       }},
  };
  for (const Case &c : cases)
    run_case(f, c, "c1000");
}

TEST_CASE("losses golden: element-wise losses vs PyTorch", "[losses]") {
  const auto f = golden::load("losses_pointwise.txt");
  std::vector<Case> cases = {
      {"sf_default", [](auto &x, auto &y, auto &, auto &) { return L::sigmoid_focal_loss(x, y); }},
      {"sf_noalpha_g0p5",
       [](auto &x, auto &y, auto &, auto &) {
         return L::sigmoid_focal_loss(x, y, {.alpha = -1.f, .gamma = 0.5f});
       }},
      {"sf_soft_sum", [](auto &x, auto &y, auto &,
                         auto &) { return L::sigmoid_focal_loss(x, y, {.reduction = R::Sum}); }},
      {"sf_none",
       [](auto &x, auto &y, auto &, auto &) {
         return L::sigmoid_focal_loss(x, y, {.alpha = 0.4f, .gamma = 1.f, .reduction = R::None});
       }},
      {"sf_g0_noalpha",
       [](auto &x, auto &y, auto &, auto &) {
         return L::sigmoid_focal_loss(x, y, {.alpha = -1.f, .gamma = 0.f});
       }},
      {"p1sf_default",
       [](auto &x, auto &y, auto &, auto &) { return L::poly1_sigmoid_focal_loss(x, y); }},
      {"p1sf_alpha_on_poly",
       [](auto &x, auto &y, auto &, auto &) {
         return L::poly1_sigmoid_focal_loss(x, y, {.epsilon = 2.f, .alpha_on_poly = true});
       }},
      {"p1sf_pw_none",
       [](auto &x, auto &y, auto &, auto &pw) {
         return L::poly1_sigmoid_focal_loss(
             x, y, {.epsilon = -1.f, .gamma = 1.5f, .pos_weight = pw, .reduction = R::None});
       }},
      {"p1sf_soft_g5",
       [](auto &x, auto &y, auto &, auto &) {
         return L::poly1_sigmoid_focal_loss(x, y, {.epsilon = 0.5f, .alpha = 0.75f, .gamma = 5.f});
       }},
      {"bce_basic",
       [](auto &x, auto &y, auto &, auto &) { return L::binary_cross_entropy_with_logits(x, y); },
       true},
      {"bce_w_pw",
       [](auto &x, auto &y, auto &w, auto &pw) {
         return L::binary_cross_entropy_with_logits(x, y, {.weight = w, .pos_weight = pw});
       },
       true},
      {"bce_pw_sum",
       [](auto &x, auto &y, auto &, auto &pw) {
         return L::binary_cross_entropy_with_logits(x, y, {.pos_weight = pw, .reduction = R::Sum});
       },
       true},
      {"bce_none",
       [](auto &x, auto &y, auto &w, auto &) {
         return L::binary_cross_entropy_with_logits(x, y, {.weight = w, .reduction = R::None});
       },
       true},
      {"smooth_l1_b1p0",
       [](auto &x, auto &y, auto &, auto &) { return L::smooth_l1_loss(x, y, {.beta = 1.f}); },
       true},
      {"smooth_l1_b0p5",
       [](auto &x, auto &y, auto &, auto &) { return L::smooth_l1_loss(x, y, {.beta = 0.5f}); },
       true},
      {"smooth_l1_b0p0",
       [](auto &x, auto &y, auto &, auto &) { return L::smooth_l1_loss(x, y, {.beta = 0.f}); },
       true},
      {"smooth_l1_none",
       [](auto &x, auto &y, auto &, auto &) {
         return L::smooth_l1_loss(x, y, {.beta = 2.f, .reduction = R::None});
       },
       true},
      {"huber_d1p0",
       [](auto &x, auto &y, auto &, auto &) { return L::huber_loss(x, y, {.delta = 1.f}); }, true},
      {"huber_d2p5",
       [](auto &x, auto &y, auto &, auto &) { return L::huber_loss(x, y, {.delta = 2.5f}); }, true},
      {"huber_none",
       [](auto &x, auto &y, auto &, auto &) {
         return L::huber_loss(x, y, {.delta = 0.5f, .reduction = R::None});
       },
       true},
      {"kl_zero_sum",
       [](auto &x, auto &y, auto &, auto &) { return L::kl_div(x, y, {.reduction = R::Sum}); },
       true},
  };
  const std::pair<const char *, R> reds[] = {{"mean", R::Mean}, {"sum", R::Sum}, {"none", R::None}};
  for (const auto &entry : reds) {
    const std::string s = entry.first;
    const R r = entry.second;
    cases.push_back(
        {"mse_" + s,
         [r](auto &x, auto &y, auto &, auto &) { return L::mse_loss(x, y, {.reduction = r}); },
         true});
    cases.push_back(
        {"l1_" + s,
         [r](auto &x, auto &y, auto &, auto &) { return L::l1_loss(x, y, {.reduction = r}); },
         true});
  }
  const std::pair<const char *, R> kreds[] = {
      {"mean", R::Mean}, {"batchmean", R::BatchMean}, {"sum", R::Sum}, {"none", R::None}};
  for (const auto &entry : kreds) {
    const std::string s = entry.first;
    const R r = entry.second;
    cases.push_back(
        {"kl_" + s,
         [r](auto &x, auto &y, auto &, auto &) { return L::kl_div(x, y, {.reduction = r}); },
         true});
    cases.push_back({"kl_log_" + s,
                     [r](auto &x, auto &y, auto &, auto &) {
                       return L::kl_div(x, y, {.reduction = r, .log_target = true});
                     },
                     true});
  }
  for (const Case &c : cases)
    run_case(f, c);
}
