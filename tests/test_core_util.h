// Helpers shared by the [core] and [autograd] tests: naive references that
// walk multi-indices one element at a time (deliberately nothing like the
// kernels they check), value comparison with the worst element reported, and
// a gradcheck wrapper that prints gradcheck's own diagnosis on failure.
#pragma once

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <polygrad/autograd/node.h>
#include <polygrad/polygrad.h>

namespace tu {

namespace pg = polygrad;
using pg::Shape;
using pg::Tensor;

// A deterministic tensor with values in [lo, hi).
inline Tensor uniform(const Shape &s, uint64_t seed, float lo = -1.f, float hi = 1.f) {
  pg::manual_seed(seed);
  return pg::rand(s) * (hi - lo) + lo;
}

// Values that are pairwise distinct (no ties for max/min): a random
// permutation of 0..n-1, centred, times `scale` (default: spread over [-1, 1]).
inline Tensor distinct(const Shape &s, uint64_t seed, float scale = 0.f) {
  pg::manual_seed(seed);
  const int64_t n = pg::shape_numel(s);
  std::vector<float> v(n);
  std::vector<int64_t> perm(n);
  for (int64_t i = 0; i < n; ++i)
    perm[i] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = (int64_t)(pg::uniform() * (i + 1)) % (i + 1);
    std::swap(perm[i], perm[j]);
  }
  if (scale == 0.f)
    scale = 2.f / float(std::max<int64_t>(n, 1));
  for (int64_t i = 0; i < n; ++i)
    v[i] = scale * (float(perm[i]) - n / 2.f);
  return pg::from_vector(v, s);
}

// Multi-index <-> flat index for a contiguous layout.
inline std::vector<int64_t> unravel(int64_t flat, const Shape &s) {
  std::vector<int64_t> idx(s.size());
  for (int64_t d = (int64_t)s.size() - 1; d >= 0; --d) {
    idx[d] = flat % s[d];
    flat /= s[d];
  }
  return idx;
}
inline int64_t ravel(const std::vector<int64_t> &idx, const Shape &s) {
  int64_t f = 0;
  for (size_t d = 0; d < s.size(); ++d)
    f = f * s[d] + idx[d];
  return f;
}

// Element (multi-index) of a tensor read through its own strides and offset.
inline float at(const Tensor &t, const std::vector<int64_t> &idx) {
  int64_t off = 0;
  for (size_t d = 0; d < idx.size(); ++d)
    off += idx[d] * t.strides()[d];
  return t.data<float>()[off];
}

// |a - e| <= atol + rtol |e| element-wise (NaN == NaN, inf == inf of the
// same sign); reports the worst element.
inline void require_values(const std::vector<float> &a, const std::vector<float> &e,
                           double rtol = 1e-5, double atol = 1e-6, const std::string &what = "") {
  INFO(what);
  REQUIRE(a.size() == e.size());
  double worst = 0;
  size_t wi = 0;
  bool special_mismatch = false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(e[i]) || std::isnan(a[i]) || std::isinf(e[i]) || std::isinf(a[i])) {
      const bool same = (std::isnan(e[i]) && std::isnan(a[i])) || a[i] == e[i];
      if (!same)
        special_mismatch = true, wi = i;
      continue;
    }
    const double excess = std::fabs(double(a[i]) - e[i]) - (atol + rtol * std::fabs(e[i]));
    if (excess > worst)
      worst = excess, wi = i;
  }
  INFO("worst element " << wi << ": actual " << (a.empty() ? 0.f : a[wi]) << " expected "
                        << (e.empty() ? 0.f : e[wi]));
  REQUIRE(!special_mismatch);
  REQUIRE(worst <= 0);
}
inline void require_tensor(const Tensor &t, const Shape &shape, const std::vector<float> &e,
                           double rtol = 1e-5, double atol = 1e-6, const std::string &what = "") {
  INFO(what);
  REQUIRE(t.shape() == shape);
  require_values(t.to_vector(), e, rtol, atol, what);
}

