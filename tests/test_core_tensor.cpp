// [core] Tensor basics: factories, accessors, printing, element-wise ops with
// broadcasting (checked element by element against std:: math), in-place ops
// and the version counter, error messages.
#include <cmath>
#include <sstream>

#include "test_core_util.h"
#include <polygrad/core/interleave.h>

namespace pg = polygrad;
using Catch::Contains;
using pg::Shape;
using pg::Tensor;

TEST_CASE("factories: zeros ones full arange from_vector from_labels", "[core]") {
  Tensor z = pg::zeros({2, 3});
  REQUIRE(z.shape() == Shape{2, 3});
  REQUIRE(z.dim() == 2);
  REQUIRE(z.numel() == 6);
  REQUIRE(z.dtype() == pg::DType::Float32);
  REQUIRE(z.is_contiguous());
  REQUIRE(z.to_vector() == std::vector<float>(6, 0.f));
  REQUIRE(pg::ones({4}).to_vector() == std::vector<float>(4, 1.f));
  REQUIRE(pg::full({2, 2}, 3.5f).to_vector() == std::vector<float>(4, 3.5f));
  REQUIRE(pg::zeros({3}, pg::DType::Int64).to_vector<int64_t>() == std::vector<int64_t>(3, 0));

  Tensor s = pg::scalar_tensor(2.5f);
  REQUIRE(s.dim() == 0);
  REQUIRE(s.numel() == 1);
  REQUIRE(s.item() == 2.5f);

  REQUIRE(pg::arange(5).to_vector() == std::vector<float>{0, 1, 2, 3, 4});
  REQUIRE(pg::arange(1.f, 2.f, 0.25f).to_vector() == std::vector<float>{1, 1.25f, 1.5f, 1.75f});
  REQUIRE(pg::arange(3.f, 0.f, -1.f).to_vector() == std::vector<float>{3, 2, 1});
  REQUIRE(pg::arange(0).numel() == 0);
  REQUIRE_THROWS_WITH(pg::arange(0.f, 1.f, 0.f), Contains("arange") && Contains("step"));
  REQUIRE_THROWS_WITH(pg::arange(0.f, 5.f, -1.f), Contains("arange") && Contains("sign"));

  Tensor v = pg::from_vector({1, 2, 3, 4, 5, 6}, {3, 2});
  REQUIRE(v.shape() == Shape{3, 2});
  REQUIRE(v.to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6});
  REQUIRE(v.size(0) == 3);
  REQUIRE(v.size(-1) == 2);
  REQUIRE_THROWS_WITH(v.size(2), Contains("size") && Contains("out of range"));

  Tensor l = pg::from_labels({3, 1, 4});
  REQUIRE(l.dtype() == pg::DType::Int64);
  REQUIRE(l.shape() == Shape{3});
  REQUIRE(l.to_vector<int64_t>() == std::vector<int64_t>{3, 1, 4});
  REQUIRE(pg::from_labels({1, 2, 3, 4}, {2, 2}).shape() == Shape{2, 2});

  auto like = pg::full_like(v, 7.f);
  REQUIRE(like.shape() == v.shape());
  REQUIRE(like.to_vector() == std::vector<float>(6, 7.f));
  REQUIRE(pg::zeros_like(l).dtype() == pg::DType::Int64);
  REQUIRE(pg::ones_like(v).to_vector() == std::vector<float>(6, 1.f));

  // Empty shapes are fine; negative sizes are not.
  REQUIRE(pg::zeros({0, 3}).numel() == 0);
  REQUIRE_THROWS_WITH(pg::zeros({2, -1}), Contains("negative") && Contains("[2, -1]"));
}

