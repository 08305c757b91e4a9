// [core] Reductions over every dim (and dim sets), with and without keepdim,
// against a naive double-precision reference; softmax/log_softmax including
// large logits; the empty / 0-d corner cases.
#include <cmath>

#include "test_core_util.h"

namespace pg = polygrad;
using Catch::Contains;
using pg::Shape;
using pg::Tensor;
using tu::Red;

TEST_CASE("sum/mean/max/min/argmax/logsumexp over each dim, keepdim or not", "[core]") {
  // Shapes with size-1 dims, odd sizes, and one long enough for the
  // parallel / vectorised paths (1100x500 >= 4 grains: column sums split
  // their rows across threads).
  const std::vector<Shape> shapes = {{7}, {3, 5}, {2, 3, 4}, {4, 1, 3}, {2, 3, 1, 5}, {1100, 500}};
  for (const Shape &s : shapes) {
    Tensor base = tu::distinct(s, 7);
    // Also a transposed (non-contiguous) input with the same shape.
    Shape rs(s.rbegin(), s.rend());
    Tensor nc = tu::distinct(rs, 8);
    Shape perm;
    for (int64_t d = (int64_t)s.size() - 1; d >= 0; --d)
      perm.push_back(d);
    nc = nc.permute(perm);
    for (const Tensor &a : {base, nc}) {
      // Negative dims on the small shapes only (the big one is there for the
      // parallel paths, and each call forks threads).
      const bool big = pg::shape_numel(s) > 10000;
      for (int64_t d = big ? 0 : -(int64_t)s.size(); d < (int64_t)s.size(); ++d)
        for (bool keep : {false, true}) {
          INFO("shape " << pg::shape_str(s) << " dim " << d << " keepdim " << keep << " contiguous "
                        << a.is_contiguous());
          auto chk = [&](const Tensor &got, Red op, double rtol) {
            const Tensor want = tu::naive_reduce(a, {d}, keep, op);
            tu::require_tensor(got, want.shape(), want.to_vector(), rtol, 1e-4);
          };
          chk(a.sum({d}, keep), Red::Sum, 1e-5);
          chk(a.mean({d}, keep), Red::Mean, 1e-5);
          chk(a.max(d, keep), Red::Max, 0);
          chk(a.min(d, keep), Red::Min, 0);
          chk(a.logsumexp(d, keep), Red::Lse, 1e-5);
          Tensor am = a.argmax(d, keep);
          REQUIRE(am.dtype() == pg::DType::Int64);
          const Tensor want = tu::naive_reduce(a, {d}, keep, Red::Argmax);
          REQUIRE(am.shape() == want.shape());
          const auto got = am.to_vector<int64_t>();
          const auto wv = want.to_vector();
          for (size_t i = 0; i < got.size(); ++i)
            REQUIRE(got[i] == (int64_t)wv[i]);
        }
      // All dims and dim sets (adjacent and not).
      tu::require_tensor(a.sum(), {}, tu::naive_reduce(a, {}, false, Red::Sum).to_vector(), 1e-5,
                         1e-4);
      tu::require_tensor(a.mean(), {}, tu::naive_reduce(a, {}, false, Red::Mean).to_vector(), 1e-5,
                         1e-6);
      REQUIRE(a.max().item() == tu::naive_reduce(a, {}, false, Red::Max).item());
      REQUIRE(a.min().item() == tu::naive_reduce(a, {}, false, Red::Min).item());
      if (s.size() >= 3) {
        for (const Shape &ds : std::vector<Shape>{{0, 2}, {-1, 0}, {1, 2}, {0, 1, 2}})
          for (bool keep : {false, true}) {
            INFO("dims " << pg::shape_str(ds) << " keepdim " << keep);
            Tensor want = tu::naive_reduce(a, ds, keep, Red::Sum);
            tu::require_tensor(a.sum(ds, keep), want.shape(), want.to_vector(), 1e-5, 1e-5);
            want = tu::naive_reduce(a, ds, keep, Red::Mean);
            tu::require_tensor(a.mean(ds, keep), want.shape(), want.to_vector(), 1e-5, 1e-6);
          }
      }
    }
  }
}

