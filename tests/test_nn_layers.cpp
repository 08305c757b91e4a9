// nn/ layers beyond the golden values: the threaded conv / pooling paths
// against naive double-precision references, module semantics (parameters,
// buffers, train/eval), printing, error messages, initialisation statistics
// and dropout's seeding.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <sstream>

#include <catch2/catch.hpp>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/parallel.h>
#include <polygrad/core/random.h>
#include <polygrad/nn/activation.h>
#include <polygrad/nn/batchnorm.h>
#include <polygrad/nn/conv2d.h>
#include <polygrad/nn/dropout.h>
#include <polygrad/nn/flatten.h>
#include <polygrad/nn/init.h>
#include <polygrad/nn/linear.h>
#include <polygrad/nn/pooling.h>
#include <polygrad/nn/sequential.h>

#include "test_core_util.h"

namespace pg = polygrad;
namespace nn = polygrad::nn;
namespace F = polygrad::nn::functional;
using Catch::Matchers::Contains;
using pg::Tensor;

namespace {

void require_near(const Tensor &a, const std::vector<double> &ref, double tol, const char *what) {
  INFO(what);
  const auto v = a.to_vector();
  REQUIRE(v.size() == ref.size());
  double worst = 0;
  for (size_t i = 0; i < v.size(); ++i)
    worst = std::max(worst, std::fabs(v[i] - ref[i]) / (1.0 + std::fabs(ref[i])));
  REQUIRE(worst <= tol);
}

// Runs body at 1 and at 2 threads (restoring the setting). With must_fork,
// the 2-thread run must take a parallel branch (parallel_regions), so a case
// meant to check a threaded path cannot silently run serially at both counts.
void with_threads(bool must_fork, const std::function<void()> &body) {
  const int saved = pg::get_num_threads();
  for (int nt : {1, 2}) {
    INFO("threads = " << nt);
    pg::set_num_threads(nt);
    const uint64_t before = pg::parallel_regions();
    body();
    if (nt > 1 && must_fork) {
      INFO("the 2-thread run must fork (is the input above the grain / threshold?)");
      CHECK(pg::parallel_regions() > before);
    }
  }
  pg::set_num_threads(saved);
}
void with_threads(const std::function<void()> &body) { with_threads(true, body); }

struct ConvRef {
  std::vector<double> y, dx, dw, db;
};

// Direct definition of conv2d and its gradients, in double.
ConvRef conv_ref(const Tensor &xt, const Tensor &wt, const Tensor &bt, const Tensor &gyt,
                 nn::Size2 s, nn::Size2 p, nn::Size2 d, int64_t G) {
  const auto x = xt.to_vector(), w = wt.to_vector(), gy = gyt.to_vector();
  const auto b = bt.defined() ? bt.to_vector() : std::vector<float>();
  const int64_t N = xt.size(0), C = xt.size(1), H = xt.size(2), W = xt.size(3);
  const int64_t O = wt.size(0), Cg = wt.size(1), kh = wt.size(2), kw = wt.size(3);
  const int64_t OH = gyt.size(2), OW = gyt.size(3), Og = O / G;
  ConvRef r;
  r.y.assign(N * O * OH * OW, 0);
  r.dx.assign(x.size(), 0);
  r.dw.assign(w.size(), 0);
  r.db.assign(O, 0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          const int64_t yi = ((n * O + o) * OH + i) * OW + j;
          double acc = b.empty() ? 0 : b[o];
          const double g = gy[yi];
          r.db[o] += g;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t a = 0; a < kh; ++a)
              for (int64_t e = 0; e < kw; ++e) {
                const int64_t ih = i * s.h - p.h + a * d.h, iw = j * s.w - p.w + e * d.w;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                  continue;
                const int64_t ci = (o / Og) * Cg + c;
                const int64_t xi = ((n * C + ci) * H + ih) * W + iw;
                const int64_t wi = ((o * Cg + c) * kh + a) * kw + e;
                acc += double(w[wi]) * x[xi];
                r.dx[xi] += double(w[wi]) * g;
                r.dw[wi] += double(x[xi]) * g;
              }
          r.y[yi] = acc;
        }
  return r;
}

// Elements where a and b differ bitwise (NaN matching NaN), after checking
// the sizes agree.
int64_t bitwise_differences(const Tensor &a, const Tensor &b) {
  const auto va = a.to_vector(), vb = b.to_vector();
  REQUIRE(va.size() == vb.size());
  int64_t differ = 0;
  for (size_t j = 0; j < va.size(); ++j)
    differ += !(va[j] == vb[j] || (std::isnan(va[j]) && std::isnan(vb[j])));
  return differ;
}

// run(fused, out) puts a fused op's outputs in out (fused) or those of the
// ops one after the other (!fused); checks they agree bitwise, output by
// output (`names` lists them for the message), and returns the fused ones.
std::vector<Tensor> fused_matches_plain(const std::function<void(bool, std::vector<Tensor> &)> &run,
                                        const char *names) {
  std::vector<Tensor> a, b;
  run(true, a);
  run(false, b);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("output " << i << " " << names);
    CHECK(bitwise_differences(a[i], b[i]) == 0);
  }
  return a;
}

} // namespace

TEST_CASE("nn conv2d: threaded paths match a direct reference", "[nn]") {
  struct Case {
    const char *what;
    pg::Shape x, w;
    bool bias;
    nn::Size2 s, p, d;
    int64_t G;
  };
  // Sizes chosen so that 2 threads split the batch (N >= 2 and at least
  // kConvParallelMacs multiply-adds, checked below), or with one image split
  // each GEMM (at least kGemmSplitFlops); with_threads proves the fork.
  const Case cases[] = {
      {"3x3 pad 1 grouped", {4, 8, 16, 16}, {16, 4, 3, 3}, true, 1, 1, 1, 2},
      {"1x1 direct", {4, 32, 16, 16}, {32, 32, 1, 1}, true, 1, 0, 1, 1},
      {"strided dilated, odd batch",
       {3, 6, 20, 17},
       {12, 6, 3, 3},
       false,
       {2, 1},
       {2, 1},
       {2, 1},
       1},
      {"batch of 1 (GEMM split instead)", {1, 16, 24, 24}, {32, 16, 3, 3}, true, 1, 1, 1, 1},
      // K * OW large enough that an image is processed in several row blocks
      {"same 3x3, row blocks", {2, 64, 32, 32}, {8, 64, 3, 3}, true, 1, 1, 1, 1},
      {"strided, row blocks", {2, 128, 48, 64}, {4, 128, 3, 3}, false, 2, 1, 1, 1},
      {"same, dilated, rectangular", {3, 6, 12, 11}, {8, 6, 3, 5}, true, 1, {2, 4}, 2, 1},
      // one output row per block, and taps whose rows lie wholly outside a block
      {"same, dilated, 1-row blocks", {1, 128, 6, 300}, {4, 128, 3, 3}, true, 1, 2, 2, 1},
  };
  // im2col's paths (Auto would send the 16-to-32-channel 3x3 case to
  // Winograd, which with one image runs serially; Winograd: the next test).
  nn::set_conv_algorithm(nn::ConvAlgorithm::Im2col);
  pg::manual_seed(11);
  for (const Case &c : cases) {
    INFO(c.what);
    const Tensor x = pg::randn(c.x), w = pg::randn(c.w),
                 b = c.bias ? pg::randn({c.w[0]}) : Tensor();
    {
      const int64_t OH = (c.x[2] + 2 * c.p.h - c.d.h * (c.w[2] - 1) - 1) / c.s.h + 1,
                    OW = (c.x[3] + 2 * c.p.w - c.d.w * (c.w[3] - 1) - 1) / c.s.w + 1;
      const double macs = double(c.x[0]) * c.w[0] * OH * OW * c.w[1] * c.w[2] * c.w[3];
      if (c.x[0] >= 2)
        REQUIRE(macs >= nn::kConvParallelMacs); // the batch split
      else
        REQUIRE(2 * macs >= pg::kernel::kGemmSplitFlops); // the GEMMs split
    }
    with_threads([&] {
      Tensor xl = x.clone().requires_grad_(true), wl = w.clone().requires_grad_(true);
      Tensor bl = c.bias ? b.clone().requires_grad_(true) : Tensor();
      Tensor y = F::conv2d(xl, wl, bl, c.s, c.p, c.d, c.G);
      pg::manual_seed(12);
      const Tensor gy = pg::randn(y.shape());
      y.backward(gy);
      const ConvRef r = conv_ref(x, w, b, gy, c.s, c.p, c.d, c.G);
      require_near(y, r.y, 1e-4, "y");
      require_near(xl.grad(), r.dx, 1e-4, "dx");
      require_near(wl.grad(), r.dw, 1e-4, "dw");
      if (c.bias)
        require_near(bl.grad(), r.db, 1e-4, "db");
    });
  }
  nn::set_conv_algorithm(nn::ConvAlgorithm::Auto);
}

