// Helpers of the distributed tests: data, slicing, comparisons.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

#include <polygrad/core/random.h>
#include <polygrad/core/tensor.h>
#include <polygrad/data/dataset.h>
#include <polygrad/distributed.h>
#include <polygrad/nn/module.h>

// A case that means something only in some groups (2+ ranks, say) returns
// early elsewhere, saying so; the 2-rank ctest runs every case in full.
#define PG_NEEDS(cond, what)                                                                       \
  if (!(cond)) {                                                                                   \
    WARN("this case needs " what "; not run in a group of " << pgt::world());                      \
    return;                                                                                        \
  }

namespace pgt {

namespace pg = polygrad;
namespace dist = polygrad::distributed;

inline int rank() { return dist::rank(); }
inline int world() { return dist::world_size(); }

// Rows [r b, (r + 1) b) of a global batch of N b rows: rank r's slice.
inline pg::Tensor my_slice(const pg::Tensor &global) {
  const int64_t b = global.size(0) / world();
  return global.narrow(0, rank() * b, b).contiguous();
}

// max |a - b| / max |b| (0 when both are zero).
inline double rel_diff(const pg::Tensor &a, const pg::Tensor &b) {
  const auto va = a.contiguous().to_vector(), vb = b.contiguous().to_vector();
  double num = 0, den = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    num = std::max(num, (double)std::fabs(va[i] - vb[i]));
    den = std::max(den, (double)std::fabs(vb[i]));
  }
  return den == 0 ? num : num / den;
}

// The largest rel_diff over the parameters (or their gradients) of two
// models of the same architecture.
inline double max_param_diff(const pg::nn::Module &a, const pg::nn::Module &b, bool grads) {
  const auto pa = a.parameters(), pb = b.parameters();
  double worst = 0;
  for (size_t i = 0; i < pa.size(); ++i)
    worst = std::max(worst, grads ? rel_diff(pa[i].grad(), pb[i].grad()) : rel_diff(pa[i], pb[i]));
  return worst;
}

// ||a - b|| / ||b|| over all parameters of two models (L2).
inline double l2_param_diff(const pg::nn::Module &a, const pg::nn::Module &b) {
  const auto pa = a.parameters(), pb = b.parameters();
  double num = 0, den = 0;
  for (size_t i = 0; i < pa.size(); ++i) {
    const auto va = pa[i].contiguous().to_vector(), vb = pb[i].contiguous().to_vector();
    for (size_t j = 0; j < va.size(); ++j) {
      num += (double(va[j]) - vb[j]) * (double(va[j]) - vb[j]);
      den += double(vb[j]) * vb[j];
    }
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

// n random images (c x h x w bytes) with labels 0..9, the same on every rank.
inline pg::data::ImageDataset random_images(int64_t n, int64_t c, int64_t h, int64_t w,
                                            uint64_t seed) {
  pg::data::ImageDataset d;
  d.n = n, d.channels = c, d.height = h, d.width = w;
  d.pixels.resize(size_t(n * c * h * w));
  uint64_t s = seed;
  for (auto &p : d.pixels) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    p = uint8_t(s >> 56);
  }
  for (int64_t i = 0; i < n; ++i)
    d.labels.push_back((i * 7 + int64_t(seed)) % 10);
  for (int k = 0; k < 10; ++k)
    d.classes.push_back(std::to_string(k));
  d.source = "random_images";
  return d;
}

} // namespace pgt
