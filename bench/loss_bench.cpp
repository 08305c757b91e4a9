// Forward + backward timing of polygrad's fused losses, the counterpart of
// bench/loss_bench.py (PyTorch); bench/run_loss_bench.sh runs both and prints
// the side-by-side table.
//
//   loss_bench [--sizes 65536x10,4096x1000] [--threads 1,2] [--reps 7]
//              [--min-time 0.2] [--losses ce,poly1,focal,poly1_focal,...]
//
// A size NxC is an (N, C) input with labels (N); NxCxd1x...xdk a
// K-dimensional one, (N, C, d1, ..., dk) with labels (N, d1, ..., dk), e.g.
// 32x21x64x64, a small segmentation batch (the sigmoid losses then take the
// one-hot targets in the input's layout).
//
// Timed call, the same work as PyTorch's `loss = fn(x, y); autograd.grad(loss, x)`:
//   x.zero_grad(); Tensor loss = fn(x, y); loss.backward();   (x: (N, C) leaf)
// i.e. the fused forward (which also produces dL/dx), the graph, the backward
// and the copy into x.grad(). eps = 1, gamma = 2, alpha = 0.25 as in
// torch_losses.py. Method as BASELINE.md section 4: per size, --reps rounds; in
// each round every thread count and then every loss in turn; a measurement is
// 3 warm-up calls then calls until >= --min-time s. malloc is tuned like the
// PyTorch side (mallopt M_MMAP_MAX=0, M_TRIM_THRESHOLD=1 GiB), though the
// caching allocator makes it matter little here.
//
// Output: one line per measurement "RESULT <impl> <N>x<C> <threads> <loss> <us>",
// then a summary table (median, min..max over the rounds).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <malloc.h>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <polygrad/core/parallel.h>
#include <polygrad/core/random.h>
#include <polygrad/core/tensor.h>
#include <polygrad/losses/losses.h>

namespace pg = polygrad;
namespace L = polygrad::losses;

namespace {

struct Variant {
  std::string key, label;
  std::function<pg::Tensor(const pg::Tensor &, const pg::Tensor &, const pg::Tensor &)> fn;
};

std::vector<Variant> all_variants() {
  return {
      {"ce", "cross_entropy", [](auto &x, auto &y, auto &) { return L::cross_entropy(x, y); }},
      {"poly1", "poly1_cross_entropy eps=1",
       [](auto &x, auto &y, auto &) { return L::poly1_cross_entropy(x, y, {.epsilon = 1.f}); }},
      {"focal", "focal_loss gamma=2",
       [](auto &x, auto &y, auto &) { return L::focal_loss(x, y, {.gamma = 2.f}); }},
      {"poly1_focal", "poly1_focal_loss eps=1 gamma=2",
       [](auto &x, auto &y, auto &) {
         return L::poly1_focal_loss(x, y, {.epsilon = 1.f, .gamma = 2.f});
       }},
      {"sigmoid_focal", "sigmoid_focal_loss a=0.25 g=2",
       [](auto &x, auto &, auto &t) { return L::sigmoid_focal_loss(x, t); }},
      {"poly1_sigmoid_focal", "poly1_sigmoid_focal_loss eps=1",
       [](auto &x, auto &, auto &t) { return L::poly1_sigmoid_focal_loss(x, t); }},
  };
}

std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep))
    if (!item.empty())
      out.push_back(item);
  return out;
}

[[noreturn]] void usage(const char *why) {
  std::fprintf(stderr,
               "loss_bench: %s\nusage: loss_bench [--sizes NxC,...] [--threads 1,2] [--reps R] "
               "[--min-time S] [--losses ce,poly1,focal,poly1_focal,sigmoid_focal,"
               "poly1_sigmoid_focal]\n",
               why);
  std::exit(2);
}

