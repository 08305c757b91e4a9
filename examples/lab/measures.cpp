#include "lab/measures.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/error.h>
#include <polygrad/core/text.h>

namespace polygrad::examples::lab {

Reliability reliability(const std::vector<float> &confidence, const std::vector<uint8_t> &correct,
                        int bins) {
  PG_CHECK(bins >= 1, "reliability: bins must be >= 1, got ", bins);
  PG_CHECK(confidence.size() == correct.size(), "reliability: ", confidence.size(),
           " confidences but ", correct.size(), " correctness flags");
  Reliability r;
  r.count.assign(bins, 0);
  std::vector<double> csum(bins, 0), asum(bins, 0);
  for (size_t i = 0; i < confidence.size(); ++i) {
    const double c = confidence[i];
    // bin b holds (b/B, (b+1)/B]: ceil(c B) - 1, with c = 0 in bin 0
    const int b = std::clamp((int)std::ceil(c * bins) - 1, 0, bins - 1);
    ++r.count[b];
    csum[b] += c;
    asum[b] += correct[i] ? 1 : 0;
  }
  const double n = (double)confidence.size();
  r.confidence.assign(bins, NAN);
  r.accuracy.assign(bins, NAN);
  for (int b = 0; b < bins; ++b)
    if (r.count[b]) {
      r.confidence[b] = csum[b] / r.count[b];
      r.accuracy[b] = asum[b] / r.count[b];
      r.ece += r.count[b] / n * std::fabs(r.accuracy[b] - r.confidence[b]);
    }
  return r;
}

std::vector<Group> frequency_groups(const std::vector<int64_t> &counts) {
  const int C = (int)counts.size();
  std::vector<int> order(C);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return counts[a] > counts[b]; });
  const int third = (int)std::lround(C / 3.0);
  std::vector<Group> g(C, Group::Medium);
  for (int k = 0; k < C; ++k)
    g[order[k]] = k < third ? Group::Head : k >= C - third ? Group::Tail : Group::Medium;
  return g;
}

namespace {

// Row i of contiguous logits as softmax probabilities in double.
void softmax_row(const float *z, int64_t C, std::vector<double> &p) {
  double m = z[0];
  for (int64_t k = 1; k < C; ++k)
    m = std::max(m, (double)z[k]);
  double s = 0;
  for (int64_t k = 0; k < C; ++k)
    s += p[k] = std::exp((double)z[k] - m);
  for (int64_t k = 0; k < C; ++k)
    p[k] /= s;
}

void check_batch(const char *op, const Tensor &logits, const Tensor &labels, int64_t C) {
  PG_CHECK(logits.dim() == 2 && logits.size(1) == C, op, ": logits must be (N, ", C, "), got ",
           shape_str(logits.shape()));
  PG_CHECK(labels.dim() == 1 && labels.size(0) == logits.size(0), op, ": labels must be (",
           logits.size(0), "), got ", shape_str(labels.shape()));
}

} // namespace

Evaluation::Evaluation(std::vector<Group> groups, int bins)
    : groups_(std::move(groups)), bins_(bins), total_(groups_.size(), 0), hit_(groups_.size(), 0) {}

void Evaluation::add(const Tensor &logits_in, const Tensor &labels_in) {
  const int64_t C = (int64_t)groups_.size();
  check_batch("Evaluation::add", logits_in, labels_in, C);
  const Tensor logits = logits_in.contiguous(), labels = labels_in.contiguous();
  const float *z = logits.data<float>();
  const int64_t *y = labels.data<int64_t>();
  std::vector<double> p(C);
  for (int64_t i = 0; i < logits.size(0); ++i) {
    PG_CHECK(y[i] >= 0 && y[i] < C, "Evaluation::add: label ", y[i], " out of range 0..", C - 1);
    softmax_row(z + i * C, C, p);
    const int64_t pred = std::max_element(p.begin(), p.end()) - p.begin();
    ++total_[y[i]];
    hit_[y[i]] += pred == y[i];
    confidence_.push_back((float)p[pred]);
    correct_.push_back(pred == y[i]);
    nll_sum_ -= std::log(std::max(p[y[i]], 1e-300));
  }
}

TestMetrics Evaluation::result() const {
  TestMetrics m;
  const size_t C = groups_.size();
  const int64_t n = (int64_t)correct_.size();
  m.recall.assign(C, NAN);
  int64_t hits = 0, present = 0;
  double rsum = 0;
  m.worst_recall = NAN;
  std::array<double, 3> gsum{};
  std::array<int, 3> gcount{};
  for (size_t c = 0; c < C; ++c) {
    hits += hit_[c];
    if (!total_[c])
      continue;
    m.recall[c] = (double)hit_[c] / total_[c];
    rsum += m.recall[c];
    ++present;
    m.worst_recall =
        std::isnan(m.worst_recall) ? m.recall[c] : std::min(m.worst_recall, m.recall[c]);
    gsum[(int)groups_[c]] += m.recall[c];
    ++gcount[(int)groups_[c]];
  }
  m.accuracy = n ? (double)hits / n : NAN;
  m.balanced_accuracy = present ? rsum / present : NAN;
  for (int g = 0; g < 3; ++g)
    m.group_recall[g] = gcount[g] ? gsum[g] / gcount[g] : NAN;
  m.nll = n ? nll_sum_ / n : NAN;
  m.calibration = reliability(confidence_, correct_, bins_);
  return m;
}