TEST_CASE("from_vector / from_labels size mismatch and dtype misuse errors", "[core]") {
  REQUIRE_THROWS_AS(pg::from_vector({1, 2, 3}, {2, 2}), pg::Error);
  REQUIRE_THROWS_WITH(pg::from_vector({1, 2, 3}, {2, 2}),
                      Contains("from_vector") && Contains("3 values") && Contains("[2, 2]"));
  REQUIRE_THROWS_WITH(pg::from_labels({1, 2, 3}, {2, 2}),
                      Contains("from_labels") && Contains("[2, 2]"));
  Tensor l = pg::from_labels({1, 2});
  REQUIRE_THROWS_WITH(l.to_vector<float>(), Contains("int64"));
  REQUIRE_THROWS_WITH(l.data<float>(), Contains("int64"));
  REQUIRE_THROWS_WITH(pg::exp(l), Contains("exp") && Contains("int64") && Contains("[2]"));
  REQUIRE_THROWS_WITH(l + pg::ones({2}), Contains("add") && Contains("int64"));
  REQUIRE_THROWS_WITH(pg::ones({2, 2}).item(), Contains("item") && Contains("[2, 2]"));
  REQUIRE_THROWS_WITH(Tensor().shape(), Contains("undefined"));
  REQUIRE_THROWS_WITH(l.requires_grad_(true), Contains("requires_grad_") && Contains("int64"));
  REQUIRE(pg::from_labels({7}).item() == 7.f);
}

