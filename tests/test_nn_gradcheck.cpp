// Finite-difference gradient checks of every nn/ layer, w.r.t. the input and
// every parameter, on small shapes: strided / padded / dilated / grouped /
// 1x1 convs, overlapping and padded pooling, BatchNorm in train and eval.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>

#include <catch2/catch.hpp>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/autograd/gradcheck.h>
#include <polygrad/core/parallel.h>
#include <polygrad/core/random.h>
#include <polygrad/nn/activation.h>
#include <polygrad/nn/batchnorm.h>
#include <polygrad/nn/conv2d.h>
#include <polygrad/nn/dropout.h>
#include <polygrad/nn/linear.h>
#include <polygrad/nn/pooling.h>

namespace pg = polygrad;
namespace nn = polygrad::nn;
namespace F = polygrad::nn::functional;
using pg::Tensor;

namespace {

Tensor param(const pg::Shape &s, float scale = 1.f) {
  return (pg::randn(s) * scale).detach().requires_grad_(true);
}

void require_gradcheck(const pg::GradFn &fn, const std::vector<Tensor> &inputs,
                       pg::GradcheckOptions opt = {}) {
  const pg::GradcheckResult r = pg::gradcheck(fn, inputs, opt);
  INFO(r.message);
  REQUIRE(r.ok);
  REQUIRE(r.checked > 0);
  REQUIRE(r.sensitive);
}

// Distinct values spaced 0.1 apart in random order: a finite-difference step
// of 1e-2 never changes which element of a pooling window is the max.
Tensor distinct(const pg::Shape &s, uint32_t seed) {
  const int64_t n = pg::shape_numel(s);
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), 0.f);
  std::shuffle(v.begin(), v.end(), std::mt19937(seed));
  for (float &x : v)
    x = (x - n / 2.f) * 0.1f;
  return pg::from_vector(v, s).requires_grad_(true);
}

// Inputs for the gradcheck of a fused op-then-ReLU: draws (draw()) until
// every pre-activation (pre(inputs), the op without its ReLU) lies >= 0.05
// from the ReLU's kink, both signs present, so that a finite-difference step
// never crosses it. Empty if 500 draws find none.
std::vector<Tensor> away_from_kink(const std::function<std::vector<Tensor>()> &draw,
                                   const pg::GradFn &pre) {
  for (int tries = 0; tries < 500; ++tries) {
    std::vector<Tensor> v = draw();
    pg::NoGradGuard ng;
    const auto z = pre(v).to_vector();
    bool away = true;
    int negative = 0;
    for (float e : z)
      away &= std::fabs(e) >= 0.05f, negative += e < 0.f;
    if (away && negative > 0 && negative < (int)z.size())
      return v;
  }
  return {};
}

} // namespace

TEST_CASE("nn gradcheck: linear", "[nn]") {
  pg::manual_seed(1);
  require_gradcheck([](const std::vector<Tensor> &v) { return F::linear(v[0], v[1], v[2]); },
                    {param({2, 3, 4}), param({5, 4}), param({5})});
  require_gradcheck([](const std::vector<Tensor> &v) { return F::linear(v[0], v[1]); },
                    {param({3, 4}), param({2, 4})});
  // Only the weight needs a gradient (the input of a first layer).
  require_gradcheck([](const std::vector<Tensor> &v) { return F::linear(v[0], v[1], v[2]); },
                    {pg::randn({3, 4}), param({2, 4}), param({2})});
}

TEST_CASE("nn gradcheck: linear_relu (Linear then ReLU, one node)", "[nn]") {
  // Inputs whose pre-activations x W^T + b all lie away from the ReLU's kink.
  pg::manual_seed(3);
  for (const bool bias : {true, false}) {
    const std::vector<Tensor> in = away_from_kink(
        [bias] {
          std::vector<Tensor> v{param({2, 3, 4}), param({5, 4})};
          if (bias)
            v.push_back(param({5}));
          return v;
        },
        [bias](const std::vector<Tensor> &v) {
          return F::linear(v[0], v[1], bias ? v[2] : Tensor());
        });
    REQUIRE(!in.empty());
    require_gradcheck(
        [bias](const std::vector<Tensor> &v) {
          return F::linear_relu(v[0], v[1], bias ? v[2] : Tensor());
        },
        in);
  }
}

