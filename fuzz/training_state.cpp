// Fuzz target: optim::load_training_state (optim/checkpoint.h), the whole
// state of a run in one file (model, optimizer, scheduler, RNG, counters);
// a file it accepts must leave a run that can continue.
#include "fuzz.h"
#include "model.h"

#include <polygrad/optim/adamw.h>
#include <polygrad/optim/checkpoint.h>

namespace {

namespace fz = polygrad::fuzz;
namespace optim = polygrad::optim;

struct Run {
  std::shared_ptr<polygrad::nn::Sequential> model = fz::small_model();
  optim::AdamW opt{model->parameters(), {.lr = 0.01}};
  optim::CosineAnnealingLR sched{opt, {.T_max = 10}};
  void step() {
    fz::forward_backward(*model);
    opt.step();
    sched.step();
  }
};

std::vector<std::string> seeds() {
  const std::string path = fz::scratch_dir() + "/seed.safetensors";
  Run r;
  optim::save_training_state(path, *r.model, r.opt, &r.sched, optim::TrainingState{});
  const std::string fresh = fz::read_file(path);
  r.step();
  r.step();
  optim::save_training_state(path, *r.model, r.opt, &r.sched,
                             {.epoch = 2, .step = 2, .data_seed = 7, .extra = {{"best", "0.5"}}});
  const std::string trained = fz::read_file(path);
  optim::save_training_state(path, *r.model, r.opt, nullptr, {.epoch = 1, .extra = {}});
  return {fresh, trained, fz::read_file(path)};
}

void run(const uint8_t *data, size_t size) {
  const std::string path = fz::write_scratch("state.safetensors", data, size);
  Run r;
  fz::expect_error_only([&] {
    (void)optim::load_training_state(path, *r.model, r.opt, &r.sched);
    r.step();
  });
}

} // namespace

PG_FUZZ_TARGET(training_state, run, seeds)