TEST_CASE("rand / randn are deterministic under manual_seed", "[core]") {
  pg::manual_seed(123);
  const auto a = pg::rand({1000}).to_vector(), an = pg::randn({1000}).to_vector();
  pg::manual_seed(123);
  const auto b = pg::rand({1000}).to_vector(), bn = pg::randn({1000}).to_vector();
  REQUIRE(a == b);
  REQUIRE(an == bn);
  pg::manual_seed(124);
  REQUIRE(pg::rand({1000}).to_vector() != a);
  // Sanity of the distributions (loose, 1000 samples).
  double mu = 0, mun = 0, varn = 0;
  float lo = 1, hi = 0;
  for (float x : a) {
    mu += x / 1000.0;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  for (float x : an)
    mun += x / 1000.0;
  for (float x : an)
    varn += (x - mun) * (x - mun) / 1000.0;
  REQUIRE(lo >= 0.f);
  REQUIRE(hi < 1.f);
  REQUIRE(std::fabs(mu - 0.5) < 0.05);
  REQUIRE(std::fabs(mun) < 0.1);
  REQUIRE(std::fabs(varn - 1.0) < 0.15);
}

TEST_CASE("printing shows values, shape and dtype; big tensors are summarised", "[core]") {
  std::ostringstream os;
  os << pg::from_vector({1.5f, -2.f, 3.25f, 4.f}, {2, 2});
  const std::string s = os.str();
  INFO(s);
  REQUIRE(s.find("tensor(") == 0);
  REQUIRE(s.find("1.5") != std::string::npos);
  REQUIRE(s.find("-2") != std::string::npos);
  REQUIRE(s.find("3.25") != std::string::npos);
  REQUIRE(s.find("shape=[2, 2]") != std::string::npos);
  REQUIRE(s.find("dtype=float32") != std::string::npos);

  std::ostringstream ol;
  ol << pg::from_labels({5, 6});
  REQUIRE(ol.str().find("5, 6") != std::string::npos);
  REQUIRE(ol.str().find("dtype=int64") != std::string::npos);

  std::ostringstream o0;
  o0 << pg::scalar_tensor(0.5f);
  REQUIRE(o0.str().find("0.5") != std::string::npos);
  REQUIRE(o0.str().find("shape=[]") != std::string::npos);

  std::ostringstream oe;
  oe << pg::zeros({0, 3});
  REQUIRE(oe.str().find("[]") != std::string::npos);
  REQUIRE(oe.str().find("shape=[0, 3]") != std::string::npos);

  // A view prints its own elements (offset and strides honoured).
  std::ostringstream ov;
  ov << pg::arange(6).reshape({2, 3}).t().select(0, 2);
  INFO(ov.str());
  REQUIRE(ov.str().find("2") != std::string::npos);
  REQUIRE(ov.str().find("5") != std::string::npos);
  REQUIRE(ov.str().find("shape=[2]") != std::string::npos);

  std::ostringstream ob;
  ob << pg::arange(5000);
  const std::string b = ob.str();
  INFO(b.substr(0, 200));
  REQUIRE(b.find("...") != std::string::npos);
  REQUIRE(b.find("4999") != std::string::npos);
  REQUIRE(b.find("2500") == std::string::npos);
  REQUIRE(b.size() < 300);

  // Autograd state is shown.
  Tensor w = pg::ones({2}).requires_grad_(true);
  std::ostringstream og, og2;
  og << w;
  og2 << w * 2.f;
  REQUIRE(og.str().find("requires_grad=true") != std::string::npos);
  REQUIRE(og2.str().find("grad_fn=<MulBackward>") != std::string::npos);
  std::ostringstream ou;
  ou << Tensor();
  REQUIRE(ou.str() == "tensor(undefined)");
}

// ----- element-wise with broadcasting, against a per-element reference -----
namespace {
// Reference broadcast binary op: out[i] = f(a[ia], b[ib]) by index arithmetic.
template <class F> Tensor ref_binary(const Tensor &a, const Tensor &b, F f) {
  const Shape s = pg::broadcast_shapes(a.shape(), b.shape(), "ref");
  std::vector<float> out(pg::shape_numel(s));
  for (int64_t i = 0; i < (int64_t)out.size(); ++i) {
    const auto idx = tu::unravel(i, s);
    auto pick = [&](const Tensor &t) {
      std::vector<int64_t> ti(t.dim());
      for (int64_t d = 0; d < t.dim(); ++d) {
        const int64_t od = d + (int64_t)s.size() - t.dim();
        ti[d] = t.shape()[d] == 1 ? 0 : idx[od];
      }
      return tu::at(t, ti);
    };
    out[i] = f(pick(a), pick(b));
  }
  return pg::from_vector(out, s);
}
} // namespace

TEST_CASE("binary ops broadcast: size-1 dims, 0-d, empty, strided views", "[core]") {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{3, 1}, {1, 4}},
      {{2, 3, 4}, {4}},
      {{2, 3, 4}, {3, 1}},
      {{}, {2, 3}},
      {{2, 3}, {}},
      {{}, {}},
      {{1}, {}},
      {{0, 3}, {1, 3}},
      {{2, 0}, {2, 1}},
      {{0}, {}},
      {{5, 1, 3}, {1, 7, 1}},
      {{1, 1}, {6, 5}},
      {{33, 40}, {40}},
      // at least kParallelGrain elements: the parallel broadcast row loop, the
      // scalar fast path, a (N, 1) column broadcast (forks checked below)
      {{400, 1, 3}, {1, 120, 3}},
      {{pg::kParallelGrain + 1}, {1}},
      {{1100, 120}, {1100, 1}},
  };
  static_assert(400 * 120 * 3 >= pg::kParallelGrain && 1100 * 120 >= pg::kParallelGrain);
  tu::ThreadsScope two_threads(2);
  for (const auto &[sa, sb] : cases) {
    Tensor a = tu::uniform(sa, 1, 0.5f, 2.f), b = tu::uniform(sb, 2, 0.5f, 2.f);
    INFO("shapes " << pg::shape_str(sa) << " and " << pg::shape_str(sb));
    if (pg::shape_numel(pg::broadcast_shapes(sa, sb, "test")) >= pg::kParallelGrain)
      tu::require_forks([&] { return a + b; }); // the parallel path runs below
    tu::require_tensor(a + b, ref_binary(a, b, [](float x, float y) { return x + y; }).shape(),
                       ref_binary(a, b, [](float x, float y) { return x + y; }).to_vector());
    tu::require_values((a - b).to_vector(),
                       ref_binary(a, b, [](float x, float y) { return x - y; }).to_vector());
    tu::require_values((a * b).to_vector(),
                       ref_binary(a, b, [](float x, float y) { return x * y; }).to_vector());
    tu::require_values((a / b).to_vector(),
                       ref_binary(a, b, [](float x, float y) { return x / y; }).to_vector());
    tu::require_values(pg::pow(a, b).to_vector(), ref_binary(a, b, [](float x, float y) {
                                                    return std::pow(x, y);
                                                  }).to_vector());
    tu::require_values(pg::maximum(a, b).to_vector(), ref_binary(a, b, [](float x, float y) {
                                                        return std::max(x, y);
                                                      }).to_vector());
    tu::require_values(pg::minimum(a, b).to_vector(), ref_binary(a, b, [](float x, float y) {
                                                        return std::min(x, y);
                                                      }).to_vector());
    // Operands in the other order, too (the kernels have a-vs-b fast paths).
    tu::require_values((b - a).to_vector(),
                       ref_binary(b, a, [](float x, float y) { return x - y; }).to_vector());
  }
  // Transposed / sliced / expanded operands.
  Tensor base = tu::uniform({4, 6}, 3);
  Tensor at = base.t();               // (6, 4), non-contiguous
  Tensor sl = base.slice(1, 0, 6, 2); // (4, 3), step 2
  Tensor ex = tu::uniform({4, 1}, 4).expand({4, 3});
  tu::require_values((at * at).to_vector(),
                     ref_binary(at, at, [](float x, float y) { return x * y; }).to_vector());
  tu::require_values((sl + ex).to_vector(),
                     ref_binary(sl, ex, [](float x, float y) { return x + y; }).to_vector());
  tu::require_values(
      (at + tu::uniform({4}, 5)).to_vector(),
      ref_binary(at, tu::uniform({4}, 5), [](float x, float y) { return x + y; }).to_vector());
  // Scalar operators.
  Tensor x = pg::from_vector({1, 2, 4}, {3});
  REQUIRE((x + 1.f).to_vector() == std::vector<float>{2, 3, 5});
  REQUIRE((x - 1.f).to_vector() == std::vector<float>{0, 1, 3});
  REQUIRE((x * 2.f).to_vector() == std::vector<float>{2, 4, 8});
  REQUIRE((x / 2.f).to_vector() == std::vector<float>{0.5f, 1, 2});
  REQUIRE((1.f + x).to_vector() == std::vector<float>{2, 3, 5});
  REQUIRE((1.f - x).to_vector() == std::vector<float>{0, -1, -3});
  REQUIRE((2.f * x).to_vector() == std::vector<float>{2, 4, 8});
  REQUIRE((4.f / x).to_vector() == std::vector<float>{4, 2, 1});
  REQUIRE((-x).to_vector() == std::vector<float>{-1, -2, -4});
  REQUIRE(pg::neg(x).to_vector() == std::vector<float>{-1, -2, -4});
  // Result shapes of the corner cases.
  REQUIRE((pg::ones({}) + pg::ones({})).dim() == 0);
  REQUIRE((pg::ones({0, 3}) * pg::ones({1, 3})).shape() == Shape{0, 3});
  REQUIRE((pg::ones({1}) + pg::ones({})).shape() == Shape{1});
}

