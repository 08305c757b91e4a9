// Finite-difference gradient checks of every loss, for every option that
// changes the backward: class weights, ignored labels, label smoothing, soft
// targets (gradients w.r.t. the logits and the targets), each Poly-1
// weighting, eps (incl. -1), gamma in {0, 0.5, 2, 5}, alpha, pos_weight, and
// the three reductions (none is checked through a random projection).
#include <functional>

#include <catch2/catch.hpp>

#include <polygrad/autograd/gradcheck.h>
#include <polygrad/core/random.h>
#include <polygrad/losses/losses.h>

namespace pg = polygrad;
namespace L = polygrad::losses;
using pg::Tensor;
using R = L::Reduction;
using W = L::PolyWeighting;

namespace {

constexpr int64_t N = 6, C = 5;

Tensor logits() { return (pg::randn({N, C}) * 1.5f).requires_grad_(true); }
Tensor labels(bool with_ignored = false) {
  std::vector<int64_t> y = {0, 3, 1, 4, 2, 3};
  if (with_ignored)
    y[2] = -100, y[5] = -100;
  return pg::from_labels(y);
}
Tensor probs() { return pg::softmax(pg::randn({N, C}) * 2.f, 1).detach(); }
Tensor class_weights() { return pg::from_vector({0.5f, 2.f, 1.f, 1.5f, 0.8f}, {C}); }

void check(const std::string &what, const std::function<Tensor(const Tensor &, const Tensor &)> &f,
           const Tensor &x, const Tensor &t, float eps = 3e-2f) {
  INFO(what);
  // The losses are smooth where they are checked, so the step can be 3x the
  // default: the fourth-order stencil's truncation error stays ~h^4 / 30
  // (~3e-8 times the fifth derivative) while the float32 rounding of a
  // sum-reduced loss of ~20 (~1e-6), divided by the step, drops to ~5e-5,
  // well under atol (at h = 1e-2 it reached 1.5e-4 on a soft-target sum).
  // kl_div's target term t log t has a fifth derivative of 6 / t^4, large at
  // t = 0.1: h = 1e-2 there.
  const auto res = pg::gradcheck([&](const std::vector<Tensor> &in) { return f(in[0], in[1]); },
                                 {x, t}, {.eps = eps});
  INFO(res.message);
  REQUIRE(res.ok);
  REQUIRE(res.checked > 0);
  REQUIRE(res.sensitive);
}

} // namespace

TEST_CASE("losses gradcheck: cross_entropy and nll_loss", "[losses]") {
  pg::manual_seed(11);
  const Tensor w = class_weights();
  for (R r : {R::Mean, R::Sum, R::None}) {
    const std::string rs = L::reduction_name(r);
    check(
        "ce " + rs, [&](auto &x, auto &y) { return L::cross_entropy(x, y, {.reduction = r}); },
        logits(), labels());
    check(
        "ce weight+ignore " + rs,
        [&](auto &x, auto &y) { return L::cross_entropy(x, y, {.weight = w, .reduction = r}); },
        logits(), labels(true));
    check(
        "ce smoothing+weight+ignore " + rs,
        [&](auto &x, auto &y) {
          return L::cross_entropy(x, y, {.weight = w, .label_smoothing = 0.2f, .reduction = r});
        },
        logits(), labels(true));
    // soft targets: gradients w.r.t. both the logits and the target probabilities
    check(
        "ce soft targets " + rs,
        [&](auto &x, auto &t) { return L::cross_entropy(x, t, {.reduction = r}); }, logits(),
        probs().requires_grad_(true));
    check(
        "ce soft+weight+smoothing " + rs,
        [&](auto &x, auto &t) {
          return L::cross_entropy(x, t, {.weight = w, .label_smoothing = 0.1f, .reduction = r});
        },
        logits(), probs().requires_grad_(true));
    check(
        "nll weight+ignore " + rs,
        [&](auto &x, auto &y) { return L::nll_loss(x, y, {.weight = w, .reduction = r}); },
        logits(), labels(true));
  }
  check(
      "ce ignore_index = 3 (a real class)",
      [&](auto &x, auto &y) { return L::cross_entropy(x, y, {.ignore_index = 3}); }, logits(),
      labels());
}