TEST_CASE("nn conv2d: Winograd F(2x2, 3x3) and F(4x4, 3x3) match a direct reference", "[nn]") {
  struct Case {
    const char *what;
    pg::Shape x, w;
    nn::Size2 p;
    nn::ConvAlgorithm algo;
  };
  // Odd output sizes leave half tiles at the right and bottom edges; padding
  // 0 and 2 make the backward-data pass run with padding 2 and 0.
  const Case cases[] = {
      {"auto picks it (>= 16 channels), 14x14 pad 1",
       {4, 16, 14, 14},
       {32, 16, 3, 3},
       1,
       nn::ConvAlgorithm::Auto},
      {"odd sizes, pad 1", {3, 5, 9, 7}, {6, 5, 3, 3}, 1, nn::ConvAlgorithm::Winograd},
      {"pad 0, odd output", {2, 4, 8, 11}, {3, 4, 3, 3}, 0, nn::ConvAlgorithm::Winograd},
      {"pad 2, rectangular padding",
       {2, 3, 5, 6},
       {4, 3, 3, 3},
       {2, 1},
       nn::ConvAlgorithm::Winograd},
      {"batch of 1, 1x1 output", {1, 2, 3, 3}, {2, 2, 3, 3}, 0, nn::ConvAlgorithm::Winograd},
      {"several chunks per worker",
       {40, 16, 16, 16},
       {16, 16, 3, 3},
       1,
       nn::ConvAlgorithm::Winograd},
      // one image over the chunk budget (M3's 64-channel 32x32 layer); with
      // padding 0 and 2 the backward's two halves have different tile grids
      {"large image, pad 1", {3, 64, 32, 30}, {64, 64, 3, 3}, 1, nn::ConvAlgorithm::Auto},
      {"large image, pad 0", {2, 48, 26, 25}, {48, 48, 3, 3}, 0, nn::ConvAlgorithm::Winograd},
      {"large image, pad 2", {2, 48, 23, 24}, {40, 48, 3, 3}, 2, nn::ConvAlgorithm::Winograd},
      // tile rows of 16 and 17 tiles without their spare one (as M3's 32x32
      // layer): the compaction copies of the input transform and its adjoint
      {"rows of 16 and 17 tiles", {2, 48, 32, 34}, {48, 48, 3, 3}, 1, nn::ConvAlgorithm::Auto},
  };
  pg::manual_seed(17);
  for (const Case &c : cases) {
    INFO(c.what);
    const Tensor x = pg::randn(c.x), w = pg::randn(c.w), b = pg::randn({c.w[0]});
    // Every forced case runs with both tile sizes.
    std::vector<nn::ConvAlgorithm> algos = {c.algo};
    if (c.algo == nn::ConvAlgorithm::Winograd)
      algos.push_back(nn::ConvAlgorithm::Winograd4x4);
    for (nn::ConvAlgorithm algo : algos) {
      INFO("algorithm " << int(algo));
      nn::set_conv_algorithm(algo);
      // Winograd splits the batch whenever each thread gets an image; a single
      // small image runs serially.
      const bool forks = c.x[0] >= 2;
      with_threads(forks, [&] {
        Tensor xl = x.clone().requires_grad_(true), wl = w.clone().requires_grad_(true);
        Tensor bl = b.clone().requires_grad_(true);
        Tensor y = F::conv2d(xl, wl, bl, 1, c.p);
        pg::manual_seed(18);
        const Tensor gy = pg::randn(y.shape());
        y.backward(gy);
        const ConvRef r = conv_ref(x, w, b, gy, 1, c.p, 1, 1);
        // y and dx sum 9 C (9 O) float products: with 48-64 channels im2col's
        // own worst error on these shapes is 3.5e-5, Winograd's 2.2e-5; db
        // there (~2,900 terms) reached 1.2e-5 in the RelWithDebInfo build.
        // F(4x4, 3x3)'s transforms scale by up to 8 and 1/24: its worst
        // errors are 10-15x (y 3.4e-4 and dx 3.0e-4 with 64 channels, y
        // 1.1e-4 and dx 1.3e-4 on "several chunks", 2.5e-5 on the small
        // cases), so 20x the bounds (db is a plain sum either way).
        const double f4 = algo == nn::ConvAlgorithm::Winograd4x4 ? 20 : 1;
        const double tol = f4 * (c.w[0] >= 40 ? 1e-4 : 1e-5), tol_w = f4 * 2e-4;
        const double tol_b = c.w[0] >= 40 ? 1e-4 : 1e-5;
        require_near(y, r.y, tol, "y");
        require_near(xl.grad(), r.dx, tol, "dx");
        // dW sums N * OH * OW products in float, and Winograd's transforms add
        // 16 of those sums per tap: on 40 images of 16x16 its worst error is
        // 8.8e-5 (im2col's 3.0e-5), on the first case 2.6e-5 (1.7e-5);
        // F(4x4, 3x3): 4.8e-4 on the 40 images
        require_near(wl.grad(), r.dw, tol_w, "dw");
        require_near(bl.grad(), r.db, tol_b, "db");
        // Only some gradients wanted: the backward's pass skips the others.
        Tensor wo = w.clone().requires_grad_(true), bo = b.clone().requires_grad_(true);
        F::conv2d(x, wo, bo, 1, c.p).backward(gy);
        require_near(wo.grad(), r.dw, tol_w, "dw without dx");
        require_near(bo.grad(), r.db, tol_b, "db without dx");
        Tensor xo = x.clone().requires_grad_(true);
        F::conv2d(xo, w, b, 1, c.p).backward(gy);
        require_near(xo.grad(), r.dx, tol, "dx alone");
        Tensor bw = b.clone().requires_grad_(true);
        F::conv2d(x, w, bw, 1, c.p).backward(gy);
        require_near(bw.grad(), r.db, tol_b, "db alone");
        Tensor xf = x.clone().requires_grad_(true), bf = b.clone().requires_grad_(true);
        F::conv2d(xf, w, bf, 1, c.p).backward(gy); // frozen weight
        require_near(xf.grad(), r.dx, tol, "dx with a frozen weight");
        require_near(bf.grad(), r.db, tol_b, "db with a frozen weight");
      });
      nn::set_conv_algorithm(nn::ConvAlgorithm::Auto);
    }
  }
  // Forced Im2col on a shape Auto sends to Winograd: the same values up to
  // rounding, by another route.
  const Tensor x = pg::randn({2, 16, 6, 6}), w = pg::randn({16, 16, 3, 3});
  const Tensor wino = F::conv2d(x, w, Tensor(), 1, 1);
  nn::set_conv_algorithm(nn::ConvAlgorithm::Im2col);
  const Tensor im2col = F::conv2d(x, w, Tensor(), 1, 1);
  nn::set_conv_algorithm(nn::ConvAlgorithm::Auto);
  const auto a = wino.to_vector(), e = im2col.to_vector();
  require_near(wino, std::vector<double>(e.begin(), e.end()), 1e-5, "winograd vs im2col");
  REQUIRE(a != e); // two algorithms really ran (their roundings differ)
}