TEST_CASE("nn gradcheck: conv2d variants", "[nn]") {
  pg::manual_seed(2);
  struct Case {
    const char *what;
    pg::Shape x, w;
    bool bias;
    nn::Size2 stride, padding, dilation;
    int64_t groups;
  };
  const Case cases[] = {
      {"3x3 pad 1", {2, 2, 5, 4}, {3, 2, 3, 3}, true, 1, 1, 1, 1},
      {"strided, rectangular", {1, 2, 6, 7}, {2, 2, 2, 3}, true, {2, 3}, {1, 1}, 1, 1},
      {"dilated", {1, 1, 7, 7}, {2, 1, 3, 2}, false, 1, {2, 1}, {2, 3}, 1},
      {"grouped", {2, 4, 4, 4}, {4, 2, 3, 3}, true, {1, 2}, 1, 1, 2},
      {"depthwise", {1, 3, 4, 5}, {3, 1, 3, 3}, true, 2, 1, 1, 3},
      {"same 3x5 dilated (contiguous-run im2col)",
       {1, 2, 6, 7},
       {2, 2, 3, 5},
       true,
       1,
       {2, 4},
       2,
       1},
      {"same 3x3 pad 1 grouped", {2, 4, 4, 5}, {2, 2, 3, 3}, true, 1, 1, 1, 2},
      {"1x1 direct", {2, 3, 3, 4}, {2, 3, 1, 1}, true, 1, 0, 1, 1},
      {"1x1 grouped direct", {1, 4, 3, 3}, {4, 2, 1, 1}, false, 1, 0, 1, 2},
      {"1x1 strided padded", {1, 2, 4, 5}, {3, 2, 1, 1}, true, 2, 1, 1, 1},
  };
  for (const Case &c : cases) {
    INFO(c.what);
    std::vector<Tensor> in{param(c.x), param(c.w, 0.5f)};
    if (c.bias)
      in.push_back(param({c.w[0]}));
    require_gradcheck(
        [&](const std::vector<Tensor> &v) {
          return F::conv2d(v[0], v[1], c.bias ? v[2] : Tensor(), c.stride, c.padding, c.dilation,
                           c.groups);
        },
        in);
  }
  // Winograd F(2x2, 3x3) and F(4x4, 3x3), forced on small shapes: padding
  // 0, 1 and 2 (the backward-data pass then runs with padding 2, 1 and 0),
  // odd sizes (F(4x4): partial tiles; 7 x 6 with padding 2: two tile rows).
  // conv2d is linear in each input, so a difference quotient is exact for
  // any step up to rounding: F(4x4) takes a step of 0.25, which keeps its
  // ~10x larger forward rounding (~5e-6 here) out of the quotient (at 1e-2
  // it reached 6.5e-4 of a 0.2 gradient).
  for (nn::ConvAlgorithm a : {nn::ConvAlgorithm::Winograd, nn::ConvAlgorithm::Winograd4x4}) {
    nn::set_conv_algorithm(a);
    pg::GradcheckOptions opt;
    if (a == nn::ConvAlgorithm::Winograd4x4)
      opt.eps = 0.25f;
    for (int64_t p : {0, 1, 2}) {
      INFO("winograd " << (a == nn::ConvAlgorithm::Winograd ? "2x2" : "4x4") << ", padding " << p);
      auto conv = [&](const std::vector<Tensor> &v) { return F::conv2d(v[0], v[1], v[2], 1, p); };
      require_gradcheck(conv, {param({2, 2, 5, 4}), param({3, 2, 3, 3}, 0.5f), param({3})}, opt);
      require_gradcheck(conv, {param({1, 2, 7, 6}), param({2, 2, 3, 3}, 0.5f), param({2})}, opt);
    }
  }
  nn::set_conv_algorithm(nn::ConvAlgorithm::Auto);
  // Unbatched (C, H, W) input.
  require_gradcheck([](const std::vector<Tensor> &v) { return F::conv2d(v[0], v[1], v[2], 1, 1); },
                    {param({2, 4, 4}), param({3, 2, 3, 3}, 0.5f), param({3})});
}