// Naive reduction over `dims` (empty: all) in double, one element at a time:
// each input element's flat index is mapped to its output slot and to its
// position along the reduced dims by explicit index arithmetic.
enum class Red { Sum, Mean, Max, Min, Argmax, Lse };
inline Tensor naive_reduce(const Tensor &a_in, Shape dims, bool keepdim, Red op) {
  const Tensor a = a_in.contiguous().detach();
  const Shape &s = a.shape();
  const int64_t nd = a.dim();
  for (auto &d : dims)
    d = d < 0 ? d + nd : d;
  if (dims.empty())
    for (int64_t d = 0; d < nd; ++d)
      dims.push_back(d);
  std::vector<bool> red(nd, false);
  for (int64_t d : dims)
    red[d] = true;
  Shape ks, os;
  for (int64_t d = 0; d < nd; ++d) {
    ks.push_back(red[d] ? 1 : s[d]);
    if (!red[d])
      os.push_back(s[d]);
  }
  const int64_t on = pg::shape_numel(ks);
  const std::vector<float> v = a.to_vector();
  const int64_t n = (int64_t)v.size();
  // slot[f]: output index of element f; pos[f]: its index within the lane.
  std::vector<int64_t> slot(n), pos(n), idx(nd, 0);
  for (int64_t f = 0; f < n; ++f) {
    int64_t o = 0, r = 0;
    for (int64_t d = 0; d < nd; ++d) {
      o = o * ks[d] + (red[d] ? 0 : idx[d]);
      r = red[d] ? r * s[d] + idx[d] : r;
    }
    slot[f] = o;
    pos[f] = r;
    for (int64_t d = nd - 1; d >= 0; --d) { // odometer step
      if (++idx[d] < s[d])
        break;
      idx[d] = 0;
    }
  }
  const bool is_max = op == Red::Max || op == Red::Argmax;
  std::vector<double> acc(on, 0.0), cnt(on, 0.0), best(on, is_max ? -INFINITY : INFINITY),
      besti(on, 0.0), mx(on, -INFINITY);
  for (int64_t f = 0; f < n; ++f) {
    const int64_t o = slot[f];
    mx[o] = std::max(mx[o], (double)v[f]);
    if (is_max ? v[f] > best[o] : v[f] < best[o]) // first index wins ties
      best[o] = v[f], besti[o] = (double)pos[f];
  }
  for (int64_t f = 0; f < n; ++f) {
    const int64_t o = slot[f];
    acc[o] += op == Red::Lse ? std::exp(v[f] - mx[o]) : v[f];
    cnt[o] += 1;
  }
  std::vector<float> out(on);
  for (int64_t o = 0; o < on; ++o) {
    switch (op) {
    case Red::Sum:
      out[o] = (float)acc[o];
      break;
    case Red::Mean:
      out[o] = (float)(acc[o] / cnt[o]);
      break;
    case Red::Max:
    case Red::Min:
      out[o] = (float)best[o];
      break;
    case Red::Argmax:
      out[o] = (float)besti[o];
      break;
    case Red::Lse:
      out[o] = (float)(std::log(acc[o]) + mx[o]);
      break;
    }
  }
  return pg::from_vector(out, keepdim ? ks : os);
}

// Naive torch.matmul for 2-D / batched operands (no 1-D), in double.
inline Tensor naive_matmul(const Tensor &a_in, const Tensor &b_in) {
  const Tensor a = a_in.contiguous().detach(), b = b_in.contiguous().detach();
  const int64_t M = a.shape()[a.dim() - 2], K = a.shape()[a.dim() - 1], N = b.shape()[b.dim() - 1];
  const Shape ba(a.shape().begin(), a.shape().end() - 2),
      bb(b.shape().begin(), b.shape().end() - 2);
  const Shape batch = pg::broadcast_shapes(ba, bb, "naive_matmul");
  Shape os = batch;
  os.push_back(M);
  os.push_back(N);
  const auto va = a.to_vector(), vb = b.to_vector();
  std::vector<float> out(pg::shape_numel(os));
  const int64_t nb = pg::shape_numel(batch);
  auto batch_off = [&](int64_t i, const Shape &bs) {
    // Index of batch element i within a (possibly broadcast) batch shape bs.
    auto idx = unravel(i, batch);
    int64_t f = 0;
    const size_t lead = batch.size() - bs.size();
    for (size_t d = 0; d < bs.size(); ++d)
      f = f * bs[d] + (bs[d] == 1 ? 0 : idx[d + lead]);
    return f;
  };
  for (int64_t i = 0; i < nb; ++i) {
    const int64_t oa = batch_off(i, ba) * M * K, ob = batch_off(i, bb) * K * N;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += double(va[oa + m * K + k]) * vb[ob + k * N + n];
        out[i * M * N + m * N + n] = (float)s;
      }
  }
  return pg::from_vector(out, os);
}

