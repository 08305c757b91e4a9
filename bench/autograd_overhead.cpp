// autograd_overhead: the cost of recording and walking the graph (issue 3).
//
// A 64-wide 3-layer MLP written with raw polygrad ops, per layer
//   h = relu(matmul(h, W) + b),   W [64, 64], b [64]   (x3)
// then loss = sum(h) (or mean). One iteration = drop the grads (as
// zero_grad(set_to_none)), forward, backward. Timed per iteration in
// microseconds at batch 1 and 128, 1 and 2 threads. bench/autograd_overhead.py
// times the same model in PyTorch; bench/run_autograd_overhead.sh runs both.
//
//   autograd_overhead [--batches 1,128] [--threads 1,2] [--rounds 7]
//                     [--min-time 0.2] [--reduce sum|mean]
//                     [--phases fwd_bwd,fwd,fwd_nograd] [--detect-anomaly]
//
// --detect-anomaly times the same steps with anomaly mode on (every recorded
// output and every gradient checked for NaN/Inf; autograd/anomaly_mode.h).
//
// Output: one CSV line per measurement, comment lines start with '#':
//   impl,phase,batch,threads,median_us,min_us,max_us
// phase: fwd_bwd (the figure), fwd (forward with recording), fwd_nograd
// (forward under NoGradGuard: the same kernels without the graph).
#include <cmath>
#include <functional>
#include <sstream>

#include <polygrad/polygrad.h>

#include "bench_common.h"

namespace pg = polygrad;

namespace {

std::vector<int> parse_list(const std::string &s) {
  std::vector<int> v;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');)
    v.push_back(std::stoi(x));
  return v;
}

struct MLP {
  std::vector<pg::Tensor> W, b;
  bool mean = false;
  explicit MLP(bool use_mean) : mean(use_mean) {
    pg::manual_seed(0);
    for (int l = 0; l < 3; ++l) {
      // U(-1/8, 1/8) like nn.Linear's default for fan_in 64
      W.push_back(((pg::rand({64, 64}) * 2.f - 1.f) * 0.125f).requires_grad_(true));
      b.push_back(((pg::rand({64}) * 2.f - 1.f) * 0.125f).requires_grad_(true));
    }
  }
  pg::Tensor forward(const pg::Tensor &x) const {
    pg::Tensor h = x;
    for (int l = 0; l < 3; ++l)
      h = pg::relu(pg::add(pg::matmul(h, W[l]), b[l]));
    return mean ? pg::mean(h) : pg::sum(h);
  }
  void zero_grad() const {
    for (int l = 0; l < 3; ++l)
      W[l].zero_grad(), b[l].zero_grad();
  }
};

} // namespace

int main(int argc, char **argv) {
  std::vector<int> batches = {1, 128}, threads = {1, 2};
  int rounds = 7;
  double min_time = 0.2;
  bool use_mean = false;
  std::string phases_wanted = ",fwd_bwd,fwd,fwd_nograd,";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "autograd_overhead: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--batches")
      batches = parse_list(next());
    else if (a == "--threads")
      threads = parse_list(next());
    else if (a == "--rounds")
      rounds = std::stoi(next());
    else if (a == "--min-time")
      min_time = std::stod(next());
    else if (a == "--reduce")
      use_mean = next() == "mean";
    else if (a == "--detect-anomaly")
      pg::set_detect_anomaly(true);
    else if (a == "--phases")
      phases_wanted = std::string(",").append(next()).append(","); // (GCC 105329)
    else {
      std::fprintf(stderr, "usage: autograd_overhead [--batches 1,128] [--threads 1,2] "
                           "[--rounds 7] [--min-time 0.2] [--reduce sum|mean] "
                           "[--phases fwd_bwd,fwd,fwd_nograd] [--detect-anomaly]\n");
      return 2;
    }
  }
  bench::print_machine_header("autograd_overhead");
  std::printf("# MLP 64-64-64 x3 (matmul + add + relu), loss=%s, rounds=%d, min-time=%.2fs\n",
              use_mean ? "mean" : "sum", rounds, min_time);
  std::printf("# anomaly mode %s\n", pg::is_anomaly_enabled() ? "on" : "off");
  std::printf("impl,phase,batch,threads,median_us,min_us,max_us\n");
  MLP net(use_mean);
  // Sanity: the gradients exist and are finite (a benchmark of a broken
  // backward would be meaningless).
  {
    pg::Tensor x = pg::randn({4, 64});
    net.forward(x).backward();
    for (int l = 0; l < 3; ++l) {
      const float g = pg::sum(pg::abs(net.W[l].grad())).item();
      if (!net.W[l].grad().defined() || !std::isfinite(g)) {
        std::fprintf(stderr, "autograd_overhead: bad gradient for W%d\n", l);
        return 1;
      }
    }
    net.zero_grad();
  }
  for (int B : batches) {
    pg::manual_seed(1);
    const pg::Tensor x = pg::randn({B, 64});
    auto step = [&] {
      net.zero_grad();
      net.forward(x).backward();
    };
    auto fwd = [&] { pg::Tensor l = net.forward(x); };
    auto fwd_nograd = [&] {
      pg::NoGradGuard ng;
      pg::Tensor l = net.forward(x);
    };
    struct Phase {
      const char *name;
      std::function<void()> fn;
    };
    const Phase phases[] = {{"fwd_bwd", step}, {"fwd", fwd}, {"fwd_nograd", fwd_nograd}};
    for (int nt : threads) {
      pg::set_num_threads(nt);
      for (const Phase &ph : phases) {
        if (phases_wanted.find(std::string(",") + ph.name + ",") == std::string::npos)
          continue;
        std::vector<double> us;
        for (int r = 0; r < rounds; ++r)
          us.push_back(1e6 * bench::time_per_call(ph.fn, min_time));
        const bench::Stat s = bench::stat(us);
        std::printf("polygrad,%s,%d,%d,%.2f,%.2f,%.2f\n", ph.name, B, nt, s.med, s.lo, s.hi);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