TEST_CASE("nn max_pool2d: threaded paths match a direct reference", "[nn]") {
  pg::manual_seed(13);
  for (int k : {2, 3}) {
    const int s = 2, p = k / 2 * (k == 3);
    INFO("kernel " << k);
    // N C H W >= kParallelGrain: the planes are split across the threads
    constexpr int64_t N = 4, H = 31, W = 32, C = pg::kParallelGrain / (N * H * W) + 1;
    static_assert(N * C * H * W >= pg::kParallelGrain);
    const Tensor x = pg::randn({N, C, H, W});
    with_threads([&] {
      Tensor xl = x.clone().requires_grad_(true);
      Tensor y = F::max_pool2d(xl, k, s, p);
      const Tensor gy = pg::randn(y.shape());
      y.backward(gy);
      const auto xv = x.to_vector(), gv = gy.to_vector();
      const int64_t P = N * C, OH = y.size(2), OW = y.size(3);
      std::vector<double> ry(y.numel()), rdx(x.numel(), 0);
      for (int64_t q = 0; q < P; ++q)
        for (int64_t i = 0; i < OH; ++i)
          for (int64_t j = 0; j < OW; ++j) {
            double m = -INFINITY;
            int64_t at = -1;
            for (int64_t a = 0; a < k; ++a)
              for (int64_t e = 0; e < k; ++e) {
                const int64_t h = i * s - p + a, w = j * s - p + e;
                if (h >= 0 && h < H && w >= 0 && w < W && xv[(q * H + h) * W + w] > m)
                  m = xv[(q * H + h) * W + w], at = (q * H + h) * W + w;
              }
            ry[(q * OH + i) * OW + j] = m;
            rdx[at] += gv[(q * OH + i) * OW + j];
          }
      require_near(y, ry, 0, "y");
      require_near(xl.grad(), rdx, 1e-6, "dx");
    });
  }
}

TEST_CASE("nn modules: parameters, buffers and their PyTorch names", "[nn]") {
  nn::Linear lin(4, 3);
  auto np = lin.named_parameters();
  REQUIRE(np.size() == 2);
  CHECK(np[0].first == "weight");
  CHECK(np[0].second.shape() == pg::Shape{3, 4});
  CHECK(np[1].first == "bias");
  CHECK(lin.num_parameters() == 15);
  CHECK(nn::Linear(4, 3, false).named_parameters().size() == 1);

  nn::Conv2d conv(4, 6, {3, 2}, {.groups = 2, .bias = false});
  CHECK(conv.weight.shape() == pg::Shape{6, 2, 3, 2});
  CHECK(!conv.bias.defined());
  CHECK(conv.named_parameters().size() == 1);

  nn::BatchNorm2d bn(5);
  auto sd = bn.state_dict();
  REQUIRE(sd.size() == 5);
  CHECK(sd[0].first == "weight");
  CHECK(sd[1].first == "bias");
  CHECK(sd[2].first == "running_mean");
  CHECK(sd[3].first == "running_var");
  CHECK(sd[4].first == "num_batches_tracked");
  CHECK(sd[4].second.dtype() == pg::DType::Int64);
  CHECK(sd[4].second.dim() == 0);
  CHECK(bn.weight.to_vector() == std::vector<float>(5, 1.f));
  CHECK(bn.bias.to_vector() == std::vector<float>(5, 0.f));
  CHECK(bn.running_var.to_vector() == std::vector<float>(5, 1.f));
  nn::BatchNorm1d plain(5, {.affine = false, .track_running_stats = false});
  CHECK(plain.state_dict().empty());
}

TEST_CASE("nn batchnorm: train updates the running stats, eval uses them", "[nn]") {
  pg::manual_seed(14);
  nn::BatchNorm2d bn(3);
  const Tensor x = pg::randn({4, 3, 5, 5}) * 2.f + 1.f;
  bn(x);
  bn(x);
  CHECK(bn.num_batches_tracked.to_vector<int64_t>()[0] == 2);
  const auto rm = bn.running_mean.to_vector(), rv = bn.running_var.to_vector();
  // After two identical steps: rm = (1 - 0.9^2) mean.
  const Tensor mean = x.mean({0, 2, 3});
  for (int c = 0; c < 3; ++c)
    CHECK(rm[c] == Approx(0.19 * mean.to_vector()[c]).epsilon(1e-4));
  bn.eval();
  Tensor y = bn(x);
  CHECK(bn.num_batches_tracked.to_vector<int64_t>()[0] == 2); // eval: no update
  CHECK(bn.running_mean.to_vector() == rm);
  CHECK(bn.running_var.to_vector() == rv);
  const auto xv = x.to_vector(), yv = y.to_vector();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int c = int(i / 25 % 3);
    REQUIRE(yv[i] == Approx((xv[i] - rm[c]) / std::sqrt(rv[c] + 1e-5)).margin(1e-5));
  }
  // Training with one value per channel is an error and changes nothing.
  bn.train();
  REQUIRE_THROWS_WITH(bn(pg::randn({1, 3, 1, 1})), Contains("BatchNorm2d") &&
                                                       Contains("more than 1 value per channel") &&
                                                       Contains("[1, 3, 1, 1]"));
  CHECK(bn.num_batches_tracked.to_vector<int64_t>()[0] == 2);
}

TEST_CASE("nn printing looks like PyTorch's repr", "[nn]") {
  CHECK(nn::Linear(784, 512).name() + "(" + nn::Linear(784, 512).extra_repr() + ")" ==
        "Linear(in_features=784, out_features=512, bias=true)");
  CHECK(nn::Conv2d(1, 32, 3, {.padding = 1}).extra_repr() ==
        "1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)");
  CHECK(nn::Conv2d(8, 16, {3, 1}, {.stride = 2, .dilation = {2, 1}, .groups = 4, .bias = false})
            .extra_repr() ==
        "8, 16, kernel_size=(3, 1), stride=(2, 2), dilation=(2, 1), groups=4, bias=false");
  CHECK(nn::MaxPool2d(2).extra_repr() ==
        "kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=false");
  CHECK(nn::AvgPool2d(3, 2, 1).extra_repr() == "kernel_size=3, stride=2, padding=1");
  CHECK(nn::AdaptiveAvgPool2d(1).extra_repr() == "output_size=1");
  CHECK(nn::AdaptiveAvgPool2d({2, 3}).extra_repr() == "output_size=(2, 3)");
  CHECK(nn::BatchNorm2d(64).extra_repr() ==
        "64, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true");
  CHECK(nn::BatchNorm1d(8, {.momentum = std::nullopt}).extra_repr() ==
        "8, eps=1e-05, momentum=None, affine=true, track_running_stats=true");
  CHECK(nn::Dropout(0.25).extra_repr() == "p=0.25, inplace=false");
  CHECK(nn::LeakyReLU(0.2).extra_repr() == "negative_slope=0.2");
  CHECK(nn::GELU().extra_repr() == "approximate='none'");
  CHECK(nn::Softmax(1).extra_repr() == "dim=1");
  CHECK(nn::Flatten().extra_repr() == "start_dim=1, end_dim=-1");

  nn::Sequential m{nn::make<nn::Conv2d>(1, 32, 3, nn::Conv2dOptions{.padding = 1}),
                   nn::make<nn::ReLU>(), nn::make<nn::MaxPool2d>(2), nn::make<nn::Flatten>(),
                   nn::make<nn::Linear>(6272, 10)};
  std::ostringstream os;
  os << m;
  const std::string s = os.str();
  INFO(s);
  CHECK_THAT(s, Contains("(0): Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"));
  CHECK_THAT(s, Contains("(1): ReLU()"));
  CHECK_THAT(s, Contains("(2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, "
                         "ceil_mode=false)"));
  CHECK_THAT(s, Contains("(3): Flatten(start_dim=1, end_dim=-1)"));
  CHECK_THAT(s, Contains("(4): Linear(in_features=6272, out_features=10, bias=true)"));
  CHECK_THAT(s, Contains("320")); // conv parameter count
}

