// The training driver shared by mnist_train and cifar10_train: flags, data,
// model, loss (from the registry), optimizer, schedule, the epoch loop with a
// progress bar, evaluation, metrics.csv, curves.png, the confusion matrix and
// the checkpoint. Each program only sets its defaults.
#pragma once

#include <string>
#include <vector>

namespace polygrad::examples {

struct TrainDefaults {
  std::string program, summary;
  std::vector<std::string> models; // valid --model values; the first is the default
  std::string data_dir;            // default --data ("" = required)
  std::string optimizer = "adam";
  double lr = 1e-3, momentum = 0.9, weight_decay = 0;
  bool nesterov = false;
  int epochs = 4, batch_size = 128;
  std::string schedule = "none"; // none | cosine | step
  int warmup_epochs = 0;
  bool augment = false; // default --augment on: crop-flip for colour, affine for grey
  std::string out_dir;
};

// Parses argv (exits 2 with the usage on a bad flag), checks that --out and
// --save are writable and that the data fits the model, trains, evaluates
// and writes the outputs. Returns the process exit status; other errors
// throw (run it under run_program, common/program.h).
int run_training(const TrainDefaults &defaults, int argc, char **argv);

} // namespace polygrad::examples