namespace {
// Random (x, w, b) for conv -> relu -> max-pool whose conv outputs all lie
// at least `margin` from 0 and whose pool windows' two largest values
// differ by at least `margin`: then no finite-difference step of one input
// element (x is clamped to [-3, 3] and w to [-1, 1], so a step of 1e-2
// moves a conv output by <= 0.03 < margin / 2) crosses relu's kink or changes a window's argmax.
// Drawn from a fixed seed until they qualify.
std::vector<Tensor> kink_free(const pg::Shape &xs, const pg::Shape &ws, bool bias, int stride,
                              int pad, int groups, int pk, int ps, int pp, uint64_t seed) {
  pg::manual_seed(seed);
  const float margin = 0.08f;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    std::vector<Tensor> v{pg::clamp(pg::randn(xs), -3.f, 3.f),
                          pg::clamp(pg::randn(ws) * 0.5f, -1.f, 1.f),
                          bias ? pg::randn({ws[0]}) : Tensor()};
    const Tensor c = F::conv2d(v[0], v[1], v[2], stride, pad, 1, groups);
    const auto cv = c.to_vector();
    bool ok = std::all_of(cv.begin(), cv.end(), [&](float e) { return std::fabs(e) >= margin; });
    const int64_t P = c.size(0) * c.size(1), H = c.size(2), W = c.size(3);
    const int64_t OH = (H + 2 * pp - pk) / ps + 1, OW = (W + 2 * pp - pk) / ps + 1;
    for (int64_t q = 0; ok && q < P; ++q)
      for (int64_t i = 0; ok && i < OH; ++i)
        for (int64_t j = 0; ok && j < OW; ++j) {
          float m1 = -INFINITY, m2 = -INFINITY;
          for (int64_t a = i * ps - pp; a < i * ps - pp + pk; ++a)
            for (int64_t e = j * ps - pp; e < j * ps - pp + pk; ++e)
              if (a >= 0 && a < H && e >= 0 && e < W) {
                const float u = cv[(q * H + a) * W + e];
                m2 = std::max(m2, std::min(m1, u));
                m1 = std::max(m1, u);
              }
          ok = m1 < 0.f || m1 - m2 >= margin; // an all-negative window has no gradient
        }
    if (ok) {
      for (Tensor &t : v)
        if (t.defined())
          t.requires_grad_(true);
      return v;
    }
  }
  FAIL("no kink-free inputs found");
  return {};
}
} // namespace

TEST_CASE("nn gradcheck: conv2d_relu_max_pool2d", "[nn]") {
  // Kink-free inputs exist only for small convs, far below the sizes at which
  // the conv forks (kConvParallelMacs), so this runs the serial path (a loop
  // over 1 and 2 threads here only ever ran it twice). The parallel path is
  // compared with the serial one in tests/test_threads.cpp and with PyTorch,
  // on a repeated batch, in tests/test_nn_golden.cpp.
  // Strided, grouped conv; overlapping, padded pool; no bias.
  std::vector<Tensor> no_bias = kink_free({1, 4, 7, 6}, {4, 2, 3, 3}, false, 2, 1, 2, 3, 2, 1, 9);
  no_bias.pop_back();
  require_gradcheck(
      [](const std::vector<Tensor> &v) {
        return F::conv2d_relu_max_pool2d(v[0], v[1], v[2], 1, 1, 1, 1, 2);
      },
      kink_free({2, 2, 4, 5}, {3, 2, 3, 3}, true, 1, 1, 1, 2, 2, 0, 8));
  require_gradcheck(
      [](const std::vector<Tensor> &v) {
        return F::conv2d_relu_max_pool2d(v[0], v[1], Tensor(), 2, 1, 1, 2, 3, 2, 1);
      },
      no_bias);
}

TEST_CASE("nn gradcheck: pooling", "[nn]") {
  require_gradcheck([](const std::vector<Tensor> &v) { return F::max_pool2d(v[0], 2); },
                    {distinct({2, 2, 4, 6}, 1)});
  require_gradcheck([](const std::vector<Tensor> &v) { return F::max_pool2d(v[0], 2); },
                    {distinct({1, 2, 5, 7}, 2)}); // odd sizes: last row/col unused
  require_gradcheck([](const std::vector<Tensor> &v) { return F::max_pool2d(v[0], 3, 2, 1); },
                    {distinct({2, 2, 7, 6}, 3)}); // overlapping + padded
  require_gradcheck(
      [](const std::vector<Tensor> &v) {
        return F::max_pool2d(v[0], {2, 3}, nn::Size2{1, 2}, {1, 1}, {2, 1}, true);
      },
      {distinct({1, 2, 6, 7}, 4)}); // dilated, ceil_mode
  // relu then max, fused: values shifted so that ~80 % are negative (many
  // windows are all < 0: no gradient) and 0.05 off every multiple of 0.1, so
  // no window max sits at relu's kink.
  const auto off_kink = [](const pg::Shape &s, uint32_t seed) {
    const float shift = 0.05f - 0.1f * float(3 * pg::shape_numel(s) / 10);
    return (distinct(s, seed).detach() + shift).requires_grad_(true);
  };
  require_gradcheck([](const std::vector<Tensor> &v) { return F::relu_max_pool2d(v[0], 2); },
                    {off_kink({2, 2, 5, 6}, 5)});
  require_gradcheck([](const std::vector<Tensor> &v) { return F::relu_max_pool2d(v[0], 3, 2, 1); },
                    {off_kink({2, 2, 7, 6}, 6)});
  pg::manual_seed(4);
  require_gradcheck([](const std::vector<Tensor> &v) { return F::avg_pool2d(v[0], 3, 2, 1); },
                    {param({2, 2, 7, 6})});
  require_gradcheck(
      [](const std::vector<Tensor> &v) { return F::avg_pool2d(v[0], 3, 2, 1, true, false); },
      {param({1, 2, 6, 7})});
  require_gradcheck(
      [](const std::vector<Tensor> &v) { return F::avg_pool2d(v[0], 2, 1, 1, false, true, 3); },
      {param({1, 1, 4, 5})});
  require_gradcheck([](const std::vector<Tensor> &v) { return F::adaptive_avg_pool2d(v[0], 1); },
                    {param({2, 3, 4, 5})});
  require_gradcheck(
      [](const std::vector<Tensor> &v) {
        return F::adaptive_avg_pool2d(v[0], {3, 4});
      },
      {param({1, 2, 7, 5})});
}

