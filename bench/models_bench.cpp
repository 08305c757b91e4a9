// Training and inference throughput of the reference models M1-M3 (issue 5)
// on synthetic data (no data loading): images/second at 1 and 2 threads.
// bench/run_models_bench.sh runs this and bench/models_bench.py (PyTorch, the
// identical models) in one invocation and prints the ratios.
//
//   models_bench [--models m1,m2,m3] [--threads 1,2] [--modes train,infer]
//                [--min-time 2] [--rounds 3]
//                [--peak 230]
//
// Output lines (parsed by the run script):
//   RESULT polygrad <model> <train|infer> <threads> <img/s median> <min> <max>
// Also prints, per model, the training GFLOP/s (3x forward FLOPs, convs and
// linears only, as BASELINE.md counts) and the bytes the caching allocator
// requested from the system after warm-up (0 at steady state); and the
// FLOP rate counted as executed (Winograd's fewer multiply-adds) and as the
// direct convolution's, each as a fraction of the FMA peak (--peak).
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/allocator.h>
#include <polygrad/core/random.h>
#include <polygrad/losses/cross_entropy.h>
#include <polygrad/optim/adam.h>
#include <polygrad/optim/sgd.h>

#include "bench_common.h"
#include "common/models.h"

namespace pg = polygrad;

namespace {
std::vector<std::string> split(const std::string &s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string x;
  while (std::getline(ss, x, ','))
    out.push_back(x);
  return out;
}

// Multiply-accumulates of one forward pass per image (convs and linears).
double forward_flops(const std::string &m) {
  if (m == "m1")
    return 2.0 * (784 * 512 + 512 * 512 + 512 * 10);
  if (m == "m2")
    return 2.0 * (28 * 28 * 32 * 9 + 14 * 14 * 64 * 32 * 9 + 3136 * 128 + 128 * 10);
  return 2.0 * (32 * 32 * 64 * 27 + 32 * 32 * 64 * 576 + 16 * 16 * 128 * 576 +
                16 * 16 * 128 * 1152 + 8 * 8 * 256 * 1152 + 4096 * 10);
}

// The FLOPs of one image, counted two ways (issue 17): "direct", every conv
// as the direct 3x3 sum; and "executed", the multiply-adds the GEMMs really
// run: a Winograd F(2x2, 3x3) conv (3x3 same conv with >= 16 channels in and
// out, nn/conv2d.h) computes 16 C O products per 2x2 output tile
// (nn/kernels/winograd.cpp; its GEMMs skip the transforms' spare tiles). Training
// counts the forward, dW and dx of every layer but the first (its input
// needs no gradient); inference the forward.
struct Flops {
  double direct = 0, executed = 0;
};
Flops model_flops(const std::string &m, bool train) {
  struct Conv {
    int64_t C, O, S; // channels in / out, square image side (3x3, padding 1)
  };
  std::vector<Conv> convs;
  std::vector<std::pair<int64_t, int64_t>> linears;
  if (m == "m1")
    linears = {{784, 512}, {512, 512}, {512, 10}};
  else if (m == "m2")
    convs = {{1, 32, 28}, {32, 64, 14}}, linears = {{3136, 128}, {128, 10}};
  else
    convs = {{3, 64, 32}, {64, 64, 32}, {64, 128, 16}, {128, 128, 16}, {128, 256, 8}},
    linears = {{4096, 10}};
  Flops f;
  bool first = true;
  auto passes = [&] { return train ? (first ? 2.0 : 3.0) : 1.0; };
  for (const Conv &c : convs) {
    const double direct = 2.0 * c.C * c.O * 9 * c.S * c.S;
    const int64_t t = (c.S + 1) / 2, tiles = t * t;
    const bool wino = c.C >= 16 && c.O >= 16;
    f.direct += passes() * direct;
    f.executed += passes() * (wino ? 2.0 * 16 * c.C * c.O * tiles : direct);
    first = false;
  }
  for (auto [in, out] : linears) {
    f.direct += passes() * 2.0 * in * out;
    f.executed += passes() * 2.0 * in * out;
    first = false;
  }
  return f;
}
} // namespace

