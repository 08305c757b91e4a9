// lr schedulers against torch.optim.lr_scheduler (PyTorch 1.13): the lr (and
// momentum) sequences of tests/fixtures/optim_schedules.txt.
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <unistd.h>

#include "golden.h"
#include <polygrad/optim/adam.h>
#include <polygrad/optim/checkpoint.h>
#include <polygrad/optim/lr_scheduler.h>
#include <polygrad/optim/sgd.h>

namespace pg = polygrad;
namespace optim = polygrad::optim;

namespace {

// Two groups with lr 0.1 and 0.01, as in tools/golden/optim.py.
struct Setup {
  pg::Tensor w1 = pg::zeros({2}).requires_grad_(true), w2 = pg::zeros({2}).requires_grad_(true);
  std::unique_ptr<optim::Optimizer> opt;
  explicit Setup(bool adam) {
    if (adam) {
      auto o =
          std::make_unique<optim::Adam>(std::vector<pg::Tensor>{w1}, optim::AdamOptions{.lr = 0.1});
      o->add_param_group({w2}, {.lr = 0.01});
      opt = std::move(o);
    } else {
      auto o = std::make_unique<optim::SGD>(std::vector<pg::Tensor>{w1},
                                            optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
      o->add_param_group({w2}, {.lr = 0.01});
      opt = std::move(o);
    }
  }
};

using Make = std::function<std::shared_ptr<optim::LRScheduler>(optim::Optimizer &)>;

struct Case {
  std::string name; // fixture key, optionally followed by "/variant"
  std::string key() const { return name.substr(0, name.find('/')); }
  Make make;
  int steps;
  bool adam = false, momentum = false;
};

std::vector<Case> cases() {
  using namespace optim;
  return {
      {"step",
       [](Optimizer &o) {
         return std::make_shared<StepLR>(o, StepLROptions{.step_size = 3, .gamma = 0.5});
       },
       20},
      {"multistep",
       [](Optimizer &o) {
         return std::make_shared<MultiStepLR>(
             o, MultiStepLROptions{.milestones = {2, 5, 5, 9}, .gamma = 0.3});
       },
       15},
      {"cosine",
       [](Optimizer &o) {
         return std::make_shared<CosineAnnealingLR>(
             o, CosineAnnealingLROptions{.T_max = 7, .eta_min = 0.001});
       },
       30},
      {"linear",
       [](Optimizer &o) {
         return std::make_shared<LinearLR>(
             o, LinearLROptions{.start_factor = 0.25, .end_factor = 0.9, .total_iters = 6});
       },
       10},
      {"onecycle",
       [](Optimizer &o) {
         return std::make_shared<OneCycleLR>(
             o, OneCycleLROptions{.max_lr = {1.0, 0.1}, .total_steps = 25});
       },
       25, false, true},
      {"onecycle_adam_linear",
       [](Optimizer &o) {
         return std::make_shared<OneCycleLR>(o, OneCycleLROptions{.max_lr = {0.01},
                                                                  .epochs = 4,
                                                                  .steps_per_epoch = 5,
                                                                  .pct_start = 0.25,
                                                                  .anneal_strategy = "linear",
                                                                  .div_factor = 10,
                                                                  .final_div_factor = 100});
       },
       20, true, true},
      {"onecycle_three_phase",
       [](Optimizer &o) {
         return std::make_shared<OneCycleLR>(
             o, OneCycleLROptions{.max_lr = {0.5}, .total_steps = 20, .three_phase = true});
       },
       20, false, true},
      {"warmup_cosine",
       [](Optimizer &o) {
         return std::make_shared<LinearWarmup>(
             o, std::make_shared<CosineAnnealingLR>(o, CosineAnnealingLROptions{.T_max = 10}), 4,
             0.1);
       },
       20},
      {"warmup_step",
       [](Optimizer &o) {
         return std::make_shared<LinearWarmup>(
             o, std::make_shared<StepLR>(o, StepLROptions{.step_size = 4, .gamma = 0.5}), 3, 0.2);
       },
       15},
      {"warmup_multistep",
       [](Optimizer &o) {
         return std::make_shared<LinearWarmup>(
             o,
             std::make_shared<MultiStepLR>(o,
                                           MultiStepLROptions{.milestones = {3, 6}, .gamma = 0.1}),
             5, 0.5);
       },
       15},
      {"warmup_onecycle",
       [](Optimizer &o) {
         return std::make_shared<LinearWarmup>(
             o,
             std::make_shared<OneCycleLR>(o, OneCycleLROptions{.max_lr = {0.5}, .total_steps = 20}),
             5, 0.1);
       },
       25, false, true},
      // PyTorch's own spelling of the warmup, children built in its order.
      {"warmup_cosine/SequentialLR",
       [](Optimizer &o) {
         auto lin =
             std::make_shared<LinearLR>(o, LinearLROptions{.start_factor = 0.1, .total_iters = 4});
         auto cos = std::make_shared<CosineAnnealingLR>(o, CosineAnnealingLROptions{.T_max = 10});
         return std::make_shared<SequentialLR>(
             o, std::vector<std::shared_ptr<LRScheduler>>{lin, cos}, std::vector<int64_t>{4});
       },
       20},
  };
}

// Runs `steps` scheduler steps (after optimizer steps, as in training) and
// records row k = the lrs (momenta) after k steps.
void record(optim::Optimizer &opt, optim::LRScheduler &s, int steps, std::vector<float> &lr,
            std::vector<float> &mom, bool first_row = true) {
  auto row = [&] {
    REQUIRE(s.get_last_lr().size() == opt.num_param_groups());
    for (size_t g = 0; g < opt.num_param_groups(); ++g) {
      CHECK(s.get_last_lr()[g] == opt.lr(g));
      lr.push_back(float(opt.lr(g)));
      mom.push_back(float(opt.momentum(g)));
    }
  };
  if (first_row)
    row();
  for (int k = 0; k < steps; ++k) {
    opt.step();
    s.step();
    row();
  }
}

} // namespace

TEST_CASE("lr schedules match torch.optim.lr_scheduler", "[optim][schedule][golden]") {
  const auto f = golden::load("optim_schedules.txt");
  for (const Case &c : cases()) {
    DYNAMIC_SECTION(c.name) {
      Setup s(c.adam);
      auto sched = c.make(*s.opt);
      std::vector<float> lr, mom;
      record(*s.opt, *sched, c.steps, lr, mom);
      const pg::Shape shape{c.steps + 1, 2};
      golden::require_close(pg::from_vector(lr, shape), golden::get(f, c.key() + ".lr"), 1e-6,
                            1e-12, c.name + ".lr");
      if (c.momentum)
        golden::require_close(pg::from_vector(mom, shape), golden::get(f, c.key() + ".momentum"),
                              1e-6, 1e-12, c.name + ".momentum");
    }
  }
}

TEST_CASE("OneCycleLR: stepping past total_steps is an error", "[optim][schedule]") {
  Setup s(false);
  optim::OneCycleLR sched(*s.opt, {.max_lr = {0.1}, .total_steps = 3});
  for (int i = 0; i < 3; ++i)
    sched.step();
  try {
    sched.step();
    FAIL("no error");
  } catch (const pg::Error &e) {
    CHECK_THAT(e.what(),
               Catch::Contains("tried to step 5 times") && Catch::Contains("total steps is 3"));
  }
}

TEST_CASE("lr schedulers: invalid options are errors", "[optim][schedule]") {
  Setup s(false);
  CHECK_THROWS_WITH(optim::StepLR(*s.opt, {.step_size = 0}), Catch::Contains("step_size"));
  CHECK_THROWS_WITH(optim::CosineAnnealingLR(*s.opt, {}), Catch::Contains("T_max"));
  CHECK_THROWS_WITH(optim::OneCycleLR(*s.opt, {.max_lr = {0.1, 0.2, 0.3}, .total_steps = 10}),
                    Catch::Contains("max_lr"));
  CHECK_THROWS_WITH(optim::OneCycleLR(*s.opt, {.max_lr = {0.1}}), Catch::Contains("total_steps"));
  CHECK_THROWS_WITH(
      optim::OneCycleLR(*s.opt, {.max_lr = {0.1}, .total_steps = 5, .anneal_strategy = "exp"}),
      Catch::Contains("anneal_strategy"));
  CHECK_THROWS_WITH(optim::LinearLR(*s.opt, {.start_factor = 1.5}),
                    Catch::Contains("start_factor"));
  auto a = std::make_shared<optim::StepLR>(*s.opt, optim::StepLROptions{.step_size = 2});
  CHECK_THROWS_WITH(optim::SequentialLR(*s.opt, {a, a}, {}), Catch::Contains("milestones"));
  Setup other(false);
  CHECK_THROWS_WITH(optim::SequentialLR(*other.opt, {a}, {}),
                    Catch::Contains("different optimizer"));
}

TEST_CASE("lr schedulers: resuming from a checkpoint continues the sequence",
          "[optim][schedule][checkpoint]") {
  const auto f = golden::load("optim_schedules.txt");
  const auto dir =
      std::filesystem::temp_directory_path() / ("pg_sched_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "optim.safetensors").string();
  for (const Case &c : cases()) {
    DYNAMIC_SECTION(c.name) {
      const int first = c.steps / 3;
      std::vector<float> lr, mom;
      {
        Setup s(c.adam);
        auto sched = c.make(*s.opt);
        record(*s.opt, *sched, first, lr, mom);
        optim::save(*s.opt, path, sched.get());
      }
      // A fresh optimizer and scheduler, built the same way, then loaded.
      Setup s(c.adam);
      auto sched = c.make(*s.opt);
      optim::load(*s.opt, path, sched.get());
      CHECK(sched->last_epoch() == first);
      record(*s.opt, *sched, c.steps - first, lr, mom, false);
      const pg::Shape shape{c.steps + 1, 2};
      golden::require_close(pg::from_vector(lr, shape), golden::get(f, c.key() + ".lr"), 1e-6,
                            1e-12, c.name + ".lr");
      if (c.momentum)
        golden::require_close(pg::from_vector(mom, shape), golden::get(f, c.key() + ".momentum"),
                              1e-6, 1e-12, c.name + ".momentum");
    }
  }
  std::filesystem::remove_all(dir);
}

// A scheduler that takes over at a SequentialLR milestone restarts through
// its closed form at epoch 0 (PyTorch 1.13: SequentialLR.step calls
// scheduler.step(0), which sets last_epoch = 0 and uses _get_closed_form_lr),
// then continues with the chainable get_lr. The expected lrs follow PyTorch's
// code step by step (no torch here; the golden fixtures never restart a
// scheduler whose closed form differs from its chainable form at epoch 0):
//  - warmup (LinearLR 0.5 -> 1 over 2 epochs): lr0 * 0.5, then lr0 * 0.5 * 1.5;
//  - MultiStepLR {0, 3}: step(0) gives lr0 * gamma^bisect_right([0, 3], 0) =
//    lr0 * gamma (the milestone at 0 counts), then * gamma again at epoch 3;
//  - StepLR step_size 1: step(0) gives lr0 * gamma^(0 // 1) = lr0, then one
//    decay per epoch.
TEST_CASE("lr schedulers: a restart at a SequentialLR milestone uses the closed form at epoch 0",
          "[optim][schedule]") {
  using namespace optim;
  struct Restart {
    std::string name;
    Make make;
    std::vector<double> factors; // lr / lr0 after 0, 1, 2, ... steps
  };
  const double w0 = 0.5, w1 = 0.5 * 1.5; // the warmup's two epochs
  const std::vector<Restart> cases = {
      {"multistep with a milestone at 0",
       [](Optimizer &o) {
         return std::make_shared<LinearWarmup>(
             o,
             std::make_shared<MultiStepLR>(o,
                                           MultiStepLROptions{.milestones = {0, 3}, .gamma = 0.1}),
             2, 0.5);
       },
       {w0, w1, 0.1, 0.1, 0.1, 0.01, 0.01}},
      {"step_size 1",
       [](Optimizer &o) {
         return std::make_shared<LinearWarmup>(
             o, std::make_shared<StepLR>(o, StepLROptions{.step_size = 1, .gamma = 0.5}), 2, 0.5);
       },
       {w0, w1, 1.0, 0.5, 0.25, 0.125}},
  };
  for (const Restart &c : cases) {
    DYNAMIC_SECTION(c.name) {
      Setup s(false);
      auto sched = c.make(*s.opt);
      for (size_t k = 0; k < c.factors.size(); ++k) {
        if (k > 0) {
          s.opt->step();
          sched->step();
        }
        INFO("after " << k << " steps");
        for (size_t g = 0; g < 2; ++g) {
          const double lr0 = g == 0 ? 0.1 : 0.01;
          CHECK(s.opt->lr(g) == Approx(lr0 * c.factors[k]).epsilon(1e-12));
          CHECK(sched->get_last_lr()[g] == s.opt->lr(g));
        }
      }
    }
  }
}
