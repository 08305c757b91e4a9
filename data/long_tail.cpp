#include <polygrad/data/long_tail.h>

#include <algorithm>
#include <cmath>

#include <polygrad/core/error.h>
#include <polygrad/data/batch.h>

namespace polygrad::data {

std::vector<int64_t> long_tail_counts(const std::vector<int64_t> &available,
                                      const LongTailOptions &o) {
  const int64_t C = (int64_t)available.size();
  PG_CHECK(C >= 1, "long_tail: the data set has no classes");
  PG_CHECK(std::isfinite(o.imbalance) && o.imbalance >= 1,
           "long_tail: the imbalance ratio must be a number >= 1 (1 = balanced), got ",
           o.imbalance);
  const int64_t smallest = *std::min_element(available.begin(), available.end());
  for (int64_t c = 0; c < C; ++c)
    PG_CHECK(available[c] > 0, "long_tail: class ", c,
             " has no images; a long-tailed view needs every class");
  const int64_t n_max = o.n_max > 0 ? o.n_max : smallest;
  std::vector<int64_t> n(C);
  for (int64_t c = 0; c < C; ++c) {
    double v;
    if (o.profile == ImbalanceProfile::Exp)
      // n_max * rho^(-c / (C - 1)); a single class keeps n_max
      v = C == 1 ? (double)n_max
                 : (double)n_max * std::pow(o.imbalance, -(double)c / double(C - 1));
    else
      v = c < C / 2 ? (double)n_max : (double)n_max / o.imbalance;
    // floor, with a hair of slack so rho = 10 gives exactly n_max / 10 when
    // pow's last bit falls below the integer
    n[c] = std::max<int64_t>(1, (int64_t)std::floor(v * (1 + 1e-12)));
    PG_CHECK(n[c] <= available[c], "long_tail: class ", c, " needs ", n[c],
             " images (n_max = ", n_max, ", rho = ", o.imbalance, ") but has only ", available[c]);
  }
  return n;
}

std::vector<int64_t> long_tail_indices(const ImageDataset &d, const LongTailOptions &o) {
  const int64_t C = d.num_classes();
  std::vector<std::vector<int64_t>> by_class(C);
  for (int64_t i = 0; i < d.n; ++i) {
    const int64_t y = d.labels[i];
    PG_CHECK(y >= 0 && y < C, d.source, ": label ", y, " of image ", i,
             " is out of range, valid labels are 0..", C - 1);
    by_class[y].push_back(i);
  }
  std::vector<int64_t> available(C);
  for (int64_t c = 0; c < C; ++c)
    available[c] = (int64_t)by_class[c].size();
  const std::vector<int64_t> n = long_tail_counts(available, o);
  std::vector<int64_t> keep;
  for (int64_t c = 0; c < C; ++c) {
    // one independent stream per class: the choice within class c does not
    // depend on the other classes' sizes
    shuffle(by_class[c], sample_seed(o.seed, 0x4c545649 /* "LTVI" */, c));
    keep.insert(keep.end(), by_class[c].begin(), by_class[c].begin() + n[c]);
  }
  std::sort(keep.begin(), keep.end());
  return keep;
}

ImageDataset long_tail(const ImageDataset &d, const LongTailOptions &o) {
  return subset(d, long_tail_indices(d, o));
}

} // namespace polygrad::data
