// [autograd] Anomaly mode (autograd/anomaly_mode.h): a non-finite forward
// output or backward gradient throws naming the node, the shapes, the first
// bad element and (backward) the forward op that created the node; off, the
// same computations run through and leave the non-finite values in place.
#include "test_core_util.h"

#include <cmath>

#include <polygrad/autograd/anomaly_mode.h>
#include <polygrad/losses/poly1_cross_entropy.h>

namespace pg = polygrad;
using Catch::Contains;
using pg::Tensor;

TEST_CASE("anomaly mode: off by default, the guard nests and restores", "[autograd]") {
  REQUIRE_FALSE(pg::is_anomaly_enabled());
  {
    pg::DetectAnomalyGuard on;
    REQUIRE(pg::is_anomaly_enabled());
    {
      pg::DetectAnomalyGuard off(false);
      REQUIRE_FALSE(pg::is_anomaly_enabled());
    }
    REQUIRE(pg::is_anomaly_enabled());
  }
  REQUIRE_FALSE(pg::is_anomaly_enabled());
}

TEST_CASE("anomaly mode: a forward NaN names the op, shapes and element", "[autograd]") {
  Tensor x = pg::from_vector(std::vector<float>{1, 2, -3, 4, 5, 6}, {2, 3}).requires_grad_(true);
  {
    pg::DetectAnomalyGuard anomaly;
    Tensor y = x * 2.f; // finite: no throw
    REQUIRE_THROWS_WITH(y.log(), Contains("anomaly: the forward of LogBackward") &&
                                     Contains("output of shape [2, 3]") &&
                                     Contains("element [0, 2] = nan") &&
                                     Contains("inputs [2, 3] from MulBackward"));
  }
  // Off: the NaN goes through.
  Tensor y = (x * 2.f).log();
  REQUIRE(std::isnan(y.to_vector<float>()[2]));
}

TEST_CASE("anomaly mode: a fused loss's node is named", "[autograd]") {
  Tensor logits = pg::zeros({4, 5});
  logits.data<float>()[7] = std::numeric_limits<float>::infinity();
  logits.requires_grad_(true);
  Tensor y = pg::from_labels({0, 1, 2, 3});
  pg::DetectAnomalyGuard anomaly;
  REQUIRE_THROWS_WITH(pg::losses::poly1_cross_entropy(logits, y, {.epsilon = 1.f}),
                      Contains("the forward of Poly1CrossEntropyBackward") &&
                          Contains("inputs [4, 5] a leaf"));
}

TEST_CASE("anomaly mode: a backward inf names the node and its forward op", "[autograd]") {
  // sqrt(0) = 0 is finite, its derivative 1 / (2 sqrt(0)) is not.
  Tensor x = pg::from_vector(std::vector<float>{4, 0, 1}, {3}).requires_grad_(true);
  {
    pg::DetectAnomalyGuard anomaly;
    Tensor loss = (x.sqrt() * 3.f).sum();
    REQUIRE_THROWS_WITH(loss.backward(),
                        Contains("anomaly: SqrtBackward returned a non-finite gradient for input "
                                 "0 of shape [3]: element [1] = inf") &&
                            Contains("incoming gradient, of shape [3], is finite") &&
                            Contains("created by forward op #1 (inputs [3] a leaf -> output [3])"));
  }
  // Off: backward runs through and the gradient holds the inf.
  Tensor loss = (x.sqrt() * 3.f).sum();
  REQUIRE_NOTHROW(loss.backward());
  REQUIRE(std::isinf(x.grad().to_vector<float>()[1]));
}

TEST_CASE("anomaly mode: a node recorded before the mode was on", "[autograd]") {
  Tensor x = pg::from_vector(std::vector<float>{0, 1}, {2}).requires_grad_(true);
  Tensor loss = x.sqrt().sum();
  pg::DetectAnomalyGuard anomaly;
  REQUIRE_THROWS_WITH(loss.backward(),
                      Contains("SqrtBackward") && Contains("recorded before anomaly mode was on"));
}
