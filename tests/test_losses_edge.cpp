// Edge cases of the loss zoo: saturated logits (+-1e4), gamma < 1 at
// saturation, all targets ignored, the exact reductions (gamma = 0 is CE,
// eps = 0 is the base loss, Poly-N with one eps is Poly-1), thread-count
// independence, views, upstream gradients, and every validation error.
#include <cmath>

#include <catch2/catch.hpp>

#include <polygrad/core/parallel.h>
#include <polygrad/core/random.h>
#include <polygrad/losses/losses.h>

#include "test_core_util.h"

namespace pg = polygrad;
namespace L = polygrad::losses;
using pg::Tensor;
using R = L::Reduction;
using Catch::Contains;

namespace {

// loss and gradient of f at a fresh copy of x
std::pair<std::vector<float>, std::vector<float>>
value_grad(const std::function<Tensor(const Tensor &)> &f, const Tensor &x) {
  Tensor xc = x.clone().requires_grad_(true);
  Tensor l = f(xc);
  l.backward(l.dim() ? pg::ones(l.shape()) : Tensor());
  return {l.to_vector(), xc.grad().to_vector()};
}

void require_identical(const std::string &what, const std::function<Tensor(const Tensor &)> &a,
                       const std::function<Tensor(const Tensor &)> &b, const Tensor &x) {
  INFO(what);
  const auto [va, ga] = value_grad(a, x);
  const auto [vb, gb] = value_grad(b, x);
  REQUIRE(va == vb);
  REQUIRE(ga == gb);
}

// row 0 saturated on its label (Pt = 1), row 1 saturated on another class
// (log Pt = -2e4)
Tensor extreme_logits() { return pg::from_vector({1e4f, -1e4f, 0.f, -1e4f, 1e4f, 0.f}, {2, 3}); }
Tensor extreme_labels() { return pg::from_labels({0, 0}); }

} // namespace

TEST_CASE("losses edge: logits of +-1e4 give exact, finite values and gradients", "[losses]") {
  const Tensor x = extreme_logits(), y = extreme_labels();
  // mean of row losses 0 and 2e4 (+ eps for the Poly-1 forms, since 1 - Pt = 1
  // on row 1); gradient (p - onehot) g / 2 with g = 1 on row 1 and p one-hot:
  // row 0 is exactly zero, row 1 is (-1, 1, 0) / 2
  const std::vector<float> g_expected = {0.f, 0.f, 0.f, -0.5f, 0.5f, 0.f};
  struct Case {
    std::string name;
    std::function<Tensor(const Tensor &)> f;
    float expected;
  };
  std::vector<Case> cases = {
      {"ce", [&](auto &x) { return L::cross_entropy(x, y); }, 1e4f},
      {"poly_loss {1, 0.5}", [&](auto &x) { return L::poly_loss(x, y); }, (2e4f + 1.5f) / 2},
  };
  for (float eps : {-1.f, 0.f, 2.f})
    cases.push_back({"poly1 eps=" + std::to_string(eps),
                     [&, eps](auto &x) { return L::poly1_cross_entropy(x, y, {.epsilon = eps}); },
                     (2e4f + eps) / 2});
  for (float g : {0.f, 0.5f, 2.f, 5.f}) {
    cases.push_back({"focal gamma=" + std::to_string(g),
                     [&, g](auto &x) { return L::focal_loss(x, y, {.gamma = g}); }, 1e4f});
    cases.push_back(
        {"poly1_focal gamma=" + std::to_string(g),
         [&, g](auto &x) { return L::poly1_focal_loss(x, y, {.epsilon = 1.f, .gamma = g}); },
         (2e4f + 1.f) / 2});
  }
  for (const auto &c : cases) {
    INFO(c.name);
    const auto [v, g] = value_grad(c.f, x);
    REQUIRE(v[0] == c.expected);
    REQUIRE(g == g_expected);
  }
  // the target-distribution paths (smoothing, soft targets) stay finite too
  for (auto f : std::vector<std::function<Tensor(const Tensor &)>>{
           [&](auto &x) { return L::cross_entropy(x, y, {.label_smoothing = 0.1f}); },
           [&](auto &x) {
             return L::poly1_cross_entropy(x, y, {.epsilon = 2.f, .label_smoothing = 0.1f});
           },
           [&](auto &x) {
             return L::cross_entropy(x, pg::softmax(pg::randn({2, 3}), 1));
           },
       }) {
    const auto [v, g] = value_grad(f, x);
    REQUIRE(std::isfinite(v[0]));
    for (float gi : g)
      REQUIRE(std::isfinite(gi));
  }
  // element-wise: sigmoid(+-1e4) saturates; everything finite, and the
  // confidently right elements have zero focal gradient
  const Tensor xs = pg::from_vector({1e4f, -1e4f, 1e4f, -1e4f}, {2, 2});
  const Tensor ts = pg::from_vector({1.f, 0.f, 0.f, 1.f}, {2, 2});
  for (float g : {0.f, 0.5f, 2.f}) {
    for (auto f : std::vector<std::function<Tensor(const Tensor &)>>{
             [&](auto &x) { return L::sigmoid_focal_loss(x, ts, {.gamma = g}); },
             [&](auto &x) { return L::poly1_sigmoid_focal_loss(x, ts, {.gamma = g}); },
             [&](auto &x) { return L::binary_cross_entropy_with_logits(x, ts); },
         }) {
      const auto [v, gr] = value_grad(f, xs);
      REQUIRE(std::isfinite(v[0]));
      for (float gi : gr)
        REQUIRE(std::isfinite(gi));
      REQUIRE(gr[0] == 0.f);
      REQUIRE(gr[1] == 0.f);
    }
  }
  // BCE of the wrong elements is exactly |x| = 1e4 each: mean over 4 = 5000
  REQUIRE(L::binary_cross_entropy_with_logits(xs, ts).item() == 5000.f);
}