int main(int argc, char **argv) {
  std::string models = "m1,m2,m3", threads = "1,2", modes = "train,infer";
  double min_time = 2.0;
  int rounds = 3;
  // The FMA peak of the machine at 2 threads, GFLOP/s (per thread: half):
  // 230 measured on 2026-12-07 with ../shared/baseline's fma_peak (AVX-512
  // and AVX2 alike on that host; BASELINE.md's host gave 437 with AVX-512).
  double peak = 230;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--models"))
      models = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads"))
      threads = argv[i + 1];
    else if (!std::strcmp(argv[i], "--modes")) // e.g. "train" alone, for a profile
      modes = argv[i + 1];
    else if (!std::strcmp(argv[i], "--min-time"))
      min_time = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rounds"))
      rounds = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--peak"))
      peak = std::atof(argv[i + 1]);
    else {
      std::fprintf(stderr,
                   "usage: models_bench [--models m1,m2,m3] [--threads 1,2] [--modes train,infer] "
                   "[--min-time S] [--rounds R] [--peak GFLOPS_AT_2_THREADS]\n");
      return 2;
    }
  }
  const int64_t B = 128;
  for (const std::string &m : split(models)) {
    pg::manual_seed(0);
    const bool rgb = m == "m3";
    auto model = pg::examples::make_model(m == "m1" ? "mlp" : m == "m2" ? "cnn" : "cifar-cnn");
    pg::Tensor x = pg::randn({B, rgb ? 3 : 1, rgb ? 32 : 28, rgb ? 32 : 28});
    std::vector<int64_t> yl(B);
    for (int64_t i = 0; i < B; ++i)
      yl[i] = i % 10;
    pg::Tensor y = pg::from_labels(yl);
    std::unique_ptr<pg::optim::Optimizer> opt;
    if (m == "m1")
      opt = std::make_unique<pg::optim::SGD>(model->parameters(),
                                             pg::optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
    else if (m == "m2")
      opt = std::make_unique<pg::optim::Adam>(model->parameters(),
                                              pg::optim::AdamOptions{.lr = 1e-3});
    else
      opt = std::make_unique<pg::optim::SGD>(
          model->parameters(),
          pg::optim::SGDOptions{
              .lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = true});
    auto train_step = [&] {
      pg::Tensor loss = pg::losses::cross_entropy(model->forward(x), y);
      opt->zero_grad();
      loss.backward();
      opt->step();
    };
    auto infer_step = [&] {
      pg::NoGradGuard ng;
      model->forward(x);
    };
    for (const std::string &ts : split(threads)) {
      const int t = std::atoi(ts.c_str());
      pg::set_num_threads(t);
      for (const std::string &mode_s : split(modes)) {
        const char *mode = mode_s.c_str();
        const bool train = mode_s == "train";
        if (!train && mode_s != "infer") {
          std::fprintf(stderr, "models_bench: --modes takes train and/or infer, got '%s'\n", mode);
          return 2;
        }
        model->train(train);
        std::function<void()> fn =
            train ? std::function<void()>(train_step) : std::function<void()>(infer_step);
        // Warm-up: optimizer state appears at step 1 and the allocator cache
        // reaches its high-water mark by step 2.
        for (int w = 0; w < 3; ++w)
          fn();
        const uint64_t sys0 = pg::allocator::stats().system_bytes;
        std::vector<double> ips;
        for (int r = 0; r < rounds; ++r)
          ips.push_back(B / bench::time_per_call(fn, min_time));
        const uint64_t sys1 = pg::allocator::stats().system_bytes;
        const bench::Stat s = bench::stat(ips);
        std::printf("RESULT polygrad %s %s %d %.1f %.1f %.1f\n", m.c_str(), mode, t, s.med, s.lo,
                    s.hi);
        std::printf("  %s %s %dt: %.0f img/s (%.0f..%.0f), %.1f GFLOP/s, allocator system bytes "
                    "after warm-up: %llu\n",
                    m.c_str(), mode, t, s.med, s.lo, s.hi,
                    s.med * forward_flops(m) * (train ? 3 : 1) / 1e9,
                    (unsigned long long)(sys1 - sys0));
        const Flops f = model_flops(m, train);
        const double p = peak * std::min(t, 2) / 2;
        std::printf("  %s %s %dt: executed %.1f GFLOP/s (%.0f %% of the %.0f GFLOP/s FMA peak), "
                    "direct-equivalent %.1f GFLOP/s (%.0f %%)\n",
                    m.c_str(), mode, t, s.med * f.executed / 1e9,
                    100 * s.med * f.executed / 1e9 / p, p, s.med * f.direct / 1e9,
                    100 * s.med * f.direct / 1e9 / p);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