TEST_CASE("nn errors name the layer and the shapes", "[nn]") {
  pg::manual_seed(15);
  nn::Conv2d conv(3, 8, 3);
  REQUIRE_THROWS_WITH(conv(pg::randn({2, 4, 8, 8})),
                      Contains("Conv2d(3, 8") && Contains("3 channels") &&
                          Contains("[2, 4, 8, 8]") && Contains("[8, 3, 3, 3]"));
  REQUIRE_THROWS_WITH(conv(pg::randn({2, 3, 8})), Contains("Conv2d") && Contains("[2, 3, 8]"));
  REQUIRE_THROWS_WITH(conv(pg::randn({1, 3, 2, 2})),
                      Contains("smaller than") && Contains("[1, 3, 2, 2]"));
  REQUIRE_THROWS_WITH(
      F::conv2d(pg::randn({1, 4, 5, 5}), pg::randn({6, 3, 3, 3}), Tensor(), 1, 0, 1, 2),
      Contains("[1, 4, 5, 5]") && Contains("[6, 3, 3, 3]") && Contains("groups=2"));
  REQUIRE_THROWS_WITH(nn::Conv2d(3, 8, 3, {.groups = 2}), Contains("divisible by groups"));
  REQUIRE_THROWS_WITH(nn::Conv2d(3, 8, 3, {.stride = 0}), Contains("stride"));

  nn::Linear lin(10, 4);
  REQUIRE_THROWS_WITH(lin(pg::randn({2, 9})), Contains("Linear(in_features=10") &&
                                                  Contains("[2, 9]") && Contains("[4, 10]"));
  REQUIRE_THROWS_WITH(F::linear(pg::randn({2, 10}), pg::randn({4, 10}), pg::randn({3})),
                      Contains("bias") && Contains("[4]"));

  nn::BatchNorm2d bn(3);
  REQUIRE_THROWS_WITH(bn(pg::randn({2, 4, 5, 5})),
                      Contains("BatchNorm2d(3") && Contains("[2, 4, 5, 5]"));
  REQUIRE_THROWS_WITH(bn(pg::randn({2, 3})), Contains("4-D") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(nn::BatchNorm1d(3)(pg::randn({2, 3, 4, 5})),
                      Contains("BatchNorm1d") && Contains("[2, 3, 4, 5]"));

  REQUIRE_THROWS_WITH(F::max_pool2d(pg::randn({1, 1, 4, 4}), 2, 2, 2),
                      Contains("max_pool2d") && Contains("half of the kernel size"));
  REQUIRE_THROWS_WITH(F::max_pool2d(pg::randn({1, 1, 2, 2}), 3),
                      Contains("too small") && Contains("[1, 1, 2, 2]"));
  REQUIRE_THROWS_WITH(nn::MaxPool2d(2)(pg::randn({4, 4})), Contains("[4, 4]"));
  // The fused relu + max-pool checks the same and names itself.
  REQUIRE_THROWS_WITH(F::relu_max_pool2d(pg::randn({4, 4}), 2),
                      Contains("relu_max_pool2d") && Contains("[4, 4]"));
  REQUIRE_THROWS_WITH(F::relu_max_pool2d(pg::randn({1, 1, 2, 2}), 3),
                      Contains("relu_max_pool2d") && Contains("too small"));
  REQUIRE_THROWS_WITH(F::adaptive_avg_pool2d(pg::randn({1, 1, 4, 4}), 0), Contains("output_size"));
  REQUIRE_THROWS_WITH(nn::Dropout(1.5), Contains("between 0 and 1"));
  REQUIRE_THROWS_WITH(nn::GELU("fast"), Contains("tanh"));
  REQUIRE_THROWS_WITH(nn::init::kaiming_uniform_(pg::randn({5})), Contains("fewer than 2"));
  REQUIRE_THROWS_WITH(nn::init::kaiming_uniform_(pg::randn({5, 5}), 0, "fan_avg"),
                      Contains("fan_in") && Contains("fan_out"));
  REQUIRE_THROWS_WITH(nn::init::calculate_gain("swish"), Contains("relu"));
}

TEST_CASE("nn init: PyTorch's bounds and variances", "[nn]") {
  pg::manual_seed(16);
  auto stats = [](const Tensor &t, double &mn, double &mx, double &mean, double &var) {
    const auto v = t.to_vector();
    mn = 1e30, mx = -1e30, mean = 0, var = 0;
    for (float x : v)
      mn = std::min(mn, double(x)), mx = std::max(mx, double(x)), mean += x;
    mean /= v.size();
    for (float x : v)
      var += (x - mean) * (x - mean);
    var /= v.size();
  };
  double mn, mx, mean, var;
  // Linear default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
  nn::Linear lin(400, 300);
  const double bound = 1.0 / std::sqrt(400.0);
  stats(lin.weight, mn, mx, mean, var);
  CHECK(mn >= -bound);
  CHECK(mx <= bound);
  CHECK(mx > 0.99 * bound); // really uses the whole range
  CHECK(std::fabs(mean) < 0.01 * bound);
  CHECK(var == Approx(bound * bound / 3).epsilon(0.03));
  stats(lin.bias, mn, mx, mean, var);
  CHECK(mn >= -bound);
  CHECK(mx <= bound);
  // Conv2d default: fan_in = C/groups * kh * kw.
  nn::Conv2d conv(64, 128, 3, {.groups = 2});
  const double cb = 1.0 / std::sqrt(32.0 * 9);
  stats(conv.weight, mn, mx, mean, var);
  CHECK(mn >= -cb);
  CHECK(mx <= cb);
  CHECK(var == Approx(cb * cb / 3).epsilon(0.03));
  stats(conv.bias, mn, mx, mean, var);
  CHECK(mn >= -cb);
  CHECK(mx <= cb);

  Tensor w = pg::zeros({256, 512});
  nn::init::kaiming_normal_(w, 0, "fan_in", "relu"); // std = sqrt(2 / 512)
  stats(w, mn, mx, mean, var);
  CHECK(var == Approx(2.0 / 512).epsilon(0.03));
  nn::init::kaiming_uniform_(w, 0, "fan_out", "relu"); // bound = sqrt(6 / 256)
  stats(w, mn, mx, mean, var);
  CHECK(mx <= std::sqrt(6.0 / 256));
  CHECK(var == Approx(2.0 / 256).epsilon(0.03));
  nn::init::xavier_uniform_(w, 2.0); // bound = 2 sqrt(6 / 768)
  stats(w, mn, mx, mean, var);
  CHECK(mx <= 2 * std::sqrt(6.0 / 768));
  CHECK(var == Approx(4 * 2.0 / 768).epsilon(0.03));
  nn::init::xavier_normal_(w); // std = sqrt(2 / 768)
  stats(w, mn, mx, mean, var);
  CHECK(var == Approx(2.0 / 768).epsilon(0.03));
  nn::init::normal_(w, 3.0, 0.5);
  stats(w, mn, mx, mean, var);
  CHECK(mean == Approx(3.0).epsilon(0.01));
  CHECK(var == Approx(0.25).epsilon(0.03));
  nn::init::uniform_(w, -2, 1);
  stats(w, mn, mx, mean, var);
  CHECK(mn >= -2);
  CHECK(mx < 1);
  CHECK(mean == Approx(-0.5).margin(0.02));
  nn::init::ones_(w);
  CHECK(w.sum().item() == 256 * 512);
  nn::init::zeros_(w);
  CHECK(w.abs().sum().item() == 0);
  CHECK(nn::init::calculate_gain("tanh") == Approx(5.0 / 3));
  CHECK(nn::init::calculate_gain("leaky_relu") == Approx(std::sqrt(2.0 / (1 + 1e-4))));
  CHECK(nn::init::calculate_gain("leaky_relu", 0.2) == Approx(std::sqrt(2.0 / 1.04)));
  // A parameter is filled in place without recording a graph.
  nn::init::normal_(lin.weight);
  CHECK(lin.weight.is_leaf());
  CHECK(lin.weight.requires_grad());

  // Reproducible from the seed.
  pg::manual_seed(99);
  nn::Conv2d a(3, 4, 3);
  pg::manual_seed(99);
  nn::Conv2d b(3, 4, 3);
  CHECK(a.weight.to_vector() == b.weight.to_vector());
  CHECK(a.bias.to_vector() == b.bias.to_vector());
}

TEST_CASE("nn dropout: seeded, scaled, train only", "[nn]") {
  // At least kParallelGrain elements (an odd count: the generator's last
  // draw serves one element).
  const Tensor x = pg::ones({pg::kParallelGrain / 1000 + 1, 1001});
  REQUIRE(x.numel() >= pg::kParallelGrain);
  nn::Dropout drop(0.3);
  pg::manual_seed(21);
  const auto a = drop(x).to_vector();
  pg::manual_seed(21);
  const auto b = drop(x).to_vector();
  CHECK(a == b);
  // The thread count. The mask is drawn serially from the one generator, so
  // it cannot depend on the thread count by construction; what the threads
  // split is y = x * mask and the backward's dy * mask (both fork here), so
  // this checks those products and that a seed gives the same y at 1 and 2
  // threads.
  const auto [one, two] = tu::at_1_and_2_threads([&] {
    pg::manual_seed(21);
    Tensor xl = x.clone().requires_grad_(true);
    Tensor y = drop(xl);
    y.backward(pg::full(y.shape(), 2.f));
    return std::pair{y.detach(), xl.grad()};
  });
  tu::require_bitwise(one.first, two.first, "y");
  tu::require_bitwise(one.second, two.second, "dx");
  CHECK(one.first.to_vector() == a);
  const auto c = drop(x).to_vector(); // the generator moved on
  CHECK(c != a);
  int64_t zeros = 0;
  for (float v : a) {
    REQUIRE((v == 0.f || v == Approx(1 / 0.7)));
    zeros += v == 0.f;
  }
  CHECK(double(zeros) / a.size() == Approx(0.3).margin(0.01));

  // Backward: the same mask and scale.
  pg::manual_seed(22);
  Tensor xl = pg::randn({10, 20}).requires_grad_(true);
  Tensor y = drop(xl);
  y.backward(pg::ones(y.shape()));
  const auto yv = y.to_vector(), xv = xl.to_vector(), gv = xl.grad().to_vector();
  for (size_t i = 0; i < yv.size(); ++i) {
    const float m = gv[i];
    REQUIRE((m == 0.f || m == Approx(1 / 0.7)));
    REQUIRE(yv[i] == Approx(xv[i] * m));
  }

  drop.eval();
  CHECK(drop(x).same(x));
  drop.train();
  CHECK(nn::Dropout(0.0)(x).same(x));
  CHECK(nn::Dropout(1.0)(x).abs().sum().item() == 0.f);
}

TEST_CASE("nn activations and shape modules", "[nn]") {
  const Tensor x = pg::from_vector({-2.f, -0.5f, 0.f, 0.5f, 2.f}, {5});
  CHECK(nn::LeakyReLU(0.1)(x).to_vector() == std::vector<float>{-0.2f, -0.05f, 0.f, 0.5f, 2.f});
  CHECK(nn::ReLU()(x).to_vector() == std::vector<float>{0.f, 0.f, 0.f, 0.5f, 2.f});
  const auto g = nn::GELU()(x).to_vector();
  CHECK(g[4] == Approx(2 * 0.5 * (1 + std::erf(2 / std::sqrt(2.0)))));
  const auto s = nn::SiLU()(x).to_vector();
  CHECK(s[0] == Approx(-2 / (1 + std::exp(2.0))));
  Tensor img = pg::randn({2, 3, 4, 5});
  CHECK(nn::Flatten()(img).shape() == pg::Shape{2, 60});
  CHECK(nn::Flatten(0, 1)(img).shape() == pg::Shape{6, 4, 5});
  CHECK(nn::Identity()(img).same(img));
  // Unbatched (C, H, W) inputs for conv and pooling.
  nn::Conv2d conv(3, 2, 3, {.padding = 1});
  CHECK(conv(pg::randn({3, 4, 5})).shape() == pg::Shape{2, 4, 5});
  CHECK(nn::MaxPool2d(2)(pg::randn({3, 4, 5})).shape() == pg::Shape{3, 2, 2});
  CHECK(nn::AdaptiveAvgPool2d(1)(pg::randn({3, 4, 5})).shape() == pg::Shape{3, 1, 1});
}

TEST_CASE("nn relu_max_pool2d: equals relu then max_pool2d, NaN and zeros included", "[nn]") {
  pg::manual_seed(29);
  // Shapes for both kernels (2x2 fast path with odd edges, overlapping 3x3):
  // one of at least kParallelGrain elements, split across the threads (the
  // fork checked), and a small serial one; values with NaNs, exact zeros,
  // ties and windows that are all <= 0.
  constexpr int64_t C = pg::kParallelGrain / (4 * 31 * 33) + 1;
  static_assert(4 * C * 31 * 33 >= pg::kParallelGrain);
  for (const auto &ksp : {std::tuple{2, 2, 0}, std::tuple{3, 2, 1}, std::tuple{2, 1, 1}})
    for (const pg::Shape &shape : {pg::Shape{4, C, 31, 33}, pg::Shape{3, 5, 8, 6}}) {
      // (named copies, not a structured binding: clang 14 cannot capture one)
      const int k = std::get<0>(ksp), s = std::get<1>(ksp), p = std::get<2>(ksp);
      INFO("kernel " << k << " stride " << s << " padding " << p << " shape "
                     << pg::shape_str(shape));
      auto xv = pg::randn(shape).to_vector();
      for (size_t i = 0; i < xv.size(); ++i)
        xv[i] = i % 97 == 5 ? NAN : i % 7 == 0 ? 0.f : i % 5 == 0 ? -xv[i] * xv[i] : xv[i];
      const Tensor x = pg::from_vector(xv, shape);
      const bool big = x.numel() >= pg::kParallelGrain;
      with_threads(big, [&] {
        Tensor xa = x.clone().requires_grad_(true), xb = x.clone().requires_grad_(true);
        const uint64_t before = pg::parallel_regions();
        Tensor fused = F::relu_max_pool2d(xa, k, s, p);
        if (big && pg::get_num_threads() > 1)
          CHECK(pg::parallel_regions() > before); // the fused op itself forked
        Tensor plain = F::max_pool2d(pg::relu(xb), k, s, p);
        REQUIRE(fused.grad_fn_name() == "ReluMaxPool2dBackward");
        const Tensor gy = pg::randn(fused.shape());
        fused.backward(gy);
        plain.backward(gy);
        const auto a = fused.to_vector(), b = plain.to_vector();
        const auto da = xa.grad().to_vector(), db = xb.grad().to_vector();
        int nans = 0;
        for (size_t i = 0; i < a.size(); ++i) {
          nans += std::isnan(b[i]);
          REQUIRE((a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))));
        }
        CHECK(nans > 0);
        for (size_t i = 0; i < da.size(); ++i)
          REQUIRE(da[i] == db[i]);
      });
    }
}