TEST_CASE("losses edge: focal with gamma < 1 near saturation matches the analytic gradient",
          "[losses]") {
  // Pt = 1 - 1e-6 .. 1 - 1e-3: the composed form's (1-Pt)^(gamma-1) is huge or
  // infinite; the fused gradient follows the double-precision formula
  // dL/dz_y = -(1-Pt)^gamma (1 - gamma Pt log(Pt) / (1-Pt)) (1 - Pt) for C = 2.
  for (double gap : {6.9, 10.0, 13.8}) {
    for (float g : {0.25f, 0.5f, 0.9f}) {
      Tensor x = pg::from_vector({(float)gap, 0.f}, {1, 2}).requires_grad_(true);
      Tensor l = L::focal_loss(x, pg::from_labels({0}), {.gamma = g});
      l.backward();
      const double pt = 1.0 / (1.0 + std::exp(-(double)(float)gap)), q = 1 - pt;
      const double lv = -std::pow(q, g) * std::log(pt);
      const double dz = -std::pow(q, g) * (1 - g * pt * std::log(pt) / q) * q;
      INFO("gap " << gap << " gamma " << g);
      REQUIRE(l.item() == Approx(lv).epsilon(1e-4));
      REQUIRE(x.grad().to_vector()[0] == Approx(dz).epsilon(1e-4));
      REQUIRE(x.grad().to_vector()[1] == Approx(-dz).epsilon(1e-4));
    }
  }
}

TEST_CASE("losses edge: all targets ignored", "[losses]") {
  const Tensor x = pg::randn({3, 4});
  const Tensor y = pg::from_labels({-100, -100, -100});
  std::vector<std::function<Tensor(const Tensor &, R)>> fs = {
      [&](auto &x, R r) { return L::cross_entropy(x, y, {.reduction = r}); },
      [&](auto &x, R r) { return L::poly1_cross_entropy(x, y, {.reduction = r}); },
      [&](auto &x, R r) {
        return L::poly1_cross_entropy(
            x, y,
            {.weight = pg::ones({4}), .weighting = L::PolyWeighting::RescaledPt, .reduction = r});
      },
      [&](auto &x, R r) { return L::poly_loss(x, y, {.reduction = r}); },
      [&](auto &x, R r) { return L::focal_loss(x, y, {.reduction = r}); },
      [&](auto &x, R r) { return L::poly1_focal_loss(x, y, {.reduction = r}); },
      [&](auto &x, R r) { return L::nll_loss(x, y, {.reduction = r}); },
      [&](auto &x, R r) {
        return L::cross_entropy(x, y, {.label_smoothing = 0.2f, .reduction = r});
      },
  };
  for (size_t k = 0; k < fs.size(); ++k) {
    INFO("loss #" << k);
    // mean: 0/0 = NaN as PyTorch; the gradient is all zeros
    auto [v, g] = value_grad([&](auto &x) { return fs[k](x, R::Mean); }, x);
    REQUIRE(std::isnan(v[0]));
    for (float gi : g)
      REQUIRE(gi == 0.f);
    std::tie(v, g) = value_grad([&](auto &x) { return fs[k](x, R::Sum); }, x);
    REQUIRE(v[0] == 0.f);
    std::tie(v, g) = value_grad([&](auto &x) { return fs[k](x, R::None); }, x);
    REQUIRE(v == std::vector<float>(3, 0.f));
    for (float gi : g)
      REQUIRE(gi == 0.f);
  }
}

