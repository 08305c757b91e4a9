// core_bench: the tensor engine's speed next to what the hardware and
// OpenBLAS give on the same shapes (issue 2).
//
//   core_bench [--sections gemm,small,split,fight,elementwise,crossover,reduce,own]
//              [--rounds 5] [--min-time 0.1] [--quiesce-ms 150] [--quick]
//
// Sections (all print markdown tables; see docs/benchmarks.md):
//  gemm        polygrad::matmul GFLOP/s vs cblas_sgemm called directly on the
//              same operands, at 1 and 2 threads. Direct cblas at n threads =
//              openblas_set_num_threads(n) (what a user of OpenBLAS gets);
//              polygrad at n threads = polygrad::set_num_threads(n) (OpenMP
//              split, OpenBLAS at 1 thread). Ratio = polygrad / cblas.
//  small       vector and rank-1 GEMMs (batch-1 layers) at 1 thread:
//              cblas_sgemm vs kernel::gemm's sgemv / rank-1 paths.
//  split       at 2 threads, per shape: OpenBLAS single-threaded (serial),
//              the M/N split over OpenMP threads (kernel::gemm's strategy,
//              forced on regardless of its size threshold), and OpenBLAS's own
//              2 threads. Decides kernel::gemm's threshold and strategy.
//  fight       a Linear layer's forward (GEMM + bias add + ReLU), 2 threads:
//              one OpenMP pool (polygrad) vs OpenBLAS threads for the GEMM
//              plus OpenMP for the element-wise ops (two pools).
//  elementwise add, broadcast mul, exp, relu: GB/s at 1 and 2 threads.
//  crossover   the same loops through kernel::parallel_range forced serial vs
//              forced parallel: the size at which 2 threads start to pay,
//              which sets kParallelGrain (core/parallel.h).
//  reduce      sum over rows, sum over columns, softmax: GB/s at 1 and 2 threads.
//  own         kernel::sgemm's own micro-kernels (core/sgemm.h) vs cblas_sgemm at
//              1 thread, on squares and the reference models' conv GEMMs.
#include <cmath>
#include <functional>
#include <map>
#include <omp.h>
#include <set>
#include <sstream>

#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/sgemm.h>
#include <polygrad/polygrad.h>

#include "bench_common.h"

namespace pg = polygrad;
using bench::fmt;
using bench::fmt1;
using bench::Stat;
using bench::stat;

