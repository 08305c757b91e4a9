// Generalized cross-entropy (losses/gce.h): values and gradients against the
// formula written in torch (tools/golden/losses.py gce_ref), finite
// differences for every option, its limits (q -> 0 is cross-entropy, q = 1 is
// 1 - Pt), the registry and the module form, and its errors.
#include <catch2/catch.hpp>

#include "golden.h"
#include "loss_cases.h"
#include "test_core_util.h"
#include <polygrad/losses/gce.h>
#include <polygrad/losses/registry.h>
#include <polygrad/nn/loss_modules.h>

namespace pg = polygrad;
namespace L = polygrad::losses;
using Catch::Contains;
using pg::Tensor;
using R = L::Reduction;

namespace {
const Tensor kW = pg::from_vector({1.f, 2.f, 0.5f, 1.f, 3.f}, {5});
} // namespace

// [doc:registry-case]
// The registry test (test_losses_registry.cpp) checks "gce" with this case.
PG_REGISTRY_CASE(
    "gce", {.options = "q=0.5,weight=[1, 2, 0.5, 1, 3],ignore_index=4,reduction=sum",
            .with_options =
                [](const Tensor &x, const Tensor &y) {
                  return L::gce_loss(
                      x, y, {.q = 0.5f, .weight = kW, .ignore_index = 4, .reduction = R::Sum});
                },
            .with_defaults = [](const Tensor &x, const Tensor &y) { return L::gce_loss(x, y); },
            .target = lt::Target::Labels,
            .golden_file = "losses_gce.txt",
            .golden_case = "gce_q0p05_none",
            .golden_options = "q=0.05,weight={w},reduction=none"});

TEST_CASE("gce_loss matches its formula in torch", "[losses][golden]") {
  const golden::Fixture f = golden::load("losses_gce.txt");
  const std::vector<std::pair<std::string, L::GCELossOptions>> cases = {
      {"gce_q0p7", {.q = 0.7f}},
      {"gce_q0p7_w_ignore", {.q = 0.7f}},
      {"gce_q1_sum", {.q = 1.f, .reduction = R::Sum}},
      {"gce_q0p05_none", {.q = 0.05f, .reduction = R::None}},
      {"gce_q0p3_ignore2", {.q = 0.3f, .ignore_index = 2}},
  };
  for (auto [name, o] : cases) {
    INFO(name);
    if (f.count(name + ".w"))
      o.weight = golden::get(f, name + ".w");
    Tensor x = golden::get(f, name + ".x").clone().requires_grad_(true);
    Tensor loss = L::gce_loss(x, golden::get(f, name + ".y"), o);
    golden::require_close(loss, golden::get(f, name + ".loss"), 1e-5, 1e-6, name + " loss");
    loss.backward(f.count(name + ".v") ? golden::get(f, name + ".v") : Tensor());
    golden::require_close(x.grad(), golden::get(f, name + ".gx"), 1e-5, 1e-6, name + " dL/dx");
  }
}

// [doc:gradcheck]
TEST_CASE("gce_loss gradcheck for every option", "[losses]") {
  pg::manual_seed(5);
  const Tensor y = pg::from_labels({0, 3, 1, -100, 2, 4});
  for (float q : {0.05f, 0.7f, 1.f})
    for (R r : {R::Mean, R::Sum, R::None})
      for (bool weighted : {false, true}) {
        INFO("q " << q << " reduction " << L::reduction_name(r) << " weighted " << weighted);
        const L::GCELossOptions o{.q = q, .weight = weighted ? kW : Tensor(), .reduction = r};
        tu::check_grad([&](const std::vector<Tensor> &v) { return L::gce_loss(v[0], y, o); },
                       {tu::leaf(pg::randn({6, 5}) * 1.5f)});
      }
}
// [/doc:gradcheck]

TEST_CASE("gce_loss limits: q -> 0 is cross-entropy, q = 1 is 1 - Pt", "[losses]") {
  pg::manual_seed(6);
  const Tensor x = pg::randn({8, 5}) * 2.f, y = pg::from_labels({0, 1, 2, 3, 4, 0, 1, 2});
  // (1 - Pt^q) / q = -log Pt - q log^2 Pt / 2 + O(q^2)
  const float ce = L::cross_entropy(x, y).item();
  CHECK(L::gce_loss(x, y, {.q = 1e-4f}).item() == Approx(ce).epsilon(1e-3));
  const Tensor pt = pg::gather(pg::softmax(x, 1), 1, y.reshape({8, 1}));
  CHECK(L::gce_loss(x, y, {.q = 1.f}).item() == Approx((1.f - pt).mean().item()).epsilon(1e-6));
  // Confident rows keep their digits: 1 - Pt^q through expm1, not 1 - exp.
  const Tensor sure = pg::from_vector({30.f, 0.f, 0.f}, {1, 3});
  const float want = 2.f * std::exp(-30.f); // 1 - Pt ~ 2 e^-30, and (1 - Pt^q)/q ~ 1 - Pt
  CHECK(L::gce_loss(sure, pg::from_labels({0}), {.q = 0.7f}).item() == Approx(want).epsilon(1e-4));
}

TEST_CASE("gce: registry, series, module and errors", "[losses]") {
  pg::manual_seed(7);
  const Tensor x = pg::randn({6, 5}), y = pg::from_labels({0, 3, 1, -100, 2, 4});
  const L::Loss crit = L::make("gce:q=0.7");
  CHECK(crit.kind == L::LossKind::Softmax);
  CHECK(crit(x, y).item() == L::gce_loss(x, y, {.q = 0.7f}).item());
  // Its expansion in 1 - Pt: 1, (1 - q)/2, (1 - q)(2 - q)/6.
  const L::Series s = crit.series(3);
  CHECK(s.power == 1);
  CHECK(s.coefficients[0] == Approx(1.0));
  CHECK(s.coefficients[1] == Approx(0.3 / 2));
  CHECK(s.coefficients[2] == Approx(0.3 * 1.3 / 6));
  // nn::Loss<fn> gives the module form, weight as a buffer.
  polygrad::nn::Loss<L::gce_loss> mod({.q = 0.5f, .weight = kW});
  CHECK(mod(x, y).item() == L::gce_loss(x, y, {.q = 0.5f, .weight = kW}).item());
  CHECK(mod.name() == "gce");
  CHECK(mod.state_dict().size() == 1);
  CHECK_THAT(mod.extra_repr(), Contains("q=0.5, weight=[1, 2, 0.5, 1, 3]"));
  REQUIRE_THROWS_WITH(L::make("gce:q=0"), Contains("q must be in (0, 1], got 0"));
  REQUIRE_THROWS_WITH(L::gce_loss(x, y, {.q = 1.5f}), Contains("q must be in (0, 1], got 1.5"));
  REQUIRE_THROWS_WITH(L::gce_loss(x, pg::from_labels({0, 1}), {}), Contains("gce_loss"));
}
