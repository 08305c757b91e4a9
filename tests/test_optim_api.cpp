// The optimizer API: options and groups, zero_grad, validation, the state
// dict's names and its validated loading, the parallel update path.
#include <catch2/catch.hpp>

#include <cmath>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/parallel.h>
#include <polygrad/core/random.h>
#include <polygrad/optim/adam.h>
#include <polygrad/optim/adamw.h>
#include <polygrad/optim/sgd.h>

#include "test_core_util.h"

namespace pg = polygrad;
namespace optim = polygrad::optim;

namespace {
pg::Tensor param(const pg::Shape &s, float v = 0.5f) { return pg::full(s, v).requires_grad_(true); }
} // namespace

TEST_CASE("optim: group options fall back to the optimizer's defaults", "[optim]") {
  pg::Tensor a = param({2}), b = param({2}), c = param({2});
  optim::SGD opt({a}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4});
  opt.add_param_group({b}, {.lr = 0.01});                         // momentum, wd inherited
  opt.add_param_group({c}, {.momentum = 0.0, .nesterov = false}); // explicit 0 kept
  REQUIRE(opt.num_param_groups() == 3);
  CHECK(opt.lr(0) == 0.1);
  CHECK(opt.lr(1) == 0.01);
  CHECK(opt.options(1).momentum == 0.9);
  CHECK(opt.options(1).weight_decay == 1e-4);
  CHECK(opt.lr(2) == 0.1);
  CHECK(opt.options(2).momentum == 0.0);
  opt.set_lr(0.5);
  CHECK((opt.lr(0) == 0.5 && opt.lr(1) == 0.5 && opt.lr(2) == 0.5));
  opt.set_lr(1, 0.25);
  CHECK(opt.lr(1) == 0.25);
  CHECK(opt.parameters().size() == 3);

  optim::AdamW w({param({1})});
  CHECK(w.defaults().weight_decay == 0.01); // PyTorch's AdamW default
  CHECK(w.defaults().lr == 1e-3);
  CHECK(w.defaults().betas.get() == std::array<double, 2>{0.9, 0.999});
  optim::Adam adam({param({1})}, {.betas = {0.8, 0.9}});
  CHECK(adam.momentum(0) == 0.8);
  adam.set_momentum(0, 0.7);
  CHECK(adam.options(0).betas.get() == std::array<double, 2>{0.7, 0.9});
}

TEST_CASE("optim: invalid options and parameters are errors", "[optim]") {
  pg::Tensor a = param({2});
  CHECK_THROWS_WITH(optim::SGD({a}, {.momentum = 0.9}), Catch::Contains("lr is required"));
  CHECK_THROWS_WITH(optim::SGD({a}, {.lr = -1.0}), Catch::Contains("lr"));
  CHECK_THROWS_WITH(optim::SGD({a}, {.lr = 0.1, .nesterov = true}),
                    Catch::Contains("nesterov momentum requires"));
  CHECK_THROWS_WITH(
      optim::SGD({a}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}),
      Catch::Contains("zero dampening"));
  CHECK_THROWS_WITH(optim::Adam({a}, {.betas = {1.0, 0.999}}), Catch::Contains("beta1"));
  CHECK_THROWS_WITH(optim::Adam({a}, {.eps = -1.0}), Catch::Contains("eps"));
  CHECK_THROWS_WITH(optim::AdamW({a}, {.weight_decay = -0.1}), Catch::Contains("weight_decay"));
  CHECK_THROWS_WITH(optim::SGD({}, {.lr = 0.1}), Catch::Contains("empty parameter list"));
  CHECK_THROWS_WITH(optim::SGD({a, a}, {.lr = 0.1}), Catch::Contains("more than one"));
  optim::SGD opt({a}, {.lr = 0.1});
  CHECK_THROWS_WITH(opt.add_param_group({a}), Catch::Contains("more than one"));
  pg::Tensor nonleaf = a * 2.0f;
  CHECK_THROWS_WITH(opt.add_param_group({nonleaf}), Catch::Contains("not a leaf"));
  CHECK_THROWS_WITH(opt.add_param_group({pg::from_labels({1, 2})}), Catch::Contains("float32"));
  CHECK_THROWS_WITH(opt.add_param_group({pg::full({2, 3}, 1.f).t()}),
                    Catch::Contains("contiguous"));
  CHECK_THROWS_WITH(opt.add_param_group({param({2})}, {.lr = 0.1, .momentum = -1.0}),
                    Catch::Contains("momentum"));
  CHECK(opt.num_param_groups() == 1); // failed adds change nothing
}

