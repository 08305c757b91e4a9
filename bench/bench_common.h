// Shared helpers of the bench/ programs: a timer, medians, and the thread
// switching rules. Not part of the library.
//
// Methodology (the VM is shared and noisy, 10-30 %): every figure is the
// median over `rounds` rounds; within a round the variants being compared are
// measured back to back (paired), and ratios are the median of the per-round
// ratios, so slow drifts of the machine cancel. One measurement = one untimed
// warm-up call, then calls until `min_time` seconds have passed.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <cblas.h>

#include <polygrad/core/parallel.h>

namespace bench {

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Seconds per call of fn(): one warm-up call, then batches of calls (the
// clock is read once per batch) until min_time has passed.
template <class F> double time_per_call(F &&fn, double min_time) {
  fn();
  long iters = 0, batch = 1;
  const double t0 = now();
  double el = 0;
  while (true) {
    for (long i = 0; i < batch; ++i)
      fn();
    iters += batch;
    el = now() - t0;
    if (el >= min_time)
      break;
    // Aim the next batch at ~1/4 of the remaining time.
    const double per = el / iters;
    batch = std::max<long>(1, std::min<long>(iters, (long)((min_time - el) / per / 4)));
  }
  return el / iters;
}

struct Stat {
  double med = 0, lo = 0, hi = 0;
};
inline Stat stat(std::vector<double> v) {
  Stat s;
  if (v.empty())
    return s;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.med = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.lo = v.front();
  s.hi = v.back();
  return s;
}
// "12.3 (11.9..13.0)"
inline std::string fmt(const Stat &s, int prec = 1) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.*f (%.*f..%.*f)", prec, s.med, prec, s.lo, prec, s.hi);
  return buf;
}
inline std::string fmt1(double v, int prec = 2) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

inline void sleep_ms(double ms) {
  if (ms > 0)
    std::this_thread::sleep_for(std::chrono::microseconds((long)(ms * 1000)));
}

// The two thread pools of the process. Only one may be busy at a time:
//  * polygrad mode: OpenMP with n threads, OpenBLAS at 1 thread (what
//    polygrad::set_num_threads(n) sets up);
//  * direct-BLAS mode: OpenBLAS with n threads (what a user calling
//    cblas_sgemm directly gets), OpenMP idle.
// After a pool was busy its workers keep spinning: libgomp's for a few ms
// (GOMP_SPINCOUNT, default policy), OpenBLAS's for ~130 ms (measured with
// getrusage, see docs/benchmarks.md). Switching from one pool at 2+ threads
// to the other therefore first sleeps (`quiesce_ms` after OpenBLAS, 1/10 of
// it after OpenMP) so the side measured next does not pay for the other
// pool's spinning.
inline double g_quiesce_ms = 150;
enum class Pool { none, omp, blas };
inline Pool g_pool = Pool::none; // the pool that last ran with 2+ threads
inline int g_pool_n = 0;
inline void quiesce(Pool next, int n) {
  if (g_pool == Pool::blas && !(next == Pool::blas && n == g_pool_n))
    sleep_ms(g_quiesce_ms);
  else if (g_pool == Pool::omp && !(next == Pool::omp && n == g_pool_n))
    sleep_ms(g_quiesce_ms / 10);
  g_pool = n > 1 ? next : Pool::none;
  g_pool_n = n;
}
inline void polygrad_mode(int n) {
  quiesce(Pool::omp, n);
  polygrad::set_num_threads(n); // also sets OpenBLAS to 1 thread
}
inline void blas_mode(int n) {
  quiesce(Pool::blas, n);
  polygrad::set_num_threads(1);
  openblas_set_num_threads(n);
}

inline const char *env_or(const char *name, const char *dflt) {
  const char *v = std::getenv(name);
  return v ? v : dflt;
}

inline void print_machine_header(const char *prog) {
  std::printf("# %s: OMP_WAIT_POLICY=%s GOMP_SPINCOUNT=%s OPENBLAS_CORETYPE=%s "
              "OPENBLAS_NUM_THREADS=%s, OpenBLAS config: %s, cores: %u\n",
              prog, env_or("OMP_WAIT_POLICY", "(unset)"), env_or("GOMP_SPINCOUNT", "(unset)"),
              env_or("OPENBLAS_CORETYPE", "(unset)"), env_or("OPENBLAS_NUM_THREADS", "(unset)"),
              openblas_get_config(), std::thread::hardware_concurrency());
  std::fflush(stdout);
}

} // namespace bench