TEST_CASE("losses edge: exact reductions to the base loss", "[losses]") {
  pg::manual_seed(31);
  const Tensor x = pg::randn({50, 7}) * 3.f;
  std::vector<int64_t> yl(50);
  for (int i = 0; i < 50; ++i)
    yl[i] = i % 9 == 0 ? -100 : i % 7;
  const Tensor y = pg::from_labels(yl);
  const Tensor w = pg::rand({7}) + 0.5f;
  // focal with gamma = 0 is cross-entropy with weight = alpha, bit for bit
  require_identical(
      "identity #1", [&](auto &x) { return L::focal_loss(x, y, {.gamma = 0.f, .alpha = w}); },
      [&](auto &x) { return L::cross_entropy(x, y, {.weight = w}); }, x);
  // eps = 0: Poly-1 is cross-entropy, Poly-1 focal is focal
  require_identical(
      "identity #2", [&](auto &x) { return L::poly1_cross_entropy(x, y, {.epsilon = 0.f}); },
      [&](auto &x) { return L::cross_entropy(x, y); }, x);
  require_identical(
      "identity #3",
      [&](auto &x) {
        return L::poly1_focal_loss(x, y, {.epsilon = 0.f, .gamma = 1.5f, .alpha = w});
      },
      [&](auto &x) { return L::focal_loss(x, y, {.gamma = 1.5f, .alpha = w}); }, x);
  // Poly-1 focal with gamma = 0 is Poly-1 CE (Both weighting)
  require_identical(
      "identity #4",
      [&](auto &x) {
        return L::poly1_focal_loss(x, y, {.epsilon = 2.f, .gamma = 0.f, .alpha = w});
      },
      [&](auto &x) { return L::poly1_cross_entropy(x, y, {.epsilon = 2.f, .weight = w}); }, x);
  // Poly-N with one eps is Poly-1; with eps = 0 it is cross-entropy
  require_identical(
      "identity #5", [&](auto &x) { return L::poly_loss(x, y, {.epsilons = {-1.f}}); },
      [&](auto &x) { return L::poly1_cross_entropy(x, y, {.epsilon = -1.f}); }, x);
  require_identical(
      "identity #6", [&](auto &x) { return L::poly_loss(x, y, {.epsilons = {0.f}, .weight = w}); },
      [&](auto &x) { return L::cross_entropy(x, y, {.weight = w}); }, x);
  // without weights the three Poly-1 weightings coincide
  for (auto wt : {L::PolyWeighting::CrossEntropyOnly, L::PolyWeighting::RescaledPt}) {
    const auto [va, ga] =
        value_grad([&](auto &x) { return L::poly1_cross_entropy(x, y, {.epsilon = 2.f}); }, x);
    const auto [vb, gb] = value_grad(
        [&](auto &x) { return L::poly1_cross_entropy(x, y, {.epsilon = 2.f, .weighting = wt}); },
        x);
    REQUIRE(vb[0] == Approx(va[0]).epsilon(1e-6));
    for (size_t i = 0; i < ga.size(); ++i)
      REQUIRE(gb[i] == Approx(ga[i]).margin(1e-7));
  }
  // element-wise: eps = 0 is sigmoid focal; gamma = 0 without alpha is BCE
  const Tensor t = pg::rand({50, 7});
  require_identical(
      "identity #7", [&](auto &x) { return L::poly1_sigmoid_focal_loss(x, t, {.epsilon = 0.f}); },
      [&](auto &x) { return L::sigmoid_focal_loss(x, t); }, x);
  require_identical(
      "identity #8",
      [&](auto &x) { return L::sigmoid_focal_loss(x, t, {.alpha = -1.f, .gamma = 0.f}); },
      [&](auto &x) { return L::binary_cross_entropy_with_logits(x, t); }, x);
}