namespace {

int g_rounds = 5;
double g_min_time = 0.1;

// ---------------------------------------------------------------- GEMM ----

struct GemmCase {
  std::string name;
  int64_t M, N, K;
  bool ta, tb;       // op(A) = A^T / op(B) = B^T, given to BLAS as transposes
  bool copy = false; // A is a strided view BLAS cannot take (step-2 columns)
};

const char *op_name(const GemmCase &c) {
  static const char *names[] = {"NN", "NT", "TN", "TT"};
  return c.copy ? "NN, A strided" : names[(c.ta ? 2 : 0) + (c.tb ? 1 : 0)];
}

std::vector<GemmCase> gemm_cases(bool quick) {
  std::vector<GemmCase> v;
  for (int64_t n : {64, 128, 256, 512, 1024, 2048})
    if (!quick || n <= 1024)
      v.push_back({"square " + std::to_string(n), n, n, n, false, false});
  // Linear x[B,in] W[out,in], B = 128 (BASELINE.md 1b):
  //   fwd M=B N=out K=in (NT); bwd-data M=B N=in K=out (NN); bwd-wt M=out N=in K=B (TN)
  auto linear = [&](const std::string &nm, int64_t in, int64_t out) {
    v.push_back({nm + " fwd", 128, out, in, false, true});
    v.push_back({nm + " bwd-data", 128, in, out, false, false});
    v.push_back({nm + " bwd-wt", out, in, 128, true, false});
  };
  linear("M1 fc1 784->512", 784, 512);
  linear("M1 fc2 512->512", 512, 512);
  linear("M1 fc3 512->10", 512, 10);
  linear("M2 fc1 3136->128", 3136, 128);
  linear("M2 fc2 128->10", 128, 10);
  // Transposed views on both sides, and a view BLAS cannot take.
  v.push_back({"1024 A^T B^T (views)", 1024, 1024, 1024, true, true});
  v.push_back({"512 A[:, ::2] (copy)", 512, 512, 512, false, false, true});
  return v;
}

// Operands as polygrad tensors (possibly transposed / strided views) plus the
// raw pointers and leading dims handed to BLAS.
struct GemmOperands {
  pg::Tensor a, b;    // op(A) [M,K], op(B) [K,N] as views
  pg::Tensor a_dense; // for the copy case: what BLAS is given directly
  const float *pa, *pb;
  int64_t lda, ldb;
  std::vector<float> c;
};

GemmOperands make_operands(const GemmCase &g) {
  GemmOperands o;
  pg::manual_seed(1);
  if (g.copy) {
    pg::Tensor base = pg::randn({g.M, 2 * g.K});
    o.a = base.slice(1, 0, 2 * g.K, 2);
    o.a_dense = o.a.contiguous(); // direct BLAS gets a dense A (its best case)
    o.pa = o.a_dense.data<float>();
    o.lda = g.K;
  } else if (g.ta) {
    pg::Tensor base = pg::randn({g.K, g.M});
    o.a = base.t();
    o.pa = base.data<float>();
    o.lda = g.M;
  } else {
    o.a = pg::randn({g.M, g.K});
    o.pa = o.a.data<float>();
    o.lda = g.K;
  }
  if (g.tb) {
    pg::Tensor base = pg::randn({g.N, g.K});
    o.b = base.t();
    o.pb = base.data<float>();
    o.ldb = g.K;
  } else {
    o.b = pg::randn({g.K, g.N});
    o.pb = o.b.data<float>();
    o.ldb = g.N;
  }
  o.c.assign(g.M * g.N, 0.f);
  return o;
}

void direct_sgemm(const GemmCase &g, GemmOperands &o) {
  cblas_sgemm(CblasRowMajor, g.ta && !g.copy ? CblasTrans : CblasNoTrans,
              g.tb ? CblasTrans : CblasNoTrans, (int)g.M, (int)g.N, (int)g.K, 1.f, o.pa, (int)o.lda,
              o.pb, (int)o.ldb, 0.f, o.c.data(), (int)g.N);
}

// The split of kernel::gemm (core/matmul.cpp), replicated here so it can be
// forced on below kernel::gemm's size threshold and in either orientation:
// one cblas_sgemm per OpenMP thread on a slab of rows of C (split_m) or of
// columns, slab edges on multiples of 16, OpenBLAS at 1 thread.
void split_sgemm(const GemmCase &g, GemmOperands &o, int nt, bool split_m) {
  const bool ta = g.ta && !g.copy, tb = g.tb;
  const CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE TB = tb ? CblasTrans : CblasNoTrans;
  const int64_t D = split_m ? g.M : g.N;
  float *C = o.c.data();
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), n = omp_get_num_threads();
    const int64_t blocks = (D + 15) / 16;
    const int64_t d0 = std::min(D, blocks * t / n * 16),
                  d1 = std::min(D, blocks * (t + 1) / n * 16);
    if (d1 > d0) {
      if (split_m)
        cblas_sgemm(CblasRowMajor, TA, TB, (int)(d1 - d0), (int)g.N, (int)g.K, 1.f,
                    ta ? o.pa + d0 : o.pa + d0 * o.lda, (int)o.lda, o.pb, (int)o.ldb, 0.f,
                    C + d0 * g.N, (int)g.N);
      else
        cblas_sgemm(CblasRowMajor, TA, TB, (int)g.M, (int)(d1 - d0), (int)g.K, 1.f, o.pa,
                    (int)o.lda, tb ? o.pb + d0 * o.ldb : o.pb + d0, (int)o.ldb, 0.f, C + d0,
                    (int)g.N);
    }
  }
}

double min_time_for(double flop) {
  // Big GEMMs: a couple of calls suffice; small ones get g_min_time.
  return flop > 5e9 ? std::max(0.3, g_min_time) : g_min_time;
}