TEST_CASE("nn Sequential: fuses ReLU then MaxPool2d, and nothing else", "[nn]") {
  pg::manual_seed(31);
  const Tensor x = pg::randn({2, 3, 6, 6});
  nn::Sequential fused{nn::make<nn::ReLU>(), nn::make<nn::MaxPool2d>(2)};
  CHECK(fused(x.clone().requires_grad_(true)).grad_fn_name() == "ReluMaxPool2dBackward");
  // A subclass may behave differently: never fused.
  struct MyReLU : nn::ReLU {};
  nn::Sequential sub{std::make_shared<MyReLU>(), nn::make<nn::MaxPool2d>(2)};
  CHECK(sub(x.clone().requires_grad_(true)).grad_fn_name() == "MaxPool2dBackward");
  // Other orders and neighbours run one by one.
  nn::Sequential pool_first{nn::make<nn::MaxPool2d>(2), nn::make<nn::ReLU>()};
  CHECK(pool_first(x.clone().requires_grad_(true)).grad_fn_name() == "ReluBackward");
  nn::Sequential avg{nn::make<nn::ReLU>(), nn::make<nn::AvgPool2d>(2)};
  CHECK(avg(x.clone().requires_grad_(true)).grad_fn_name() == "AvgPool2dBackward");
  // A ReLU fused at the end of one pair leaves the next layer alone.
  nn::Sequential three{nn::make<nn::ReLU>(), nn::make<nn::MaxPool2d>(2), nn::make<nn::ReLU>()};
  CHECK(three(x.clone().requires_grad_(true)).grad_fn_name() == "ReluBackward");
  CHECK(fused(x).to_vector() == F::max_pool2d(pg::relu(x), 2).to_vector());
}

