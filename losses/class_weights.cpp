#include <polygrad/losses/class_weights.h>

#include <cmath>

#include <polygrad/core/error.h>
#include <polygrad/core/text.h>

namespace polygrad::losses {

namespace {

// raw[c] -> raw[c] * (#classes with examples) / sum(raw), 0 where n_c = 0.
Tensor normalised(const std::vector<int64_t> &counts, const std::vector<double> &raw,
                  const char *op) {
  PG_CHECK(!counts.empty(), op, ": no class counts given");
  double sum = 0;
  int64_t present = 0;
  for (size_t c = 0; c < counts.size(); ++c) {
    PG_CHECK(counts[c] >= 0, op, ": class ", c, " has a negative count ", counts[c]);
    if (counts[c] > 0) {
      sum += raw[c];
      ++present;
    }
  }
  PG_CHECK(present > 0, op, ": every class count is 0");
  Tensor w = Tensor::empty({(int64_t)counts.size()});
  float *p = w.data<float>();
  for (size_t c = 0; c < counts.size(); ++c)
    p[c] = counts[c] > 0 ? (float)(raw[c] * (double)present / sum) : 0.f;
  return w;
}

} // namespace

Tensor inverse_frequency_weights(const std::vector<int64_t> &counts) {
  std::vector<double> raw(counts.size());
  for (size_t c = 0; c < counts.size(); ++c)
    raw[c] = counts[c] > 0 ? 1.0 / (double)counts[c] : 0.0;
  return normalised(counts, raw, "inverse_frequency_weights");
}

Tensor class_balanced_weights(const std::vector<int64_t> &counts, double beta) {
  PG_CHECK(beta >= 0 && beta < 1, "class_balanced_weights: beta must be in [0, 1), got ", beta);
  std::vector<double> raw(counts.size());
  for (size_t c = 0; c < counts.size(); ++c)
    // (1 - beta) / (1 - beta^n) = 1 / E_n; -expm1(n log beta) keeps its digits
    // when beta^n is close to 1 (beta = 0.9999, small n)
    raw[c] = counts[c] > 0
                 ? (beta == 0 ? 1.0 : (1 - beta) / -std::expm1((double)counts[c] * std::log(beta)))
                 : 0.0;
  return normalised(counts, raw, "class_balanced_weights");
}

bool is_class_weight_scheme(const std::string &text) {
  return text == "inverse" || text.rfind("cb:", 0) == 0;
}

Tensor class_weights(const std::string &scheme, const std::vector<int64_t> &counts) {
  if (scheme == "none")
    return {};
  if (scheme == "inverse")
    return inverse_frequency_weights(counts);
  if (scheme.rfind("cb:", 0) == 0) {
    double beta = 0;
    try {
      text::parse(scheme.substr(3), beta);
    } catch (const Error &e) {
      throw Error("class weights '" + scheme + "': beta must be a number in [0, 1): " + e.what());
    }
    return class_balanced_weights(counts, beta);
  }
  throw Error("class weights: unknown scheme '" + scheme +
              "'; valid: none, inverse, cb:BETA (e.g. cb:0.999)");
}

} // namespace polygrad::losses
