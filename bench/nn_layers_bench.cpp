// nn/ layers of the reference models (M2 mnist-cnn, M3 cifar-cnn) at batch
// 128, forward and forward+backward, at 1 and 2 threads:
//   conv:      GFLOP/s of polygrad's Conv2d next to kernel::gemm (cblas_sgemm
//              split across the OpenMP threads) on the same three GEMM shapes
//              as one big GEMM each (fwd M=Cout N=B*L K=Cin*k*k; bwd-data
//              M=Cin*k*k N=B*L K=Cout; bwd-weight M=Cout N=Cin*k*k K=B*L);
//              "conv/gemm" = time of the three GEMMs / time of the layer.
//   max-pool:  ns per input element, forward and backward.
//   batchnorm: GB/s counting the minimal traffic (fwd: read x, write y;
//              bwd: read dy and x, write dx), train mode.
//   relu, linear: for context.
// Usage: nn_layers_bench [--threads 1,2] [--rounds 3] [--min-time 0.3]
//                        [--only conv|pool|bn|relu|linear]
//                        [--conv-algorithm auto|im2col|winograd|winograd4x4]
// Each figure is the median over rounds (min..max); see bench/bench_common.h.
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/random.h>
#include <polygrad/nn/batchnorm.h>
#include <polygrad/nn/conv2d.h>
#include <polygrad/nn/linear.h>
#include <polygrad/nn/pooling.h>

#include "bench_common.h"

namespace pg = polygrad;
namespace F = polygrad::nn::functional;
using pg::Tensor;