double measure(const Variant &v, const pg::Tensor &x, const pg::Tensor &y, const pg::Tensor &t,
               double min_time) {
  auto step = [&] {
    x.zero_grad();
    pg::Tensor loss = v.fn(x, y, t);
    loss.backward();
  };
  for (int i = 0; i < 3; ++i)
    step();
  using clk = std::chrono::steady_clock;
  const auto t0 = clk::now();
  int n = 0;
  while (true) {
    step();
    ++n;
    const double el = std::chrono::duration<double>(clk::now() - t0).count();
    if (el >= min_time)
      return el / n * 1e6;
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

} // namespace

int main(int argc, char **argv) {
  std::string sizes_s = "65536x10,4096x1000", threads_s = "1,2",
              losses_s = "ce,poly1,focal,poly1_focal";
  int reps = 7;
  double min_time = 0.2;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc)
        usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--sizes")
      sizes_s = next();
    else if (a == "--threads")
      threads_s = next();
    else if (a == "--losses")
      losses_s = next();
    else if (a == "--reps")
      reps = std::atoi(next().c_str());
    else if (a == "--min-time")
      min_time = std::atof(next().c_str());
    else
      usage(("unknown flag " + a).c_str());
  }
  if (reps < 1 || min_time <= 0)
    usage("--reps must be >= 1 and --min-time > 0");
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);

  std::vector<pg::Shape> sizes;
  for (const auto &s : split(sizes_s, ',')) {
    pg::Shape shape;
    for (const auto &d : split(s, 'x'))
      shape.push_back(std::atoll(d.c_str()));
    if (shape.size() < 2)
      usage(("bad size " + s).c_str());
    sizes.push_back(shape);
  }
  std::vector<int> threads;
  for (const auto &s : split(threads_s, ','))
    threads.push_back(std::atoi(s.c_str()));
  std::vector<Variant> vars;
  for (const auto &k : split(losses_s, ',')) {
    bool found = false;
    for (const auto &v : all_variants())
      if (v.key == k)
        vars.push_back(v), found = true;
    if (!found)
      usage(("unknown loss " + k).c_str());
  }

  std::printf("# polygrad loss_bench: reps=%d, min-time=%gs; us/call = median (min..max)\n", reps,
              min_time);
  for (const pg::Shape &shape : sizes) {
    const int64_t C = shape[1];
    pg::Shape rows = shape; // the labels' shape (N, d1, ..., dk)
    rows.erase(rows.begin() + 1);
    std::string name;
    for (int64_t d : shape)
      name.append(name.empty() ? "" : "x").append(std::to_string(d));
    pg::manual_seed(0);
    pg::Tensor x = pg::randn(shape).requires_grad_(true);
    std::vector<int64_t> lab(pg::shape_numel(rows));
    for (auto &l : lab)
      l = (int64_t)(pg::uniform(0.f, 1.f) * C) % C;
    pg::Tensor y = pg::from_labels(lab, rows);
    // one-hot targets in the input's layout: (N S, C) -> (N, d1..dk, C) -> (N, C, d1..dk)
    pg::Shape last = rows, perm{0};
    last.push_back(C);
    for (size_t d = 1; d + 1 < shape.size(); ++d)
      perm.push_back((int64_t)d);
    perm.insert(perm.begin() + 1, (int64_t)shape.size() - 1);
    pg::Tensor t = pg::one_hot(y.reshape({y.numel()}), C).reshape(last).permute(perm).contiguous();
    std::map<std::pair<int, std::string>, std::vector<double>> us;
    for (int r = 0; r < reps; ++r)
      for (int th : threads) {
        pg::set_num_threads(th);
        for (const auto &v : vars) {
          const double u = measure(v, x, y, t, min_time);
          us[{th, v.key}].push_back(u);
          std::printf("RESULT polygrad %s %d %s %.2f\n", name.c_str(), th, v.key.c_str(), u);
          std::fflush(stdout);
        }
      }
    for (const auto &v : vars) {
      std::printf("# %s %-34s", name.c_str(), v.label.c_str());
      for (int th : threads) {
        const auto &m = us[{th, v.key}];
        std::printf(" | %dt %9.1f us (%.1f..%.1f)", th, median(m),
                    *std::min_element(m.begin(), m.end()), *std::max_element(m.begin(), m.end()));
      }
      std::printf("\n");
    }
  }
  return 0;
}
