// [state_dict] One StateDict type for modules and optimizers: the container
// itself (order, lookup, add/extract), Module::load_state_dict's validation,
// and a model and its optimizer saved with one call into one file and
// resumed from it.
#include <filesystem>
#include <type_traits>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <polygrad/polygrad.h>

namespace pg = polygrad;
namespace nn = polygrad::nn;
namespace optim = polygrad::optim;
using Catch::Contains;
using pg::StateDict;
using pg::Tensor;

namespace {

std::shared_ptr<nn::Sequential> small_net() {
  return nn::make<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      nn::make<nn::Linear>(3, 4), nn::make<nn::BatchNorm1d>(4), nn::make<nn::Linear>(4, 2)});
}

// Every tensor's values, float or int64, in state_dict order.
std::vector<std::vector<double>> values(const StateDict &sd) {
  std::vector<std::vector<double>> out;
  for (const auto &[n, t] : sd) {
    std::vector<double> v;
    if (t.dtype() == pg::DType::Int64)
      for (int64_t x : t.to_vector<int64_t>())
        v.push_back(double(x));
    else
      for (float x : t.to_vector())
        v.push_back(x);
    out.push_back(v);
  }
  return out;
}

// One training step: changes the parameters, the BatchNorm running stats
// and counter, and creates the optimizer's state.
void train_step(nn::Module &m, optim::Optimizer &opt, uint64_t seed) {
  pg::manual_seed(seed);
  Tensor x = pg::randn({5, 3});
  Tensor y = pg::from_labels({0, 1, 1, 0, 1});
  opt.zero_grad();
  pg::losses::cross_entropy(m(x), y).backward();
  opt.step();
}

} // namespace

TEST_CASE("state_dict: the container keeps order, looks up, adds and extracts", "[state_dict]") {
  StateDict a{{{"w", pg::ones({2})}, {"b", pg::zeros({1})}}, {{"k", "v"}}};
  REQUIRE(a.size() == 2); // tensors only, as len() of a PyTorch state dict
  CHECK_FALSE(a.empty());
  CHECK(StateDict{{}, {{"only", "metadata"}}}.empty());
  CHECK(a[0].first == "w");
  CHECK(a[1].first == "b");
  CHECK(a.contains("b"));
  CHECK_FALSE(a.contains("x"));
  CHECK(a.at("b").same(a.tensors[1].second));
  CHECK_THROWS_WITH(a.at("x"), Contains("StateDict::at") && Contains("'x'"));

  StateDict all;
  all.add("model.", a);
  all.add("optim.", StateDict{{{"state.0.step", pg::scalar_tensor(3.f)}}, {{"lr", "0.1"}}});
  std::vector<std::string> names;
  for (const auto &[n, t] : all)
    names.push_back(n);
  CHECK(names == std::vector<std::string>{"model.w", "model.b", "optim.state.0.step"});
  CHECK(all.metadata == pg::Metadata{{"model.k", "v"}, {"optim.lr", "0.1"}});
  CHECK(all.at("model.w").same(a.at("w"))); // the same tensors, not copies

  const StateDict back = all.extract("model.");
  REQUIRE(back.size() == 2);
  CHECK(back[0].first == "w");
  CHECK(back[1].first == "b");
  CHECK(back.metadata == a.metadata);
  CHECK(all.extract("optim.").at("state.0.step").item() == 3.f);
  CHECK(all.extract("nothing.").empty());

  // A clash names the entry and adds nothing.
  CHECK_THROWS_WITH(all.add("model.", StateDict{{{"z", pg::ones({1})}, {"b", pg::ones({1})}}, {}}),
                    Contains("'model.b'") && Contains("already present"));
  CHECK_THROWS_WITH(all.add("optim.", StateDict{{}, {{"lr", "1"}}}),
                    Contains("metadata key 'optim.lr'"));
  CHECK(all.size() == 3);
  CHECK(all.metadata.size() == 2);
  // Adding a dict to itself under a new prefix reads a copy.
  all.add("again.", all);
  CHECK(all.size() == 6);
  CHECK(all[5].first == "again.optim.state.0.step");
}