// gradcheck that fails the test with gradcheck's own worst-element report.
inline void check_grad(const pg::GradFn &fn, const std::vector<Tensor> &inputs,
                       pg::GradcheckOptions opt = {}) {
  const pg::GradcheckResult r = pg::gradcheck(fn, inputs, opt);
  INFO(r.message);
  REQUIRE(r.ok);
  // A vacuous pass is a defect: something was checked, and a 1 % error in
  // the backward would have failed these tolerances.
  REQUIRE(r.checked > 0);
  REQUIRE(r.sensitive);
}

// Thread coverage. A test meant to exercise a parallel path proves that the
// path forked: pg::parallel_regions() counts every fork onto > 1 thread, so a
// test whose input shrinks below a grain (or whose grain grows) fails
// instead of comparing the serial path with itself.
//
// at_1_and_2_threads(fn) runs fn() at 1 thread, then at 2 threads, requires
// that the 2-thread run forked at least once, restores the thread count and
// returns {serial result, parallel result}.
template <class Fn> auto at_1_and_2_threads(Fn &&fn) {
  const int saved = pg::get_num_threads();
  struct Restore {
    int n;
    ~Restore() { pg::set_num_threads(n); }
  } restore{saved};
  pg::set_num_threads(1);
  auto serial = fn();
  pg::set_num_threads(2);
  const uint64_t before = pg::parallel_regions();
  auto parallel = fn();
  INFO("the 2-thread run must take a parallel branch (is the input above the grain?)");
  REQUIRE(pg::parallel_regions() > before);
  return std::make_pair(std::move(serial), std::move(parallel));
}

// Sets the thread count for a scope and restores it: a test that checks a
// parallel path against a reference runs at 2 threads whatever the machine's
// default (with tu::require_forks to prove the path ran).
struct ThreadsScope {
  int saved = pg::get_num_threads();
  explicit ThreadsScope(int n) { pg::set_num_threads(n); }
  ~ThreadsScope() { pg::set_num_threads(saved); }
  ThreadsScope(const ThreadsScope &) = delete;
  ThreadsScope &operator=(const ThreadsScope &) = delete;
};

// Runs fn() and requires that it forked at least one parallel region.
template <class Fn> auto require_forks(Fn &&fn) {
  const uint64_t before = pg::parallel_regions();
  auto r = fn();
  INFO("expected a parallel region (is the input above the grain?)");
  REQUIRE(pg::parallel_regions() > before);
  return r;
}

// Bitwise equality of two float tensors (same shape; NaNs must have the same
// bits too): for ops with no cross-thread reduction, 2 threads equal 1.
inline void require_bitwise(const Tensor &a, const Tensor &b, const std::string &what = "") {
  INFO(what);
  REQUIRE(a.shape() == b.shape());
  const std::vector<float> va = a.to_vector(), vb = b.to_vector();
  for (size_t i = 0; i < va.size(); ++i) {
    uint32_t ba, bb;
    std::memcpy(&ba, &va[i], 4);
    std::memcpy(&bb, &vb[i], 4);
    if (ba != bb) {
      INFO("first difference at flat index " << i << ": " << va[i] << " vs " << vb[i]);
      REQUIRE(ba == bb);
    }
  }
}

// A leaf that requires grad.
inline Tensor leaf(const Tensor &t) { return t.detach().clone().requires_grad_(true); }

} // namespace tu