void section_gemm(bool quick) {
  std::printf("\n## GEMM: polygrad::matmul vs cblas_sgemm called directly (GFLOP/s)\n\n");
  std::printf("| shape | op | M | N | K | MFLOP | polygrad 1t | cblas 1t | ratio 1t | polygrad 2t "
              "| cblas 2t (OpenBLAS threads) | ratio 2t |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::fflush(stdout);
  for (const GemmCase &g : gemm_cases(quick)) {
    GemmOperands o = make_operands(g);
    const double flop = 2.0 * g.M * g.N * g.K, mt = min_time_for(flop);
    std::vector<double> p1, c1, p2, c2, r1, r2;
    for (int r = 0; r < g_rounds; ++r) {
      auto pg_run = [&] { pg::Tensor y = pg::matmul(o.a, o.b); };
      auto blas_run = [&] { direct_sgemm(g, o); };
      double tp1, tc1, tp2, tc2;
      // Alternate the order each round so neither side always goes first.
      if (r % 2 == 0) {
        bench::blas_mode(1), tc1 = bench::time_per_call(blas_run, mt);
        bench::polygrad_mode(1), tp1 = bench::time_per_call(pg_run, mt);
        tp2 = (bench::polygrad_mode(2), bench::time_per_call(pg_run, mt));
        tc2 = (bench::blas_mode(2), bench::time_per_call(blas_run, mt));
      } else {
        tc2 = (bench::blas_mode(2), bench::time_per_call(blas_run, mt));
        tp2 = (bench::polygrad_mode(2), bench::time_per_call(pg_run, mt));
        tp1 = (bench::polygrad_mode(1), bench::time_per_call(pg_run, mt));
        tc1 = (bench::blas_mode(1), bench::time_per_call(blas_run, mt));
      }
      p1.push_back(flop / tp1 * 1e-9), c1.push_back(flop / tc1 * 1e-9);
      p2.push_back(flop / tp2 * 1e-9), c2.push_back(flop / tc2 * 1e-9);
      r1.push_back(tc1 / tp1), r2.push_back(tc2 / tp2);
    }
    std::printf("| %s | %s | %ld | %ld | %ld | %.1f | %s | %s | **%s** | %s | %s | **%s** |\n",
                g.name.c_str(), op_name(g), (long)g.M, (long)g.N, (long)g.K, flop * 1e-6,
                fmt(stat(p1)).c_str(), fmt(stat(c1)).c_str(), fmt1(stat(r1).med).c_str(),
                fmt(stat(p2)).c_str(), fmt(stat(c2)).c_str(), fmt1(stat(r2).med).c_str());
    std::fflush(stdout);
  }
  bench::polygrad_mode(pg::get_num_threads());
}

void section_split(bool quick) {
  std::printf("\n## GEMM at 2 threads: serial vs split over 2 OpenMP threads (rows of C or "
              "columns) vs OpenBLAS threads (GFLOP/s)\n\n");
  std::printf(
      "| shape | op | M | N | K | MFLOP | serial (1 thread) | split rows (M) | split cols (N) "
      "| OpenBLAS 2 threads | rows/serial | cols/serial | rows/OpenBLAS-2t | "
      "cols/OpenBLAS-2t |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::vector<GemmCase> cases;
  // Small shapes around the split threshold, incl. the 64-wide MLP of
  // bench/autograd_overhead (batch 128).
  for (int64_t n : {32, 48, 64, 96, 128, 192, 256})
    cases.push_back({"square " + std::to_string(n), n, n, n, false, false});
  cases.push_back({"MLP64 b128 fwd", 128, 64, 64, false, false});
  cases.push_back({"MLP64 b128 bwd-data", 128, 64, 64, false, true});
  cases.push_back({"MLP64 b128 bwd-wt", 64, 64, 128, true, false});
  cases.push_back({"b128 64->512", 128, 512, 64, false, true});
  cases.push_back({"b32 512->512", 32, 512, 512, false, true});
  for (const GemmCase &g : gemm_cases(quick))
    if (g.name.rfind("square", 0) != 0 || g.M >= 512)
      cases.push_back(g);
  for (const GemmCase &g : cases) {
    GemmOperands o = make_operands(g);
    const double flop = 2.0 * g.M * g.N * g.K, mt = min_time_for(flop);
    const bool can_m = g.M >= 32, can_n = g.N >= 32; // two slabs of >= 16
    std::vector<double> s1, sm, sn, ob, rm, rn, om, on;
    for (int r = 0; r < g_rounds; ++r) {
      bench::polygrad_mode(1);
      const double t_ser = bench::time_per_call([&] { direct_sgemm(g, o); }, mt);
      bench::polygrad_mode(2);
      const double t_m = can_m ? bench::time_per_call([&] { split_sgemm(g, o, 2, true); }, mt) : 0;
      const double t_n = can_n ? bench::time_per_call([&] { split_sgemm(g, o, 2, false); }, mt) : 0;
      bench::blas_mode(2);
      const double t_ob = bench::time_per_call([&] { direct_sgemm(g, o); }, mt);
      s1.push_back(flop / t_ser * 1e-9), ob.push_back(flop / t_ob * 1e-9);
      if (can_m)
        sm.push_back(flop / t_m * 1e-9), rm.push_back(t_ser / t_m), om.push_back(t_ob / t_m);
      if (can_n)
        sn.push_back(flop / t_n * 1e-9), rn.push_back(t_ser / t_n), on.push_back(t_ob / t_n);
    }
    auto cell = [](const std::vector<double> &v) {
      return v.empty() ? std::string("-") : fmt(stat(v));
    };
    auto rat = [](const std::vector<double> &v) {
      return v.empty() ? std::string("-") : fmt1(stat(v).med);
    };
    std::printf("| %s | %s | %ld | %ld | %ld | %.2f | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                g.name.c_str(), op_name(g), (long)g.M, (long)g.N, (long)g.K, flop * 1e-6,
                fmt(stat(s1)).c_str(), cell(sm).c_str(), cell(sn).c_str(), fmt(stat(ob)).c_str(),
                rat(rm).c_str(), rat(rn).c_str(), rat(om).c_str(), rat(on).c_str());
    std::fflush(stdout);
  }
  bench::polygrad_mode(pg::get_num_threads());
}

// Small and vector GEMMs, 1 thread: cblas_sgemm called directly vs
// kernel::gemm, which sends M == 1 / N == 1 to sgemv and K == 1 to a rank-1
// loop (core/matmul.cpp). These are the GEMMs of a batch-1 MLP step.
void section_small() {
  std::printf(
      "\n## Small / vector GEMMs at 1 thread: cblas_sgemm vs kernel::gemm (ns per call)\n\n");
  std::printf("| shape | op | M | N | K | cblas_sgemm ns | kernel::gemm ns | speed-up |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  const std::vector<GemmCase> cases = {
      {"MLP64 b1 fwd h W", 1, 64, 64, false, false},
      {"MLP64 b1 bwd dh = g W^T", 1, 64, 64, false, true},
      {"MLP64 b1 bwd dW = h^T g", 64, 64, 1, true, false},
      {"column: W x", 64, 1, 64, false, false},
      {"M1 b1 fc1 fwd", 1, 512, 784, false, true},
      {"M1 b1 fc1 dW", 512, 784, 1, true, false},
      {"MLP64 b128 fwd (unchanged path)", 128, 64, 64, false, false},
  };
  bench::polygrad_mode(1);
  for (const GemmCase &g : cases) {
    GemmOperands o = make_operands(g);
    std::vector<double> tb, tk, r;
    for (int k = 0; k < g_rounds; ++k) {
      const double t0 = bench::time_per_call([&] { direct_sgemm(g, o); }, g_min_time / 2);
      const double t1 = bench::time_per_call(
          [&] {
            pg::kernel::gemm(g.ta, g.tb, g.M, g.N, g.K, 1.f, o.pa, o.lda, o.pb, o.ldb, 0.f,
                             o.c.data(), g.N);
          },
          g_min_time / 2);
      tb.push_back(t0 * 1e9), tk.push_back(t1 * 1e9), r.push_back(t0 / t1);
    }
    std::printf("| %s | %s | %ld | %ld | %ld | %s | %s | **%s** |\n", g.name.c_str(), op_name(g),
                (long)g.M, (long)g.N, (long)g.K, fmt(stat(tb), 0).c_str(), fmt(stat(tk), 0).c_str(),
                fmt1(stat(r).med).c_str());
    std::fflush(stdout);
  }
  bench::polygrad_mode(pg::get_num_threads());
}

// ---------------------------------------------------------------- fight ----

void section_fight() {
  std::printf("\n## Two pools vs one: Linear forward y = relu(x W^T + b), 2 threads (us per "
              "call)\n\n");
  std::printf("| B x in -> out | A: polygrad ops (one OpenMP pool) | B: raw split GEMM + OpenMP "
              "loops (one pool) | C: OpenBLAS 2t GEMM + OpenMP loops (two pools) | D: OpenBLAS "
              "2t GEMM + serial loops | C/B | D/B |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  struct Sh {
    int64_t B, in, out;
  };
  for (Sh s : {Sh{128, 64, 64}, Sh{128, 512, 512}, Sh{128, 784, 512}, Sh{1024, 1024, 1024}}) {
    pg::manual_seed(2);
    pg::Tensor x = pg::randn({s.B, s.in}), W = pg::randn({s.out, s.in}), b = pg::randn({s.out});
    const pg::Tensor Wt = W.t();
    GemmCase g{"", s.B, s.out, s.in, false, true};
    GemmOperands o;
    o.pa = x.data<float>(), o.lda = s.in, o.pb = W.data<float>(), o.ldb = s.in;
    o.c.assign(s.B * s.out, 0.f);
    const float *pb = b.data<float>();
    float *y = o.c.data();
    const int64_t n = s.B * s.out;
    auto omp_epilogue = [&] {
    // bias add and relu as two passes, like two element-wise ops
#pragma omp parallel for num_threads(2) schedule(static)
      for (int64_t r = 0; r < s.B; ++r)
        for (int64_t j = 0; j < s.out; ++j)
          y[r * s.out + j] += pb[j];
#pragma omp parallel for num_threads(2) schedule(static)
      for (int64_t i = 0; i < n; ++i)
        y[i] = y[i] > 0.f ? y[i] : 0.f;
    };
    auto serial_epilogue = [&] {
      for (int64_t r = 0; r < s.B; ++r)
        for (int64_t j = 0; j < s.out; ++j)
          y[r * s.out + j] += pb[j];
      for (int64_t i = 0; i < n; ++i)
        y[i] = y[i] > 0.f ? y[i] : 0.f;
    };
    std::vector<double> ta, tb, tc, td, rc, rd;
    for (int r = 0; r < g_rounds; ++r) {
      bench::polygrad_mode(2);
      const double a = bench::time_per_call(
          [&] { pg::Tensor h = pg::relu(pg::add(pg::matmul(x, Wt), b)); }, g_min_time);
      const double bb = bench::time_per_call(
          [&] {
            split_sgemm(g, o, 2, true);
            omp_epilogue();
          },
          g_min_time);
      // Both pools live: OpenBLAS's workers spin ~130 ms after each GEMM while
      // the OpenMP region runs, and libgomp's spin while the next GEMM runs.
      openblas_set_num_threads(2);
      const double c = bench::time_per_call(
          [&] {
            direct_sgemm(g, o);
            omp_epilogue();
          },
          g_min_time);
      bench::blas_mode(2);
      const double d = bench::time_per_call(
          [&] {
            direct_sgemm(g, o);
            serial_epilogue();
          },
          g_min_time);
      ta.push_back(a * 1e6), tb.push_back(bb * 1e6), tc.push_back(c * 1e6), td.push_back(d * 1e6),
          rc.push_back(c / bb), rd.push_back(d / bb);
    }
    std::printf("| %ldx%ld -> %ld | %s | %s | %s | %s | %s | %s |\n", (long)s.B, (long)s.in,
                (long)s.out, fmt(stat(ta)).c_str(), fmt(stat(tb)).c_str(), fmt(stat(tc)).c_str(),
                fmt(stat(td)).c_str(), fmt1(stat(rc).med).c_str(), fmt1(stat(rd).med).c_str());
    std::fflush(stdout);
  }
  bench::polygrad_mode(pg::get_num_threads());
}

// --------------------------------------------------------- element-wise ----

const std::vector<int64_t> &ew_sizes(bool quick) {
  static const std::vector<int64_t> full = {1 << 10, 1 << 12, 1 << 14, 1 << 15, 1 << 16, 1 << 17,
                                            1 << 18, 1 << 19, 1 << 20, 1 << 22, 1 << 24};
  static const std::vector<int64_t> q = {1 << 12, 1 << 16, 1 << 20, 1 << 22};
  return quick ? q : full;
}

std::string size_str(int64_t n) {
  char buf[32];
  if (n >= (1 << 20))
    std::snprintf(buf, sizeof buf, "%ldM", (long)(n >> 20));
  else
    std::snprintf(buf, sizeof buf, "%ldK", (long)(n >> 10));
  return buf;
}

// Runs fn at 1 and 2 threads, paired per round; prints a table row.
void row_1t_2t(const std::string &label, double bytes, const std::function<void()> &fn) {
  std::vector<double> g1, g2, r;
  for (int k = 0; k < g_rounds; ++k) {
    bench::polygrad_mode(1);
    const double t1 = bench::time_per_call(fn, g_min_time);
    bench::polygrad_mode(2);
    const double t2 = bench::time_per_call(fn, g_min_time);
    g1.push_back(bytes / t1 * 1e-9), g2.push_back(bytes / t2 * 1e-9), r.push_back(t1 / t2);
  }
  const Stat s1 = stat(g1);
  std::printf("%s | %s | %s | %s | %.2f |\n", label.c_str(), fmt(s1).c_str(), fmt(stat(g2)).c_str(),
              fmt1(stat(r).med).c_str(), bytes / s1.med * 1e-3);
  std::fflush(stdout);
}

void section_elementwise(bool quick) {
  std::printf("\n## Element-wise ops through the polygrad API (GB/s; bytes = inputs read + "
              "output written)\n\n");
  std::printf("kParallelGrain = %ld elements.\n\n", (long)pg::kParallelGrain);
  std::printf("| op | elements | 1 thread GB/s | 2 threads GB/s | 2t/1t | 1t us/call |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (int64_t n : ew_sizes(quick)) {
    pg::manual_seed(3);
    pg::Tensor a = pg::randn({n}), b = pg::randn({n});
    const int64_t C = 256;
    pg::Tensor m = a.view({n / C, C}), row = pg::randn({C});
    const std::string sz = size_str(n);
    row_1t_2t("| add a+b | " + sz, 12.0 * n, [&] { pg::Tensor y = pg::add(a, b); });
    row_1t_2t("| mul [n/256,256]*[256] | " + sz, 8.0 * n, [&] { pg::Tensor y = pg::mul(m, row); });
    row_1t_2t("| exp | " + sz, 8.0 * n, [&] { pg::Tensor y = pg::exp(a); });
    row_1t_2t("| relu | " + sz, 8.0 * n, [&] { pg::Tensor y = pg::relu(a); });
  }
}

void section_crossover(bool quick) {
  std::printf("\n## Serial/parallel crossover: kernel::parallel_range forced serial vs forced "
              "parallel at 2 threads\n\n");
  std::printf("time ratio parallel/serial < 1 means 2 threads pay. Loop bodies as in "
              "kernel::zip/map (contiguous fast path).\n\n");
  std::printf("| elements | add serial us | add 2t us | add par/ser | exp serial us | exp 2t us "
              "| exp par/ser | relu par/ser |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  const int64_t big = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> sizes;
  for (int64_t n = 512; n <= (quick ? (1 << 18) : (1 << 21)); n *= 2)
    sizes.push_back(n);
  for (int64_t n : sizes) {
    std::vector<float> a(n), b(n), o(n);
    for (int64_t i = 0; i < n; ++i)
      a[i] = std::sin(0.1f * i), b[i] = std::cos(0.1f * i);
    const float *pa = a.data(), *pb = b.data();
    float *po = o.data();
    auto add = [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i)
        po[i] = pa[i] + pb[i];
    };
    auto ex = [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i)
        po[i] = std::exp(pa[i]);
    };
    auto re = [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i)
        po[i] = pa[i] > 0.f ? pa[i] : 0.f;
    };
    std::vector<double> as, ap, es, ep, ra, rx, rr;
    bench::polygrad_mode(2);
    for (int k = 0; k < g_rounds; ++k) {
      const double mt = g_min_time / 2;
      const double t_as = bench::time_per_call([&] { pg::kernel::parallel_range(n, 0, add); }, mt);
      const double t_ap =
          bench::time_per_call([&] { pg::kernel::parallel_range(n, big, add); }, mt);
      const double t_es = bench::time_per_call([&] { pg::kernel::parallel_range(n, 0, ex); }, mt);
      const double t_ep = bench::time_per_call([&] { pg::kernel::parallel_range(n, big, ex); }, mt);
      const double t_rs = bench::time_per_call([&] { pg::kernel::parallel_range(n, 0, re); }, mt);
      const double t_rp = bench::time_per_call([&] { pg::kernel::parallel_range(n, big, re); }, mt);
      as.push_back(t_as * 1e6), ap.push_back(t_ap * 1e6), es.push_back(t_es * 1e6),
          ep.push_back(t_ep * 1e6);
      ra.push_back(t_ap / t_as), rx.push_back(t_ep / t_es), rr.push_back(t_rp / t_rs);
    }
    std::printf("| %ld | %s | %s | %s | %s | %s | %s | %s |\n", (long)n, fmt(stat(as), 2).c_str(),
                fmt(stat(ap), 2).c_str(), fmt1(stat(ra).med).c_str(), fmt(stat(es), 2).c_str(),
                fmt(stat(ep), 2).c_str(), fmt1(stat(rx).med).c_str(), fmt1(stat(rr).med).c_str());
    std::fflush(stdout);
  }
  // Fork/join cost alone: an empty parallel region of 2 threads.
  std::vector<double> fj;
  for (int k = 0; k < g_rounds; ++k)
    fj.push_back(1e6 * bench::time_per_call(
                           [&] { pg::kernel::parallel_range(2, big, [](int64_t, int64_t) {}); },
                           g_min_time / 2));
  std::printf("\nEmpty 2-thread parallel_range (fork/join only): %s us\n",
              fmt(stat(fj), 2).c_str());
}

