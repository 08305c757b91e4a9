// The long-tailed view of a data set (data/long_tail.h): the CIFAR-10-LT
// counts, which images are kept, determinism, errors.
#include <cmath>
#include <set>

#include <catch2/catch.hpp>

#include <polygrad/core/error.h>
#include <polygrad/data/long_tail.h>

namespace pg = polygrad;
namespace D = polygrad::data;
using Catch::Contains;

namespace {
// n images per class c (n[c]), labels interleaved 0, 1, 2, ..., pixel = index.
D::ImageDataset fake(const std::vector<int64_t> &n) {
  D::ImageDataset d;
  d.channels = d.height = d.width = 1;
  for (size_t c = 0; c < n.size(); ++c)
    d.classes.push_back(std::to_string(c));
  std::vector<int64_t> left = n;
  for (bool any = true; any;) {
    any = false;
    for (size_t c = 0; c < n.size(); ++c)
      if (left[c] > 0) {
        --left[c];
        d.labels.push_back((int64_t)c);
        d.pixels.push_back((uint8_t)(d.n & 255));
        ++d.n;
        any = true;
      }
  }
  return d;
}
} // namespace

TEST_CASE("long tail: exponential counts are the CIFAR-10-LT protocol's", "[data]") {
  // CIFAR-10-LT at rho = 100 (Cao et al. 2019): n_c = floor(5000 * 100^(-c/9))
  const std::vector<int64_t> full(10, 5000);
  CHECK(D::long_tail_counts(full, {.imbalance = 100}) ==
        std::vector<int64_t>{5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50});
  CHECK(D::long_tail_counts(full, {.imbalance = 10}) ==
        std::vector<int64_t>{5000, 3871, 2997, 2320, 1796, 1391, 1077, 834, 645, 500});
  // rho = 1: every class at n_max, the smallest class's size by default
  CHECK(D::long_tail_counts({7, 9, 8}, {.imbalance = 1}) == std::vector<int64_t>{7, 7, 7});
  // the ratio n_0 / n_{C-1} is rho exactly when n_max / rho is an integer
  const auto n = D::long_tail_counts(full, {.imbalance = 50});
  CHECK(n.front() == 5000);
  CHECK(n.back() == 100);
  // step: half the classes keep n_max, the rest n_max / rho
  CHECK(D::long_tail_counts(full, {.imbalance = 10, .profile = D::ImbalanceProfile::Step}) ==
        std::vector<int64_t>{5000, 5000, 5000, 5000, 5000, 500, 500, 500, 500, 500});
  // at least one image per class, however large rho
  CHECK(D::long_tail_counts({10, 10, 10}, {.imbalance = 1e6}).back() == 1);
  // n_max given
  CHECK(D::long_tail_counts(full, {.imbalance = 100, .n_max = 1000}).back() == 10);
}

TEST_CASE("long tail: the kept images, deterministic per seed", "[data]") {
  const D::ImageDataset d = fake({40, 50, 45, 60});
  const D::LongTailOptions o{.imbalance = 10, .seed = 7};
  const std::vector<int64_t> idx = D::long_tail_indices(d, o);
  const std::vector<int64_t> want = D::long_tail_counts({40, 50, 45, 60}, o);
  CHECK(want == std::vector<int64_t>{40, 18, 8, 4});
  // per-class counts as asked, indices sorted and distinct
  std::vector<int64_t> got(4, 0);
  for (int64_t i : idx)
    ++got[d.labels[i]];
  CHECK(got == want);
  CHECK(std::is_sorted(idx.begin(), idx.end()));
  CHECK(std::set<int64_t>(idx.begin(), idx.end()).size() == idx.size());
  // same seed, same images; another seed, other images of the tail classes
  CHECK(D::long_tail_indices(d, o) == idx);
  CHECK(D::long_tail_indices(d, {.imbalance = 10, .seed = 8}) != idx);
  // the subset carries the right images and labels
  const D::ImageDataset lt = D::long_tail(d, o);
  REQUIRE(lt.n == (int64_t)idx.size());
  for (int64_t k = 0; k < lt.n; ++k) {
    CHECK(lt.labels[k] == d.labels[idx[k]]);
    CHECK(lt.pixels[k] == d.pixels[idx[k]]);
  }
  CHECK(D::class_counts(lt) == want);
  // the choice within a class does not depend on the other classes: with
  // class 1 smaller in the source, class 3 keeps the same images (the same
  // positions among its own images)
  auto ranks = [](const D::ImageDataset &s, const std::vector<int64_t> &ix, int64_t cls) {
    std::vector<int64_t> rank_of(s.n, -1), r;
    int64_t k = 0;
    for (int64_t i = 0; i < s.n; ++i)
      if (s.labels[i] == cls)
        rank_of[i] = k++;
    for (int64_t i : ix)
      if (s.labels[i] == cls)
        r.push_back(rank_of[i]);
    return r;
  };
  const D::LongTailOptions o30{.imbalance = 10, .seed = 7, .n_max = 30};
  const D::ImageDataset d2 = fake({40, 30, 45, 60});
  const std::vector<int64_t> idx2 = D::long_tail_indices(d2, o30);
  CHECK(ranks(d2, idx2, 3) == ranks(d, D::long_tail_indices(d, o30), 3));
  CHECK(ranks(d2, idx2, 3).size() == 3);
}

TEST_CASE("long tail: bad ratios and empty classes are errors", "[data]") {
  CHECK_THROWS_WITH(D::long_tail_counts({5, 5}, {.imbalance = 0.5}),
                    Contains("imbalance ratio must be a number >= 1"));
  CHECK_THROWS_WITH(D::long_tail_counts({5, 5}, {.imbalance = NAN}), Contains(">= 1"));
  CHECK_THROWS_WITH(D::long_tail_counts({5, 0}, {.imbalance = 2}),
                    Contains("class 1 has no images"));
  CHECK_THROWS_WITH(D::long_tail_counts({5, 5}, {.imbalance = 2, .n_max = 6}),
                    Contains("class 0 needs 6 images"));
  CHECK_THROWS_WITH(D::long_tail_counts({}, {}), Contains("no classes"));
}
