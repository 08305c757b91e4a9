// The pieces of a training run that the programs share (mnist_train,
// cifar10_train, loss_lab): the optimizer and schedule by name, and the
// DataLoader options for an augmentation name.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <polygrad/data/dataloader.h>
#include <polygrad/losses/registry.h>
#include <polygrad/nn/module.h>
#include <polygrad/optim/lr_scheduler.h>
#include <polygrad/optim/optimizer.h>

namespace polygrad::examples {

// name: sgd | adam | adamw.
std::unique_ptr<optim::Optimizer> make_optimizer(const std::string &name,
                                                 const std::vector<Tensor> &params, double lr,
                                                 double momentum, double weight_decay,
                                                 bool nesterov);
// Stepped once per batch: schedule none | cosine (to 0 over the steps after
// warmup) | step (x0.1 at each third), after `warmup` steps of linear warmup
// from 0.1 lr. Null when there is nothing to schedule.
std::shared_ptr<optim::LRScheduler>
make_schedule(optim::Optimizer &opt, const std::string &schedule, int64_t steps, int64_t warmup);

// Training (shuffled, augmented) and evaluation (in order, batch 500) loader
// options for images with `channels` channels: the data set's usual
// normalisation; augment = on | off | crop-flip | affine (on: crop-flip for
// colour, affine for grey).
std::pair<data::DataLoaderOptions, data::DataLoaderOptions>
loader_options(int64_t channels, std::string augment, int64_t batch_size);

// Where a training step is, for the message when its loss is not finite.
struct StepPlace {
  long epoch = 0, step = 0, steps_per_epoch = 0; // 0-based epoch and step
  std::string hint;                              // appended to the message
};
struct StepResult {
  Tensor logits;
  float loss = 0;      // the batch's loss value
  int64_t correct = 0; // argmax(logits) == label
};
// One optimisation step on a batch: forward, loss, zero_grad, backward,
// optimizer step, schedule step. A non-finite loss throws polygrad::Error
// before anything reaches the weights ("the training loss is nan at epoch
// 2, step 3 of 16 (optimizer step 19)" + place.hint).
StepResult train_step(nn::Module &model, const losses::Loss &loss, optim::Optimizer &opt,
                      optim::LRScheduler *sched, const data::Batch &batch, const StepPlace &place);

} // namespace polygrad::examples
