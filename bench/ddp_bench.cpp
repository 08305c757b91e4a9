// Data-parallel training throughput (issue 16, docs/distributed.md): M2 and
// M3 training steps on a synthetic global batch of 128, as one process or as
// one rank of `mpirun -np N ddp_bench --distributed`, with the time the
// gradient allreduces take alone and the part of it backward did not hide.
//
//   ddp_bench [--models m2,m3] [--threads T] [--steps 30] [--bucket-mb 25] [--distributed]
//
// Output (rank 0; parsed by bench/run_ddp_bench.sh):
//   RESULT ddp <model> <procs>x<threads> <img/s> <step ms> <allreduce ms> <exposed ms> <buckets>
// img/s counts the global batch; allreduce ms is one allreduce of every
// gradient at once, measured alone (0 for one process); exposed ms is the
// median time the rank whose backward ended last waited for the allreduces
// after its last node: communication backward did not hide (the other
// ranks' waits also hold the time they wait for that rank).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>

#include <polygrad/core/parallel.h>
#include <polygrad/core/random.h>
#include <polygrad/distributed.h>
#include <polygrad/losses/cross_entropy.h>
#include <polygrad/optim/sgd.h>

#include "bench_common.h"
#include "common/models.h"

namespace pg = polygrad;
namespace dist = polygrad::distributed;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int usage() {
  std::fprintf(stderr, "usage: ddp_bench [--models m2,m3] [--threads T] [--steps N] "
                       "[--bucket-mb MB] [--distributed]\n");
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  std::string models = "m2,m3";
  int threads = 1, steps = 30;
  double bucket_mb = 25;
  bool distributed = false;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (!std::strcmp(argv[i], "--distributed"))
      distributed = true;
    else if (!std::strcmp(argv[i], "--models") && has_value)
      models = argv[++i];
    else if (!std::strcmp(argv[i], "--threads") && has_value)
      threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--steps") && has_value)
      steps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--bucket-mb") && has_value)
      bucket_mb = std::atof(argv[++i]);
    else
      return usage();
  }
  if (threads < 1 || steps < 1 || bucket_mb <= 0)
    return usage();
  if (distributed)
    dist::init();
  const int world = distributed ? dist::world_size() : 1, rank = distributed ? dist::rank() : 0;
  pg::set_num_threads(threads);
  const int64_t B = 128;
  if (B % world != 0) {
    std::fprintf(stderr, "ddp_bench: %d processes do not divide the batch of %lld\n", world,
                 (long long)B);
    return 2;
  }
  std::stringstream ss(models);
  for (std::string m; std::getline(ss, m, ',');) {
    if (m != "m2" && m != "m3")
      return usage();
    pg::manual_seed(0);
    const bool rgb = m == "m3";
    std::shared_ptr<pg::nn::Module> model = pg::examples::make_model(rgb ? "cifar-cnn" : "cnn");
    std::shared_ptr<dist::DistributedDataParallel> ddp;
    if (distributed)
      ddp = std::make_shared<dist::DistributedDataParallel>(
          model, dist::DDPOptions{.bucket_cap_mb = bucket_mb});
    pg::nn::Module &net = ddp ? static_cast<pg::nn::Module &>(*ddp) : *model;
    pg::optim::SGD opt(net.parameters(), {.lr = 0.01, .momentum = 0.9});
    const pg::Tensor x = pg::randn({B, rgb ? 3 : 1, rgb ? 32 : 28, rgb ? 32 : 28});
    std::vector<int64_t> labels(B);
    for (int64_t i = 0; i < B; ++i)
      labels[size_t(i)] = i % 10;
    const pg::Tensor y = pg::from_labels(labels);
    const int64_t b = B / world;
    const pg::Tensor xs = x.narrow(0, rank * b, b).contiguous(), ys = y.narrow(0, rank * b, b);

    std::vector<double> step_s, exposed_s;
    for (int s = 0; s < steps + 5; ++s) { // 5 untimed warm-up steps
      const double t0 = bench::now();
      opt.zero_grad();
      pg::losses::cross_entropy(net(xs), ys).backward();
      opt.step();
      const double t1 = bench::now();
      if (s >= 5) {
        step_s.push_back(t1 - t0);
        double exposed = 0;
        if (ddp) {
          // Every rank's backward end (one host: one clock) and wait; the
          // last to end is the one whose wait is communication alone.
          const dist::DDPStepStats &st = ddp->last_step_stats();
          std::vector<double> ends(2 * size_t(world), 0.0);
          ends[2 * size_t(rank)] = st.origin + st.backward_end;
          ends[2 * size_t(rank) + 1] = st.wait_seconds;
          dist::all_reduce(ends);
          size_t last = 0;
          for (size_t r = 1; r < size_t(world); ++r)
            if (ends[2 * r] > ends[2 * last])
              last = r;
          exposed = ends[2 * last + 1];
        }
        exposed_s.push_back(exposed);
      }
    }
    // One allreduce of every gradient together, alone: what the step would
    // wait for if nothing overlapped.
    double allreduce = 0;
    if (world > 1) {
      int64_t n = 0;
      for (const pg::Tensor &p : net.parameters())
        n += p.numel();
      pg::Tensor flat = pg::zeros({n});
      std::vector<double> t;
      for (int r = 0; r < 25; ++r) {
        dist::barrier();
        const double t0 = bench::now();
        dist::all_reduce(flat);
        t.push_back(bench::now() - t0);
      }
      allreduce = median(t);
    }
    // The slowest rank decides the step: take the largest median.
    std::vector<double> v{median(step_s), median(exposed_s), allreduce};
    if (distributed)
      dist::all_reduce(v, dist::ReduceOp::Max);
    int64_t numel = 0;
    for (const pg::Tensor &p : net.parameters())
      numel += p.numel();
    if (rank == 0)
      std::printf("# %s: %lld parameters (%.2f MB of float32 gradients)\n", m.c_str(),
                  (long long)numel, numel * 4 / 1e6);
    if (rank == 0)
      std::printf("RESULT ddp %s %dx%d %.0f %.2f %.3f %.3f %lld\n", m.c_str(), world, threads,
                  B / v[0], 1e3 * v[0], 1e3 * v[2], 1e3 * v[1],
                  (long long)(ddp ? ddp->num_buckets() : 0));
    std::fflush(stdout);
  }
  if (distributed)
    dist::finalize();
  return 0;
}
