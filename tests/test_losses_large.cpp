// The softmax losses at N x C = 4096 x 64 vs PyTorch (tools/golden/losses.py
// big_cases): class weights / alpha and ignored labels, every reduction, value
// and gradient, at 1 and at 2 threads. This is the size where the engine runs
// many blocks on both threads (see the static_asserts), so the block sums, their
// order and the weighted mean's denominator over many blocks meet PyTorch.
//
// The inputs are not in the fixture: hash_inputs() below and the generator's
// hash_inputs() build them from the same integer hash (exact float32 values).
#include <cmath>
#include <cstdint>
#include <functional>

#include <catch2/catch.hpp>

#include "golden.h"
#include <polygrad/core/parallel.h>
#include <polygrad/losses/losses.h>

namespace pg = polygrad;
namespace L = polygrad::losses;
using pg::Tensor;
using R = L::Reduction;

namespace {

constexpr int64_t kN = 4096, kC = 64;
// The softmax engine's blocks hold 4096 / C rows (losses/softmax_loss.cpp,
// block_rows), so this is 64 blocks; it forks when N * C >= kParallelGrain.
// Both must hold or the test checks the serial path only.
static_assert(kN * kC >= pg::kParallelGrain, "too small to run the loss on two threads");
static_assert(kN / (4096 / kC) >= 8, "too few blocks per thread");

// lowbias32 (Chris Wellons), as _mix32 in tools/golden/losses.py
uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  return x ^ (x >> 16);
}
uint32_t hash(uint32_t stream, uint32_t i) { return mix32(i + stream * 0x9e3779b9u); }
// the top 24 bits, centred: an integer in [-2^23, 2^23)
int32_t top24(uint32_t h) { return (int32_t)(h >> 8) - (1 << 23); }

struct Inputs {
  Tensor x, y, w, v;
};

// As hash_inputs() in tools/golden/losses.py: x in [-8, 8) in steps of 2^-20,
// labels with ~1/8 ignored (-100), weights in (0, 2] in steps of 1/128,
// upstream gradient v in [-1, 1) in steps of 2^-23.
Inputs hash_inputs() {
  std::vector<float> x(kN * kC), w(kC), v(kN);
  std::vector<int64_t> y(kN);
  for (int64_t k = 0; k < kN * kC; ++k)
    x[k] = std::ldexp((float)top24(hash(1, (uint32_t)k)), -20);
  for (int64_t i = 0; i < kN; ++i) {
    y[i] = hash(3, (uint32_t)i) % 8 == 0 ? -100 : (int64_t)(hash(2, (uint32_t)i) % kC);
    v[i] = std::ldexp((float)top24(hash(5, (uint32_t)i)), -23);
  }
  for (int64_t j = 0; j < kC; ++j)
    w[j] = (float)(1 + hash(4, (uint32_t)j) % 256) / 128.f;
  return {pg::from_vector(x, {kN, kC}), pg::from_labels(y), pg::from_vector(w, {kC}),
          pg::from_vector(v, {kN})};
}

using LossFn = std::function<Tensor(const Tensor &x, const Tensor &y, const Tensor &w, R r)>;

// Tolerance, relative only. The references are float64 from the same float32
// inputs; polygrad computes in float32 (softmax sums over 64 classes, exp/log
// to ~1 ulp, g / D rounded once) and sums the row losses in double. Measured
// worst relative errors (GCC, -march=native): 3e-7 on values and row losses,
// 5.7e-7 on gradient entries. rtol 1e-5 leaves 17x for another compiler's
// contraction or vector width, and is far below what a wrong term moves (a
// count-for-weight-sum mean: ~1e-1; one block's sum lost: ~1.5e-2). Every
// gradient entry here is >= ~1e-13 (logits in [-8, 8)), so no atol is needed.
constexpr double kRtol = 1e-5;

Tensor scaled(const Tensor &t, double s) {
  std::vector<float> v = t.to_vector();
  for (float &e : v)
    e = (float)(e * s);
  return pg::from_vector(v, t.shape());
}

} // namespace