// ----------------------------------------------------------- reductions ----

void section_reduce(bool quick) {
  std::printf("\n## Reductions through the polygrad API (GB/s; bytes = input read + output "
              "written)\n\n");
  std::printf("| op | shape | 1 thread GB/s | 2 threads GB/s | 2t/1t | 1t us/call |\n");
  std::printf("|---|---|---|---|---|---|\n");
  struct Sh {
    int64_t R, C;
  };
  std::vector<Sh> shapes = {{128, 10}, {128, 64}, {512, 512}, {4096, 1000}, {16384, 1024}};
  if (quick)
    shapes = {{128, 64}, {512, 512}, {4096, 1000}};
  for (Sh s : shapes) {
    pg::manual_seed(4);
    pg::Tensor x = pg::randn({s.R, s.C});
    const double in = 4.0 * s.R * s.C;
    const std::string sh = std::to_string(s.R) + "x" + std::to_string(s.C);
    row_1t_2t("| sum rows (dim 1) | " + sh, in + 4.0 * s.R,
              [&] { pg::Tensor y = pg::sum(x, {1}); });
    row_1t_2t("| sum cols (dim 0) | " + sh, in + 4.0 * s.C,
              [&] { pg::Tensor y = pg::sum(x, {0}); });
    row_1t_2t("| softmax (dim 1) | " + sh, 2 * in, [&] { pg::Tensor y = pg::softmax(x, 1); });
  }
}

