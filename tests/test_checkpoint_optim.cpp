// optim::save / optim::load: resuming training from files gives exactly the
// uninterrupted run; bad files and mismatched optimizers are errors naming
// the file, and leave the optimizer unchanged.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <polygrad/core/random.h>
#include <polygrad/nn/checkpoint.h>
#include <polygrad/optim/adamw.h>
#include <polygrad/optim/checkpoint.h>
#include <polygrad/optim/sgd.h>

namespace pg = polygrad;
namespace nn = polygrad::nn;
namespace optim = polygrad::optim;
namespace fs = std::filesystem;

namespace {

struct MLP : nn::Module {
  pg::Tensor w1, b1, w2, b2;
  MLP() {
    w1 = register_parameter("w1", pg::randn({6, 8}) * 0.4f);
    b1 = register_parameter("b1", pg::zeros({8}));
    w2 = register_parameter("w2", pg::randn({8, 3}) * 0.4f);
    b2 = register_parameter("b2", pg::zeros({3}));
  }
  pg::Tensor forward(const pg::Tensor &x) override {
    return pg::matmul(pg::tanh(pg::matmul(x, w1) + b1), w2) + b2;
  }
  std::string name() const override { return "MLP"; }
};

void train_steps(MLP &m, optim::Optimizer &opt, optim::LRScheduler &sched, const pg::Tensor &x,
                 const pg::Tensor &y, int n) {
  for (int i = 0; i < n; ++i) {
    opt.zero_grad();
    pg::Tensor d = m.forward(x) - y;
    pg::mean(d * d).backward();
    opt.step();
    sched.step();
  }
}

std::vector<std::vector<float>> values(const MLP &m) {
  std::vector<std::vector<float>> v;
  for (auto &p : m.parameters())
    v.push_back(p.to_vector());
  return v;
}

} // namespace