TEST_CASE("optim: zero_grad drops gradients; step skips parameters without one", "[optim]") {
  pg::Tensor a = param({3}), b = param({3});
  optim::SGD opt({a, b}, {.lr = 0.1, .momentum = 0.9});
  (a * a).sum().backward();
  REQUIRE(a.grad().defined());
  const uint64_t v0 = a.storage()->version;
  opt.step();
  CHECK(a.storage()->version > v0); // in-place update is visible to autograd
  // a = 0.5 - 0.1 * 2 * 0.5; b unchanged (no grad).
  CHECK(a.to_vector() == std::vector<float>(3, 0.5f - 0.1f * 1.0f));
  CHECK(b.to_vector() == std::vector<float>(3, 0.5f));
  opt.zero_grad();
  CHECK(!a.grad().defined());
  CHECK(!b.grad().defined());
  auto names = opt.state_dict().tensors;
  REQUIRE(names.size() == 1);
  CHECK(names[0].first == "state.0.momentum_buffer");
}

TEST_CASE("optim: state_dict names and metadata follow PyTorch's", "[optim][checkpoint]") {
  pg::Tensor a = param({2, 3}), b = param({3}), c = param({4});
  optim::Adam opt({a, b}, {.lr = 0.01, .amsgrad = true});
  opt.add_param_group({c}, {.lr = 0.1, .betas = {0.5, 0.6}});
  opt.group_extras(1)["initial_lr"] = 0.1;
  (a.sum() + c.sum()).backward(); // b gets no gradient
  opt.step();
  const auto sd = opt.state_dict();
  std::vector<std::string> names;
  for (auto &[n, t] : sd.tensors)
    names.push_back(n);
  CHECK(names == std::vector<std::string>{"state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq",
                                          "state.0.max_exp_avg_sq", "state.2.step",
                                          "state.2.exp_avg", "state.2.exp_avg_sq",
                                          "state.2.max_exp_avg_sq"});
  CHECK(sd.tensors[0].second.shape() == pg::Shape{});
  CHECK(sd.tensors[0].second.item() == 1.0f);
  const auto &m = sd.metadata;
  CHECK(m.at("optimizer") == "Adam");
  CHECK(m.at("param_groups.0.params") == "[0, 1]");
  CHECK(m.at("param_groups.1.params") == "[2]");
  CHECK(m.at("param_groups.0.lr") == "0.01");
  CHECK(m.at("param_groups.0.betas") == "[0.9, 0.999]");
  CHECK(m.at("param_groups.0.amsgrad") == "true");
  CHECK(m.at("param_groups.1.amsgrad") == "true"); // inherited
  CHECK(m.at("param_groups.1.betas") == "[0.5, 0.6]");
  CHECK(m.at("param_groups.0.eps") == "1e-08");
  CHECK(m.at("param_groups.1.initial_lr") == "0.1");
}

