// [core] gather, index_select, cat, stack, one_hot: values against index
// arithmetic, strided inputs, and the error messages.
#include "test_core_util.h"

namespace pg = polygrad;
using Catch::Contains;
using pg::Shape;
using pg::Tensor;

TEST_CASE("gather along each dim matches index arithmetic", "[core]") {
  Tensor a = tu::uniform({3, 4, 5}, 41);
  for (const Tensor &src :
       {a, a.permute({0, 1, 2}).contiguous(), tu::uniform({5, 4, 3}, 42).permute({2, 1, 0})}) {
    for (int64_t dim = 0; dim < 3; ++dim) {
      Shape is = src.shape();
      is[dim] = 6; // more picks than the dim has: repeats allowed
      if (dim != 2)
        is[2] = 4; // smaller than the input on another dim
      pg::manual_seed(dim + 1);
      std::vector<int64_t> idx(pg::shape_numel(is));
      for (auto &i : idx)
        i = (int64_t)(pg::uniform() * src.shape()[dim]);
      Tensor index = pg::from_labels(idx, is);
      Tensor got = pg::gather(src, dim, index);
      REQUIRE(got.shape() == is);
      const auto gv = got.to_vector();
      for (int64_t f = 0; f < (int64_t)gv.size(); ++f) {
        auto ix = tu::unravel(f, is);
        ix[dim] = idx[f];
        REQUIRE(gv[f] == tu::at(src, ix));
      }
    }
  }
  // A transposed (non-contiguous) int64 index.
  Tensor it = pg::from_labels({0, 1, 2, 2, 1, 0}, {3, 2}).t(); // [[0, 2, 1], [1, 2, 0]]
  REQUIRE(it.to_vector<int64_t>() == std::vector<int64_t>{0, 2, 1, 1, 2, 0});
  REQUIRE(pg::gather(pg::arange(6).reshape({2, 3}), 1, it).to_vector() ==
          std::vector<float>{0, 2, 1, 4, 5, 3});
  // Negative dim, 1-D, 0-d.
  Tensor v = pg::from_vector({10, 20, 30}, {3});
  REQUIRE(pg::gather(v, -1, pg::from_labels({2, 0, 2, 1})).to_vector() ==
          std::vector<float>{30, 10, 30, 20});
  REQUIRE(pg::gather(pg::scalar_tensor(4.f), 0, pg::from_labels({0}, {})).item() == 4.f);
  REQUIRE(pg::gather(v, 0, pg::from_labels({}, {0})).numel() == 0);

  REQUIRE_THROWS_WITH(pg::gather(v, 0, pg::from_labels({3})),
                      Contains("gather") && Contains("index 3") && Contains("size 3"));
  REQUIRE_THROWS_WITH(pg::gather(v, 0, pg::from_labels({-1})), Contains("gather"));
  REQUIRE_THROWS_WITH(pg::gather(v, 0, pg::from_vector({0}, {1})),
                      Contains("gather") && Contains("int64"));
  REQUIRE_THROWS_WITH(pg::gather(pg::ones({2, 3}), 1, pg::from_labels({0, 1})),
                      Contains("gather") && Contains("[2]") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(pg::gather(pg::ones({2, 3}), 1, pg::from_labels({0, 0, 0}, {3, 1})),
                      Contains("gather") && Contains("[3, 1]") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(pg::gather(pg::ones({2, 3}), 2, pg::from_labels({0, 0}, {2, 1})),
                      Contains("gather") && Contains("out of range"));
}

TEST_CASE("index_select picks whole slices along a dim", "[core]") {
  Tensor a = pg::arange(24).reshape({2, 3, 4});
  Tensor i = pg::from_labels({2, 0, 2});
  Tensor s1 = pg::index_select(a, 1, i);
  REQUIRE(s1.shape() == Shape{2, 3, 4});
  for (int64_t x = 0; x < 2; ++x)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < 4; ++k)
        REQUIRE(tu::at(s1, {x, j, k}) == tu::at(a, {x, (j == 1 ? 0 : 2), k}));
  REQUIRE(pg::index_select(a, -1, pg::from_labels({3})).shape() == Shape{2, 3, 1});
  REQUIRE(pg::index_select(a, 0, pg::from_labels({1})).to_vector() == a.select(0, 1).to_vector());
  // Strided input.
  Tensor t = a.transpose(0, 2); // (4, 3, 2)
  Tensor st = pg::index_select(t, 0, pg::from_labels({1, 3}));
  REQUIRE(st.select(0, 1).to_vector() == t.select(0, 3).to_vector());
  REQUIRE(pg::index_select(a, 0, pg::from_labels({}, {0})).shape() == Shape{0, 3, 4});

  REQUIRE_THROWS_WITH(pg::index_select(a, 1, pg::from_labels({3})),
                      Contains("index_select") && Contains("index 3"));
  REQUIRE_THROWS_WITH(pg::index_select(a, 1, pg::from_labels({0, 1}, {1, 2})),
                      Contains("index_select") && Contains("1-d") && Contains("[1, 2]"));
  REQUIRE_THROWS_WITH(pg::index_select(a, 3, i), Contains("index_select") && Contains("dim 3"));
  REQUIRE_THROWS_WITH(pg::index_select(a, 0, pg::from_vector({0}, {1})),
                      Contains("index_select") && Contains("int64"));
}

TEST_CASE("cat and stack", "[core]") {
  Tensor a = pg::arange(6).reshape({2, 3}), b = pg::arange(4).reshape({2, 2}) + 100.f;
  Tensor c = pg::cat({a, b}, 1);
  REQUIRE(c.shape() == Shape{2, 5});
  REQUIRE(c.to_vector() == std::vector<float>{0, 1, 2, 100, 101, 3, 4, 5, 102, 103});
  REQUIRE(pg::cat({a, a}, 0).to_vector() == std::vector<float>{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5});
  REQUIRE(pg::cat({a, b.t(), pg::zeros({2, 0})}, -1).shape() == Shape{2, 5});
  REQUIRE(pg::cat({a.t(), pg::ones({1, 2})}, 0).to_vector() ==
          std::vector<float>{0, 3, 1, 4, 2, 5, 1, 1});
  REQUIRE(pg::cat({a}, 0).to_vector() == a.to_vector());

  Tensor s = pg::stack({a, a * 2.f}, 0);
  REQUIRE(s.shape() == Shape{2, 2, 3});
  REQUIRE(s.select(0, 1).to_vector() == (a * 2.f).to_vector());
  Tensor s2 = pg::stack({a, a * 2.f, a * 3.f}, 2);
  REQUIRE(s2.shape() == Shape{2, 3, 3});
  REQUIRE(tu::at(s2, {1, 2, 2}) == 15.f);
  Tensor s3 = pg::stack({pg::scalar_tensor(1.f), pg::scalar_tensor(2.f)});
  REQUIRE(s3.shape() == Shape{2});
  REQUIRE(s3.to_vector() == std::vector<float>{1, 2});
  REQUIRE(pg::stack({a, a}, -1).shape() == Shape{2, 3, 2});

  REQUIRE_THROWS_WITH(pg::cat({a, pg::ones({3, 2})}, 1),
                      Contains("cat") && Contains("[3, 2]") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(pg::cat({a, pg::ones({2})}, 0), Contains("cat") && Contains("[2]"));
  REQUIRE_THROWS_WITH(pg::cat({}, 0), Contains("cat") && Contains("empty"));
  REQUIRE_THROWS_WITH(pg::cat({pg::scalar_tensor(1.f)}, 0), Contains("cat") && Contains("zero"));
  REQUIRE_THROWS_WITH(pg::cat({a, a}, 2), Contains("cat") && Contains("dim 2"));
  REQUIRE_THROWS_WITH(pg::stack({a, b}, 0),
                      Contains("stack") && Contains("[2, 2]") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(pg::stack({}, 0), Contains("stack"));
  REQUIRE_THROWS_WITH(pg::stack({a}, 3), Contains("stack") && Contains("dim 3"));
}

TEST_CASE("one_hot", "[core]") {
  Tensor o = pg::one_hot(pg::from_labels({2, 0, 1}), 3);
  REQUIRE(o.shape() == Shape{3, 3});
  REQUIRE(o.dtype() == pg::DType::Float32);
  REQUIRE(o.to_vector() == std::vector<float>{0, 0, 1, 1, 0, 0, 0, 1, 0});
  Tensor o2 = pg::one_hot(pg::from_labels({1, 0, 3, 2}, {2, 2}), 4);
  REQUIRE(o2.shape() == Shape{2, 2, 4});
  REQUIRE(o2.sum({-1}).to_vector() == std::vector<float>(4, 1.f));
  REQUIRE(o2.argmax(-1).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 3, 2});
  REQUIRE(pg::one_hot(pg::from_labels({4}, {}), 5).shape() == Shape{5});
  REQUIRE(pg::one_hot(pg::from_labels({}, {0}), 2).shape() == Shape{0, 2});
  REQUIRE_THROWS_WITH(pg::one_hot(pg::from_labels({3}), 3),
                      Contains("one_hot") && Contains("label 3") && Contains("3 classes"));
  REQUIRE_THROWS_WITH(pg::one_hot(pg::from_labels({-1}), 3), Contains("one_hot"));
  REQUIRE_THROWS_WITH(pg::one_hot(pg::from_vector({1}, {1}), 3),
                      Contains("one_hot") && Contains("int64"));
  REQUIRE_THROWS_WITH(pg::one_hot(pg::from_labels({0}), 0), Contains("one_hot"));
}