TEST_CASE("binary op broadcast errors name the op and both shapes", "[core]") {
  REQUIRE_THROWS_AS(pg::ones({2, 3}) + pg::ones({4}), pg::Error);
  REQUIRE_THROWS_WITH(pg::ones({2, 3}) + pg::ones({4}),
                      Contains("add") && Contains("[2, 3]") && Contains("[4]"));
  REQUIRE_THROWS_WITH(pg::mul(pg::ones({2, 3}), pg::ones({3, 2})),
                      Contains("mul") && Contains("[2, 3]") && Contains("[3, 2]"));
  REQUIRE_THROWS_WITH(pg::where(pg::ones({2}), pg::ones({3}), pg::ones({3})),
                      Contains("where") && Contains("[2]") && Contains("[3]"));
  REQUIRE_THROWS_WITH(pg::gt(pg::ones({0}), pg::ones({2})),
                      Contains("gt") && Contains("[0]") && Contains("[2]"));
}

TEST_CASE("unary ops match std:: math, including contiguous and strided inputs", "[core]") {
  Tensor base = tu::uniform({5, 7}, 11, 0.1f, 3.f);
  // At least kParallelGrain elements: the parallel contiguous and strided
  // (transposed) paths, at 2 threads (forks checked below).
  Tensor big = tu::uniform({pg::kParallelGrain / 160 + 1, 160}, 12, 0.1f, 3.f);
  REQUIRE(big.numel() >= pg::kParallelGrain);
  tu::ThreadsScope two_threads(2);
  for (const Tensor &x : {base, base.t(), base.slice(1, 1, 7, 3), big, big.t()}) {
    if (x.numel() >= pg::kParallelGrain)
      tu::require_forks([&] { return x.exp(); });
    const auto v = x.to_vector();
    auto ref = [&](auto f) {
      std::vector<float> r;
      for (float e : v)
        r.push_back(f(e));
      return r;
    };
    tu::require_values(x.exp().to_vector(), ref([](float e) { return std::exp(e); }));
    tu::require_values(x.log().to_vector(), ref([](float e) { return std::log(e); }));
    tu::require_values(x.log1p().to_vector(), ref([](float e) { return std::log1p(e); }));
    tu::require_values(x.expm1().to_vector(), ref([](float e) { return std::expm1(e); }));
    tu::require_values(x.sqrt().to_vector(), ref([](float e) { return std::sqrt(e); }));
    tu::require_values(x.tanh().to_vector(), ref([](float e) { return std::tanh(e); }));
    tu::require_values(x.pow(2.5f).to_vector(), ref([](float e) { return std::pow(e, 2.5f); }));
    tu::require_values(x.sigmoid().to_vector(),
                       ref([](float e) { return float(1.0 / (1.0 + std::exp(-double(e)))); }));
    Tensor y = x - 1.5f;
    const auto vy = y.to_vector();
    std::vector<float> r_abs, r_relu, r_clamp;
    for (float e : vy) {
      r_abs.push_back(std::fabs(e));
      r_relu.push_back(e > 0 ? e : 0);
      r_clamp.push_back(std::min(std::max(e, -0.5f), 0.7f));
    }
    REQUIRE(y.abs().to_vector() == r_abs);
    REQUIRE(y.relu().to_vector() == r_relu);
    REQUIRE(y.clamp(-0.5f, 0.7f).to_vector() == r_clamp);
  }
  // Sigmoid is stable in both tails.
  Tensor t = pg::from_vector({-1e4f, -100.f, 0.f, 100.f, 1e4f}, {5});
  auto s = t.sigmoid().to_vector();
  REQUIRE(s == std::vector<float>{0.f, s[1], 0.5f, 1.f, 1.f});
  REQUIRE(s[1] >= 0.f);
  REQUIRE(s[1] < 1e-40f);
  // Free-function forms agree with members.
  REQUIRE(pg::clamp(t, -1, 1).to_vector() == t.clamp(-1, 1).to_vector());
  REQUIRE(pg::relu(t).to_vector() == t.relu().to_vector());
  REQUIRE_THROWS_WITH(t.clamp(1.f, -1.f), Contains("clamp") && Contains("greater"));
  // 0-d and empty inputs.
  REQUIRE(pg::scalar_tensor(0.f).exp().item() == 1.f);
  REQUIRE(pg::zeros({0, 4}).exp().shape() == Shape{0, 4});
}