TEST_CASE("nn batch_norm_relu: bitwise batch_norm then relu, values, gradients, statistics",
          "[nn]") {
  pg::manual_seed(41);
  for (const pg::Shape &shape : {pg::Shape{4, 3, 5, 6}, pg::Shape{7, 5}, pg::Shape{2, 4, 9}})
    for (const bool training : {true, false})
      for (const bool nan : {false, true}) {
        INFO("shape " << pg::shape_str(shape) << " training " << training << " nan " << nan);
        const int64_t C = shape[1];
        Tensor x0 = pg::randn(shape) * 2.f + 0.3f;
        if (nan) // a NaN input: its channel's statistics and outputs are NaN
          x0.data<float>()[3] = std::numeric_limits<float>::quiet_NaN();
        const Tensor w0 = pg::randn({C}), b0 = pg::randn({C}), gy = pg::randn(shape);
        const Tensor rm0 = pg::randn({C}), rv0 = pg::rand({C}) + 0.5f;
        auto run = [&](bool fused, std::vector<Tensor> &out) {
          Tensor x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true),
                 b = b0.clone().requires_grad_(true), rm = rm0.clone(), rv = rv0.clone();
          Tensor y = fused ? F::batch_norm_relu(x, rm, rv, w, b, training, 0.3)
                           : pg::relu(F::batch_norm(x, rm, rv, w, b, training, 0.3));
          if (fused)
            CHECK(y.grad_fn_name() == "BatchNormReluBackward");
          y.backward(gy);
          out = {y, x.grad(), w.grad(), b.grad(), rm, rv};
        };
        const std::vector<Tensor> a =
            fused_matches_plain(run, "(y, dx, dgamma, dbeta, running_mean, running_var)");
        if (!nan) { // the ReLU did something: zeros in y, and in dx's mask
          const auto y = a[0].to_vector();
          CHECK(std::count(y.begin(), y.end(), 0.f) > 0);
        }
      }
  // Errors name the fused op.
  CHECK_THROWS_WITH(
      F::batch_norm_relu(pg::randn({2, 3}), Tensor(), Tensor(), pg::randn({4}), Tensor(), true),
      Contains("batch_norm_relu: weight must be") && Contains("[3]"));
}

TEST_CASE("nn linear_relu: bitwise linear then relu, values and gradients, 1 and 2 threads",
          "[nn][threads]") {
  // Shapes on every GEMM path: M1's hidden layers (x W^T computed transposed,
  // core/sgemm.h), a 3-d input, no bias, and in_features == 0 (y = relu(b)).
  pg::manual_seed(47);
  struct Case {
    pg::Shape x;
    int64_t out;
    bool bias;
  };
  for (const Case &c : {Case{{128, 784}, 512, true}, Case{{128, 512}, 512, true},
                        Case{{2, 5, 7}, 9, true}, Case{{6, 20}, 30, false}, Case{{4, 0}, 3, true}})
    for (const int threads : {1, 2})
      for (const bool nan : {false, true}) {
        INFO("x " << pg::shape_str(c.x) << " out " << c.out << " bias " << c.bias << " threads "
                  << threads << " nan " << nan);
        tu::ThreadsScope scope(threads);
        const int64_t in = c.x.back();
        Tensor x0 = pg::randn(c.x);
        if (nan && x0.numel() > 3) // a NaN input: its row of y is NaN, passed by the ReLU
          x0.data<float>()[3] = std::numeric_limits<float>::quiet_NaN();
        const Tensor w0 = pg::randn({c.out, in}) * 0.1f, b0 = pg::randn({c.out}) * 0.1f;
        pg::Shape ys = c.x;
        ys.back() = c.out;
        const Tensor gy = pg::randn(ys);
        auto run = [&](bool fused, std::vector<Tensor> &out) {
          Tensor x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true),
                 b = c.bias ? b0.clone().requires_grad_(true) : Tensor();
          Tensor y = fused ? F::linear_relu(x, w, b) : pg::relu(F::linear(x, w, b));
          CHECK(y.grad_fn_name() == (fused ? "LinearReluBackward" : "ReluBackward"));
          y.backward(gy);
          out = {y, x.grad(), w.grad()};
          if (c.bias)
            out.push_back(b.grad());
        };
        const std::vector<Tensor> a = fused_matches_plain(run, "(y, dx, dw, db)");
        const auto y = a[0].to_vector(); // the ReLU cut something, and kept something
        if (in > 0) {
          CHECK(std::count(y.begin(), y.end(), 0.f) > 0);
          CHECK(std::count_if(y.begin(), y.end(), [](float v) { return v > 0.f; }) > 0);
        }
      }
  CHECK_THROWS_WITH(F::linear_relu(pg::randn({2, 3}), pg::randn({4, 5})),
                    Contains("linear_relu: input of shape [2, 3]") && Contains("[4, 5]"));
}

TEST_CASE("nn Sequential: fuses Linear then ReLU", "[nn]") {
  pg::manual_seed(45);
  const Tensor x = pg::randn({6, 8});
  auto grad_fn = [&](nn::Sequential &s) {
    return s(x.clone().requires_grad_(true)).grad_fn_name();
  };
  nn::Sequential lr{nn::make<nn::Linear>(8, 5), nn::make<nn::ReLU>()};
  CHECK(grad_fn(lr) == "LinearReluBackward");
  // Other orders and neighbours run one by one; a subclass is never fused.
  nn::Sequential relu_first{nn::make<nn::ReLU>(), nn::make<nn::Linear>(8, 5)};
  CHECK(grad_fn(relu_first) == "LinearBackward");
  nn::Sequential other{nn::make<nn::Linear>(8, 5), nn::make<nn::Sigmoid>()};
  CHECK(grad_fn(other) == "SigmoidBackward");
  struct MyLinear : nn::Linear {
    MyLinear() : nn::Linear(8, 5) {}
  };
  nn::Sequential sub{std::make_shared<MyLinear>(), nn::make<nn::ReLU>()};
  CHECK(grad_fn(sub) == "ReluBackward");
  // A wrong input names the layer, fused or not.
  CHECK_THROWS_WITH(lr(pg::randn({2, 7})), Contains("Linear(in_features=8") && Contains("[2, 7]"));
  // Fused and one by one: the same values and gradients.
  auto make = [] {
    pg::manual_seed(46);
    return std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
        nn::make<nn::Linear>(8, 16), nn::make<nn::ReLU>(), nn::make<nn::Linear>(16, 3),
        nn::make<nn::ReLU>()});
  };
  auto fused = make(), plain = make();
  plain->set_fusion(false);
  const Tensor gy = pg::randn({6, 3});
  fused->forward(x).backward(gy);
  plain->forward(x).backward(gy);
  CHECK(fused->forward(x).to_vector() == plain->forward(x).to_vector());
  for (size_t i = 0; i < fused->parameters().size(); ++i)
    CHECK(fused->parameters()[i].grad().to_vector() == plain->parameters()[i].grad().to_vector());
}

