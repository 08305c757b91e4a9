// [core] Views: reshape/view/flatten, transpose/permute, narrow/slice/select,
// squeeze/unsqueeze, expand, contiguous/clone. Each view shares its base's
// storage (checked by writing through it) and holds the right elements
// (checked against index arithmetic on the base).
#include "test_core_util.h"

namespace pg = polygrad;
using Catch::Contains;
using pg::Shape;
using pg::Tensor;

namespace {
bool shares(const Tensor &a, const Tensor &b) { return a.storage() == b.storage(); }
} // namespace

TEST_CASE("reshape and view alias their base; view of a non-viewable tensor throws", "[core]") {
  Tensor a = pg::arange(24).reshape({2, 3, 4});
  REQUIRE(a.shape() == Shape{2, 3, 4});
  Tensor v = a.view({6, 4});
  REQUIRE(shares(v, a));
  REQUIRE(v.to_vector() == a.to_vector());
  REQUIRE(a.view({-1}).shape() == Shape{24});
  REQUIRE(a.view({4, -1}).shape() == Shape{4, 6});
  REQUIRE(a.reshape({2, 12}).is_contiguous());
  REQUIRE(a.view({1, 24, 1}).shape() == Shape{1, 24, 1});

  // Write through a view: the base sees it, and the version is shared.
  const uint64_t ver = a.storage()->version;
  v.select(0, 5).fill_(-1.f);
  REQUIRE(a.to_vector()[20] == -1.f);
  REQUIRE(a.to_vector()[23] == -1.f);
  REQUIRE(a.storage()->version == ver + 1);

  // A transposed tensor cannot be flattened without a copy.
  Tensor t = pg::arange(6).reshape({2, 3}).t();
  REQUIRE_FALSE(t.is_contiguous());
  REQUIRE_THROWS_AS(t.view({6}), pg::Error);
  REQUIRE_THROWS_WITH(t.view({6}), Contains("view") && Contains("[3, 2]") && Contains("[6]") &&
                                       Contains("reshape"));
  // ...but reshape copies, with the right element order.
  Tensor r = t.reshape({6});
  REQUIRE_FALSE(shares(r, t));
  REQUIRE(r.to_vector() == std::vector<float>{0, 3, 1, 4, 2, 5});
  // Splitting a transposed dim that is itself contiguous is a view.
  Tensor tt = pg::arange(12).reshape({3, 4}).t(); // (4, 3), strides (1, 4)
  Tensor split = tt.view({2, 2, 3});
  REQUIRE(shares(split, tt));
  REQUIRE(split.to_vector() == tt.to_vector());
  // A slice with step along the last dim can be unsqueezed/viewed with 1s.
  Tensor sl = pg::arange(10).slice(0, 0, 10, 2);
  REQUIRE(sl.view({5, 1}).to_vector() == std::vector<float>{0, 2, 4, 6, 8});
  // 0-d and empty.
  REQUIRE(pg::scalar_tensor(3.f).reshape({1, 1}).shape() == Shape{1, 1});
  REQUIRE(pg::ones({1, 1}).reshape({}).dim() == 0);
  REQUIRE(pg::zeros({0, 4}).reshape({4, 0, 2}).shape() == Shape{4, 0, 2});
  REQUIRE(pg::zeros({0, 4}).reshape({-1, 2}).shape() == Shape{0, 2});

  REQUIRE_THROWS_WITH(a.reshape({5, 5}),
                      Contains("reshape") && Contains("[5, 5]") && Contains("24"));
  REQUIRE_THROWS_WITH(a.view({-1, -1}), Contains("view") && Contains("-1"));
  REQUIRE_THROWS_WITH(a.view({-1, 5}), Contains("view") && Contains("24"));
  REQUIRE_THROWS_WITH(a.reshape({-2, 12}), Contains("reshape") && Contains("-2"));

  REQUIRE(a.flatten().shape() == Shape{24});
  REQUIRE(a.flatten(1).shape() == Shape{2, 12});
  REQUIRE(a.flatten(0, 1).shape() == Shape{6, 4});
  REQUIRE(pg::scalar_tensor(1.f).flatten().shape() == Shape{1});
  REQUIRE_THROWS_WITH(a.flatten(2, 1), Contains("flatten"));
}