namespace {

struct Opts {
  std::vector<int> threads{1, 2};
  int rounds = 3;
  double min_time = 0.3;
  std::string only;
  std::string conv_algorithm = "auto"; // nn::ConvAlgorithm for the conv section
} opt;

struct ConvSpec {
  const char *name;
  int64_t cin, cout, hw;
  bool first; // the input needs no gradient (first layer)
};
const ConvSpec kConvs[] = {
    {"M2 conv1 1->32 @28", 1, 32, 28, true},      {"M2 conv2 32->64 @14", 32, 64, 14, false},
    {"M3 conv1 3->64 @32", 3, 64, 32, true},      {"M3 conv2 64->64 @32", 64, 64, 32, false},
    {"M3 conv3 64->128 @16", 64, 128, 16, false}, {"M3 conv4 128->128 @16", 128, 128, 16, false},
    {"M3 conv5 128->256 @8", 128, 256, 8, false},
};
constexpr int64_t B = 128;

// Median (min..max) over rounds of each of the timed functions, measured
// back to back within a round.
std::vector<bench::Stat> measure(const std::vector<std::function<void()>> &fns) {
  std::vector<std::vector<double>> t(fns.size());
  for (int r = 0; r < opt.rounds; ++r)
    for (size_t i = 0; i < fns.size(); ++i)
      t[i].push_back(bench::time_per_call(fns[i], opt.min_time));
  std::vector<bench::Stat> s;
  for (auto &v : t)
    s.push_back(bench::stat(v));
  return s;
}

bench::Stat scale(bench::Stat s, double num, bool invert) {
  // invert: turn a time into num / time (a rate); min and max swap.
  if (invert)
    return {num / s.med, num / s.hi, num / s.lo};
  return {s.med * num, s.lo * num, s.hi * num};
}

void bench_conv(int nt) {
  std::printf("\n## conv, batch %ld, %d thread(s), conv algorithm %s\n", (long)B, nt,
              opt.conv_algorithm.c_str());
  std::printf("| layer | fwd ms | fwd+bwd ms | fwd GFLOP/s | bwd GFLOP/s | train GFLOP/s | 3 GEMMs "
              "ms | GEMM GFLOP/s | conv/gemm |\n|---|---|---|---|---|---|---|---|---|\n");
  for (const ConvSpec &c : kConvs) {
    pg::manual_seed(1);
    const int64_t L = c.hw * c.hw, K = c.cin * 9;
    Tensor x = pg::randn({B, c.cin, c.hw, c.hw});
    if (!c.first)
      x.requires_grad_(true);
    Tensor w = (pg::randn({c.cout, c.cin, 3, 3}) * 0.1f).requires_grad_(true);
    Tensor b = pg::randn({c.cout}).requires_grad_(true);
    Tensor gy = pg::randn({B, c.cout, c.hw, c.hw});
    // The same GEMMs as one big call each (buffers of the right sizes).
    Tensor A = pg::randn({std::max(c.cout, K), std::max(K, c.cout)});
    Tensor col = pg::randn({K, B * L}), out = pg::randn({std::max(c.cout, K), B * L});
    Tensor dw = pg::randn({c.cout, K});
    const double fwd_flop = 2.0 * B * L * K * c.cout;
    const double bwd_flop = fwd_flop * (c.first ? 1 : 2);
    auto fwd = [&] { Tensor y = F::conv2d(x, w, b, 1, 1); };
    auto train = [&] {
      x.zero_grad(), w.zero_grad(), b.zero_grad();
      Tensor y = F::conv2d(x, w, b, 1, 1);
      y.backward(gy);
    };
    auto gemms = [&] {
      const float *pa = A.data<float>(), *pc = col.data<float>();
      float *po = out.data<float>();
      pg::kernel::gemm(false, false, c.cout, B * L, K, 1.f, pa, K, pc, B * L, 0.f, po, B * L);
      if (!c.first) // bwd-data: (K x Cout)(Cout x BL)
        pg::kernel::gemm(true, false, K, B * L, c.cout, 1.f, pa, K, pc, B * L, 0.f, po, B * L);
      // bwd-weight: (Cout x BL)(BL x K)
      pg::kernel::gemm(false, true, c.cout, K, B * L, 1.f, po, B * L, pc, B * L, 0.f,
                       dw.data<float>(), K);
    };
    const auto s = measure({fwd, train, gemms});
    const double ms = 1e3;
    const bench::Stat bwd{s[1].med - s[0].med, s[1].lo - s[0].hi, s[1].hi - s[0].lo};
    std::printf("| %s | %s | %s | %s | %s | %s | %s | %s | %.2f |\n", c.name,
                bench::fmt(scale(s[0], ms, false), 2).c_str(),
                bench::fmt(scale(s[1], ms, false), 2).c_str(),
                bench::fmt(scale(s[0], fwd_flop * 1e-9, true)).c_str(),
                bench::fmt1(bwd_flop * 1e-9 / bwd.med, 1).c_str(),
                bench::fmt(scale(s[1], (fwd_flop + bwd_flop) * 1e-9, true)).c_str(),
                bench::fmt(scale(s[2], ms, false), 2).c_str(),
                bench::fmt(scale(s[2], (fwd_flop + bwd_flop) * 1e-9, true)).c_str(),
                s[2].med / s[1].med);
    std::fflush(stdout);
  }
}

void bench_pool(int nt) {
  std::printf("\n## max-pool 2x2, batch %ld, %d thread(s) (ns per input element)\n", (long)B, nt);
  std::printf("| input | fwd ns/elem | fwd+bwd ns/elem | bwd ns/elem |\n|---|---|---|---|\n");
  const pg::Shape shapes[] = {
      {B, 32, 28, 28}, {B, 64, 14, 14}, {B, 64, 32, 32}, {B, 128, 16, 16}, {B, 256, 8, 8}};
  for (const auto &sh : shapes) {
    Tensor x = pg::randn(sh).requires_grad_(true);
    Tensor gy = pg::randn({sh[0], sh[1], sh[2] / 2, sh[3] / 2});
    auto fwd = [&] { Tensor y = F::max_pool2d(x, 2); };
    auto train = [&] {
      x.zero_grad();
      Tensor y = F::max_pool2d(x, 2);
      y.backward(gy);
    };
    const auto s = measure({fwd, train});
    const double n = double(x.numel());
    std::printf("| %s | %s | %s | %.3f |\n", pg::shape_str(sh).c_str(),
                bench::fmt(scale(s[0], 1e9 / n, false), 3).c_str(),
                bench::fmt(scale(s[1], 1e9 / n, false), 3).c_str(),
                (s[1].med - s[0].med) * 1e9 / n);
    std::fflush(stdout);
  }
}

void bench_bn(int nt) {
  std::printf("\n## batch-norm 2d (train), batch %ld, %d thread(s)\n", (long)B, nt);
  std::printf("| input | fwd ms | fwd GB/s | fwd+bwd ms | bwd GB/s |\n|---|---|---|---|---|\n");
  const pg::Shape shapes[] = {{B, 64, 32, 32}, {B, 128, 16, 16}, {B, 256, 8, 8}};
  for (const auto &sh : shapes) {
    const int64_t C = sh[1];
    Tensor x = pg::randn(sh).requires_grad_(true);
    Tensor gy = pg::randn(sh);
    Tensor w = pg::ones({C}).requires_grad_(true), b = pg::zeros({C}).requires_grad_(true);
    Tensor rm = pg::zeros({C}), rv = pg::ones({C});
    auto fwd = [&] { Tensor y = F::batch_norm(x, rm, rv, w, b, true); };
    auto train = [&] {
      x.zero_grad(), w.zero_grad(), b.zero_grad();
      Tensor y = F::batch_norm(x, rm, rv, w, b, true);
      y.backward(gy);
    };
    const auto s = measure({fwd, train});
    const double bytes = 4.0 * x.numel();
    const double bwd = s[1].med - s[0].med;
    std::printf("| %s | %s | %s | %s | %.1f |\n", pg::shape_str(sh).c_str(),
                bench::fmt(scale(s[0], 1e3, false), 2).c_str(),
                bench::fmt(scale(s[0], 2 * bytes * 1e-9, true)).c_str(),
                bench::fmt(scale(s[1], 1e3, false), 2).c_str(), 3 * bytes * 1e-9 / bwd);
    std::fflush(stdout);
  }
}

void bench_relu(int nt) {
  std::printf("\n## relu, %d thread(s)\n| input | fwd ns/elem | fwd+bwd ns/elem |\n|---|---|---|\n",
              nt);
  const pg::Shape shapes[] = {{B, 32, 28, 28}, {B, 64, 32, 32}};
  for (const auto &sh : shapes) {
    Tensor x = pg::randn(sh).requires_grad_(true), gy = pg::randn(sh);
    auto fwd = [&] { Tensor y = pg::relu(x); };
    auto train = [&] {
      x.zero_grad();
      Tensor y = pg::relu(x);
      y.backward(gy);
    };
    const auto s = measure({fwd, train});
    const double n = double(x.numel());
    std::printf("| %s | %s | %s |\n", pg::shape_str(sh).c_str(),
                bench::fmt(scale(s[0], 1e9 / n, false), 3).c_str(),
                bench::fmt(scale(s[1], 1e9 / n, false), 3).c_str());
  }
}

void bench_linear(int nt) {
  std::printf(
      "\n## linear, batch %ld, %d thread(s)\n| layer | fwd+bwd us | GFLOP/s |\n|---|---|---|\n",
      (long)B, nt);
  struct L {
    const char *name;
    int64_t in, out;
    bool first;
  };
  const L ls[] = {{"M1 fc1 784->512", 784, 512, true},
                  {"M1 fc2 512->512", 512, 512, false},
                  {"M2 fc1 3136->128", 3136, 128, false},
                  {"M3 fc 4096->10", 4096, 10, false}};
  for (const L &l : ls) {
    Tensor x = pg::randn({B, l.in});
    if (!l.first)
      x.requires_grad_(true);
    Tensor w = pg::randn({l.out, l.in}).requires_grad_(true);
    Tensor b = pg::randn({l.out}).requires_grad_(true), gy = pg::randn({B, l.out});
    auto train = [&] {
      x.zero_grad(), w.zero_grad(), b.zero_grad();
      Tensor y = F::linear(x, w, b);
      y.backward(gy);
    };
    const auto s = measure({train});
    const double flop = 2.0 * B * l.in * l.out * (l.first ? 2 : 3);
    std::printf("| %s | %s | %s |\n", l.name, bench::fmt(scale(s[0], 1e6, false), 1).c_str(),
                bench::fmt(scale(s[0], flop * 1e-9, true)).c_str());
  }
}

std::vector<int> parse_list(const char *s) {
  std::vector<int> v;
  for (const char *p = s; *p;) {
    v.push_back(std::atoi(p));
    while (*p && *p != ',')
      ++p;
    if (*p == ',')
      ++p;
  }
  return v;
}

} // namespace