TEST_CASE("comparisons, where, maximum/minimum and clamp", "[core]") {
  Tensor a = pg::from_vector({1, 2, 3, 4}, {2, 2});
  Tensor b = pg::from_vector({2, 2}, {2}) + pg::zeros({1}); // (2,) broadcast over rows
  REQUIRE(pg::eq(a, b).to_vector() == std::vector<float>{0, 1, 0, 0});
  REQUIRE(pg::ne(a, b).to_vector() == std::vector<float>{1, 0, 1, 1});
  REQUIRE(pg::lt(a, b).to_vector() == std::vector<float>{1, 0, 0, 0});
  REQUIRE(pg::le(a, b).to_vector() == std::vector<float>{1, 1, 0, 0});
  REQUIRE(pg::gt(a, b).to_vector() == std::vector<float>{0, 0, 1, 1});
  REQUIRE(pg::ge(a, b).to_vector() == std::vector<float>{0, 1, 1, 1});
  REQUIRE(pg::gt(a, pg::scalar_tensor(2.5f)).shape() == Shape{2, 2});
  // Masks carry no gradient.
  Tensor w = a.detach().requires_grad_(true);
  REQUIRE_FALSE(pg::gt(w, b).requires_grad());

  // where broadcasts all three operands.
  Tensor mask = pg::from_vector({1, 0}, {2, 1});
  Tensor x = pg::from_vector({10, 20, 30}, {3});
  Tensor y = pg::scalar_tensor(-1.f);
  Tensor w3 = pg::where(mask, x, y);
  REQUIRE(w3.shape() == Shape{2, 3});
  REQUIRE(w3.to_vector() == std::vector<float>{10, 20, 30, -1, -1, -1});
  REQUIRE(pg::where(pg::gt(a, b), a, b).to_vector() == std::vector<float>{2, 2, 3, 4});

  // maximum / minimum propagate NaN like torch.maximum.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor p = pg::from_vector({1, nan, 3}, {3}), q = pg::from_vector({nan, 0, 1}, {3});
  auto mx = pg::maximum(p, q).to_vector(), mn = pg::minimum(p, q).to_vector();
  REQUIRE(std::isnan(mx[0]));
  REQUIRE(std::isnan(mx[1]));
  REQUIRE(mx[2] == 3.f);
  REQUIRE(std::isnan(mn[0]));
  REQUIRE(std::isnan(mn[1]));
  REQUIRE(mn[2] == 1.f);
  // clamp's bounds are inclusive; lo == hi is allowed.
  REQUIRE(pg::from_vector({-2, 0, 2}, {3}).clamp(0.f, 0.f).to_vector() ==
          std::vector<float>{0, 0, 0});
}

