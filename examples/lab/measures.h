// What the loss lab measures on a trained classifier and during training.
// Every formula is in docs/loss-lab.md; p = softmax(z) of a sample's logits z,
// y its label, Pt = p_y, q = 1 - Pt.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <polygrad/core/tensor.h>
#include <polygrad/losses/registry.h>

namespace polygrad::examples::lab {

// ----- calibration -----
// Bins b = 0..B-1 of the confidence c = max_k p_k cover (b/B, (b+1)/B] (c = 0
// falls in bin 0). Per bin: the number of samples, their mean confidence and
// accuracy (NaN when empty). Expected calibration error (Guo et al. 2017):
//   ECE = sum_b (n_b / N) |acc_b - conf_b|
struct Reliability {
  std::vector<int64_t> count;
  std::vector<double> confidence, accuracy;
  double ece = 0;
};
Reliability reliability(const std::vector<float> &confidence, const std::vector<uint8_t> &correct,
                        int bins = 15);

// ----- head / medium / tail -----
// Classes ranked by training count (most frequent first, ties by label): the
// first round(C/3) are the head, the last round(C/3) the tail, the rest medium.
enum class Group { Head = 0, Medium = 1, Tail = 2 };
std::vector<Group> frequency_groups(const std::vector<int64_t> &train_counts);

// ----- test-set metrics -----
struct TestMetrics {
  double accuracy = 0;                  // top-1
  double balanced_accuracy = 0;         // mean over classes of the recall
  double worst_recall = 0;              // min over classes
  double nll = 0;                       // mean of -log p_y
  std::vector<double> recall;           // per class (NaN if the class has no test sample)
  std::array<double, 3> group_recall{}; // mean recall of head, medium, tail classes
  Reliability calibration;
};

// Accumulates batches of logits (N, C) and labels (N); C = groups.size().
class Evaluation {
public:
  explicit Evaluation(std::vector<Group> groups, int bins = 15);
  void add(const Tensor &logits, const Tensor &labels);
  TestMetrics result() const;

private:
  std::vector<Group> groups_;
  int bins_;
  std::vector<int64_t> total_, hit_;
  std::vector<float> confidence_;
  std::vector<uint8_t> correct_;
  double nll_sum_ = 0;
};

// Pt = softmax(z)_y for every row of logits (N, C), labels (N), in double.
std::vector<double> true_class_probability(const Tensor &logits, const Tensor &labels);
// Histogram of values in [0, 1] over `bins` equal bins, as fractions of the count.
std::vector<double> histogram01(const std::vector<double> &v, int bins);

// ----- gradient anatomy -----
// For a loss of Pt alone with the expansion L = sum_j c_j q^(a+j-1)
// (losses::Series), the gradient with respect to the logits is a sum of one
// vector per term, all along dPt/dz = Pt (onehot(y) - p):
//   -dL/dz = sum_j c_j (a+j-1) q^(a+j-2) dPt/dz
// Term j's push on a sample (the length of its share of the gradient, signed
// + when it raises Pt) is
//   push_j = w_y c_j (a+j-1) q^(a+j-2) Pt ||onehot(y) - p||
// with w_y the label's class weight; the pushes of all terms sum to the
// length of the whole gradient (for q < 1 the series converges).
// term_pushes returns push_1 .. push_n.
std::vector<double> term_pushes(const losses::Series &series, double q, double pt,
                                double direction_norm, double weight, int n);

// Sums over the training samples seen: rows all / head / tail classes;
// columns term 1, term 2, term 3, the rest, and the whole gradient.
struct Anatomy {
  static constexpr int kTerms = 3;
  std::array<std::array<double, kTerms + 2>, 3> sum{};
  int64_t samples = 0;
  // share of the gradient from column t for row g (0 all, 1 head, 2 tail)
  double fraction(int g, int t) const;
};

// Measures a loss's gradient anatomy on batches: `loss` is the configured
// loss (with its class weights); the whole gradient comes from the loss's own
// backward (at reduction=sum), the terms from its series. available() is
// false (and add() does nothing) for a loss that is not a function of Pt
// alone: no series, label smoothing, or Poly-1 focal's eps term left
// unweighted (alpha_on_poly=false) under class weights.
class AnatomyMeter {
public:
  AnatomyMeter(const losses::Loss &loss, std::vector<Group> groups);
  bool available() const { return available_; }
  void add(const Tensor &logits, const Tensor &labels); // logits are detached inside
  const Anatomy &result() const { return acc_; }
  void reset() { acc_ = {}; }

private:
  bool available_ = false;
  losses::Loss sum_loss_; // the same loss at reduction=sum
  losses::Series series_;
  std::vector<float> weight_; // per class (empty: 1)
  std::vector<Group> groups_;
  Anatomy acc_;
};

} // namespace polygrad::examples::lab
