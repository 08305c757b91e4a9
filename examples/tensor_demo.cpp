// A short tour of the tensor engine and autograd (what scripts/demo.sh ran
// before the training examples existed; still a good first read).
#include <iostream>

#include <polygrad/polygrad.h>

#include "common/program.h"

namespace pg = polygrad;

namespace {
int tour() {
  pg::manual_seed(42);
  pg::Tensor x = pg::arange(6).reshape({2, 3});
  std::cout << "x = " << x << "\n";
  std::cout << "x.t() (a view, no copy) = " << x.t() << "\n";
  std::cout << "x + [10, 20, 30] (broadcast) = " << x + pg::from_vector({10, 20, 30}, {3}) << "\n";
  std::cout << "softmax(x * 1000, dim=1) stays finite: " << (x * 1000.f).softmax(1) << "\n";
  std::cout << "sum over dim 0 = " << x.sum({0}) << "\n";

  pg::Tensor w = pg::randn({3, 2}).requires_grad_(true);
  pg::Tensor loss = pg::matmul(x, w).relu().sum();
  loss.backward();
  std::cout << "loss = " << loss << "\n";
  std::cout << "d loss / d w = " << w.grad() << "\n";
  std::cout << "\nThe graph, as Graphviz DOT (render with: dot -Tpng):\n"
            << pg::to_dot(loss, {{"w", w}});
  return 0;
}
} // namespace

int main() { return polygrad::examples::run_program("tensor_demo", tour); }