// ------------------------------------------------------------ own GEMM ----

// kernel::sgemm's own micro-kernels (core/sgemm.h) vs cblas_sgemm, both on
// one thread (no split), on squares and on the convolution GEMMs of the
// reference models at batch 128 (per Winograd chunk / im2col block: what
// nn/kernels/ actually calls; op(A) is the weight side, op(B) the tiles).
void section_own(bool quick) {
  namespace kn = pg::kernel;
  std::printf("\n## Own SGEMM micro-kernels vs cblas_sgemm, 1 thread (GFLOP/s)\n\n");
  const std::vector<kn::GemmKernel> ks = kn::supported_own_gemm_kernels();
  std::printf("| shape | op | M | N | K | cblas |");
  for (kn::GemmKernel k : ks)
    std::printf(" %s | %s / cblas |", kn::gemm_kernel_name(k), kn::gemm_kernel_name(k));
  std::printf(" %s, A prepacked | / cblas |", kn::gemm_kernel_name(ks[0]));
  std::printf("\n|---|---|---|---|---|---|");
  for (size_t i = 0; i <= ks.size(); ++i)
    std::printf("---|---|");
  std::printf("\n");
  std::vector<GemmCase> cases;
  for (int64_t n : {128, 256, 512, 1024})
    if (!quick || n <= 512)
      cases.push_back({"square " + std::to_string(n), n, n, n, false, false});
  // Winograd F(2x2,3x3) per chunk of images (T tiles: the chunk nn/kernels/
  // winograd.cpp picks for the avx512 kernel): forward M[xi] = V (O x C)
  // U (C x T), data backward (V^T), weight backward dV = dM U^T (K = T).
  auto wino = [&](const std::string &nm, int64_t C, int64_t O, int64_t T) {
    cases.push_back({nm + " wino fwd", O, T, C, false, false});
    cases.push_back({nm + " wino bwd-data", C, T, O, true, false});
    cases.push_back({nm + " wino bwd-wt", O, C, T, false, true});
  };
  wino("M2 conv2 32->64 14x14, 2 img", 32, 64, 112);
  wino("M3 conv2 64->64 32x32, 1 img", 64, 64, 272);
  wino("M3 conv3 64->128 16x16, 2 img", 64, 128, 144);
  wino("M3 conv4 128->128 16x16, 2 img", 128, 128, 144);
  wino("M3 conv5 128->256 8x8, 4 img", 128, 256, 80);
  // im2col: y = W (O x 9C) col (9C x pixels), dW = dy col^T, dcol = W^T dy.
  cases.push_back({"M3 conv1 3->64 im2col fwd", 64, 1024, 27, false, false});
  cases.push_back({"M3 conv1 im2col bwd-wt", 64, 27, 1024, false, true});
  cases.push_back({"M2 conv1 1->32 im2col fwd", 32, 784, 9, false, false});
  cases.push_back({"M1 fc1 fwd (Linear)", 128, 512, 784, false, true});
  cases.push_back({"M2 fc1 fwd, one thread's rows", 64, 128, 3136, false, true});
  cases.push_back({"M2 conv2 wino bwd-wt, 1 img", 64, 32, 56, false, true});
  cases.push_back({"M1 fc1 bwd-wt (Linear)", 512, 784, 128, true, false});
  pg::set_num_threads(1);
  bench::blas_mode(1);
  for (const GemmCase &g : cases) {
    GemmOperands o = make_operands(g);
    const double flop = 2.0 * g.M * g.N * g.K;
    std::vector<double> cb;
    std::vector<std::vector<double>> own(ks.size() + 1), ratio(ks.size() + 1);
    // The weight side packed once (kn::PackedA), as the conv drivers do.
    const kn::PackedA packed(g.ta, g.M, g.K, o.pa, o.lda, ks[0]);
    for (int r = 0; r < g_rounds; ++r) {
      const double tc = bench::time_per_call([&] { direct_sgemm(g, o); }, g_min_time);
      cb.push_back(flop / tc * 1e-9);
      for (size_t i = 0; i < ks.size(); ++i) {
        const double t = bench::time_per_call(
            [&] {
              kn::sgemm_serial(ks[i], g.ta, g.tb, g.M, g.N, g.K, 1.f, o.pa, o.lda, o.pb, o.ldb, 0.f,
                               o.c.data(), g.N);
            },
            g_min_time);
        own[i].push_back(flop / t * 1e-9);
        ratio[i].push_back(tc / t);
      }
      const double t = bench::time_per_call(
          [&] { kn::sgemm(packed, g.tb, g.N, 1.f, o.pb, o.ldb, 0.f, o.c.data(), g.N); },
          g_min_time);
      own[ks.size()].push_back(flop / t * 1e-9);
      ratio[ks.size()].push_back(tc / t);
    }
    std::printf("| %s | %s | %ld | %ld | %ld | %s |", g.name.c_str(), op_name(g), (long)g.M,
                (long)g.N, (long)g.K, fmt(stat(cb)).c_str());
    for (size_t i = 0; i <= ks.size(); ++i)
      std::printf(" %s | **%s** |", fmt(stat(own[i])).c_str(), fmt1(stat(ratio[i]).med).c_str());
    std::printf("\n");
    std::fflush(stdout);
  }
  bench::polygrad_mode(pg::get_num_threads());
}

} // namespace