std::vector<double> true_class_probability(const Tensor &logits_in, const Tensor &labels_in) {
  PG_CHECK(logits_in.dim() == 2, "true_class_probability: logits must be (N, C), got ",
           shape_str(logits_in.shape()));
  const int64_t C = logits_in.size(1);
  check_batch("true_class_probability", logits_in, labels_in, C);
  const Tensor logits = logits_in.contiguous(), labels = labels_in.contiguous();
  std::vector<double> p(C), out(logits.size(0));
  for (int64_t i = 0; i < logits.size(0); ++i) {
    const int64_t y = labels.data<int64_t>()[i];
    PG_CHECK(y >= 0 && y < C, "true_class_probability: label ", y, " out of range 0..", C - 1);
    softmax_row(logits.data<float>() + i * C, C, p);
    out[i] = p[y];
  }
  return out;
}

std::vector<double> histogram01(const std::vector<double> &v, int bins) {
  PG_CHECK(bins >= 1, "histogram01: bins must be >= 1, got ", bins);
  std::vector<double> h(bins, 0);
  for (double x : v)
    h[std::clamp((int)std::floor(x * bins), 0, bins - 1)] += 1;
  for (double &x : h)
    x /= v.empty() ? 1 : (double)v.size();
  return h;
}

std::vector<double> term_pushes(const losses::Series &s, double q, double pt, double u_norm,
                                double w, int n) {
  PG_CHECK((int)s.coefficients.size() >= n, "term_pushes: the series has ", s.coefficients.size(),
           " coefficients, ", n, " asked for");
  std::vector<double> out(n);
  for (int j = 1; j <= n; ++j) {
    // d/dPt of c_j q^(a+j-1) is -c_j (a+j-1) q^(a+j-2); times dPt/dz's length
    const double e = s.power + j - 1;
    out[j - 1] = w * s.coefficients[j - 1] * e * (e == 1 ? 1.0 : std::pow(q, e - 1)) * pt * u_norm;
  }
  return out;
}

double Anatomy::fraction(int g, int t) const {
  const double total = sum[g][kTerms + 1];
  return total != 0 ? sum[g][t] / total : NAN;
}

namespace {
std::string param(const losses::Loss &l, const std::string &key) {
  for (const auto &[k, v] : l.params)
    if (k == key)
      return v;
  return "";
}
} // namespace

AnatomyMeter::AnatomyMeter(const losses::Loss &loss, std::vector<Group> groups)
    : groups_(std::move(groups)) {
  const std::string ls = param(loss, "label_smoothing");
  if (!loss.series || (!ls.empty() && std::stod(ls) != 0))
    return;
  // the class weight parameter, as the loss was configured
  std::string wname;
  for (const losses::LossEntry &e : losses::registered_losses())
    if (e.info.name == loss.name)
      wname = losses::class_weight_parameter(e);
  Tensor w;
  if (!wname.empty())
    text::parse(param(loss, wname), w);
  if (w.defined() && param(loss, "alpha_on_poly") == "false")
    return; // the eps term is not weighted: the pushes do not share w_y
  if (w.defined()) {
    const Tensor wc = w.contiguous();
    weight_.assign(wc.data<float>(), wc.data<float>() + wc.numel());
  }
  // the same loss summed, so the gradient rows are the per-sample gradients
  std::string spec = loss.name;
  char sep = ':';
  for (const auto &[k, v] : loss.params) {
    spec += sep + k + "=" + (k == "reduction" ? std::string("sum") : v);
    sep = ',';
  }
  sum_loss_ = losses::make(spec);
  series_ = loss.series(Anatomy::kTerms);
  available_ = true;
}

void AnatomyMeter::add(const Tensor &logits_in, const Tensor &labels_in) {
  if (!available_)
    return;
  const int64_t C = (int64_t)groups_.size();
  check_batch("AnatomyMeter::add", logits_in, labels_in, C);
  Tensor z = logits_in.detach().contiguous();
  z.requires_grad_(true);
  {
    EnableGradGuard on; // measured inside no-grad regions too
    sum_loss_(z, labels_in).backward();
  }
  const Tensor g = z.grad().contiguous(), labels = labels_in.contiguous();
  const float *zp = z.data<float>(), *gp = g.data<float>();
  const int64_t *y = labels.data<int64_t>();
  std::vector<double> p(C);
  for (int64_t i = 0; i < z.size(0); ++i) {
    softmax_row(zp + i * C, C, p);
    // u = onehot(y) - p; q = sum of the other classes' p (keeps its digits as Pt -> 1)
    double q = 0, u2 = 0, gu = 0;
    for (int64_t k = 0; k < C; ++k) {
      const double u = (k == y[i]) - p[k];
      q += k == y[i] ? 0 : p[k];
      u2 += u * u;
      gu += gp[i * C + k] * u;
    }
    const double un = std::sqrt(u2);
    // the whole gradient's push along dPt/dz (it is parallel to u): -g.u / |u|
    const double total = un > 0 ? -gu / un : 0;
    const double w = weight_.empty() ? 1.0 : weight_[y[i]];
    const std::vector<double> t = term_pushes(series_, q, p[y[i]], un, w, Anatomy::kTerms);
    const int grp = groups_[y[i]] == Group::Head ? 1 : groups_[y[i]] == Group::Tail ? 2 : -1;
    for (int row : {0, grp}) {
      if (row < 0)
        continue;
      double rest = total;
      for (int j = 0; j < Anatomy::kTerms; ++j) {
        acc_.sum[row][j] += t[j];
        rest -= t[j];
      }
      acc_.sum[row][Anatomy::kTerms] += rest;
      acc_.sum[row][Anatomy::kTerms + 1] += total;
    }
    ++acc_.samples;
  }
}

} // namespace polygrad::examples::lab
