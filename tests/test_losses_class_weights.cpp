// Class weights for imbalance (losses/class_weights.h) and their use through
// the registry (weight=cb:0.999, MakeContext::class_weights).
#include <cmath>

#include <catch2/catch.hpp>

#include <polygrad/core/error.h>
#include <polygrad/core/random.h>
#include <polygrad/losses/losses.h>

namespace pg = polygrad;
namespace L = polygrad::losses;
using Catch::Contains;

namespace {
std::vector<double> values(const pg::Tensor &t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numel(); ++i)
    v.push_back(t.contiguous().data<float>()[i]);
  return v;
}
} // namespace

TEST_CASE("class weights: class-balanced and inverse frequency follow the formulas", "[losses]") {
  const std::vector<int64_t> n = {5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50};
  for (double beta : {0.0, 0.9, 0.99, 0.999, 0.9999}) {
    // w_c = (1 - beta) / (1 - beta^n_c), scaled to mean 1, computed here in long double
    std::vector<long double> raw;
    long double sum = 0;
    for (int64_t c : n) {
      const long double r =
          beta == 0 ? 1.0L
                    : (1 - (long double)beta) / (1 - std::pow((long double)beta, (long double)c));
      raw.push_back(r);
      sum += r;
    }
    const std::vector<double> w = values(L::class_balanced_weights(n, beta));
    REQUIRE(w.size() == n.size());
    for (size_t c = 0; c < n.size(); ++c)
      CHECK(w[c] == Approx((double)(raw[c] * n.size() / sum)).epsilon(1e-6));
  }
  // beta = 0: equal weights; inverse frequency: w_c = (1/n_c) * C / sum_k(1/n_k)
  for (double x : values(L::class_balanced_weights(n, 0)))
    CHECK(x == 1.0);
  const std::vector<double> inv = values(L::inverse_frequency_weights({10, 20, 40}));
  const double s = 1 / 10.0 + 1 / 20.0 + 1 / 40.0;
  CHECK(inv[0] == Approx(3 * 0.1 / s));
  CHECK(inv[1] == Approx(3 * 0.05 / s));
  CHECK(inv[2] == Approx(3 * 0.025 / s));
  // a class without examples weighs 0; the others keep mean 1
  const std::vector<double> z = values(L::inverse_frequency_weights({10, 0, 10}));
  CHECK(z == std::vector<double>{1, 0, 1});
  // by name
  CHECK(!L::class_weights("none", n).defined());
  CHECK(values(L::class_weights("cb:0.99", n)) == values(L::class_balanced_weights(n, 0.99)));
  CHECK(values(L::class_weights("inverse", n)) == values(L::inverse_frequency_weights(n)));
}

TEST_CASE("class weights: errors name the scheme and the range", "[losses]") {
  CHECK_THROWS_WITH(L::class_weights("cb:1", {1, 2}), Contains("beta must be in [0, 1)"));
  CHECK_THROWS_WITH(L::class_weights("cb:x", {1, 2}), Contains("cb:x"));
  CHECK_THROWS_WITH(L::class_weights("equal", {1, 2}), Contains("valid: none, inverse, cb:BETA"));
  CHECK_THROWS_WITH(L::inverse_frequency_weights({0, 0}), Contains("every class count is 0"));
  CHECK_THROWS_WITH(L::inverse_frequency_weights({-1, 2}), Contains("negative count"));
}

TEST_CASE("class weights: through the registry, for weight and focal's alpha", "[losses]") {
  const std::vector<int64_t> counts = {30, 10, 5};
  const pg::Tensor cb = L::class_balanced_weights(counts, 0.99);
  pg::manual_seed(3);
  const pg::Tensor x = pg::randn({6, 3});
  const pg::Tensor y = pg::from_labels({0, 1, 2, 2, 1, 0});
  // in the spec
  const float a = L::make("ce:weight=cb:0.99", {.class_counts = counts})(x, y).item();
  const float b = L::cross_entropy(x, y, {.weight = cb}).item();
  CHECK(a == b);
  // from the context, for the loss's own weight parameter
  const float c =
      L::make("focal:gamma=2", {.class_counts = counts, .class_weights = "cb:0.99"})(x, y).item();
  CHECK(c == L::focal_loss(x, y, {.gamma = 2, .alpha = cb}).item());
  const float d =
      L::make("poly1:epsilon=1", {.class_counts = counts, .class_weights = "inverse"})(x, y).item();
  CHECK(d ==
        L::poly1_cross_entropy(x, y, {.epsilon = 1, .weight = L::inverse_frequency_weights(counts)})
            .item());
  // a spec's own weights win over the context's scheme
  const float e =
      L::make("ce:weight=1;1;1", {.class_counts = counts, .class_weights = "inverse"})(x, y).item();
  CHECK(e == L::cross_entropy(x, y).item());
  // errors
  CHECK_THROWS_WITH(L::make("ce:weight=cb:0.99"), Contains("needs the class counts"));
  CHECK_THROWS_WITH(L::make("mse", {.class_counts = counts, .class_weights = "inverse"}),
                    Contains("has no per-class weight parameter"));
  CHECK_THROWS_WITH(L::make("ce", {.class_counts = counts, .class_weights = "cb:2"}),
                    Contains("beta must be in [0, 1)"));
}