TEST_CASE("in-place ops write through, broadcast the source and bump the version", "[core]") {
  Tensor t = pg::zeros({2, 3});
  const uint64_t v0 = t.storage()->version;
  t.fill_(2.f);
  REQUIRE(t.to_vector() == std::vector<float>(6, 2.f));
  t.add_(pg::from_vector({1, 2, 3}, {3}));
  REQUIRE(t.to_vector() == std::vector<float>{3, 4, 5, 3, 4, 5});
  t.add_(pg::ones({2, 1}), -2.f);
  REQUIRE(t.to_vector() == std::vector<float>{1, 2, 3, 1, 2, 3});
  t.mul_(pg::from_vector({2, 3}, {2, 1}));
  REQUIRE(t.to_vector() == std::vector<float>{2, 4, 6, 3, 6, 9});
  t.mul_(0.5f);
  t.add_(1.f);
  REQUIRE(t.to_vector() == std::vector<float>{2, 3, 4, 2.5f, 4, 5.5f});
  t.copy_(pg::scalar_tensor(7.f));
  REQUIRE(t.to_vector() == std::vector<float>(6, 7.f));
  t.zero_();
  REQUIRE(t.to_vector() == std::vector<float>(6, 0.f));
  REQUIRE(t.storage()->version == v0 + 8);

  // Writing through a strided view lands in the base and bumps the shared version.
  Tensor base = pg::zeros({3, 4});
  Tensor col = base.t().select(0, 1); // column 1, stride 4
  const uint64_t vb = base.storage()->version;
  col.copy_(pg::from_vector({1, 2, 3}, {3}));
  REQUIRE(base.storage()->version == vb + 1);
  REQUIRE(base.to_vector() == std::vector<float>{0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0});

  // copy_ from an overlapping view of itself reads the old values.
  Tensor sq = pg::from_vector({1, 2, 3, 4}, {2, 2});
  sq.copy_(sq.t());
  REQUIRE(sq.to_vector() == std::vector<float>{1, 3, 2, 4});
  Tensor r = pg::from_vector({1, 2, 3, 4}, {4});
  r.slice(0, 1, 4).copy_(r.slice(0, 0, 3));
  REQUIRE(r.to_vector() == std::vector<float>{1, 1, 2, 3});

  // Errors: non-broadcastable source, int64 destination, expanded destination.
  REQUIRE_THROWS_WITH(pg::zeros({2, 3}).add_(pg::ones({3, 2})),
                      Contains("[3, 2]") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(pg::zeros({2}).copy_(pg::ones({2, 2})), Contains("[2, 2]"));
  REQUIRE_THROWS_WITH(pg::from_labels({1, 2}).fill_(0.f), Contains("fill_") && Contains("int64"));
  REQUIRE_THROWS_WITH(pg::zeros({1, 3}).expand({4, 3}).add_(1.f),
                      Contains("add_") && Contains("expanded"));
  // The same tensor on both sides is fine.
  Tensor d = pg::from_vector({1, 2}, {2});
  d.add_(d);
  REQUIRE(d.to_vector() == std::vector<float>{2, 4});
}

TEST_CASE("copy_ of int64 tensors: broadcast, strided, overlapping; no dtype conversion",
          "[core]") {
  // Module::load_state_dict copies int64 buffers (num_batches_tracked) this way.
  Tensor l = pg::zeros({2, 3}, pg::DType::Int64);
  const uint64_t v0 = l.storage()->version;
  l.copy_(pg::from_labels({7, 8, 9}));
  REQUIRE(l.to_vector<int64_t>() == std::vector<int64_t>{7, 8, 9, 7, 8, 9});
  REQUIRE(l.storage()->version == v0 + 1);
  l.t().select(0, 1).copy_(pg::from_labels({-1, -2})); // column 1, stride 3
  REQUIRE(l.to_vector<int64_t>() == std::vector<int64_t>{7, -1, 9, 7, -2, 9});
  Tensor sq = pg::from_labels({1, 2, 3, 4}, {2, 2});
  sq.copy_(sq.t()); // reads the old values
  REQUIRE(sq.to_vector<int64_t>() == std::vector<int64_t>{1, 3, 2, 4});
  const int64_t big = (int64_t(1) << 62) + 1; // exact, not through a float
  Tensor one = pg::zeros({}, pg::DType::Int64);
  one.copy_(pg::from_labels({big}, {}));
  REQUIRE(one.item<int64_t>() == big);
  REQUIRE_THROWS_WITH(l.copy_(pg::ones({3})),
                      Contains("copy_") && Contains("float32") && Contains("int64"));
  REQUIRE_THROWS_WITH(pg::ones({3}).copy_(pg::from_labels({1, 2, 3})),
                      Contains("copy_") && Contains("float32") && Contains("int64"));
  REQUIRE_THROWS_WITH(pg::zeros({2}, pg::DType::Int64).copy_(pg::from_labels({1, 2, 3})),
                      Contains("[3]") && Contains("[2]"));
}

TEST_CASE("shape helpers and dim wrapping errors", "[core]") {
  REQUIRE(pg::shape_str({}) == "[]");
  REQUIRE(pg::shape_str({2, 0, 3}) == "[2, 0, 3]");
  REQUIRE(pg::shape_numel({}) == 1);
  REQUIRE(pg::shape_numel({2, 0}) == 0);
  REQUIRE(pg::contiguous_strides({2, 3, 4}) == Shape{12, 4, 1});
  REQUIRE(pg::wrap_dim(-1, 3, "op") == 2);
  REQUIRE(pg::wrap_dim(0, 0, "op") == 0);
  REQUIRE(pg::wrap_dim(-1, 0, "op") == 0);
  REQUIRE_THROWS_WITH(pg::wrap_dim(3, 3, "myop"),
                      Contains("myop") && Contains("dim 3") && Contains("3-d"));
  REQUIRE_THROWS_WITH(pg::wrap_dim(-4, 3, "myop"), Contains("-4"));
  REQUIRE(pg::broadcast_shapes({3, 1}, {1, 4}, "op") == Shape{3, 4});
  REQUIRE(pg::broadcast_shapes({}, {2}, "op") == Shape{2});
  REQUIRE(pg::broadcast_shapes({0}, {1}, "op") == Shape{0});
  REQUIRE_THROWS_WITH(pg::broadcast_shapes({0}, {2}, "op"), Contains("[0]") && Contains("[2]"));
}

TEST_CASE("core interleave: (de)interleaving rows of every length up to 40", "[core]") {
  // The AVX-512 path works in steps of 16 pairs with masked tails; guard
  // floats around the rows catch a read or write past 2 n.
  for (int64_t n = 0; n <= 40; ++n) {
    INFO("n = " << n);
    std::vector<float> src(2 * n + 2), even(n + 2, -1.f), odd(n + 2, -1.f);
    for (int64_t i = 0; i < 2 * n; ++i)
      src[i + 1] = float(i);
    src[0] = src[2 * n + 1] = NAN;
    pg::kernel::deinterleave(src.data() + 1, n, even.data() + 1, odd.data() + 1);
    for (int64_t j = 0; j < n; ++j) {
      REQUIRE(even[j + 1] == float(2 * j));
      REQUIRE(odd[j + 1] == float(2 * j + 1));
    }
    REQUIRE((even[0] == -1.f && odd[0] == -1.f && even[n + 1] == -1.f && odd[n + 1] == -1.f));
    std::vector<float> dst(2 * n + 2, -1.f);
    pg::kernel::interleave(even.data() + 1, odd.data() + 1, n, dst.data() + 1);
    for (int64_t i = 0; i < 2 * n; ++i)
      REQUIRE(dst[i + 1] == float(i));
    REQUIRE((dst[0] == -1.f && dst[2 * n + 1] == -1.f));
  }
}