TEST_CASE("nn gradcheck: batchnorm train and eval", "[nn]") {
  pg::manual_seed(5);
  const pg::GradcheckOptions opt{};
  for (const pg::Shape &s : {pg::Shape{3, 2, 3, 4}, pg::Shape{5, 3}, pg::Shape{2, 3, 4}}) {
    INFO("shape " << pg::shape_str(s));
    const int64_t C = s[1];
    // Train: batch statistics (the gradient flows through mean and var).
    require_gradcheck(
        [](const std::vector<Tensor> &v) {
          return F::batch_norm(v[0], Tensor(), Tensor(), v[1], v[2], true);
        },
        {param(s), param({C}), param({C})}, opt);
    // Eval: running statistics are constants.
    const Tensor rm = pg::randn({C}), rv = pg::rand({C}) + 0.5f;
    require_gradcheck(
        [&](const std::vector<Tensor> &v) {
          return F::batch_norm(v[0], rm, rv, v[1], v[2], false);
        },
        {param(s), param({C}), param({C})}, opt);
    // No affine parameters.
    require_gradcheck(
        [](const std::vector<Tensor> &v) {
          return F::batch_norm(v[0], Tensor(), Tensor(), Tensor(), Tensor(), true);
        },
        {param(s)}, opt);
    // Fused with the ReLU after it, train and eval, on inputs whose
    // normalised values z (before the ReLU) all lie >= 0.05 from relu's kink,
    // both signs present: a finite-difference step moves z by far less.
    for (const bool training : {true, false}) {
      auto bn = [&, training](const std::vector<Tensor> &v, bool relu) {
        const Tensor r = training ? Tensor() : rm, q = training ? Tensor() : rv;
        return relu ? F::batch_norm_relu(v[0], r, q, v[1], v[2], training)
                    : F::batch_norm(v[0], r, q, v[1], v[2], training);
      };
      const std::vector<Tensor> in = away_from_kink(
          [&] {
            return std::vector<Tensor>{param(s), param({C}, 3.f), param({C})};
          },
          [&](const std::vector<Tensor> &v) { return bn(v, false); });
      REQUIRE(!in.empty());
      require_gradcheck([&](const std::vector<Tensor> &v) { return bn(v, true); }, in, opt);
    }
  }
}

TEST_CASE("nn gradcheck: activations", "[nn]") {
  pg::manual_seed(6);
  // Values kept away from the kinks at 0 (leaky_relu, relu).
  Tensor x = pg::randn({3, 5});
  {
    float *p = x.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i)
      p[i] += p[i] >= 0 ? 0.1f : -0.1f;
  }
  x.requires_grad_(true);
  const std::vector<std::pair<const char *, pg::GradFn>> fns = {
      {"leaky_relu", [](const std::vector<Tensor> &v) { return F::leaky_relu(v[0], 0.2); }},
      {"leaky_relu slope > 1",
       [](const std::vector<Tensor> &v) { return F::leaky_relu(v[0], 1.5); }},
      {"gelu", [](const std::vector<Tensor> &v) { return F::gelu(v[0]); }},
      {"gelu tanh", [](const std::vector<Tensor> &v) { return F::gelu(v[0], "tanh"); }},
      {"silu", [](const std::vector<Tensor> &v) { return F::silu(v[0]); }},
      {"ReLU module", [](const std::vector<Tensor> &v) { return nn::ReLU()(v[0]); }},
      {"Softmax module", [](const std::vector<Tensor> &v) { return nn::Softmax(1)(v[0]); }},
      {"LogSoftmax module", [](const std::vector<Tensor> &v) { return nn::LogSoftmax(0)(v[0]); }},
  };
  for (const auto &[name, fn] : fns) {
    INFO(name);
    require_gradcheck(fn, {x});
  }
}

TEST_CASE("nn gradcheck: dropout (fixed mask through reseeding)", "[nn]") {
  // Each evaluation reseeds, so the finite differences see the same mask.
  require_gradcheck(
      [](const std::vector<Tensor> &v) {
        pg::manual_seed(7);
        return F::dropout(v[0], 0.3, true);
      },
      {param({4, 5})});
}
