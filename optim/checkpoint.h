// Saving and resuming an optimizer (and optionally its lr scheduler) in the
// safetensors format of io/safetensors.h: the tensors are the optimizer's
// state buffers ("state.<i>.exp_avg", ...), the metadata its param groups'
// hyper-parameters ("param_groups.<g>.lr", ...), the scheduler's state under
// "scheduler." (see Optimizer::state_dict and LRScheduler::state_dict).
// Writes are atomic; loads are validated completely before the optimizer or
// scheduler changes.
//
//   nn::save(model, "ckpt/model.safetensors");
//   optim::save(opt, "ckpt/optim.safetensors", &sched);
//   ... later, after building the same model, optimizer and scheduler:
//   nn::load(model, "ckpt/model.safetensors");
//   optim::load(opt, "ckpt/optim.safetensors", &sched);
//
// The whole state of a training run, for an exact resume, is one file:
//
//   optim::TrainingState st{.epoch = e + 1, .step = steps, .data_seed = loader.seed()};
//   optim::save_training_state("ckpt.safetensors", model, opt, &sched, st);
//   ... a new process, after building the same model, optimizer, scheduler
//   and loader the same way:
//   optim::TrainingState st = optim::load_training_state("ckpt.safetensors", model, opt, &sched);
//   for (int64_t e = st.epoch; e < epochs; ++e) { loader.set_epoch(e); ... }
#pragma once

#include <cstdint>
#include <string>

#include <polygrad/nn/module.h>
#include <polygrad/optim/lr_scheduler.h>
#include <polygrad/optim/optimizer.h>

namespace polygrad::optim {

void save(const Optimizer &opt, const std::string &path, const LRScheduler *sched = nullptr);
// Errors name the file. If `sched` is given the file must hold its state.
void load(Optimizer &opt, const std::string &path, LRScheduler *sched = nullptr);

// Where a training run is, besides its model, optimizer, scheduler and the
// global RNG (core/random.h), which save_training_state takes itself.
struct TrainingState {
  int64_t epoch = 0;      // epochs completed: training continues with this one
  int64_t step = 0;       // optimizer steps taken
  uint64_t data_seed = 0; // the training DataLoader's seed(): with `epoch`, the data
                          // order and augmentation from here on (data/dataloader.h)
  Metadata extra;         // the program's own: its settings, metrics history, ...
};

// Writes, atomically, one safetensors file with the model's state dict
// ("model.*"), the optimizer's and the scheduler's ("optim.*",
// "optim.scheduler.*"), get_rng_state() ("rng_state"), `state`'s numbers
// (metadata "training.*") and `state.extra` (metadata "extra.*").
void save_training_state(const std::string &path, const nn::Module &model, const Optimizer &opt,
                         const LRScheduler *sched, const TrainingState &state);
// Reads such a file and restores all of it: the model, the optimizer, the
// scheduler (given iff the file has one), the global RNG; returns the rest.
// Everything is validated first (a file of another kind, another model or
// optimizer is an Error naming the file and the part): on error nothing
// changes.
TrainingState load_training_state(const std::string &path, nn::Module &model, Optimizer &opt,
                                  LRScheduler *sched);

} // namespace polygrad::optim