TEST_CASE("transpose and permute are strided views", "[core]") {
  Tensor a = pg::arange(24).reshape({2, 3, 4});
  Tensor p = a.permute({2, 0, 1});
  REQUIRE(p.shape() == Shape{4, 2, 3});
  REQUIRE(shares(p, a));
  REQUIRE_FALSE(p.is_contiguous());
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t k = 0; k < 3; ++k)
        REQUIRE(tu::at(p, {i, j, k}) == tu::at(a, {j, k, i}));
  Tensor pc = p.contiguous();
  REQUIRE(pc.is_contiguous());
  REQUIRE_FALSE(shares(pc, a));
  REQUIRE(pc.to_vector() == p.to_vector());
  REQUIRE(a.contiguous().same(a)); // no copy when already contiguous

  Tensor t = a.transpose(0, -1);
  REQUIRE(t.shape() == Shape{4, 3, 2});
  REQUIRE(tu::at(t, {3, 1, 1}) == tu::at(a, {1, 1, 3}));
  REQUIRE(a.transpose(1, 1).to_vector() == a.to_vector());
  Tensor m = pg::arange(6).reshape({2, 3});
  REQUIRE(m.t().to_vector() == std::vector<float>{0, 3, 1, 4, 2, 5});
  REQUIRE(m.t().t().is_contiguous());
  REQUIRE(pg::scalar_tensor(2.f).transpose(0, 0).item() == 2.f);

  REQUIRE_THROWS_WITH(a.permute({0, 1}), Contains("permute") && Contains("[2, 3, 4]"));
  REQUIRE_THROWS_WITH(a.permute({0, 1, 1}), Contains("permute") && Contains("repeated"));
  REQUIRE_THROWS_WITH(a.permute({0, 1, 3}), Contains("permute") && Contains("out of range"));
  REQUIRE_THROWS_WITH(a.transpose(0, 3), Contains("transpose") && Contains("out of range"));
}

TEST_CASE("narrow, slice and select pick the right elements without copying", "[core]") {
  Tensor a = pg::arange(30).reshape({5, 6});
  Tensor n = a.narrow(1, 2, 3);
  REQUIRE(n.shape() == Shape{5, 3});
  REQUIRE(shares(n, a));
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 3; ++j)
      REQUIRE(tu::at(n, {i, j}) == float(i * 6 + j + 2));
  REQUIRE(a.narrow(0, -2, 2).to_vector() == a.slice(0, 3, 5).to_vector());
  REQUIRE(a.narrow(1, 6, 0).shape() == Shape{5, 0});

  Tensor s = a.slice(1, 1, 6, 2); // columns 1, 3, 5
  REQUIRE(s.shape() == Shape{5, 3});
  REQUIRE(s.select(0, 1).to_vector() == std::vector<float>{7, 9, 11});
  REQUIRE(a.slice(0, -2, 100).shape() == Shape{2, 6}); // clamped like Python
  REQUIRE(a.slice(0, 4, 2).shape() == Shape{0, 6});
  REQUIRE(a.slice(1, 0, 6, 4).select(0, 0).to_vector() == std::vector<float>{0, 4});
  // Slicing a slice composes offsets and strides.
  REQUIRE(a.slice(1, 1, 6).slice(1, 1, 5, 2).select(0, 2).to_vector() ==
          std::vector<float>{14, 16});

  Tensor row = a.select(0, -1);
  REQUIRE(row.shape() == Shape{6});
  REQUIRE(row.to_vector() == std::vector<float>{24, 25, 26, 27, 28, 29});
  Tensor col = a.select(1, 3);
  REQUIRE(col.to_vector() == std::vector<float>{3, 9, 15, 21, 27});
  REQUIRE(pg::arange(3).select(0, 1).dim() == 0);
  REQUIRE(pg::arange(3).select(0, 1).item() == 1.f);
  // Writes through narrow land in the base.
  a.narrow(0, 1, 1).narrow(1, 0, 2).fill_(-5.f);
  REQUIRE(tu::at(a, {1, 0}) == -5.f);
  REQUIRE(tu::at(a, {1, 1}) == -5.f);
  REQUIRE(tu::at(a, {1, 2}) == 8.f);

  REQUIRE_THROWS_WITH(a.narrow(1, 4, 3),
                      Contains("narrow") && Contains("exceeds") && Contains("[5, 6]"));
  REQUIRE_THROWS_WITH(a.narrow(2, 0, 1), Contains("narrow") && Contains("out of range"));
  REQUIRE_THROWS_WITH(a.slice(0, 0, 2, 0), Contains("slice") && Contains("step"));
  REQUIRE_THROWS_WITH(a.select(0, 5), Contains("select") && Contains("index 5"));
  REQUIRE_THROWS_WITH(pg::scalar_tensor(1.f).select(0, 0), Contains("select") && Contains("0-d"));
  REQUIRE_THROWS_WITH(pg::scalar_tensor(1.f).narrow(0, 0, 1), Contains("narrow"));
}

