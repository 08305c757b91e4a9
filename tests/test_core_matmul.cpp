// [core] matmul against a naive triple loop (in double): odd shapes, batched
// with broadcast batch dims, 1-D operands, transposed / sliced views, empty
// dims; and the shape errors.
#include "test_core_util.h"

namespace pg = polygrad;
using Catch::Contains;
using pg::Shape;
using pg::Tensor;

namespace {
void check(const Tensor &a, const Tensor &b) {
  INFO("a " << pg::shape_str(a.shape()) << " strides " << pg::shape_str(a.strides()) << ", b "
            << pg::shape_str(b.shape()) << " strides " << pg::shape_str(b.strides()));
  // 1-D operands: promote for the reference, then drop the added dim.
  Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a, b2 = b.dim() == 1 ? b.unsqueeze(1) : b;
  Tensor want = tu::naive_matmul(a2, b2);
  if (b.dim() == 1)
    want = want.squeeze(-1);
  if (a.dim() == 1)
    want = want.squeeze(want.dim() == 1 && b.dim() == 1 ? 0 : -2);
  tu::require_tensor(pg::matmul(a, b), want.shape(), want.to_vector(), 1e-5, 1e-5);
}
} // namespace

TEST_CASE("matmul 2-D odd shapes against a naive triple loop", "[core]") {
  const std::vector<std::array<int64_t, 3>> mkn = {{1, 1, 1}, {7, 13, 5},   {1, 9, 4},    {6, 1, 8},
                                                   {5, 7, 1}, {33, 17, 65}, {130, 70, 90}};
  for (auto [M, K, N] : mkn) {
    Tensor a = tu::uniform({M, K}, M * 100 + K), b = tu::uniform({K, N}, N * 7 + 3);
    check(a, b);
    // The same operands as transposed views (handed to BLAS as transposes).
    Tensor at = tu::uniform({K, M}, 5).t(), bt = tu::uniform({N, K}, 6).t();
    check(at, b);
    check(a, bt);
    check(at, bt);
  }
  // Sliced views with a leading dimension larger than the row, and a
  // column-strided view that BLAS cannot take directly.
  Tensor big = tu::uniform({20, 30}, 9);
  check(big.narrow(0, 3, 7).narrow(1, 2, 13), tu::uniform({13, 5}, 10));
  check(big.slice(1, 0, 30, 2).narrow(0, 0, 4), tu::uniform({15, 3}, 11));
  check(tu::uniform({3, 15}, 12), big.slice(1, 0, 30, 2).narrow(0, 0, 15).t().t());
  check(tu::uniform({4, 6}, 13), tu::uniform({1, 5}, 14).expand({6, 5})); // stride-0 rows
}

TEST_CASE("matmul batched, broadcast batch dims and 1-D operands", "[core]") {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{3, 4, 5}, {3, 5, 2}},
      {{2, 3, 4}, {4, 6}},
      {{3, 4}, {2, 4, 5}},
      {{2, 1, 3, 4}, {5, 4, 2}},
      {{1, 3, 4}, {2, 4, 5}},
      {{2, 3, 2, 4}, {1, 1, 4, 3}},
      {{4}, {4}},
      {{4}, {4, 3}},
      {{3, 4}, {4}},
      {{4}, {2, 4, 3}},
      {{2, 3, 4}, {4}},
      {{1}, {1, 5}},
      {{16, 40, 50}, {16, 50, 30}}, // big enough for the parallel batch loop
  };
  for (const auto &[sa, sb] : cases)
    check(tu::uniform(sa, 31), tu::uniform(sb, 32));
  // Batched transposed views.
  Tensor a = tu::uniform({3, 5, 4}, 33).transpose(1, 2); // (3, 4, 5)
  Tensor b = tu::uniform({3, 2, 5}, 34).transpose(-1, -2);
  check(a, b);
  check(tu::uniform({2, 3, 4}, 35).permute({1, 0, 2}), tu::uniform({4, 2}, 36));
  // A strided 1-D vector.
  check(tu::uniform({8}, 37).slice(0, 0, 8, 2), tu::uniform({4, 3}, 38));
  check(tu::uniform({3, 4}, 39), tu::uniform({8}, 40).slice(0, 1, 8, 2));
}

TEST_CASE("matmul with empty dims gives zeros of the right shape", "[core]") {
  REQUIRE(pg::matmul(pg::ones({3, 0}), pg::ones({0, 4})).to_vector() ==
          std::vector<float>(12, 0.f));
  REQUIRE(pg::matmul(pg::ones({0, 3}), pg::ones({3, 4})).shape() == Shape{0, 4});
  REQUIRE(pg::matmul(pg::ones({2, 3}), pg::ones({3, 0})).shape() == Shape{2, 0});
  REQUIRE(pg::matmul(pg::ones({0, 2, 3}), pg::ones({3, 4})).shape() == Shape{0, 2, 4});
  REQUIRE(pg::matmul(pg::ones({0}), pg::ones({0})).item() == 0.f);
}

TEST_CASE("matmul shape errors name the op and both shapes", "[core]") {
  REQUIRE_THROWS_AS(pg::matmul(pg::ones({2, 3}), pg::ones({4, 5})), pg::Error);
  REQUIRE_THROWS_WITH(pg::matmul(pg::ones({2, 3}), pg::ones({4, 5})),
                      Contains("matmul") && Contains("[2, 3]") && Contains("[4, 5]"));
  REQUIRE_THROWS_WITH(pg::matmul(pg::ones({3}), pg::ones({4})),
                      Contains("matmul") && Contains("[3]") && Contains("[4]"));
  REQUIRE_THROWS_WITH(pg::matmul(pg::ones({2, 2, 3}), pg::ones({3, 3, 4})),
                      Contains("matmul") && Contains("[2, 2, 3]") && Contains("[3, 3, 4]"));
  REQUIRE_THROWS_WITH(pg::matmul(pg::scalar_tensor(1.f), pg::ones({2})),
                      Contains("matmul") && Contains("[]"));
  REQUIRE_THROWS_WITH(pg::matmul(pg::ones({2, 2}), pg::from_labels({1, 2})),
                      Contains("matmul") && Contains("int64"));
}