TEST_CASE("nn Sequential: fuses BatchNorm1d/2d then ReLU, but not before a MaxPool2d", "[nn]") {
  pg::manual_seed(43);
  const Tensor x = pg::randn({4, 3, 6, 6});
  auto grad_fn = [&](nn::Sequential &s, const Tensor &in) {
    return s(in.clone().requires_grad_(true)).grad_fn_name();
  };
  nn::Sequential bn2{nn::make<nn::BatchNorm2d>(3), nn::make<nn::ReLU>()};
  CHECK(grad_fn(bn2, x) == "BatchNormReluBackward");
  nn::Sequential bn1{nn::make<nn::BatchNorm1d>(5), nn::make<nn::ReLU>()};
  CHECK(grad_fn(bn1, pg::randn({8, 5})) == "BatchNormReluBackward");
  // The module's bookkeeping runs: the running statistics move, the count too.
  const auto &m = dynamic_cast<const nn::BatchNorm2d &>(*bn2[0]);
  CHECK(m.num_batches_tracked.data<int64_t>()[0] == 1);
  CHECK(m.running_mean.to_vector() != std::vector<float>(3, 0.f));
  // Before a MaxPool2d the ReLU goes into the pooling instead.
  nn::Sequential pooled{nn::make<nn::BatchNorm2d>(3), nn::make<nn::ReLU>(),
                        nn::make<nn::MaxPool2d>(2)};
  CHECK(grad_fn(pooled, x) == "ReluMaxPool2dBackward");
  // A subclass may behave differently: never fused.
  struct MyBN : nn::BatchNorm2d {
    MyBN() : nn::BatchNorm2d(3) {}
  };
  nn::Sequential sub{std::make_shared<MyBN>(), nn::make<nn::ReLU>()};
  CHECK(grad_fn(sub, x) == "ReluBackward");
  // Fused and one by one: the same values, and the same running statistics.
  auto make = [] {
    pg::manual_seed(44);
    return std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
        nn::make<nn::BatchNorm2d>(3), nn::make<nn::ReLU>()});
  };
  auto fused = make(), plain = make();
  plain->set_fusion(false);
  CHECK(fused->forward(x).to_vector() == plain->forward(x).to_vector());
  CHECK(fused->named_buffers()[0].second.to_vector() ==
        plain->named_buffers()[0].second.to_vector());
}

TEST_CASE("nn conv2d_relu_max_pool2d: bitwise the three ops in a row", "[nn]") {
  pg::manual_seed(37);
  struct Case {
    pg::Shape x, w;
    bool bias, x_grad;
    nn::Conv2dOptions o;
    int pk, ps, pp;
    bool ceil;
  };
  const std::vector<Case> cases = {
      // M2's first layer (input without gradient, as a network's first conv)
      {{9, 1, 28, 28}, {32, 1, 3, 3}, true, false, {.padding = 1}, 2, 2, 0, false},
      // odd sizes, input gradient, strided + grouped conv, overlapping pool
      {{5, 4, 11, 9},
       {6, 2, 3, 3},
       true,
       true,
       {.stride = 2, .padding = 1, .groups = 2},
       3,
       2,
       1,
       true},
      // M2's second layer: Winograd (images handed over from its tiles), odd
      // size (a half tile); padding 2
      {{5, 16, 9, 7}, {16, 16, 3, 3}, true, true, {.padding = 1}, 2, 2, 0, false},
      {{3, 16, 6, 6}, {16, 16, 3, 3}, false, true, {.padding = 2}, 3, 2, 1, false},
      // Winograd with 64 channels (one image over the chunk budget)
      {{3, 64, 19, 18}, {64, 64, 3, 3}, true, true, {.padding = 1}, 2, 2, 0, false},
      // 1x1 direct conv without bias; dilated pool
      {{3, 3, 8, 10}, {4, 3, 1, 1}, false, true, {}, 2, 1, 0, false},
  };
  for (const Case &c : cases) {
    INFO("x " << pg::shape_str(c.x) << " w " << pg::shape_str(c.w));
    const Tensor x = pg::randn(c.x), w = pg::randn(c.w) * 0.3f, b = pg::randn({c.w[0]});
    // Fused == unfused at each thread count; most of these shapes are below
    // the grains (the fused op's threaded paths: tests/test_threads.cpp).
    const bool forks = false;
    with_threads(forks, [&] {
      const auto &o = c.o;
      auto run = [&](bool fused, std::vector<Tensor> &leaves) {
        leaves = {x.clone().requires_grad_(c.x_grad), w.clone().requires_grad_(true),
                  c.bias ? b.clone().requires_grad_(true) : Tensor()};
        const Tensor &bb = leaves[2];
        Tensor y = fused ? F::conv2d_relu_max_pool2d(leaves[0], leaves[1], bb, o.stride, o.padding,
                                                     o.dilation, o.groups, c.pk, c.ps, c.pp,
                                                     c.pk == 2 && c.ps == 1 ? 2 : 1, c.ceil)
                         : F::max_pool2d(pg::relu(F::conv2d(leaves[0], leaves[1], bb, o.stride,
                                                            o.padding, o.dilation, o.groups)),
                                         c.pk, c.ps, c.pp, c.pk == 2 && c.ps == 1 ? 2 : 1, c.ceil);
        if (fused)
          REQUIRE(y.grad_fn_name() == "Conv2dReluMaxPool2dBackward");
        pg::manual_seed(5);
        y.backward(pg::randn(y.shape()));
        return y;
      };
      std::vector<Tensor> lf, lp;
      const Tensor yf = run(true, lf), yp = run(false, lp);
      REQUIRE(yf.to_vector() == yp.to_vector());
      for (int i = 0; i < 3; ++i)
        if (lf[i].defined() && lf[i].requires_grad()) {
          INFO("gradient of input " << i);
          REQUIRE(lf[i].grad().to_vector() == lp[i].grad().to_vector());
        }
      CHECK(!lf[0].grad().defined() == !c.x_grad);
    });
  }
  // Unbatched input.
  const Tensor x3 = pg::randn({2, 6, 6}), w3 = pg::randn({3, 2, 3, 3});
  CHECK(F::conv2d_relu_max_pool2d(x3, w3, Tensor(), 1, 1, 1, 1, 2).to_vector() ==
        F::max_pool2d(pg::relu(F::conv2d(x3, w3, Tensor(), 1, 1)), 2).to_vector());
  // Bad pooling arguments name the fused op.
  REQUIRE_THROWS_WITH(F::conv2d_relu_max_pool2d(x3, w3, Tensor(), 1, 1, 1, 1, 2, 2, 3),
                      Contains("conv2d_relu_max_pool2d") && Contains("half of the kernel size"));
}

TEST_CASE("nn Sequential: fuses Conv2d, ReLU, MaxPool2d; the longest match wins", "[nn]") {
  pg::manual_seed(41);
  const Tensor x = pg::randn({2, 3, 8, 8});
  auto conv = nn::make<nn::Conv2d>(3, 4, 3, nn::Conv2dOptions{.padding = 1});
  nn::Sequential seq{conv, nn::make<nn::ReLU>(), nn::make<nn::MaxPool2d>(2)};
  CHECK(seq(x).grad_fn_name() == "Conv2dReluMaxPool2dBackward");
  CHECK(seq(x).to_vector() == F::max_pool2d(pg::relu((*conv)(x)), 2).to_vector());
  // A Conv2d subclass: only the ReLU, MaxPool2d pair fuses.
  struct MyConv : nn::Conv2d {
    using nn::Conv2d::Conv2d;
  };
  nn::Sequential sub{std::make_shared<MyConv>(3, 4, 3, nn::Conv2dOptions{.padding = 1}),
                     nn::make<nn::ReLU>(), nn::make<nn::MaxPool2d>(2)};
  CHECK(sub(x).grad_fn_name() == "ReluMaxPool2dBackward");
  // Conv2d, ReLU without a pool: nothing fuses.
  nn::Sequential no_pool{conv, nn::make<nn::ReLU>()};
  CHECK(no_pool(x).grad_fn_name() == "ReluBackward");
  // The fused path keeps Conv2d's own input checks and message.
  REQUIRE_THROWS_WITH(seq(pg::randn({2, 5, 8, 8})),
                      Contains("Conv2d(3, 4") && Contains("expected input with 3 channels"));
}

TEST_CASE("nn relu: NaN passes like PyTorch, in value and gradient", "[nn]") {
  // torch.relu([nan, -1, 0, 2]) = [nan, 0, 0, 2]; its gradient for ones is
  // [1, 0, 0, 1] (threshold_backward passes g where !(y <= 0)).
  Tensor x = pg::from_vector({NAN, -1.f, 0.f, 2.f}, {4}).requires_grad_(true);
  Tensor y = pg::relu(x);
  const auto v = y.to_vector();
  CHECK(std::isnan(v[0]));
  CHECK(v[1] == 0.f);
  CHECK(v[2] == 0.f);
  CHECK(v[3] == 2.f);
  y.sum().backward();
  CHECK(x.grad().to_vector() == std::vector<float>{1.f, 0.f, 0.f, 1.f});
}