TEST_CASE("squeeze, unsqueeze and expand", "[core]") {
  Tensor a = pg::arange(6).reshape({1, 2, 1, 3});
  REQUIRE(a.squeeze().shape() == Shape{2, 3});
  REQUIRE(a.squeeze(0).shape() == Shape{2, 1, 3});
  REQUIRE(a.squeeze(-2).shape() == Shape{1, 2, 3});
  REQUIRE(a.squeeze(1).shape() == Shape{1, 2, 1, 3}); // not size 1: unchanged
  REQUIRE(shares(a.squeeze(), a));
  REQUIRE(pg::ones({1, 1}).squeeze().dim() == 0);
  REQUIRE(pg::scalar_tensor(1.f).squeeze(0).dim() == 0);
  REQUIRE(pg::ones({3}).unsqueeze(0).shape() == Shape{1, 3});
  REQUIRE(pg::ones({3}).unsqueeze(1).shape() == Shape{3, 1});
  REQUIRE(pg::ones({3}).unsqueeze(-1).shape() == Shape{3, 1});
  REQUIRE(pg::scalar_tensor(1.f).unsqueeze(0).shape() == Shape{1});
  Tensor tu_ = pg::arange(6).reshape({2, 3}).t().unsqueeze(1); // non-contiguous
  REQUIRE(tu_.shape() == Shape{3, 1, 2});
  REQUIRE(tu_.to_vector() == std::vector<float>{0, 3, 1, 4, 2, 5});
  REQUIRE_THROWS_WITH(pg::ones({3}).unsqueeze(3),
                      Contains("unsqueeze") && Contains("out of range"));
  REQUIRE_THROWS_WITH(a.squeeze(4), Contains("squeeze"));

  Tensor c = pg::from_vector({1, 2, 3}, {3, 1});
  Tensor e = c.expand({2, 3, 4});
  REQUIRE(e.shape() == Shape{2, 3, 4});
  REQUIRE(shares(e, c));
  REQUIRE(e.strides()[0] == 0);
  REQUIRE(e.strides()[2] == 0);
  REQUIRE(e.select(0, 1).select(0, 2).to_vector() == std::vector<float>(4, 3.f));
  REQUIRE(c.expand({-1, 2}).to_vector() == std::vector<float>{1, 1, 2, 2, 3, 3});
  REQUIRE(pg::scalar_tensor(5.f).expand({2, 2}).to_vector() == std::vector<float>(4, 5.f));
  REQUIRE(c.expand({0, 3, 1}).numel() == 0);
  REQUIRE_THROWS_WITH(c.expand({2, 2}),
                      Contains("expand") && Contains("[3, 1]") && Contains("[2, 2]"));
  REQUIRE_THROWS_WITH(c.expand({3}), Contains("expand") && Contains("fewer dims"));
  REQUIRE_THROWS_WITH(c.expand({-1, 3, 1}), Contains("expand") && Contains("-1"));
  REQUIRE_THROWS_WITH(c.expand({3, -2}), Contains("expand") && Contains("-2"));
  // contiguous() of an expanded view materialises the repeats.
  REQUIRE(pg::from_vector({1, 2}, {2}).expand({2, 2}).contiguous().to_vector() ==
          std::vector<float>{1, 2, 1, 2});
}

TEST_CASE("clone copies; detach aliases", "[core]") {
  Tensor a = pg::arange(6).reshape({2, 3});
  Tensor c = a.t().clone();
  REQUIRE(c.is_contiguous());
  REQUIRE_FALSE(shares(c, a));
  REQUIRE(c.to_vector() == a.t().to_vector());
  c.fill_(0.f);
  REQUIRE(a.to_vector()[1] == 1.f);
  Tensor d = a.detach();
  REQUIRE(shares(d, a));
  d.fill_(9.f);
  REQUIRE(a.to_vector() == std::vector<float>(6, 9.f));
  Tensor l = pg::from_labels({1, 2, 3}).clone();
  REQUIRE(l.dtype() == pg::DType::Int64);
  REQUIRE(l.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3});
}
