// Checkpoint interop with PyTorch, both ways, with no self-made reference:
// - tests/fixtures/checkpoint_torch_model.safetensors is written by PyTorch's
//   side (tools/golden/checkpoint.py, through `tools/gen_golden.py`, whose
//   --check proves the committed file is what the generator writes) from a
//   model of nn.Linear / nn.BatchNorm1d with trained running statistics. It
//   loads into polygrad's real nn::Linear / nn::BatchNorm1d, and the
//   eval-mode and train-mode outputs match torch's stored float64 ones.
// - polygrad saves those modules again; its file must hold exactly torch's
//   tensors. ctest's `safetensors_python_reader` reruns that test case with
//   PG_INTEROP_OUT set and checks the file with an independent reader,
//   `tools/safetensors_check.py check FILE --reference <torch's file>`
//   (pure Python, so no torch is needed).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <unistd.h>

#include "golden.h"
#include <polygrad/autograd/grad_mode.h>
#include <polygrad/nn/activation.h>
#include <polygrad/nn/batchnorm.h>
#include <polygrad/nn/checkpoint.h>
#include <polygrad/nn/linear.h>
#include <polygrad/nn/sequential.h>

namespace pg = polygrad;
namespace nn = polygrad::nn;
namespace fs = std::filesystem;

namespace {

// tools/golden/checkpoint.py's make_model(), with the same module names.
struct Net : nn::Module {
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::Linear> head;
  Net() {
    features = register_module(
        "features",
        std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
            nn::make<nn::Linear>(4, 3), nn::make<nn::BatchNorm1d>(3), nn::make<nn::ReLU>(),
            nn::make<nn::Linear>(3, 5)}));
    head = register_module("head", nn::make<nn::Linear>(5, 2));
  }
  pg::Tensor forward(const pg::Tensor &x) override { return head->forward(features->forward(x)); }
  std::string name() const override { return "Net"; }
};

const std::string kTorchFile = std::string(PG_FIXTURE_DIR) + "/checkpoint_torch_model.safetensors";

// Same dtype, shape and bit pattern (== on floats would let -0 pass for 0).
bool same_bits(const pg::Tensor &a, const pg::Tensor &b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape())
    return false;
  if (a.dtype() == pg::DType::Int64)
    return a.to_vector<int64_t>() == b.to_vector<int64_t>();
  const auto x = a.to_vector(), y = b.to_vector();
  return std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

// Every tensor of m equals the fixture's sd.<name>, bit for bit, and m's
// state_dict lists them in torch's order (order.<name>).
void require_torch_state(const nn::Module &m, const golden::Fixture &f) {
  const auto sd = m.state_dict();
  size_t in_fixture = 0;
  for (const auto &[k, v] : f)
    in_fixture += k.rfind("sd.", 0) == 0;
  REQUIRE(sd.size() == in_fixture);
  for (size_t i = 0; i < sd.size(); ++i) {
    const auto &[n, t] = sd[i];
    INFO(n);
    CHECK(golden::get(f, "order." + n).to_vector<int64_t>()[0] == int64_t(i));
    CHECK(same_bits(t, golden::get(f, "sd." + n)));
  }
}

} // namespace

TEST_CASE("checkpoint interop: a PyTorch-written checkpoint loads into nn::Linear/BatchNorm1d",
          "[checkpoint][interop]") {
  const auto f = golden::load("checkpoint_torch_model.txt");
  Net m;
  const auto meta = nn::load(m, kTorchFile); // strict: torch's names, dtypes and shapes
  CHECK(meta.at("format") == "pt");
  require_torch_state(m, f);
  CHECK(golden::get(f, "sd.features.1.num_batches_tracked").to_vector<int64_t>()[0] == 40);

  // y is the model evaluated in float64 from the stored float32 values, so
  // this bounds polygrad's own float32 error: dot products of <= 5 terms of
  // size <= 3 (~1e-6 absolute each) and BatchNorm channel 0's invstd of 6.7
  // amplifying its input's rounding; 1e-5 leaves a margin over the 3.0e-7
  // observed (train mode: 6.9e-7), while eps 1e-4 instead of 1e-5 moves y by
  // ~7e-4 (channel 0's running_var is 0.023).
  m.eval();
  pg::NoGradGuard ng;
  golden::require_close(m.forward(golden::get(f, "x")), golden::get(f, "y"), 1e-5, 1e-5,
                        "eval output (running statistics)");
}

TEST_CASE("checkpoint interop: train-mode BatchNorm1d of the loaded model matches torch",
          "[checkpoint][interop]") {
  const auto f = golden::load("checkpoint_torch_model.txt");
  Net m;
  nn::load(m, kTorchFile);
  m.train();
  pg::NoGradGuard ng;
  // Batch statistics over M = 8 rows (biased variance for the output, the
  // unbiased one in the running average); same tolerance argument as eval.
  golden::require_close(m.forward(golden::get(f, "xb")), golden::get(f, "yt"), 1e-5, 1e-5,
                        "train output (batch statistics)");
  const auto &bn = dynamic_cast<const nn::BatchNorm1d &>(*(*m.features)[1]);
  golden::require_close(bn.running_mean, golden::get(f, "after.features.1.running_mean"), 1e-5,
                        1e-6, "running_mean after the step");
  golden::require_close(bn.running_var, golden::get(f, "after.features.1.running_var"), 1e-5, 1e-6,
                        "running_var after the step");
  CHECK(same_bits(bn.num_batches_tracked, golden::get(f, "after.features.1.num_batches_tracked")));
}

TEST_CASE("checkpoint interop: polygrad writes the loaded modules as torch wrote them",
          "[checkpoint][interop][interop-writer]") {
  Net m;
  nn::load(m, kTorchFile);
  // PG_INTEROP_OUT: the folder ctest's safetensors_python_reader gives, where
  // the file stays for tools/safetensors_check.py; otherwise a temporary one.
  const char *out = std::getenv("PG_INTEROP_OUT");
  const fs::path dir =
      out ? fs::path(out)
          : fs::temp_directory_path() / ("pg_interop_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "polygrad_model.safetensors").string();
  nn::save(m, path, {{"producer", "polygrad"}});

  // Tensor for tensor the same as torch's file (names, dtypes, shapes, bits).
  const auto mine = pg::io::load_safetensors(path), theirs = pg::io::load_safetensors(kTorchFile);
  CHECK(mine.metadata.at("format") == "pt");
  CHECK(mine.metadata.at("producer") == "polygrad");
  std::map<std::string, pg::Tensor> want(theirs.tensors.begin(), theirs.tensors.end());
  REQUIRE(mine.tensors.size() == want.size());
  for (const auto &[n, t] : mine.tensors) {
    INFO(n);
    REQUIRE(want.count(n) == 1);
    CHECK(same_bits(t, want.at(n)));
  }
  // And it loads back into the right modules of a fresh model.
  Net back;
  nn::load(back, path);
  require_torch_state(back, golden::load("checkpoint_torch_model.txt"));
  if (!out)
    fs::remove_all(dir);
}
