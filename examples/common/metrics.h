// Classification metrics for the training programs: a confusion matrix,
// per-class accuracy, and a CSV log of per-epoch figures.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <polygrad/core/tensor.h>

namespace polygrad::examples {

class ConfusionMatrix {
public:
  explicit ConfusionMatrix(int num_classes);
  // logits (N, C) or predictions, labels (N) int64.
  void add(const Tensor &logits, const Tensor &labels);
  // Makes this the matrix of every rank's samples: `sum` sums a vector over
  // the ranks in place (Cluster::sum, common/cluster.h).
  void reduce(const std::function<void(std::vector<double> &)> &sum);
  double accuracy() const;
  double class_accuracy(int c) const; // recall of class c
  int64_t total() const { return total_; }
  int64_t at(int truth, int pred) const { return m_[truth * k_ + pred]; }
  // Rows = true class, columns = predicted; with per-class accuracy.
  std::string format(const std::vector<std::string> &class_names = {}) const;

private:
  int k_;
  std::vector<int64_t> m_;
  int64_t total_ = 0, correct_ = 0;
};

struct EpochRecord {
  int epoch;
  double train_loss, train_acc, test_loss, test_acc, lr, seconds, images_per_sec;
};

// Writes metrics.csv (header + one row per epoch).
void write_metrics_csv(const std::string &path, const std::vector<EpochRecord> &rows);

} // namespace polygrad::examples