TEST_CASE("losses edge: eps = -1 removes the linear term of the series", "[losses]") {
  // Poly-1 with eps = -1 is sum_{j>=2} (1-Pt)^j / j = -log Pt - (1 - Pt)
  for (double gap : {0.5, 3.0, 8.0}) {
    const Tensor x = pg::from_vector({(float)gap, 0.f}, {1, 2});
    const double pt = 1.0 / (1.0 + std::exp(-(double)(float)gap));
    const double expected = -std::log(pt) - (1 - pt);
    // the result ~ (1-Pt)^2 / 2 is the difference of -log Pt and 1 - Pt, both
    // ~ 1-Pt and each exact to float rounding: 2 ulp(1-Pt) / result ~ 1e-3
    REQUIRE(L::poly1_cross_entropy(x, pg::from_labels({0}), {.epsilon = -1.f}).item() ==
            Approx(expected).epsilon(2e-3));
  }
}

TEST_CASE("losses edge: results do not depend on the thread count", "[losses][threads]") {
  // N C >= kParallelGrain, so that at 2 threads the hard-label softmax pass
  // (work N C), the label-smoothing pass and the pointwise pass (8 N C) all
  // fork (at_1_and_2_threads requires a fork). Every loss family, each
  // reduction and the backward passes: tests/test_threads.cpp.
  constexpr int64_t C = 37, N = pg::kParallelGrain / C + 1;
  static_assert(N * C >= pg::kParallelGrain);
  pg::manual_seed(32);
  const Tensor x = pg::randn({N, C});
  std::vector<int64_t> yl(N);
  for (int64_t i = 0; i < N; ++i)
    yl[i] = (i * 7) % C;
  const Tensor y = pg::from_labels(yl), t = pg::rand({N, C});
  for (auto f : std::vector<std::function<Tensor(const Tensor &)>>{
           [&](auto &x) { return L::poly1_focal_loss(x, y); },
           [&](auto &x) { return L::cross_entropy(x, y, {.label_smoothing = 0.1f}); },
           [&](auto &x) { return L::poly1_sigmoid_focal_loss(x, t); },
       }) {
    const auto [one, two] = tu::at_1_and_2_threads([&] {
      Tensor xc = x.clone().requires_grad_(true);
      Tensor l = f(xc);
      l.backward();
      return std::pair{l.detach(), xc.grad()};
    });
    tu::require_bitwise(one.first, two.first, "loss");
    tu::require_bitwise(one.second, two.second, "gradient");
  }
}

TEST_CASE("losses edge: views, upstream gradients, retain_graph", "[losses]") {
  pg::manual_seed(33);
  const Tensor base = pg::randn({8, 5}); // transposed: (5, 8)
  const Tensor y = pg::from_labels({1, 0, 4, 2, 3});
  // a transposed (non-contiguous) input gives the same loss and gradient
  Tensor xt = base.clone().requires_grad_(true);
  Tensor l1 = L::poly1_focal_loss(xt.t(), y);
  l1.backward();
  Tensor xc = base.clone().requires_grad_(true);
  Tensor l2 = L::poly1_focal_loss(xc.t().contiguous(), y);
  l2.backward();
  REQUIRE(l1.item() == l2.item());
  REQUIRE(xt.grad().to_vector() == xc.grad().to_vector());
  // d(3 L)/dx = 3 dL/dx; a retained graph can be run twice (gradients add)
  Tensor xa = pg::randn({5, 5}).requires_grad_(true);
  Tensor la = L::poly1_cross_entropy(xa, y, {.epsilon = 2.f});
  la.backward(Tensor(), true);
  const std::vector<float> g1 = xa.grad().to_vector();
  la.backward(Tensor(), true);
  (la * 3.f).backward();
  const std::vector<float> g5 = xa.grad().to_vector();
  for (size_t i = 0; i < g1.size(); ++i)
    REQUIRE(g5[i] == Approx(5 * g1[i]).margin(1e-7));
  // the node is named after the loss
  REQUIRE(la.grad_fn_name() == "Poly1CrossEntropyBackward");
  REQUIRE(L::focal_loss(xa, y).grad_fn_name() == "FocalLossBackward");
  // no grad needed: nothing recorded
  REQUIRE(!L::cross_entropy(base.t(), pg::from_labels({1, 0, 4, 2, 3})).requires_grad());
}