TEST_CASE("nn max_pool2d: NaN propagates like PyTorch", "[nn]") {
  Tensor x = pg::from_vector({1.f, NAN, 3.f, 2.f, 5.f, 6.f, 7.f, 8.f}, {1, 1, 2, 4});
  const auto y = F::max_pool2d(x, 2).to_vector();
  CHECK(std::isnan(y[0]));
  CHECK(y[1] == 8.f);
  const auto y3 = F::max_pool2d(x, {2, 3}, nn::Size2{1, 1}).to_vector();
  CHECK(std::isnan(y3[0]));
  CHECK(std::isnan(y3[1]));
}

TEST_CASE("nn batch_norm with a statistics reduction: as if the batch were on every process",
          "[nn][syncbn]") {
  // Two processes holding the same x: a reduction that doubles every sum is
  // exactly what SyncBatchNorm's allreduce would give them. The reference is
  // one process with the batch twice, [x; x], each half's loss summed.
  pg::manual_seed(3);
  const pg::Tensor x0 = pg::randn({3, 4, 2, 2}), w0 = pg::rand({4}) + 0.5f, b0 = pg::randn({4});
  const pg::Tensor dy = pg::randn({3, 4, 2, 2});
  const nn::BatchNormReduce twice = [](std::vector<double> &s) {
    for (double &v : s)
      v *= 2;
  };
  pg::Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_(),
             b = b0.clone().requires_grad_();
  pg::Tensor rm = pg::zeros({4}), rv = pg::ones({4});
  const pg::Tensor y = nn::functional::batch_norm(x, rm, rv, w, b, true, 0.1, 1e-5, twice);
  pg::sum(y * dy).backward();

  pg::Tensor xx = pg::cat({x0, x0}, 0).requires_grad_(), ww = w0.clone().requires_grad_(),
             bb = b0.clone().requires_grad_();
  pg::Tensor rm2 = pg::zeros({4}), rv2 = pg::ones({4});
  const pg::Tensor yy = nn::functional::batch_norm(xx, rm2, rv2, ww, bb, true, 0.1, 1e-5);
  pg::sum(yy * pg::cat({dy, dy}, 0)).backward();

  CHECK_THAT(y.to_vector(), Catch::Approx(yy.narrow(0, 0, 3).to_vector()).margin(1e-5));
  CHECK_THAT(rm.to_vector(), Catch::Approx(rm2.to_vector()).margin(1e-6));
  CHECK_THAT(rv.to_vector(),
             Catch::Approx(rv2.to_vector()).margin(1e-6)); // M/(M-1) of the global M
  // dx: the whole loss (both processes') through the shared statistics.
  CHECK_THAT(x.grad().to_vector(),
             Catch::Approx(xx.grad().narrow(0, 0, 3).to_vector()).margin(1e-5));
  // dgamma, dbeta: this process's part (DDP averages them): half the total.
  CHECK_THAT((w.grad() * 2.f).to_vector(), Catch::Approx(ww.grad().to_vector()).margin(1e-5));
  CHECK_THAT((b.grad() * 2.f).to_vector(), Catch::Approx(bb.grad().to_vector()).margin(1e-5));
  // Without the reduction the statistics are x's own: a different output.
  pg::Tensor rm3 = pg::zeros({4}), rv3 = pg::ones({4});
  const pg::Tensor own = nn::functional::batch_norm(x0, rm3, rv3, w0, b0, true);
  CHECK(rv3.to_vector() != rv.to_vector());
  CHECK_THAT(own.to_vector(), Catch::Approx(y.to_vector()).margin(1e-5)); // same mean/var
}

TEST_CASE("nn Module::replace_child swaps a registered child (Sequential runs the new one)",
          "[nn]") {
  auto seq = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(2, 2), std::make_shared<nn::ReLU>()});
  auto tanh_layer = std::make_shared<nn::Tanh>();
  seq->replace_child("1", tanh_layer);
  CHECK((*seq)[1] == tanh_layer);
  CHECK(seq->named_children()[1].second == tanh_layer);
  const pg::Tensor x = pg::full({1, 2}, -3.f);
  const pg::Tensor h = (*(*seq)[0])(x);
  CHECK(seq->forward(x).to_vector() == pg::tanh(h).to_vector()); // not relu
  CHECK_THROWS_WITH(seq->replace_child("2", tanh_layer), Catch::Contains("no submodule named '2'"));
  CHECK_THROWS_WITH(seq->replace_child("0", nullptr), Catch::Contains("is null"));
}

TEST_CASE("nn Sequential: in inference a BatchNorm2d is folded into the conv before it",
          "[nn][fusion]") {
  pg::manual_seed(5);
  auto make = [] {
    pg::manual_seed(6);
    auto s = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
        std::make_shared<nn::Conv2d>(3, 8, 3, nn::Conv2dOptions{.padding = 1}),
        std::make_shared<nn::BatchNorm2d>(8), std::make_shared<nn::ReLU>(),
        std::make_shared<nn::MaxPool2d>(2),
        std::make_shared<nn::Conv2d>(8, 4, 3, nn::Conv2dOptions{.bias = false}),
        std::make_shared<nn::BatchNorm2d>(4)});
    // running statistics and affine parameters far from the identity
    pg::NoGradGuard ng;
    for (const auto &[name, t] : s->named_buffers())
      if (t.dtype() == pg::DType::Float32) {
        pg::Tensor v = t;
        v.copy_(name.find("var") != std::string::npos ? pg::rand(t.shape()) * 3.f + 0.1f
                                                      : pg::randn(t.shape()));
      }
    for (const auto &[name, t] : s->named_parameters())
      if (name.rfind("1.", 0) == 0 || name.rfind("5.", 0) == 0) {
        pg::Tensor v = t;
        v.copy_(pg::randn(t.shape()));
      }
    s->eval();
    return s;
  };
  auto fused = make(), plain = make();
  plain->set_fusion(false);
  const pg::Tensor x = pg::randn({2, 3, 10, 10});
  pg::Tensor a, b;
  {
    pg::NoGradGuard ng;
    a = fused->forward(x);
    b = plain->forward(x);
  }
  REQUIRE(a.shape() == pg::Shape{2, 4, 3, 3});
  const auto va = a.to_vector(), vb = b.to_vector();
  double worst = 0, scale = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    worst = std::max(worst, (double)std::fabs(va[i] - vb[i]));
    scale = std::max(scale, (double)std::fabs(vb[i]));
  }
  CHECK(worst <= 1e-5 * scale); // the same up to rounding ...
  CHECK(va != vb);              // ... and the folded path is the one that ran
  // With grad mode on (eval, but gradients wanted) nothing is folded: the
  // gradient reaches the BatchNorm's gamma, and values are bitwise the plain ones.
  const pg::Tensor c = fused->forward(x);
  CHECK(c.to_vector() == vb);
  pg::sum(c).backward();
  CHECK(fused->named_parameters()[2].second.grad().defined()); // "1.weight", gamma
}

TEST_CASE("nn max pooling: no argmax indices in inference, the same values", "[nn][fusion]") {
  pg::manual_seed(8);
  for (int64_t hw : {8, 7}) { // the 2x2 / stride-2 kernel and the general one
    const pg::Tensor x = pg::randn({2, 3, hw, hw}).requires_grad_();
    const pg::Tensor w = pg::randn({4, 3, 3, 3}).requires_grad_();
    const std::vector<std::function<pg::Tensor()>> ops = {
        [&] { return nn::functional::max_pool2d(x, 2); },
        [&] { return nn::functional::max_pool2d(x, 3, 2, 1); },
        [&] { return nn::functional::relu_max_pool2d(x, 2); },
        [&] { return nn::functional::conv2d_relu_max_pool2d(x, w, {}, 1, 1, 1, 1, 2); }};
    for (const auto &op : ops) {
      const pg::Tensor with = op();
      CHECK(with.requires_grad());
      pg::Tensor without;
      {
        pg::NoGradGuard ng;
        without = op();
      }
      CHECK(!without.requires_grad());
      CHECK(without.to_vector() == with.to_vector());
    }
  }
}