TEST_CASE("losses gradcheck: poly1_cross_entropy, every weighting", "[losses]") {
  pg::manual_seed(12);
  const Tensor w = class_weights();
  for (float eps : {-1.f, 0.f, 1.f, 2.f})
    check(
        "poly1 eps=" + std::to_string(eps),
        [&](auto &x, auto &y) { return L::poly1_cross_entropy(x, y, {.epsilon = eps}); }, logits(),
        labels());
  for (W wt : {W::Both, W::CrossEntropyOnly, W::RescaledPt})
    for (R r : {R::Mean, R::Sum, R::None}) {
      const std::string s = std::string(L::weighting_name(wt)) + " " + L::reduction_name(r);
      check(
          "poly1 weight+ignore " + s,
          [&](auto &x, auto &y) {
            return L::poly1_cross_entropy(
                x, y, {.epsilon = 2.f, .weight = w, .weighting = wt, .reduction = r});
          },
          logits(), labels(true));
      check(
          "poly1 smoothing+weight+ignore " + s,
          [&](auto &x, auto &y) {
            return L::poly1_cross_entropy(x, y,
                                          {.epsilon = 1.5f,
                                           .weight = w,
                                           .label_smoothing = 0.1f,
                                           .weighting = wt,
                                           .reduction = r});
          },
          logits(), labels(true));
      check(
          "poly1 soft targets+weight " + s,
          [&](auto &x, auto &t) {
            return L::poly1_cross_entropy(
                x, t, {.epsilon = 2.f, .weight = w, .weighting = wt, .reduction = r});
          },
          logits(), probs().requires_grad_(true));
      check(
          "poly1 soft targets+smoothing (no weight) " + s,
          [&](auto &x, auto &t) {
            return L::poly1_cross_entropy(
                x, t, {.epsilon = -1.f, .label_smoothing = 0.2f, .weighting = wt, .reduction = r});
          },
          logits(), probs().requires_grad_(true));
    }
}

TEST_CASE("losses gradcheck: poly_loss (Poly-N)", "[losses]") {
  pg::manual_seed(13);
  const Tensor w = class_weights();
  for (R r : {R::Mean, R::Sum, R::None})
    check(
        std::string("poly ") + L::reduction_name(r),
        [&](auto &x, auto &y) {
          return L::poly_loss(x, y, {.epsilons = {2.f, -0.3f, 0.1f}, .weight = w, .reduction = r});
        },
        logits(), labels(true));
  check(
      "poly {-1}", [&](auto &x, auto &y) { return L::poly_loss(x, y, {.epsilons = {-1.f}}); },
      logits(), labels());
}

TEST_CASE("losses gradcheck: focal_loss and poly1_focal_loss", "[losses]") {
  pg::manual_seed(14);
  const Tensor a = class_weights();
  for (float g : {0.f, 0.5f, 2.f, 5.f}) {
    const std::string gs = " gamma=" + std::to_string(g);
    check(
        "focal" + gs, [&](auto &x, auto &y) { return L::focal_loss(x, y, {.gamma = g}); }, logits(),
        labels());
    check(
        "focal alpha+ignore none" + gs,
        [&](auto &x, auto &y) {
          return L::focal_loss(x, y, {.gamma = g, .alpha = a, .reduction = R::None});
        },
        logits(), labels(true));
    for (float eps : {-1.f, 1.f, 3.f})
      check(
          "poly1_focal alpha+ignore eps=" + std::to_string(eps) + gs,
          [&](auto &x, auto &y) {
            return L::poly1_focal_loss(x, y, {.epsilon = eps, .gamma = g, .alpha = a});
          },
          logits(), labels(true));
    // the paper's convention: the eps term not weighted by alpha, plain mean
    for (float eps : {-1.f, 2.f})
      check(
          "poly1_focal alpha off the eps term+ignore eps=" + std::to_string(eps) + gs,
          [&](auto &x, auto &y) {
            return L::poly1_focal_loss(
                x, y, {.epsilon = eps, .gamma = g, .alpha = a, .alpha_on_poly = false});
          },
          logits(), labels(true));
  }
  check(
      "poly1_focal sum",
      [&](auto &x, auto &y) {
        return L::poly1_focal_loss(x, y, {.epsilon = 2.f, .gamma = 1.f, .reduction = R::Sum});
      },
      logits(), labels());
}

