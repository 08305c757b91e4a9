// Fuzz target: nn::load (nn/checkpoint.h), a safetensors file into a model,
// strict and not; a file it accepts must leave a model that runs.
#include "fuzz.h"
#include "model.h"

#include <polygrad/nn/checkpoint.h>
#include <polygrad/optim/checkpoint.h>
#include <polygrad/optim/sgd.h>

namespace {

namespace fz = polygrad::fuzz;
namespace nn = polygrad::nn;

std::vector<std::string> seeds() {
  auto m = fz::small_model();
  fz::forward_backward(*m);
  const std::string path = fz::scratch_dir() + "/seed.safetensors";
  nn::save(*m, path);
  const std::string plain = fz::read_file(path);
  nn::save(*m, path, {{"epoch", "3"}, {"note", "caf\xc3\xa9"}});
  const std::string with_metadata = fz::read_file(path);
  polygrad::optim::SGD opt(m->parameters(), {.lr = 0.1, .momentum = 0.9});
  opt.step();
  polygrad::optim::save(opt, path); // another kind of file
  const std::string optimizer = fz::read_file(path);
  return {plain, with_metadata, plain.substr(0, plain.size() / 2), optimizer};
}

void run(const uint8_t *data, size_t size) {
  const std::string path = fz::write_scratch("model.safetensors", data, size);
  for (bool strict : {true, false}) {
    auto m = fz::small_model();
    fz::expect_error_only([&] {
      (void)nn::load(*m, path, strict);
      fz::forward_backward(*m);
    });
  }
}

} // namespace

PG_FUZZ_TARGET(model_checkpoint, run, seeds)
