#include "common/setup.h"

#include <cmath>

#include <polygrad/optim/adam.h>
#include <polygrad/optim/adamw.h>
#include <polygrad/optim/sgd.h>

namespace polygrad::examples {

std::unique_ptr<optim::Optimizer> make_optimizer(const std::string &name,
                                                 const std::vector<Tensor> &params, double lr,
                                                 double momentum, double wd, bool nesterov) {
  if (name == "sgd")
    return std::make_unique<optim::SGD>(
        params, optim::SGDOptions{
                    .lr = lr, .momentum = momentum, .weight_decay = wd, .nesterov = nesterov});
  if (name == "adam")
    return std::make_unique<optim::Adam>(params, optim::AdamOptions{.lr = lr, .weight_decay = wd});
  if (name == "adamw")
    return std::make_unique<optim::AdamW>(params,
                                          optim::AdamWOptions{.lr = lr, .weight_decay = wd});
  throw Error("unknown optimizer '" + name + "'; valid: sgd, adam, adamw");
}

std::shared_ptr<optim::LRScheduler>
make_schedule(optim::Optimizer &opt, const std::string &schedule, int64_t steps, int64_t warm) {
  std::shared_ptr<optim::LRScheduler> sched;
  if (schedule == "cosine")
    sched = std::make_shared<optim::CosineAnnealingLR>(
        opt, optim::CosineAnnealingLROptions{.T_max = std::max<int64_t>(1, steps - warm)});
  else if (schedule == "step")
    sched = std::make_shared<optim::StepLR>(
        opt, optim::StepLROptions{.step_size = std::max<int64_t>(1, (steps - warm) / 3)});
  else if (schedule != "none")
    throw Error("unknown schedule '" + schedule + "'; valid: none, cosine, step");
  if (warm > 0) {
    if (!sched)
      sched = std::make_shared<optim::LinearLR>(
          opt, optim::LinearLROptions{.start_factor = 1.0, .end_factor = 1.0, .total_iters = 1});
    sched = std::make_shared<optim::LinearWarmup>(opt, sched, warm, 0.1);
  }
  return sched;
}

std::pair<data::DataLoaderOptions, data::DataLoaderOptions>
loader_options(int64_t channels, std::string aug, int64_t batch_size) {
  const bool rgb = channels == 3;
  data::DataLoaderOptions to;
  to.batch_size = batch_size;
  to.shuffle = true;
  to.mean = rgb ? data::kCifar10Mean : data::kMnistMean;
  to.std = rgb ? data::kCifar10Std : data::kMnistStd;
  if (aug == "on")
    aug = rgb ? "crop-flip" : "affine";
  if (aug == "crop-flip") {
    to.random_crop_padding = 4;
    to.random_flip = true;
  } else if (aug == "affine") {
    to.random_rotation = 10.f;
    to.random_translate = 0.08f; // about 2 pixels of a 28x28 digit
  } else if (aug != "off") {
    throw Error("unknown augmentation '" + aug + "'; valid: on, off, crop-flip, affine");
  }
  data::DataLoaderOptions eo = to;
  eo.shuffle = false;
  eo.random_crop_padding = 0;
  eo.random_flip = false;
  eo.random_rotation = 0.f;
  eo.random_translate = 0.f;
  eo.batch_size = 500;
  return {to, eo};
}

StepResult train_step(nn::Module &model, const losses::Loss &loss, optim::Optimizer &opt,
                      optim::LRScheduler *sched, const data::Batch &b, const StepPlace &at) {
  StepResult r;
  r.logits = model(b.images);
  Tensor l = loss(r.logits, b.labels);
  r.loss = l.item();
  // Stop before a non-finite loss reaches the weights (and every later
  // epoch): say where, and how to find the op that produced it.
  if (!std::isfinite(r.loss)) [[unlikely]] {
    std::string m = "the training loss is ";
    m += std::to_string(r.loss);
    m += " at epoch ";
    m += std::to_string(at.epoch + 1);
    m += ", step ";
    m += std::to_string(at.step + 1);
    m += " of ";
    m += std::to_string(at.steps_per_epoch);
    m += " (optimizer step ";
    m += std::to_string(at.epoch * at.steps_per_epoch + at.step + 1);
    m += ")";
    m += at.hint;
    throw Error(m);
  }
  opt.zero_grad();
  l.backward();
  opt.step();
  if (sched)
    sched->step();
  r.correct = (int64_t)(r.logits.argmax(1) == b.labels).sum().item();
  return r;
}

} // namespace polygrad::examples