TEST_CASE("state_dict: a module's and an optimizer's are one type, saved and resumed as one file",
          "[state_dict]") {
  auto net = small_net();
  optim::SGD opt(net->parameters(), {.lr = 0.1, .momentum = 0.9});
  static_assert(std::is_same_v<decltype(net->state_dict()), decltype(opt.state_dict())>);
  static_assert(std::is_same_v<decltype(pg::io::load_safetensors("")), StateDict>);
  train_step(*net, opt, 1);

  StateDict ckpt;
  ckpt.add("model.", net->state_dict());
  ckpt.add("optim.", opt.state_dict());
  CHECK(ckpt.contains("model.1.num_batches_tracked"));
  CHECK(ckpt.contains("optim.state.0.momentum_buffer"));
  CHECK(ckpt.metadata.at("optim.optimizer") == "SGD");
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("pg_state_dict_" + std::to_string(::getpid()) + ".safetensors"))
                               .string();
  pg::io::save_safetensors(ckpt, path); // the one call for either, or both
  const StateDict file = pg::io::load_safetensors(path);
  std::filesystem::remove(path);

  // A fresh model and optimizer resume from the file and continue exactly
  // like the originals.
  auto net2 = small_net();
  optim::SGD opt2(net2->parameters(), {.lr = 0.5});
  net2->load_state_dict(file.extract("model."));
  opt2.load_state_dict(file.extract("optim."));
  CHECK(opt2.lr() == 0.1);
  CHECK(values(net2->state_dict()) == values(net->state_dict()));
  train_step(*net, opt, 2);
  train_step(*net2, opt2, 2);
  CHECK(values(net2->state_dict()) == values(net->state_dict()));
  CHECK(values(opt2.state_dict()) == values(opt.state_dict()));
}

TEST_CASE("state_dict: Module::load_state_dict validates everything, then copies in place",
          "[state_dict]") {
  auto src = small_net(), dst = small_net();
  optim::SGD opt(src->parameters(), {.lr = 0.1});
  train_step(*src, opt, 3);
  const StateDict good = src->state_dict();
  const auto before = values(dst->state_dict());
  const Tensor w0 = dst->state_dict().at("0.weight");

  auto expect_fail = [&](const StateDict &sd, bool strict, const std::vector<std::string> &what) {
    try {
      dst->load_state_dict(sd, strict);
      FAIL("no error");
    } catch (const pg::Error &e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find("load_state_dict (Sequential)") != std::string::npos);
      for (const auto &w : what)
        CHECK(std::string(e.what()).find(w) != std::string::npos);
    }
    CHECK(values(dst->state_dict()) == before); // nothing changed
  };
  StateDict missing = good;
  missing.tensors.pop_back();
  expect_fail(missing, true, {"missing from the state dict: '2.bias'", "nothing was loaded"});
  StateDict extra = good;
  extra.tensors.push_back({"3.weight", pg::ones({1})});
  expect_fail(extra, true, {"unexpected in the state dict: '3.weight'"});
  // The bad entry comes after a good one: the good one must not be written.
  StateDict shape = good;
  shape.tensors.back().second = pg::ones({3});
  expect_fail(shape, false, {"tensor '2.bias': shape [3] in the state dict but [2] in the model"});
  StateDict dtype = good;
  for (auto &[n, t] : dtype)
    if (n == "1.num_batches_tracked")
      t = pg::scalar_tensor(1.f);
  expect_fail(dtype, false,
              {"tensor '1.num_batches_tracked': dtype float32 in the state dict but int64"});
  StateDict twice = good;
  twice.tensors.push_back(good.tensors[0]);
  expect_fail(twice, false, {"'0.weight' appears twice"});
  StateDict undefined = good;
  undefined.tensors[1].second = Tensor();
  expect_fail(undefined, false, {"'0.bias' is undefined"});

  // Not strict: the names both have are loaded, the others ignored.
  StateDict partial{{{"0.bias", good.at("0.bias")}, {"other", pg::ones({9})}}, {}};
  dst->load_state_dict(partial, false);
  CHECK(dst->state_dict().at("0.bias").to_vector() == good.at("0.bias").to_vector());
  CHECK(dst->state_dict().at("0.weight").to_vector() == w0.to_vector());

  // Strict and complete: every value, the int64 counter included, copied
  // into the same tensors (handles held elsewhere see the new values), from
  // any layout.
  StateDict strided = good;
  for (auto &[n, t] : strided)
    if (n == "0.weight")
      t = t.t().contiguous().t(); // same values, column-major
  REQUIRE_FALSE(strided.at("0.weight").is_contiguous());
  dst->load_state_dict(strided);
  CHECK(values(dst->state_dict()) == values(good));
  CHECK(dst->state_dict().at("1.num_batches_tracked").item<int64_t>() == 1);
  CHECK(dst->state_dict().at("0.weight").same(w0));
  CHECK(w0.to_vector() == good.at("0.weight").to_vector());
  CHECK_FALSE(w0.same(good.at("0.weight"))); // copied, not shared
}