TEST_CASE("losses gradcheck: sigmoid focal losses and bce_with_logits", "[losses]") {
  pg::manual_seed(15);
  const Tensor t01 = pg::one_hot(labels(), C);
  const Tensor tsoft = pg::rand({N, C});
  const Tensor pw = pg::from_vector({0.5f, 2.f, 1.f, 3.f, 1.f}, {C});
  for (const Tensor &t : {t01, tsoft}) {
    for (float g : {0.f, 0.5f, 2.f, 5.f})
      for (float alpha : {-1.f, 0.25f}) {
        const std::string s = " gamma=" + std::to_string(g) + " alpha=" + std::to_string(alpha);
        check(
            "sigmoid_focal" + s,
            [&](auto &x, auto &tt) {
              return L::sigmoid_focal_loss(x, tt, {.alpha = alpha, .gamma = g});
            },
            logits(), t);
        check(
            "poly1_sigmoid_focal" + s,
            [&](auto &x, auto &tt) {
              return L::poly1_sigmoid_focal_loss(
                  x, tt, {.epsilon = 1.f, .alpha = alpha, .gamma = g, .pos_weight = pw});
            },
            logits(), t);
        check(
            "poly1_sigmoid_focal alpha_on_poly none" + s,
            [&](auto &x, auto &tt) {
              return L::poly1_sigmoid_focal_loss(x, tt,
                                                 {.epsilon = -1.f,
                                                  .alpha = alpha,
                                                  .gamma = g,
                                                  .alpha_on_poly = true,
                                                  .reduction = R::None});
            },
            logits(), t);
      }
  }
  const Tensor wfull = pg::rand({N, C}) + 0.5f;
  for (R r : {R::Mean, R::Sum, R::None})
    check(
        std::string("bce weight+pos_weight, target grad ") + L::reduction_name(r),
        [&](auto &x, auto &t) {
          return L::binary_cross_entropy_with_logits(
              x, t, {.weight = wfull, .pos_weight = pw, .reduction = r});
        },
        logits(), tsoft.clone().requires_grad_(true));
}

TEST_CASE("losses gradcheck: regression losses and kl_div", "[losses]") {
  pg::manual_seed(16);
  // |input - target| in [0.1, 0.3) or [1, 1.5): both sides of beta = delta =
  // 0.6, and finite differences (x +- 2h = 0.06) never straddle a kink
  const Tensor t = pg::randn({N, C});
  auto input = [&] {
    const Tensor u = pg::rand({N, C}), v = pg::rand({N, C}), s = pg::rand({N, C});
    const Tensor off =
        pg::where(pg::lt(u, pg::full_like(u, 0.5f)), v * 0.2f + 0.1f, v * 0.5f + 1.f);
    const Tensor sign =
        pg::where(pg::lt(s, pg::full_like(s, 0.5f)), pg::full_like(s, -1.f), pg::ones_like(s));
    return (t + sign * off).detach().requires_grad_(true);
  };
  auto target = [&] { return t.clone().requires_grad_(true); };
  for (R r : {R::Mean, R::Sum, R::None}) {
    const std::string rs = L::reduction_name(r);
    check(
        "mse " + rs, [&](auto &x, auto &y) { return L::mse_loss(x, y, {.reduction = r}); }, input(),
        target());
    check(
        "l1 " + rs, [&](auto &x, auto &y) { return L::l1_loss(x, y, {.reduction = r}); }, input(),
        target());
    check(
        "smooth_l1 " + rs,
        [&](auto &x, auto &y) { return L::smooth_l1_loss(x, y, {.beta = 0.6f, .reduction = r}); },
        input(), target());
    check(
        "huber " + rs,
        [&](auto &x, auto &y) { return L::huber_loss(x, y, {.delta = 0.6f, .reduction = r}); },
        input(), target());
  }
  const Tensor lp = pg::log_softmax(pg::randn({N, C}), 1).detach();
  for (R r : {R::Mean, R::BatchMean, R::Sum, R::None}) {
    const std::string rs = L::reduction_name(r);
    check(
        "kl_div " + rs, [&](auto &x, auto &y) { return L::kl_div(x, y, {.reduction = r}); },
        lp.clone().requires_grad_(true), // t in [0.1, 0.9): t - 2h stays > 0
        (pg::rand({N, C}) * 0.8f + 0.1f).detach().requires_grad_(true), 1e-2f);
    check(
        "kl_div log_target " + rs,
        [&](auto &x, auto &y) { return L::kl_div(x, y, {.reduction = r, .log_target = true}); },
        lp.clone().requires_grad_(true),
        pg::log_softmax(pg::randn({N, C}), 1).detach().requires_grad_(true), 1e-2f);
  }
}