TEST_CASE("reductions: ties, NaN, 0-d and empty inputs", "[core]") {
  // Ties: the first index wins (as in PyTorch on CPU).
  Tensor t = pg::from_vector({1, 3, 3, 0, 5, 5}, {2, 3});
  REQUIRE(t.argmax(1).to_vector<int64_t>() == std::vector<int64_t>{1, 1});
  REQUIRE(t.argmax(0, true).shape() == Shape{1, 3});
  // NaN wins max/min.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor n = pg::from_vector({1, nan, 2}, {3});
  REQUIRE(std::isnan(n.max(0).item()));
  REQUIRE(std::isnan(n.min().item()));
  REQUIRE(n.argmax(0).item() == 1.f);

  // 0-d: every reduction is the identity, dim 0 / -1 accepted.
  Tensor s = pg::scalar_tensor(2.f);
  REQUIRE(s.sum().item() == 2.f);
  REQUIRE(s.sum({0}).item() == 2.f);
  REQUIRE(s.sum({0}, true).dim() == 0);
  REQUIRE(s.mean().item() == 2.f);
  REQUIRE(s.max(0).item() == 2.f);
  REQUIRE(s.min(-1).item() == 2.f);
  REQUIRE(s.argmax(0).item() == 0.f);
  REQUIRE(s.logsumexp(0).item() == Approx(2.f));
  REQUIRE(s.softmax(0).item() == 1.f);
  REQUIRE(s.log_softmax(0).item() == 0.f);

  // Empty: sums are 0, means NaN, max over an empty dim is an error.
  Tensor e = pg::zeros({0, 3});
  REQUIRE(e.sum().item() == 0.f);
  REQUIRE(e.sum({0}).to_vector() == std::vector<float>{0, 0, 0});
  REQUIRE(e.sum({1}).shape() == Shape{0});
  REQUIRE(std::isnan(e.mean().item()));
  REQUIRE(e.max(1).shape() == Shape{0});
  REQUIRE(std::isinf(e.logsumexp(0).to_vector()[0]));
  REQUIRE(e.softmax(1).shape() == Shape{0, 3});
  REQUIRE_THROWS_WITH(e.max(0), Contains("max") && Contains("empty") && Contains("[0, 3]"));
  REQUIRE_THROWS_WITH(e.max(), Contains("max") && Contains("empty"));
  REQUIRE_THROWS_WITH(e.min(), Contains("min") && Contains("empty"));

  // logsumexp with infinities.
  const float inf = std::numeric_limits<float>::infinity();
  REQUIRE(pg::from_vector({-inf, -inf}, {2}).logsumexp(0).item() == -inf);
  REQUIRE(pg::from_vector({inf, 1}, {2}).logsumexp(0).item() == inf);
  REQUIRE(pg::from_vector({-inf, 0.f}, {2}).logsumexp(0).item() == 0.f);
  // Large values stay finite.
  REQUIRE(pg::from_vector({1e4f, 1e4f}, {2}).logsumexp(0).item() == Approx(1e4f + std::log(2.f)));

  // Errors name the op and the dim.
  Tensor a = pg::ones({2, 3});
  REQUIRE_THROWS_WITH(a.sum({2}), Contains("sum") && Contains("dim 2"));
  REQUIRE_THROWS_WITH(a.sum({0, -2}), Contains("sum") && Contains("twice"));
  REQUIRE_THROWS_WITH(a.mean({5}), Contains("mean") && Contains("dim 5"));
  REQUIRE_THROWS_WITH(a.max(-3), Contains("max") && Contains("dim -3"));
  REQUIRE_THROWS_WITH(a.argmax(2), Contains("argmax") && Contains("dim 2"));
  REQUIRE_THROWS_WITH(a.logsumexp(2), Contains("logsumexp") && Contains("dim 2"));
  REQUIRE_THROWS_WITH(a.softmax(2), Contains("softmax") && Contains("dim 2"));
  // int64: sum is int64 (tests/test_core_compare.cpp); mean has no int64 result, as in torch.
  REQUIRE_THROWS_WITH(pg::from_labels({1}).mean(), Contains("mean") && Contains("int64"));
  REQUIRE_THROWS_WITH(pg::from_labels({1}).max(), Contains("max") && Contains("int64"));
}

