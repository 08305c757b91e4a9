// One run of the loss lab: a model trained with one loss spec and one seed on
// a (possibly long-tailed) training set, with everything the lab measures.
// Runs are independent processes (loss_lab --run CONFIG.json): a crash loses
// one run, and two runs side by side use both cores.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lab/measures.h"

namespace polygrad::examples::lab {

struct RunConfig {
  std::string spec;                   // registry spec, e.g. "poly1:epsilon=2"
  uint64_t seed = 0;                  // init, shuffling, augmentation, dropout
  double imbalance = 1;               // rho (1: the training set as loaded)
  std::string profile = "exp";        // exp | step
  uint64_t data_seed = 0;             // which images the long-tailed view keeps
  std::string class_weights = "none"; // none | inverse | cb:BETA
  std::string model = "cnn", data, optimizer = "adam", schedule = "cosine", augment = "on";
  int epochs = 12, batch_size = 128, warmup_epochs = 1, threads = 1;
  double lr = 2e-3, weight_decay = 0;
  int64_t limit_train = 0, limit_test = 0; // 0: all
  // A file-name-safe, readable id, unique within a grid.
  std::string id() const;
};
void to_json(nlohmann::json &j, const RunConfig &c);
void from_json(const nlohmann::json &j, RunConfig &c);

struct EpochLog {
  double train_loss = 0, train_acc = 0, test_acc = 0, test_nll = 0, seconds = 0;
  std::vector<double> pt_hist;                    // Pt on the training set, 20 bins over [0, 1]
  std::array<double, 3> mean_pt{};                // mean Pt: all, head, tail training samples
  std::array<std::array<double, 5>, 3> anatomy{}; // Anatomy::fraction, rows all/head/tail
};

struct RunResult {
  RunConfig config;
  std::string describe; // the loss as made (with its weights)
  std::vector<int64_t> train_counts;
  std::vector<int> groups; // 0 head, 1 medium, 2 tail, per class
  bool anatomy_available = false;
  std::vector<EpochLog> epochs;
  TestMetrics test;
  double seconds = 0;
};
void to_json(nlohmann::json &j, const RunResult &r);
void from_json(const nlohmann::json &j, RunResult &r);

// Text files of the lab: written atomically (io::AtomicFile: a reader sees
// the old file or the whole new one, so an interrupted grid never leaves a
// half-written result), read whole (polygrad::Error naming the file).
void write_text_file(const std::string &path, const std::string &text);
std::string read_text_file(const std::string &path);

// Trains and measures; `progress(epoch, step, steps_per_epoch)` after each step.
RunResult run_one(const RunConfig &config,
                  const std::function<void(int, int64_t, int64_t)> &progress = {});

} // namespace polygrad::examples::lab