int main(int argc, char **argv) {
  std::string sections = "gemm,small,split,fight,elementwise,crossover,reduce,own";
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "core_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--sections")
      sections = next();
    else if (a == "--rounds")
      g_rounds = std::stoi(next());
    else if (a == "--min-time")
      g_min_time = std::stod(next());
    else if (a == "--quiesce-ms")
      bench::g_quiesce_ms = std::stod(next());
    else if (a == "--quick")
      quick = true;
    else {
      std::fprintf(
          stderr,
          "usage: core_bench [--sections gemm,small,split,fight,elementwise,crossover,reduce,own] "
          "[--rounds N] [--min-time S] [--quiesce-ms MS] [--quick]\n");
      return 2;
    }
  }
  bench::print_machine_header("core_bench");
  std::printf("# rounds=%d min-time=%.3fs quiesce=%.0fms; figures: median (min..max) over "
              "rounds; ratios: median of per-round paired ratios\n",
              g_rounds, g_min_time, bench::g_quiesce_ms);
  std::set<std::string> want;
  std::stringstream ss(sections);
  for (std::string s; std::getline(ss, s, ',');)
    want.insert(s);
  if (want.count("gemm"))
    section_gemm(quick);
  if (want.count("small"))
    section_small();
  if (want.count("split"))
    section_split(quick);
  if (want.count("fight"))
    section_fight();
  if (want.count("elementwise"))
    section_elementwise(quick);
  if (want.count("crossover"))
    section_crossover(quick);
  if (want.count("reduce"))
    section_reduce(quick);
  if (want.count("own"))
    section_own(quick);
  return 0;
}
