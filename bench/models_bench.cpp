// Training and inference throughput of the reference models M1-M3 (issue 5)
// on synthetic data (no data loading): images/second at 1 and 2 threads.
// bench/run_models_bench.sh runs this and bench/models_bench.py (PyTorch, the
// identical models) in one invocation and prints the ratios.
//
//   models_bench [--models m1,m2,m3] [--threads 1,2] [--min-time 2] [--rounds 3]
//
// Output lines (parsed by the run script):
//   RESULT polygrad <model> <train|infer> <threads> <img/s median> <min> <max>
// Also prints, per model, the training GFLOP/s (3x forward FLOPs, convs and
// linears only, as BASELINE.md counts) and the bytes the caching allocator
// requested from the system after warm-up (0 at steady state).
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
} // namespace

int main(int argc, char **argv) {
  std::string models = "m1,m2,m3", threads = "1,2";
  double min_time = 2.0;
  int rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--models"))
      models = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads"))
      threads = argv[i + 1];
    else if (!std::strcmp(argv[i], "--min-time"))
      min_time = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rounds"))
      rounds = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: models_bench [--models m1,m2,m3] [--threads 1,2] "
                           "[--min-time S] [--rounds R]\n");
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
      for (const char *mode : {"train", "infer"}) {
        const bool train = !std::strcmp(mode, "train");
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
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
