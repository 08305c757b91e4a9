// nn::utils::clip_grad_norm_ / clip_grad_value_ against PyTorch
// (tests/fixtures/optim_clip.txt from tools/golden/optim.py).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "golden.h"
#include <polygrad/nn/utils.h>

namespace pg = polygrad;

TEST_CASE("clip_grad_norm_ matches torch.nn.utils.clip_grad_norm_", "[optim][clip][golden]") {
  const auto f = golden::load("optim_clip.txt");
  struct C {
    const char *tag;
    double max_norm, norm_type;
  };
  const double inf = std::numeric_limits<double>::infinity();
  for (const C c : {C{"l2", 1.0, 2.0}, C{"l1", 2.0, 1.0}, C{"linf", 0.5, inf}, C{"l3", 1.5, 3.0},
                    C{"l2_noclip", 100.0, 2.0}}) {
    DYNAMIC_SECTION(c.tag) {
      std::vector<pg::Tensor> ps;
      for (int i = 0; i < 3; ++i) {
        const pg::Tensor &g = golden::get(f, std::string(1, 'g') += std::to_string(i));
        pg::Tensor p = pg::zeros(g.shape()).requires_grad_(true);
        p.set_grad(g.clone());
        ps.push_back(p);
      }
      ps.push_back(pg::zeros({3}).requires_grad_(true)); // no grad: ignored
      const double total = pg::nn::utils::clip_grad_norm_(ps, c.max_norm, c.norm_type);
      const float want = golden::get(f, std::string(c.tag) + ".total").item();
      CHECK(total == Approx(want).epsilon(1e-6));
      for (int i = 0; i < 3; ++i)
        golden::require_close(ps[i].grad(),
                              golden::get(f, std::string(c.tag) + ".g" + std::to_string(i)), 1e-6,
                              1e-9, std::string(c.tag) + ".g" + std::to_string(i));
      CHECK(!ps[3].grad().defined());
    }
  }
}

TEST_CASE("clip_grad_norm_: analytic cases and errors", "[optim][clip]") {
  // Gradients (3, 4) and (12): total 2-norm 13; clipped to 6.5 they halve.
  pg::Tensor a = pg::zeros({2}).requires_grad_(true), b = pg::zeros({1}).requires_grad_(true);
  a.set_grad(pg::from_vector({3, 4}, {2}));
  b.set_grad(pg::from_vector({12}, {1}));
  CHECK(pg::nn::utils::clip_grad_norm_({a, b}, 6.5) == Approx(13.0));
  CHECK(a.grad().to_vector()[0] == Approx(1.5).epsilon(1e-6));
  CHECK(a.grad().to_vector()[1] == Approx(2.0).epsilon(1e-6));
  CHECK(b.grad().to_vector()[0] == Approx(6.0).epsilon(1e-6));
  // No parameter with a gradient: total 0, nothing to do.
  pg::Tensor c = pg::zeros({2}).requires_grad_(true);
  CHECK(pg::nn::utils::clip_grad_norm_({c}, 1.0) == 0.0);
  // A large gradient takes the parallel path; the total is thread-count
  // independent (fixed blocks) and exact here: 100000 entries of 0.5 -> 158.11...
  pg::Tensor big = pg::zeros({100000}).requires_grad_(true);
  big.set_grad(pg::full({100000}, 0.5f));
  CHECK(pg::nn::utils::clip_grad_norm_({big}, 1.0) == Approx(std::sqrt(25000.0)).epsilon(1e-7));
  CHECK(big.grad().to_vector()[77] == Approx(0.5 / std::sqrt(25000.0)).epsilon(1e-6));
  // Non-finite totals: an error on request, else NaN scaling like PyTorch.
  pg::Tensor d = pg::zeros({2}).requires_grad_(true);
  d.set_grad(pg::from_vector({1, std::numeric_limits<float>::infinity()}, {2}));
  CHECK_THROWS_WITH(pg::nn::utils::clip_grad_norm_({d}, 1.0, 2.0, true),
                    Catch::Contains("non-finite"));
  CHECK(std::isinf(pg::nn::utils::clip_grad_norm_({d}, 1.0)));
  CHECK_THROWS_WITH(pg::nn::utils::clip_grad_norm_({a}, 1.0, -1.0), Catch::Contains("norm_type"));
}

TEST_CASE("clip_grad_value_ clamps every gradient entry", "[optim][clip]") {
  pg::Tensor a = pg::zeros({4}).requires_grad_(true);
  a.set_grad(pg::from_vector({-3, -0.5, 0.25, 9}, {4}));
  pg::nn::utils::clip_grad_value_({a}, 1.0);
  CHECK(a.grad().to_vector() == std::vector<float>{-1, -0.5, 0.25, 1});
  CHECK_THROWS_WITH(pg::nn::utils::clip_grad_value_({a}, -1.0), Catch::Contains("clip_value"));
}
