// The README's first example, checked by value: d/dw sum(relu(x w)) has
// x_i in column j where (x w)_j > 0 and 0 elsewhere.
#include <catch2/catch.hpp>
#include <polygrad/polygrad.h>
namespace pg = polygrad;
TEST_CASE("smoke: matmul relu sum backward", "[autograd]") {
  pg::manual_seed(0);
  pg::Tensor w = pg::randn({3, 2}).requires_grad_(true);
  pg::Tensor x = pg::from_vector(std::vector<float>{1, 2, 3}, {1, 3});
  pg::Tensor y = pg::matmul(x, w);
  pg::Tensor loss = y.relu().sum();
  loss.backward();
  REQUIRE(w.grad().defined());
  REQUIRE(w.grad().shape() == pg::Shape{3, 2});
  const auto yv = y.to_vector(), g = w.grad().to_vector();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j)
      REQUIRE(g[i * 2 + j] == (yv[j] > 0 ? float(i + 1) : 0.f));
}