namespace {
// softmax along `dim` in double, lane by lane (a lane: all elements that
// differ only in their index along `dim`).
std::vector<float> ref_softmax(const Tensor &a, int64_t dim, bool log) {
  const int64_t d = dim < 0 ? dim + a.dim() : dim;
  const auto v = a.contiguous().to_vector();
  const Shape &s = a.shape();
  int64_t inner = 1;
  for (int64_t k = d + 1; k < a.dim(); ++k)
    inner *= s[k];
  const int64_t R = s[d], outer = (int64_t)v.size() / (R * inner);
  std::vector<float> out(v.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto el = [&](int64_t j) { return o * R * inner + j * inner + i; };
      double m = -INFINITY, z = 0;
      for (int64_t j = 0; j < R; ++j)
        m = std::max(m, (double)v[el(j)]);
      for (int64_t j = 0; j < R; ++j)
        z += std::exp(double(v[el(j)]) - m);
      for (int64_t j = 0; j < R; ++j) {
        const double lx = double(v[el(j)]) - m - std::log(z);
        out[el(j)] = float(log ? lx : std::exp(lx));
      }
    }
  return out;
}
} // namespace

TEST_CASE("softmax and log_softmax along every dim match a reference", "[core]") {
  for (const Shape &s : std::vector<Shape>{{5}, {3, 4}, {2, 3, 5}, {2, 1, 3}, {64, 600}}) {
    Tensor a = tu::uniform(s, 21, -3.f, 3.f);
    for (const Tensor &x : {a, a.transpose(0, -1).contiguous().transpose(0, -1)})
      for (int64_t d = -(int64_t)s.size(); d < (int64_t)s.size(); ++d) {
        INFO("shape " << pg::shape_str(s) << " dim " << d);
        tu::require_tensor(x.softmax(d), s, ref_softmax(x, d, false), 1e-5, 1e-7);
        tu::require_tensor(x.log_softmax(d), s, ref_softmax(x, d, true), 1e-5, 1e-5);
        // Rows sum to one.
        auto sums = x.softmax(d).sum({d}).to_vector();
        for (float v : sums)
          REQUIRE(v == Approx(1.f).epsilon(1e-5));
      }
  }
}

TEST_CASE("softmax and log_softmax stay finite with logits of +-1e4", "[core]") {
  Tensor x = pg::from_vector({1e4f, -1e4f, 0.f, 1e4f - 1.f, -1e4f, 1e4f, 1e4f, 1e4f}, {2, 4});
  for (int64_t d : {0, 1}) {
    const auto s = x.softmax(d).to_vector(), l = x.log_softmax(d).to_vector();
    for (float v : s)
      REQUIRE(std::isfinite(v));
    for (float v : l)
      REQUIRE(std::isfinite(v));
    tu::require_values(s, ref_softmax(x, d, false), 1e-5, 1e-7);
    tu::require_values(l, ref_softmax(x, d, true), 1e-5, 1e-3);
  }
  // The dominant logit takes all the mass; its neighbour keeps e^-1 of it.
  const auto s1 = x.softmax(1).to_vector();
  REQUIRE(s1[0] == Approx(1.0 / (1.0 + std::exp(-1.0))));
  REQUIRE(s1[3] == Approx(std::exp(-1.0) / (1.0 + std::exp(-1.0))));
  REQUIRE(x.log_softmax(1).to_vector()[1] == Approx(-2e4f - std::log1p(std::exp(-1.0))));
}
