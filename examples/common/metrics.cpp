#include "common/metrics.h"

#include <cstdio>
#include <fstream>

namespace polygrad::examples {

ConfusionMatrix::ConfusionMatrix(int k) : k_(k), m_((size_t)k * k, 0) {}

void ConfusionMatrix::add(const Tensor &logits, const Tensor &labels) {
  const std::vector<int64_t> pred = logits.argmax(1).to_vector<int64_t>();
  const std::vector<int64_t> y = labels.to_vector<int64_t>();
  PG_CHECK(pred.size() == y.size(), "ConfusionMatrix: ", pred.size(), " predictions for ", y.size(),
           " labels");
  for (size_t i = 0; i < y.size(); ++i) {
    PG_CHECK(y[i] >= 0 && y[i] < k_ && pred[i] < k_, "ConfusionMatrix: label ", y[i],
             " out of range for ", k_, " classes");
    m_[y[i] * k_ + pred[i]]++;
    correct_ += y[i] == pred[i];
    total_++;
  }
}

void ConfusionMatrix::reduce(const std::function<void(std::vector<double> &)> &sum) {
  std::vector<double> v(m_.begin(), m_.end()); // counts stay exact in double below 2^53
  sum(v);
  total_ = correct_ = 0;
  for (size_t i = 0; i < m_.size(); ++i) {
    m_[i] = int64_t(v[i]);
    total_ += m_[i];
    if (int(i) / k_ == int(i) % k_)
      correct_ += m_[i];
  }
}

double ConfusionMatrix::accuracy() const { return total_ ? double(correct_) / total_ : 0.0; }

double ConfusionMatrix::class_accuracy(int c) const {
  int64_t row = 0;
  for (int j = 0; j < k_; ++j)
    row += m_[c * k_ + j];
  return row ? double(m_[c * k_ + c]) / row : 0.0;
}

std::string ConfusionMatrix::format(const std::vector<std::string> &names) const {
  auto name = [&](int c) {
    std::string n = c < (int)names.size() ? names[c] : std::to_string(c);
    return n.size() > 10 ? n.substr(0, 10) : n;
  };
  std::string s = "confusion matrix (rows: true class, columns: predicted)\n";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%11s", "");
  s += buf;
  for (int j = 0; j < k_; ++j) {
    std::snprintf(buf, sizeof buf, " %6s", name(j).substr(0, 6).c_str());
    s += buf;
  }
  s += "   accuracy\n";
  for (int i = 0; i < k_; ++i) {
    std::snprintf(buf, sizeof buf, "%10s ", name(i).c_str());
    s += buf;
    for (int j = 0; j < k_; ++j) {
      std::snprintf(buf, sizeof buf, " %6lld", (long long)m_[i * k_ + j]);
      s += buf;
    }
    std::snprintf(buf, sizeof buf, "   %6.2f%%\n", 100.0 * class_accuracy(i));
    s += buf;
  }
  std::snprintf(buf, sizeof buf, "overall accuracy: %.2f%% (%lld/%lld)\n", 100.0 * accuracy(),
                (long long)correct_, (long long)total_);
  return s + buf;
}

void write_metrics_csv(const std::string &path, const std::vector<EpochRecord> &rows) {
  std::ofstream f(path);
  PG_CHECK(f.good(), "write_metrics_csv: cannot write ", path);
  f << "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds,images_per_sec\n";
  for (const auto &r : rows)
    f << r.epoch << "," << r.train_loss << "," << r.train_acc << "," << r.test_loss << ","
      << r.test_acc << "," << r.lr << "," << r.seconds << "," << r.images_per_sec << "\n";
  PG_CHECK(f.good(), "write_metrics_csv: error writing ", path);
}

} // namespace polygrad::examples