TEST_CASE("losses edge: validation errors name the op, the values and the shapes", "[losses]") {
  const Tensor x = pg::randn({3, 5}), y = pg::from_labels({0, 1, 2});
  // eps < -1 and gamma < 0
  REQUIRE_THROWS_WITH(L::poly1_cross_entropy(x, y, {.epsilon = -1.5f}),
                      Contains("poly1_cross_entropy: epsilon must be >= -1") && Contains("-1.5"));
  REQUIRE_THROWS_WITH(L::poly1_focal_loss(x, y, {.epsilon = -2.f}),
                      Contains("poly1_focal_loss: epsilon must be >= -1"));
  REQUIRE_THROWS_WITH(L::poly1_sigmoid_focal_loss(x, x, {.epsilon = -1.01f}),
                      Contains("epsilon must be >= -1"));
  REQUIRE_THROWS_WITH(L::focal_loss(x, y, {.gamma = -0.5f}),
                      Contains("focal_loss: gamma must be >= 0, got -0.5"));
  REQUIRE_THROWS_WITH(L::poly1_focal_loss(x, y, {.gamma = -1.f}), Contains("gamma must be >= 0"));
  REQUIRE_THROWS_WITH(L::sigmoid_focal_loss(x, x, {.gamma = -1.f}), Contains("gamma must be >= 0"));
  REQUIRE_THROWS_WITH(L::sigmoid_focal_loss(x, x, {.alpha = 1.5f}),
                      Contains("alpha must be in [0, 1]"));
  REQUIRE_THROWS_WITH(L::poly_loss(x, y, {.epsilons = {1.f, -0.6f}}),
                      Contains("epsilons[1] = -0.6") && Contains(">= -0.5"));
  REQUIRE_THROWS_WITH(L::poly_loss(x, y, {.epsilons = {}}), Contains("at least one value"));
  // labels out of range name the index and the value
  REQUIRE_THROWS_WITH(L::cross_entropy(x, pg::from_labels({0, 7, 1})),
                      Contains("label 7 at index 1 is out of range for 5 classes") &&
                          Contains("valid: 0..4"));
  REQUIRE_THROWS_WITH(L::focal_loss(x, pg::from_labels({0, 1, -3})),
                      Contains("focal_loss: label -3 at index 2"));
  REQUIRE_THROWS_WITH(L::nll_loss(x, pg::from_labels({5, 1, 0})), Contains("label 5 at index 0"));
  // shape mismatches name both shapes
  REQUIRE_THROWS_WITH(L::poly1_cross_entropy(x, pg::from_labels({0, 1, 2, 3})),
                      Contains("input of shape [3, 5]") && Contains("got [4]"));
  REQUIRE_THROWS_WITH(L::cross_entropy(x, pg::rand({3, 4})),
                      Contains("[3, 5]") && Contains("[3, 4]"));
  REQUIRE_THROWS_WITH(L::mse_loss(x, pg::rand({5, 3})),
                      Contains("mse_loss: input of shape [3, 5] and target of shape [5, 3]"));
  REQUIRE_THROWS_WITH(L::sigmoid_focal_loss(x, pg::rand({3})),
                      Contains("[3, 5]") && Contains("[3]"));
  REQUIRE_THROWS_WITH(L::cross_entropy(x, y, {.weight = pg::ones({4})}),
                      Contains("weight must have shape [5]") && Contains("got [4]"));
  REQUIRE_THROWS_WITH(L::binary_cross_entropy_with_logits(x, x, {.pos_weight = pg::ones({4})}),
                      Contains("pos_weight of shape [4] does not broadcast"));
  REQUIRE_THROWS_WITH(L::cross_entropy(pg::randn({5}), pg::from_labels({1})),
                      Contains("must have shape (N, C), got [5]"));
  REQUIRE_THROWS_WITH(L::nll_loss(x, pg::rand({3})), Contains("labels must be int64"));
  // options
  REQUIRE_THROWS_WITH(L::cross_entropy(x, y, {.reduction = R::BatchMean}),
                      Contains("reduction 'batchmean' is not supported; valid: none, mean, sum"));
  REQUIRE_THROWS_WITH(L::cross_entropy(x, y, {.label_smoothing = 1.5f}),
                      Contains("label_smoothing must be in [0, 1]"));
  REQUIRE_THROWS_WITH(L::huber_loss(x, x, {.delta = 0.f}), Contains("delta must be > 0"));
  REQUIRE_THROWS_WITH(L::smooth_l1_loss(x, x, {.beta = -1.f}), Contains("beta must be >= 0"));
  // gradients that are not supported are refused, not silently dropped
  REQUIRE_THROWS_WITH(L::sigmoid_focal_loss(x, pg::rand({3, 5}).requires_grad_(true)),
                      Contains("gradients w.r.t. the target are not supported"));
  REQUIRE_THROWS_WITH(L::cross_entropy(x, y, {.weight = pg::ones({5}).requires_grad_(true)}),
                      Contains("gradients w.r.t. weight are not supported"));
}