const std::map<std::string, pg::nn::ConvAlgorithm> kAlgorithms = {
    {"auto", pg::nn::ConvAlgorithm::Auto},
    {"im2col", pg::nn::ConvAlgorithm::Im2col},
    {"winograd", pg::nn::ConvAlgorithm::Winograd},
    {"winograd4x4", pg::nn::ConvAlgorithm::Winograd4x4}};

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--threads")
      opt.threads = parse_list(next), ++i;
    else if (a == "--rounds")
      opt.rounds = std::atoi(next), ++i;
    else if (a == "--min-time")
      opt.min_time = std::atof(next), ++i;
    else if (a == "--only")
      opt.only = next, ++i;
    else if (a == "--conv-algorithm" && kAlgorithms.count(next))
      opt.conv_algorithm = next, ++i;
    else {
      std::fprintf(stderr,
                   "usage: %s [--threads 1,2] [--rounds 3] [--min-time 0.3] "
                   "[--only conv|pool|bn|relu|linear] "
                   "[--conv-algorithm auto|im2col|winograd|winograd4x4]\n",
                   argv[0]);
      return 2;
    }
  }
  pg::nn::set_conv_algorithm(kAlgorithms.at(opt.conv_algorithm));
  bench::print_machine_header("nn_layers_bench");
  for (int nt : opt.threads) {
    bench::polygrad_mode(nt);
    if (opt.only.empty() || opt.only == "conv")
      bench_conv(nt);
    if (opt.only.empty() || opt.only == "pool")
      bench_pool(nt);
    if (opt.only.empty() || opt.only == "bn")
      bench_bn(nt);
    if (opt.only.empty() || opt.only == "relu")
      bench_relu(nt);
    if (opt.only.empty() || opt.only == "linear")
      bench_linear(nt);
  }
  return 0;
}