TEST_CASE("losses golden: N x C = 4096 x 64, weights and ignored labels, 1 and 2 threads",
          "[losses]") {
  const auto f = golden::load_binary("losses_4096x64.bin");
  const Inputs in = hash_inputs();
  {
    INFO("the C++ and Python input hashes drifted apart (tools/golden/losses.py hash_inputs)");
    REQUIRE(in.x.reshape({kN * kC}).slice(0, 0, 16).to_vector() ==
            golden::get(f, "inputs.x_head").to_vector());
    REQUIRE(in.y.slice(0, 0, 16).to_vector<int64_t>() ==
            golden::get(f, "inputs.y_head").to_vector<int64_t>());
    REQUIRE(in.w.to_vector() == golden::get(f, "inputs.w").to_vector());
    REQUIRE(in.v.slice(0, 0, 16).to_vector() == golden::get(f, "inputs.v_head").to_vector());
  }
  // the mean's denominator: the weight sum of the non-ignored labels
  double D = 0;
  int64_t ignored = 0;
  {
    const auto y = in.y.to_vector<int64_t>();
    const auto w = in.w.to_vector();
    for (int64_t yi : y) {
      if (yi == -100)
        ++ignored;
      else
        D += w[yi];
    }
  }
  REQUIRE(ignored > 300); // ~1/8 of 4096: the ignore path runs in every block
  const std::vector<std::pair<std::string, LossFn>> losses = {
      {"ce", [](auto &x, auto &y, auto &w,
                R r) { return L::cross_entropy(x, y, {.weight = w, .reduction = r}); }},
      {"poly1",
       [](auto &x, auto &y, auto &w, R r) {
         return L::poly1_cross_entropy(x, y, {.epsilon = 2.f, .weight = w, .reduction = r});
       }},
      {"focal",
       [](auto &x, auto &y, auto &w, R r) {
         return L::focal_loss(x, y, {.gamma = 2.f, .alpha = w, .reduction = r});
       }},
      {"poly1_focal",
       [](auto &x, auto &y, auto &w, R r) {
         return L::poly1_focal_loss(x, y,
                                    {.epsilon = 1.f, .gamma = 1.5f, .alpha = w, .reduction = r});
       }},
  };
  const int saved = pg::get_num_threads();
  for (const auto &[name, fn] : losses) {
    const std::string mean = name + ".mean", sum = name + ".sum", none = name + ".none";
    // torch's own sum / mean is our D: the fixture and this test agree on the
    // denominator before any polygrad value is compared
    REQUIRE(golden::get(f, sum + ".loss").item() / golden::get(f, mean + ".loss").item() ==
            Approx(D).epsilon(1e-6));
    std::vector<std::vector<float>> results[2];
    for (int threads : {1, 2}) {
      INFO(name << " at " << threads << " thread(s)");
      pg::set_num_threads(threads);
      auto &res = results[threads - 1];
      for (R r : {R::Mean, R::Sum, R::None}) {
        const std::string key = name + "." + L::reduction_name(r);
        Tensor x = in.x.clone().requires_grad_(true);
        Tensor loss = fn(x, in.y, in.w, r);
        golden::require_close(loss, golden::get(f, key + ".loss"), kRtol, 0, key + " loss");
        if (r == R::None)
          loss.backward(in.v);
        else
          loss.backward();
        // the gradient of sum is that of mean times D (only mean's is stored)
        const Tensor expected =
            r == R::Sum ? scaled(golden::get(f, mean + ".gx"), D) : golden::get(f, key + ".gx");
        golden::require_close(x.grad(), expected, kRtol, 0, key + " dL/dx");
        res.push_back(loss.to_vector());
        res.push_back(x.grad().to_vector());
      }
    }
    // the block sums are added in block order: bitwise the same at any thread count
    INFO(name << ": 1 thread vs 2 threads");
    REQUIRE(results[0] == results[1]);
  }
  pg::set_num_threads(saved);
}
