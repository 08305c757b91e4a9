#include <catch2/catch.hpp>
#include <polygrad/polygrad.h>
namespace pg = polygrad;
TEST_CASE("smoke: matmul relu sum backward") {
  pg::manual_seed(0);
  pg::Tensor w = pg::randn({3, 2}).requires_grad_(true);
  pg::Tensor x = pg::from_vector(std::vector<float>{1, 2, 3}, {1, 3});
  pg::Tensor loss = pg::matmul(x, w).relu().sum();
  loss.backward();
  REQUIRE(w.grad().defined());
  REQUIRE(w.grad().shape() == pg::Shape{3, 2});
}