TEST_CASE("optim: load_state_dict validates everything and changes nothing on error",
          "[optim][checkpoint]") {
  pg::Tensor a = param({2, 3}), b = param({3});
  optim::SGD opt({a, b}, {.lr = 0.1, .momentum = 0.9});
  (a.sum() * 2.0f + b.sum()).backward();
  opt.step();
  const pg::StateDict good = opt.state_dict();
  // Snapshot to compare after failed loads.
  const auto buf0 = good.tensors[0].second.to_vector();

  auto expect_fail = [&](const pg::StateDict &sd, const std::string &what) {
    pg::Tensor p = param({2, 3}), q = param({3});
    optim::SGD fresh({p, q}, {.lr = 0.5, .momentum = 0.1});
    fresh.load_state_dict(good); // a valid load first, then a bad one on top
    fresh.set_lr(0, 0.7);
    CHECK_THROWS_WITH(fresh.load_state_dict(sd), Catch::Contains(what));
    CHECK(fresh.lr(0) == 0.7); // unchanged
    CHECK(fresh.options(0).momentum == 0.9);
    const auto st = fresh.state_dict();
    REQUIRE(st.tensors.size() == 2);
    CHECK(st.tensors[0].second.to_vector() == buf0);
  };
  {
    auto sd = good;
    sd.metadata["optimizer"] = "Adam";
    expect_fail(sd, "the state dict is for optimizer 'Adam', not 'SGD'");
  }
  {
    auto sd = good;
    sd.metadata["param_groups.1.lr"] = "0.1";
    expect_fail(sd, "2 param groups, the optimizer 1");
  }
  {
    auto sd = good;
    sd.metadata["param_groups.0.params"] = "[0]";
    expect_fail(sd, "1 parameters in the state dict but 2");
  }
  {
    auto sd = good;
    sd.metadata["param_groups.0.lr"] = "fast";
    expect_fail(sd, "'param_groups.0.lr': expected a number, got 'fast'");
  }
  {
    auto sd = good;
    sd.metadata["param_groups.0.nesterov"] = "yes";
    expect_fail(sd, "expected true/false (or 1/0), got 'yes'");
  }
  {
    auto sd = good;
    sd.metadata.erase("param_groups.0.dampening");
    expect_fail(sd, "missing 'param_groups.0.dampening'");
  }
  {
    auto sd = good;
    sd.metadata["param_groups.0.momentum"] = "-2";
    expect_fail(sd, "invalid momentum");
  }
  {
    auto sd = good;
    sd.tensors[0].second = pg::zeros({3, 2});
    expect_fail(sd, "state.0.momentum_buffer': shape [3, 2] but the parameter has shape [2, 3]");
  }
  {
    auto sd = good;
    sd.tensors.push_back({"state.1.exp_avg", pg::zeros({3})});
    expect_fail(sd, "'exp_avg' is not a SGD state buffer (valid: momentum_buffer)");
  }
  {
    auto sd = good;
    sd.tensors.push_back({"state.7.momentum_buffer", pg::zeros({3})});
    expect_fail(sd, "parameter index out of range");
  }
  {
    auto sd = good;
    sd.tensors.push_back({"weights", pg::zeros({3})});
    expect_fail(sd, "unexpected tensor 'weights'");
  }
  {
    auto sd = good;
    sd.tensors[1].second = pg::from_labels({1, 2, 3});
    expect_fail(sd, "expected float32");
  }
  {
    pg::Tensor p = param({2});
    optim::Adam adam({p}, {.amsgrad = true});
    p.sum().backward();
    adam.step();
    auto sd = adam.state_dict();
    sd.tensors.pop_back(); // drop max_exp_avg_sq
    optim::Adam other({param({2})}, {.amsgrad = true});
    CHECK_THROWS_WITH(other.load_state_dict(sd), Catch::Contains("no 'state.0.max_exp_avg_sq'"));
  }
}

TEST_CASE("optim: the parallel update path equals the formula", "[optim]") {
  // n >= kParallelGrain (SGD forks above n, Adam above n / 4) and odd: the
  // 2-thread chunk boundary falls mid-vector. Every element is checked, the
  // boundary included, at both thread counts; 2 threads also equal 1 bitwise.
  const int64_t n = pg::kParallelGrain + 3;
  pg::manual_seed(7);
  pg::Tensor p0 = pg::randn({n}), g = pg::randn({n});
  const auto p0v = p0.to_vector(), gv = g.to_vector();
  const auto [one, two] = tu::at_1_and_2_threads([&] {
    pg::Tensor p = p0.clone().requires_grad_(true);
    optim::SGD sgd({p}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
    p.set_grad(g.clone());
    sgd.step();
    sgd.step(); // second step: the buffer path
    pg::Tensor q = p0.clone().requires_grad_(true);
    optim::Adam adam({q}, {.lr = 0.01, .weight_decay = 0.1, .amsgrad = true});
    q.set_grad(g.clone());
    adam.step();
    const auto pv = p.to_vector(), qv = q.to_vector();
    for (int64_t i = 0; i < n; ++i) {
      // SGD nesterov, two steps with the same gradient (double reference).
      double w = p0v[i], b = 0;
      for (int s = 0; s < 2; ++s) {
        const double d = gv[i] + 0.01 * w;
        b = s == 0 ? d : 0.9 * b + d;
        w -= 0.1 * (d + 0.9 * b);
      }
      // Adam's first step: m = 0.1 g', v = 0.001 g'^2, p -= lr * sign-ish.
      const double gd = gv[i] + 0.1 * p0v[i];
      const double m = 0.1 * gd / 0.1, v = 0.001 * gd * gd / 0.001;
      const double a = p0v[i] - 0.01 * m / (std::sqrt(v) + 1e-8);
      // one failure, not n (a REQUIRE per element would cost seconds)
      if (std::fabs(pv[i] - w) > 1e-5 * std::fabs(w) + 1e-6 ||
          std::fabs(qv[i] - a) > 1e-5 * std::fabs(a) + 1e-6) {
        INFO("element " << i << " of " << n << ", threads " << pg::get_num_threads());
        CHECK(pv[i] == Approx(w).epsilon(1e-5).margin(1e-6));
        REQUIRE(qv[i] == Approx(a).epsilon(1e-5).margin(1e-6));
      }
    }
    return std::pair{p.detach(), q.detach()};
  });
  tu::require_bitwise(one.first, two.first, "SGD");
  tu::require_bitwise(one.second, two.second, "Adam");
}
