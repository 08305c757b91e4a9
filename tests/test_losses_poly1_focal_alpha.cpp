// Softmax Poly-1 focal's two places for alpha, each against an outside
// reference: the PolyLoss paper's poly1_focal_loss code transcribed into
// torch (tools/golden/losses.py paper_poly1_focal), softmax Pt, alpha as
// per-class weights, ignored rows dropped:
//   alpha_on_poly = false: alpha_y FL_i + eps (1-Pt)^(gamma+1), plain mean
//   alpha_on_poly = true:  alpha_y (FL_i + eps (1-Pt)^(gamma+1)), mean over sum alpha_y
// Values and gradients, every reduction, eps in {-1, 0.5, 1, 2}, gamma in {0, 0.5, 2}.
#include <catch2/catch.hpp>

#include "golden.h"
#include <polygrad/core/random.h>
#include <polygrad/losses/losses.h>

namespace pg = polygrad;
namespace L = polygrad::losses;
using pg::Tensor;

TEST_CASE("poly1_focal_loss: alpha on and off the eps term match the paper's code",
          "[losses][golden]") {
  const golden::Fixture f = golden::load("losses_poly1_focal_alpha.txt");
  const Tensor &x0 = golden::get(f, "p1f.x"), &y = golden::get(f, "p1f.y"),
               &w = golden::get(f, "p1f.w");
  const std::pair<float, float> eg[] = {{1.f, 2.f}, {-1.f, 2.f}, {2.f, 0.5f}, {0.5f, 0.f}};
  const std::pair<L::Reduction, const char *> reds[] = {
      {L::Reduction::Mean, "mean"}, {L::Reduction::Sum, "sum"}, {L::Reduction::None, "none"}};
  int cases = 0;
  for (bool on : {false, true})
    for (const auto &[eps, gamma] : eg)
      for (const auto &[r, rs] : reds) {
        auto tag = [](float v) {
          std::string s = std::to_string(v);
          s = s.substr(0, s.find('.') + 2); // "1.0", "-1.0", "0.5"
          for (char &c : s)
            c = c == '.' ? 'p' : c == '-' ? 'm' : c;
          return s;
        };
        const std::string name = std::string("p1f_") + (on ? "on" : "off") + "_e" + tag(eps) +
                                 "_g" + tag(gamma) + "_" + rs;
        INFO(name);
        Tensor x = x0.clone().requires_grad_(true);
        Tensor loss = L::poly1_focal_loss(
            x, y,
            {.epsilon = eps, .gamma = gamma, .alpha = w, .reduction = r, .alpha_on_poly = on});
        golden::require_close(loss, golden::get(f, name + ".loss"), 1e-5, 1e-6, name + " loss");
        if (r == L::Reduction::None)
          loss.backward(golden::get(f, name + ".v"));
        else
          loss.backward();
        golden::require_close(x.grad(), golden::get(f, name + ".gx"), 1e-5, 1e-6, name + " dL/dx");
        ++cases;
      }
  REQUIRE(cases == 24);
}

TEST_CASE("poly1_focal_loss: without alpha the two conventions are one; the registry and the "
          "module take alpha_on_poly",
          "[losses]") {
  pg::manual_seed(3);
  const Tensor x = pg::randn({9, 4}) * 2.f, y = pg::from_labels({0, 1, 2, 3, 0, 1, 2, 3, 3});
  for (auto r : {L::Reduction::Mean, L::Reduction::Sum}) {
    const float a = L::poly1_focal_loss(x, y, {.epsilon = 2.f, .reduction = r}).item();
    const float b =
        L::poly1_focal_loss(x, y, {.epsilon = 2.f, .reduction = r, .alpha_on_poly = false}).item();
    REQUIRE(a == b);
  }
  const Tensor w = pg::from_vector({0.5f, 2.f, 1.f, 3.f}, {4});
  const L::Loss crit =
      L::make("poly1_focal:epsilon=2,gamma=1.5,alpha=0.5;2;1;3,alpha_on_poly=false");
  REQUIRE(crit.describe().find("alpha_on_poly=false") != std::string::npos);
  REQUIRE(crit(x, y).item() ==
          Approx(L::poly1_focal_loss(
                     x, y, {.epsilon = 2.f, .gamma = 1.5f, .alpha = w, .alpha_on_poly = false})
                     .item())
              .epsilon(1e-6));
}
