// Fuzz target: optim::load (optim/checkpoint.h), a safetensors file into an
// Adam optimizer with a StepLR scheduler; a file it accepts must leave an
// optimizer that can take a step and a scheduler that can advance.
#include "fuzz.h"
#include "model.h"

#include <polygrad/nn/checkpoint.h>
#include <polygrad/optim/adam.h>
#include <polygrad/optim/checkpoint.h>
#include <polygrad/optim/sgd.h>

namespace {

namespace fz = polygrad::fuzz;
namespace optim = polygrad::optim;

std::vector<std::string> seeds() {
  const std::string path = fz::scratch_dir() + "/seed.safetensors";
  std::vector<std::string> s;
  auto m = fz::small_model();
  optim::Adam adam(m->parameters(), {.lr = 0.01, .amsgrad = true});
  optim::StepLR sched(adam, {.step_size = 2});
  optim::save(adam, path, &sched); // before the first step: no state yet
  s.push_back(fz::read_file(path));
  for (int i = 0; i < 3; ++i) {
    fz::forward_backward(*m);
    adam.step();
    sched.step();
  }
  optim::save(adam, path, &sched);
  s.push_back(fz::read_file(path));
  optim::save(adam, path); // no scheduler
  s.push_back(fz::read_file(path));
  optim::SGD sgd(m->parameters(), {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  sgd.step();
  optim::save(sgd, path); // another optimizer
  s.push_back(fz::read_file(path));
  polygrad::nn::save(*m, path); // a model file
  s.push_back(fz::read_file(path));
  return s;
}

void run(const uint8_t *data, size_t size) {
  const std::string path = fz::write_scratch("optim.safetensors", data, size);
  auto m = fz::small_model();
  optim::Adam adam(m->parameters(), {.lr = 0.01, .amsgrad = true});
  optim::StepLR sched(adam, {.step_size = 2});
  fz::expect_error_only([&] {
    optim::load(adam, path, &sched);
    fz::forward_backward(*m);
    adam.step();
    sched.step();
  });
}

} // namespace

PG_FUZZ_TARGET(optimizer_checkpoint, run, seeds)
