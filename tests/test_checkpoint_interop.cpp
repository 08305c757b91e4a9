// Checkpoint interop with PyTorch, both ways, through committed fixtures:
// - tests/fixtures/torch_model.safetensors was written from a torch model's
//   state_dict (tools/safetensors_check.py write); it loads into the
//   equivalent polygrad module with the same values and eval outputs.
// - tests/fixtures/polygrad_model.safetensors is what polygrad writes for a
//   module filled by a formula (checked byte for byte here); Python reads it
//   back into torch with `/usr/bin/python3 tools/safetensors_check.py check`.
// (Regenerate the latter with PG_WRITE_FIXTURES=1 polygrad_tests "[interop]".)
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "golden.h"
#include <polygrad/autograd/grad_mode.h>
#include <polygrad/nn/checkpoint.h>

namespace pg = polygrad;
namespace nn = polygrad::nn;
namespace fs = std::filesystem;

namespace {

struct TLinear : nn::Module {
  pg::Tensor weight, bias;
  TLinear(int64_t in, int64_t out) {
    weight = register_parameter("weight", pg::zeros({out, in}));
    bias = register_parameter("bias", pg::zeros({out}));
  }
  pg::Tensor forward(const pg::Tensor &x) override { return pg::matmul(x, weight.t()) + bias; }
  std::string name() const override { return "Linear"; }
};

struct TBatchNorm : nn::Module { // eval-mode BatchNorm1d, eps 1e-5
  pg::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  explicit TBatchNorm(int64_t c) {
    weight = register_parameter("weight", pg::ones({c}));
    bias = register_parameter("bias", pg::zeros({c}));
    running_mean = register_buffer("running_mean", pg::zeros({c}));
    running_var = register_buffer("running_var", pg::ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", pg::zeros({}, pg::DType::Int64));
  }
  pg::Tensor forward(const pg::Tensor &x) override {
    return (x - running_mean) / pg::sqrt(running_var + 1e-5f) * weight + bias;
  }
  std::string name() const override { return "BatchNorm1d"; }
};

struct TReLU : nn::Module {
  pg::Tensor forward(const pg::Tensor &x) override { return pg::relu(x); }
  std::string name() const override { return "ReLU"; }
};

// tools/safetensors_check.py's make_model().
struct Net : nn::Module {
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<TLinear> head;
  Net() {
    features = register_module(
        "features",
        std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
            std::make_shared<TLinear>(4, 3), std::make_shared<TBatchNorm>(3),
            std::make_shared<TReLU>(), std::make_shared<TLinear>(3, 5)}));
    head = register_module("head", std::make_shared<TLinear>(5, 2));
  }
  pg::Tensor forward(const pg::Tensor &x) override { return head->forward(features->forward(x)); }
  std::string name() const override { return "Net"; }
};

// Tensor k of the state_dict: element i = (1000 k + i) / 1024 (exact in
// float32); int64 buffers = 42. tools/safetensors_check.py checks the same.
void fill_formula(nn::Module &m) {
  pg::NoGradGuard ng;
  int k = 0;
  for (auto &[n, t] : m.state_dict()) {
    if (t.dtype() == pg::DType::Int64) {
      for (int64_t i = 0; i < t.numel(); ++i)
        t.data<int64_t>()[i] = 42;
    } else {
      for (int64_t i = 0; i < t.numel(); ++i)
        t.data<float>()[i] = float((1000.0 * k + double(i)) / 1024.0);
    }
    t.bump_version();
    ++k;
  }
}

std::string read_bytes(const std::string &p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kFixtureDir = PG_FIXTURE_DIR;

} // namespace

TEST_CASE("checkpoint interop: a PyTorch-written file loads into the equivalent module",
          "[checkpoint][interop]") {
  const auto f = golden::load("optim_checkpoint_torch_model.txt");
  Net m;
  const auto meta = nn::load(m, kFixtureDir + "/torch_model.safetensors");
  CHECK(meta.at("format") == "pt");
  const auto sd = m.state_dict();
  REQUIRE(sd.size() == 11);
  for (const auto &[n, t] : sd) {
    INFO(n);
    const pg::Tensor &want = golden::get(f, "sd." + n);
    REQUIRE(t.shape() == want.shape());
    if (t.dtype() == pg::DType::Int64)
      CHECK(t.to_vector<int64_t>() == want.to_vector<int64_t>());
    else
      CHECK(t.to_vector() == want.to_vector()); // bit-exact
  }
  CHECK(sd[6].first == "features.1.num_batches_tracked");
  CHECK(sd[6].second.to_vector<int64_t>()[0] == 3);
  golden::require_close(m.forward(golden::get(f, "x")), golden::get(f, "y"), 1e-5, 1e-6,
                        "eval output");
}

TEST_CASE("checkpoint interop: polygrad's writer reproduces the committed fixture",
          "[checkpoint][interop]") {
  Net m;
  fill_formula(m);
  const fs::path dir = fs::temp_directory_path() / ("pg_interop_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "m.safetensors").string();
  nn::save(m, path, {{"producer", "polygrad"}});
  const std::string bytes = read_bytes(path);
  fs::remove_all(dir);
  const std::string fixture = kFixtureDir + "/polygrad_model.safetensors";
  if (std::getenv("PG_WRITE_FIXTURES")) {
    std::ofstream(fixture, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    WARN("wrote " << fixture);
  }
  REQUIRE(fs::exists(fixture));
  CHECK(read_bytes(fixture) == bytes);
  // And it reads back to the formula's values.
  Net back;
  const auto meta = nn::load(back, fixture);
  CHECK(meta.at("producer") == "polygrad");
  const auto a = m.state_dict(), b = back.state_dict();
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].second.dtype() == pg::DType::Int64)
      CHECK(b[i].second.to_vector<int64_t>() == a[i].second.to_vector<int64_t>());
    else
      CHECK(b[i].second.to_vector() == a[i].second.to_vector());
  }
}