TEST_CASE("optim checkpoint: resuming from files reproduces the uninterrupted run exactly",
          "[checkpoint][optim]") {
  const fs::path dir = fs::temp_directory_path() / ("pg_optim_ckpt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string mpath = (dir / "model.safetensors").string(),
                    opath = (dir / "optim.safetensors").string();
  pg::manual_seed(11);
  const pg::Tensor x = pg::randn({16, 6}), y = pg::randn({16, 3});
  auto build = [](MLP &m) {
    auto opt = std::make_unique<optim::AdamW>(std::vector<pg::Tensor>{m.w1, m.b1},
                                              optim::AdamWOptions{.lr = 0.01, .amsgrad = true});
    opt->add_param_group({m.w2, m.b2}, {.lr = 0.02, .weight_decay = 0.0});
    return opt;
  };

  pg::manual_seed(1);
  MLP ref;
  auto ref_opt = build(ref);
  optim::LinearWarmup ref_sched(*ref_opt,
                                std::make_shared<optim::CosineAnnealingLR>(
                                    *ref_opt, optim::CosineAnnealingLROptions{.T_max = 12}),
                                3);
  train_steps(ref, *ref_opt, ref_sched, x, y, 15);

  pg::manual_seed(1);
  MLP a;
  {
    auto opt = build(a);
    optim::LinearWarmup sched(*opt,
                              std::make_shared<optim::CosineAnnealingLR>(
                                  *opt, optim::CosineAnnealingLROptions{.T_max = 12}),
                              3);
    train_steps(a, *opt, sched, x, y, 6);
    nn::save(a, mpath);
    optim::save(*opt, opath, &sched);
  }
  pg::manual_seed(99); // a different init: everything must come from the files
  MLP b;
  auto opt = build(b);
  optim::LinearWarmup sched(*opt,
                            std::make_shared<optim::CosineAnnealingLR>(
                                *opt, optim::CosineAnnealingLROptions{.T_max = 12}),
                            3);
  nn::load(b, mpath);
  optim::load(*opt, opath, &sched);
  CHECK(sched.last_epoch() == 6);
  train_steps(b, *opt, sched, x, y, 9);
  CHECK(values(b) == values(ref)); // bit-identical
  CHECK(opt->lr(1) == ref_opt->lr(1));
  fs::remove_all(dir);
}

TEST_CASE("optim checkpoint: bad files and mismatches are errors naming the file",
          "[checkpoint][optim]") {
  const fs::path dir = fs::temp_directory_path() / ("pg_optim_bad_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "o.safetensors").string();
  pg::Tensor p = pg::ones({4}).requires_grad_(true);
  optim::SGD sgd({p}, {.lr = 0.1, .momentum = 0.9});
  p.sum().backward();
  sgd.step();
  optim::save(sgd, path);

  pg::Tensor q = pg::ones({4}).requires_grad_(true);
  optim::AdamW adamw({q});
  CHECK_THROWS_WITH(optim::load(adamw, path),
                    Catch::Contains(path) && Catch::Contains("for optimizer 'SGD', not 'AdamW'"));

  pg::Tensor r = pg::ones({5}).requires_grad_(true);
  optim::SGD other({r}, {.lr = 0.3, .momentum = 0.1});
  CHECK_THROWS_WITH(optim::load(other, path),
                    Catch::Contains(path) &&
                        Catch::Contains("shape [4] but the parameter has shape [5]"));
  CHECK(other.lr(0) == 0.3);
  CHECK(other.state_dict().tensors.empty());

  optim::StepLR sched(other, {.step_size = 2});
  pg::Tensor s = pg::ones({4}).requires_grad_(true);
  optim::SGD same({s}, {.lr = 0.3});
  optim::StepLR sched2(same, {.step_size = 2});
  CHECK_THROWS_WITH(optim::load(same, path, &sched2),
                    Catch::Contains(path) && Catch::Contains("no scheduler state"));
  CHECK_THROWS_WITH(optim::load(same, path, &sched), Catch::Contains("different optimizer"));
  CHECK(same.lr(0) == 0.3);

  // A truncated optimizer file is caught by the safetensors validation.
  fs::resize_file(path, fs::file_size(path) - 5);
  CHECK_THROWS_WITH(optim::load(same, path), Catch::Contains(path) && Catch::Contains("truncated"));
  CHECK(same.state_dict().tensors.empty());
  fs::remove_all(dir);
}

TEST_CASE("rng state: get_rng_state/set_rng_state replay the draws exactly", "[checkpoint]") {
  pg::manual_seed(5);
  (void)pg::rand({7});
  const pg::Tensor state = pg::get_rng_state();
  REQUIRE(state.dtype() == pg::DType::Int64);
  REQUIRE(state.dim() == 1);
  const std::vector<float> first = pg::randn({100}).to_vector();
  pg::manual_seed(123);
  pg::set_rng_state(state);
  CHECK(pg::randn({100}).to_vector() == first);
  CHECK_THROWS_WITH(pg::set_rng_state(pg::zeros({312})),
                    Catch::Contains("set_rng_state: expected an int64 tensor"));
}

TEST_CASE("training state: one file restores model, optimizer, scheduler, RNG and position",
          "[checkpoint][optim]") {
  const fs::path dir = fs::temp_directory_path() / ("pg_train_state_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "state.safetensors").string();
  pg::manual_seed(11);
  const pg::Tensor x = pg::randn({16, 6}), y = pg::randn({16, 3});
  auto build = [](MLP &m) {
    return std::make_unique<optim::SGD>(m.parameters(),
                                        optim::SGDOptions{.lr = 0.05, .momentum = 0.9});
  };
  // The reference: 10 steps, then a draw from the global RNG.
  pg::manual_seed(1);
  MLP ref;
  auto ref_opt = build(ref);
  optim::StepLR ref_sched(*ref_opt, {.step_size = 4});
  train_steps(ref, *ref_opt, ref_sched, x, y, 10);
  const std::vector<float> ref_draw = pg::rand({5}).to_vector();

  pg::manual_seed(1);
  MLP a;
  {
    auto opt = build(a);
    optim::StepLR sched(*opt, {.step_size = 4});
    train_steps(a, *opt, sched, x, y, 4);
    optim::save_training_state(path, a, *opt, &sched,
                               {.epoch = 2, .step = 4, .data_seed = ~0ull, .extra = {{"k", "v"}}});
  }
  pg::manual_seed(99);
  MLP b;
  auto opt = build(b);
  optim::StepLR sched(*opt, {.step_size = 4});
  (void)pg::rand({3}); // the RNG is elsewhere, too
  const optim::TrainingState st = optim::load_training_state(path, b, *opt, &sched);
  CHECK(st.epoch == 2);
  CHECK(st.step == 4);
  CHECK(st.data_seed == ~0ull);
  CHECK(st.extra == pg::Metadata{{"k", "v"}});
  train_steps(b, *opt, sched, x, y, 6);
  CHECK(values(b) == values(ref));
  CHECK(pg::rand({5}).to_vector() == ref_draw);

  // Wrong files change nothing: a weights-only file, another optimizer.
  const std::string wpath = (dir / "w.safetensors").string();
  nn::save(b, wpath);
  const auto before = values(b);
  CHECK_THROWS_WITH(optim::load_training_state(wpath, b, *opt, &sched),
                    Catch::Contains("w.safetensors: not a training state"));
  optim::AdamW adamw(b.parameters(), {});
  CHECK_THROWS_WITH(optim::load_training_state(path, b, adamw, nullptr),
                    Catch::Contains("state.safetensors: the file has a scheduler state"));
  optim::StepLR adamw_sched(adamw, {.step_size = 4});
  CHECK_THROWS_WITH(optim::load_training_state(path, b, adamw, &adamw_sched),
                    Catch::Contains("state.safetensors: optimizer: "));
  CHECK(values(b) == before);
  fs::remove_all(dir);
}
