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
#pragma once

#include <string>

#include <polygrad/optim/lr_scheduler.h>
#include <polygrad/optim/optimizer.h>

namespace polygrad::optim {

void save(const Optimizer &opt, const std::string &path, const LRScheduler *sched = nullptr);
// Errors name the file. If `sched` is given the file must hold its state.
void load(Optimizer &opt, const std::string &path, LRScheduler *sched = nullptr);

} // namespace polygrad::optim
