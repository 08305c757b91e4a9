// [threads] Every parallel kernel family at 2 threads against 1 thread: the
// loss zoo, pooling, BatchNorm, element-wise ops, reductions, conv2d (im2col
// and Winograd), matmul / linear, gradient clipping and the optimizers; values
// and gradients.
//
// Each case sizes its input from the grain or threshold that gates the
// parallel branch (kParallelGrain, kColumnSumGrain, kGemmSplitFlops,
// kConvParallelMacs) and proves that at 2 threads the forward and the
// backward each forked (parallel_regions), so a case cannot silently compare
// the serial path with itself once a grain grows.
//
// Where the threads split independent work (elements, rows, planes,
// channels, images, fixed blocks summed in block order), 2 threads equal 1
// bitwise. Where they do not, the two results are the same sums in two orders:
// the threads' partial sums are combined (full and column sums, conv weight and
// bias gradients), or a GEMM is cut into slabs that OpenBLAS may compute with
// another kernel than the whole (it picks kernels by matrix size). Those are
// compared within a bound derived at each case, and again on small integers,
// where every product and partial sum is exact in float so the order cannot
// matter and 2 threads must equal 1 bitwise: that catches a dropped or
// doubled element that a rounding bound could hide.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "test_core_util.h"
#include <polygrad/core/kernels.h>

namespace pg = polygrad;
namespace nn = polygrad::nn;
namespace F = polygrad::nn::functional;
namespace L = polygrad::losses;
namespace optim = polygrad::optim;
using pg::Shape;
using pg::Tensor;

namespace {

// float32's unit roundoff. Float summation of R terms, in any order or tree,
// errs by at most (R - 1) u sum|terms|, and a dot product of R terms by
// R u sum|a_k b_k| (Higham, Accuracy and Stability of Numerical Algorithms,
// 2nd ed., sections 3.1 and 4.2): two orders of one sum of R terms agree
// within 2 R u S, S the sum of the terms' magnitudes.
constexpr double kU = 0x1p-24;
double reorder_bound(double R, double S) { return 2 * R * kU * S; }

using Outs = std::vector<Tensor>;
using Fn = std::function<Tensor(const std::vector<Tensor> &)>;
using V = const std::vector<Tensor> &;

// Integers in [-k, k] (as floats): sums of thousands of them (and of their
// products, and of Winograd's halves and quarters of them) are exact in float.
Tensor small_ints(const Shape &s, uint64_t seed, int k = 1) {
  auto v = tu::uniform(s, seed, -k - 0.5f, k + 0.5f).to_vector();
  for (float &e : v)
    e = std::nearbyint(e);
  return pg::from_vector(v, s);
}

// Runs one phase; at more than one thread it must fork.
template <class F> auto phase(const char *what, F &&f) {
  const uint64_t before = pg::parallel_regions();
  auto r = f();
  if (pg::get_num_threads() > 1) {
    INFO(what << " must fork at " << pg::get_num_threads()
              << " threads (is the input above the grain?)");
    REQUIRE(pg::parallel_regions() > before);
  }
  return r;
}

// A fixed upstream gradient, built serially (no fork of its own to blur the
// fork checks, none of the cost of the many forks this suite makes): values
// in [0.5, 1.5), or with `integers` in {-1, 0, 1}.
Tensor upstream(const Shape &s, bool integers) {
  std::vector<float> v(pg::shape_numel(s));
  for (size_t i = 0; i < v.size(); ++i) {
    const uint32_t h = uint32_t(i * 2654435761u) >> 8; // Knuth's multiplicative hash
    v[i] = integers ? float(int(h % 3) - 1) : 0.5f + float(h % 1000) / 1000.f;
  }
  return pg::from_vector(v, s);
}

// How a case's upstream gradient is drawn, and whether its backward forks.
struct Run {
  bool integers = false;      // gy in {-1, 0, 1} (with integer inputs: exact sums)
  bool forward_forks = true;  // false: a serial forward (said at the case)
  bool backward_forks = true; // false: a serial backward (said at the case)
};

// y = fn(leaves) from fresh leaves (copies of the defined `inputs`, requiring
// grad), then y.backward(gy) with a fixed upstream gradient, by default in
// [0.5, 1.5): never exactly 1, so a reduced loss's backward scales its stored
// gradient, a parallel pass of its own. Returns {y, d input 0, d input 1,
// ...}, undefined for an undefined input. At 2 threads the forward and the
// backward must each fork (unless `run` says that one is serial).
Outs forward_backward(const Fn &fn, const std::vector<Tensor> &inputs, Run run = {}) {
  std::vector<Tensor> leaves;
  for (const Tensor &t : inputs)
    leaves.push_back(t.defined() ? tu::leaf(t) : Tensor());
  uint64_t before = pg::parallel_regions();
  const Tensor y = fn(leaves);
  if (run.forward_forks && pg::get_num_threads() > 1) {
    INFO("the forward must fork at 2 threads (is the input above the grain?)");
    REQUIRE(pg::parallel_regions() > before);
  }
  const Tensor gy = upstream(y.shape(), run.integers);
  before = pg::parallel_regions();
  y.backward(gy);
  if (run.backward_forks && pg::get_num_threads() > 1) {
    INFO("the backward must fork at 2 threads (is the input above the grain?)");
    REQUIRE(pg::parallel_regions() > before);
  }
  Outs r{y.detach()};
  for (const Tensor &l : leaves) {
    if (l.defined())
      REQUIRE(l.grad().defined());
    r.push_back(l.defined() ? l.grad() : Tensor());
  }
  return r;
}

std::string part_name(size_t i) {
  return i == 0 ? "value" : "gradient of input " + std::to_string(i - 1);
}

// |a - b| <= tol for every element; the worst one reported.
void require_within(const Tensor &a, const Tensor &b, double tol, const std::string &what) {
  INFO(what);
  REQUIRE(a.shape() == b.shape());
  const auto va = a.to_vector(), vb = b.to_vector();
  double worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    const double d = std::fabs(double(va[i]) - vb[i]);
    if (!(d <= worst)) // NaN counts as a failure
      worst = std::isnan(d) ? INFINITY : d, wi = i;
  }
  INFO("worst element " << wi << ": " << (va.empty() ? 0.f : va[wi]) << " vs "
                        << (vb.empty() ? 0.f : vb[wi]) << ", allowed " << tol);
  REQUIRE(worst <= tol);
}

// The case at 1 and 2 threads (it must fork at 2): output i (the value, then
// each input's gradient) bitwise where tol[i] is 0 or missing, else within
// the absolute bound tol[i] (derived at the call).
void require_1_2(const std::string &what, const Fn &fn, const std::vector<Tensor> &inputs,
                 const std::vector<double> &tol = {}, Run run = {}) {
  INFO(what);
  const auto [one, two] = tu::at_1_and_2_threads([&] { return forward_backward(fn, inputs, run); });
  for (size_t i = 0; i < one.size(); ++i) {
    if (!one[i].defined())
      continue;
    if (i < tol.size() && tol[i] > 0)
      require_within(one[i], two[i], tol[i], what + ": " + part_name(i));
    else
      tu::require_bitwise(one[i], two[i], what + ": " + part_name(i));
  }
}

// The same case on small integers with an integer upstream gradient: every
// product and partial sum is exact, so whatever order the threads sum in, 2
// threads equal 1 bitwise.
void require_exact_1_2(const std::string &what, const Fn &fn, const std::vector<Tensor> &ints,
                       bool backward_forks = true) {
  require_1_2(what + ", on integers", fn, ints, {},
              Run{.integers = true, .backward_forks = backward_forks});
}

} // namespace

// ---------------------------------------------------------------------------
// Losses. Every family runs its forward through one of four parallel passes:
// softmax_loss (hard labels; work N C, fixed blocks of rows), soft_targets
// (soft targets, label smoothing; work 8 N C, rows), pointwise_loss (BCE,
// sigmoid focal, regression, KL; work 8 N C, fixed blocks of 4096) or, for
// nll, log_softmax before it (nll's own loop is serial and cheap: one element
// per row). Their totals are summed per fixed block and in block order, never
// per thread, and the backward scales the stored gradient element- or row-
// wise: so every value and gradient is bitwise independent of the threads.
TEST_CASE("threads: every loss family, values and gradients, 2 threads == 1 bitwise",
          "[threads][losses]") {
  // C = 37 takes softmax_loss's long-row path (C >= 32), C = 10 its short-row
  // path; N C >= kParallelGrain makes every pass fork (the 8 N C passes, too).
  for (const int64_t C : {int64_t(37), int64_t(10)}) {
    const int64_t N = pg::kParallelGrain / C + 1;
    REQUIRE(N * C >= pg::kParallelGrain);
    INFO("N = " << N << ", C = " << C);
    const Tensor x = tu::uniform({N, C}, 1, -4.f, 4.f);
    const Tensor w = tu::uniform({C}, 2, 0.5f, 1.5f);
    std::vector<int64_t> yl(N);
    for (int64_t i = 0; i < N; ++i)
      yl[i] = i % 11 == 3 ? -100 : (i * 7) % C; // some rows ignored
    const Tensor y = pg::from_labels(yl);
    const Tensor soft = pg::softmax(tu::uniform({N, C}, 3, -2.f, 2.f), 1).detach();
    const Tensor bt = tu::uniform({N, C}, 4, 0.f, 1.f); // binary targets in [0, 1)
    const Tensor reg_t = tu::uniform({N, C}, 5, -3.f, 3.f);
    const Tensor logp_t = pg::log_softmax(tu::uniform({N, C}, 6), 1).detach();

    struct Case {
      std::string name;
      std::function<Tensor(const std::vector<Tensor> &, L::Reduction)> fn;
      std::vector<Tensor> inputs; // leaves: the logits, and a float target if differentiable
      bool short_rows;            // also run at C = 10 (the softmax_loss paths)
    };
    using R = L::Reduction;
    const std::vector<Case> cases = {
        {"cross_entropy, hard labels, weight, ignore_index",
         [&](V v, R r) { return L::cross_entropy(v[0], y, {.weight = w, .reduction = r}); },
         {x},
         true},
        {"cross_entropy, label smoothing",
         [&](V v, R r) {
           return L::cross_entropy(v[0], y, {.weight = w, .label_smoothing = 0.1f, .reduction = r});
         },
         {x},
         true},
        {"cross_entropy, soft targets",
         [&](V v, R r) { return L::cross_entropy(v[0], v[1], {.weight = w, .reduction = r}); },
         {x, soft},
         false},
        {"nll_loss of log_softmax",
         [&](V v, R r) {
           return L::nll_loss(pg::log_softmax(v[0], 1), y, {.weight = w, .reduction = r});
         },
         {x},
         false},
        {"poly1_cross_entropy (weighting both)",
         [&](V v, R r) {
           return L::poly1_cross_entropy(v[0], y, {.epsilon = 2.f, .weight = w, .reduction = r});
         },
         {x},
         true},
        {"poly1_cross_entropy (ce_only)",
         [&](V v, R r) {
           return L::poly1_cross_entropy(
               v[0], y,
               {.weight = w, .weighting = L::PolyWeighting::CrossEntropyOnly, .reduction = r});
         },
         {x},
         false},
        {"poly1_cross_entropy (rescaled_pt, label smoothing)",
         [&](V v, R r) {
           return L::poly1_cross_entropy(v[0], y,
                                         {.weight = w,
                                          .label_smoothing = 0.2f,
                                          .weighting = L::PolyWeighting::RescaledPt,
                                          .reduction = r});
         },
         {x},
         false},
        {"poly1_cross_entropy, soft targets",
         [&](V v, R r) {
           return L::poly1_cross_entropy(v[0], v[1], {.weight = w, .reduction = r});
         },
         {x, soft},
         false},
        {"poly_loss",
         [&](V v, R r) {
           return L::poly_loss(v[0], y,
                               {.epsilons = {1.f, -0.5f, 0.25f}, .weight = w, .reduction = r});
         },
         {x},
         false},
        {"focal_loss",
         [&](V v, R r) { return L::focal_loss(v[0], y, {.alpha = w, .reduction = r}); },
         {x},
         true},
        {"poly1_focal_loss",
         [&](V v, R r) { return L::poly1_focal_loss(v[0], y, {.alpha = w, .reduction = r}); },
         {x},
         true},
        {"binary_cross_entropy_with_logits, weight, pos_weight",
         [&](V v, R r) {
           return L::binary_cross_entropy_with_logits(
               v[0], v[1], {.weight = w, .pos_weight = w * 2.f, .reduction = r});
         },
         {x, bt},
         false},
        // (the sigmoid focal losses take no gradient w.r.t. the targets)
        {"sigmoid_focal_loss",
         [&](V v, R r) { return L::sigmoid_focal_loss(v[0], bt, {.reduction = r}); },
         {x},
         false},
        {"poly1_sigmoid_focal_loss, pos_weight",
         [&](V v, R r) {
           return L::poly1_sigmoid_focal_loss(v[0], bt,
                                              {.epsilon = 0.5f, .pos_weight = w, .reduction = r});
         },
         {x},
         false},
        {"mse_loss",
         [&](V v, R r) { return L::mse_loss(v[0], v[1], {.reduction = r}); },
         {x, reg_t},
         false},
        {"l1_loss",
         [&](V v, R r) { return L::l1_loss(v[0], v[1], {.reduction = r}); },
         {x, reg_t},
         false},
        {"smooth_l1_loss",
         [&](V v, R r) { return L::smooth_l1_loss(v[0], v[1], {.beta = 0.5f, .reduction = r}); },
         {x, reg_t},
         false},
        {"huber_loss",
         [&](V v, R r) { return L::huber_loss(v[0], v[1], {.delta = 0.7f, .reduction = r}); },
         {x, reg_t},
         false},
        {"kl_div",
         [&](V v, R r) { return L::kl_div(pg::log_softmax(v[0], 1), v[1], {.reduction = r}); },
         {x, soft},
         false},
        {"kl_div, log_target",
         [&](V v, R r) {
           return L::kl_div(v[0], v[1],
                            {.reduction = r == R::Mean ? R::BatchMean : r, .log_target = true});
         },
         {x, logp_t},
         false},
    };
    for (const Case &c : cases) {
      if (C == 10 && !c.short_rows)
        continue;
      for (R r : {R::None, R::Mean, R::Sum})
        require_1_2(
            c.name + ", reduction " + L::reduction_name(r), [&](V v) { return c.fn(v, r); },
            c.inputs);
    }
  }
}

// ---------------------------------------------------------------------------
// Pooling: the (n, c) planes are split across the threads (work = planes x
// H x W), each plane pooled and back-propagated on its own: bitwise.
TEST_CASE("threads: pooling, values and gradients, 2 threads == 1 bitwise", "[threads][nn]") {
  // Odd 33 x 33 planes (half windows at the right and bottom), enough planes
  // for N C H W >= kParallelGrain.
  const int64_t N = 4, H = 33, W = 33, C = pg::kParallelGrain / (N * H * W) + 1;
  REQUIRE(N * C * H * W >= pg::kParallelGrain);
  auto xv = tu::uniform({N, C, H, W}, 7, -1.f, 1.f).to_vector();
  for (size_t i = 0; i < xv.size(); i += 7)
    xv[i] = 0.f; // ties, and windows at relu's kink
  const Tensor x = pg::from_vector(xv, {N, C, H, W});
  const std::vector<std::pair<std::string, Fn>> cases = {
      {"max_pool2d 2x2 (the fast path)", [](V v) { return F::max_pool2d(v[0], 2); }},
      {"max_pool2d 3x3 stride 2 pad 1", [](V v) { return F::max_pool2d(v[0], 3, 2, 1); }},
      {"max_pool2d dilated, ceil_mode",
       [](V v) {
         return F::max_pool2d(v[0], {2, 3}, nn::Size2{1, 2}, {1, 1}, {2, 1}, true);
       }},
      {"relu_max_pool2d 2x2", [](V v) { return F::relu_max_pool2d(v[0], 2); }},
      {"relu_max_pool2d 3x3 stride 2 pad 1", [](V v) { return F::relu_max_pool2d(v[0], 3, 2, 1); }},
      {"avg_pool2d 3x3 stride 2 pad 1", [](V v) { return F::avg_pool2d(v[0], 3, 2, 1); }},
      {"avg_pool2d ceil_mode, count_include_pad=false",
       [](V v) { return F::avg_pool2d(v[0], 2, 2, 1, true, false); }},
      {"adaptive_avg_pool2d 1x1 (global)", [](V v) { return F::adaptive_avg_pool2d(v[0], 1); }},
      {"adaptive_avg_pool2d 5x3",
       [](V v) {
         return F::adaptive_avg_pool2d(v[0], {5, 3});
       }},
  };
  for (const auto &[name, fn] : cases)
    require_1_2(name, fn, {x});
}

// ---------------------------------------------------------------------------
// BatchNorm: the channels are split across the threads; each channel's
// statistics, output, running statistics and gradients are computed by one
// thread: bitwise, in train and eval mode.
TEST_CASE("threads: BatchNorm 1d/2d, train and eval, 2 threads == 1 bitwise", "[threads][nn]") {
  const std::vector<Shape> shapes = {
      {pg::kParallelGrain / 67 + 1, 67},          // BatchNorm1d on (N, C)
      {16, 40, pg::kParallelGrain / 640 + 1},     // BatchNorm1d on (N, C, L)
      {8, 16, 33, pg::kParallelGrain / 4224 + 1}, // BatchNorm2d on (N, C, H, W)
  };
  for (const Shape &s : shapes) {
    REQUIRE(pg::shape_numel(s) >= pg::kParallelGrain);
    const int64_t C = s[1];
    const Tensor x = tu::uniform(s, 11, -2.f, 3.f);
    const Tensor w = tu::uniform({C}, 12, 0.5f, 1.5f), b = tu::uniform({C}, 13);
    const Tensor rm0 = tu::uniform({C}, 14), rv0 = tu::uniform({C}, 15, 0.5f, 2.f);
    for (bool training : {true, false}) {
      const std::string what = "batch_norm " + pg::shape_str(s) + (training ? " train" : " eval");
      INFO(what);
      Tensor rm1, rv1; // the running statistics after the step
      const auto [one, two] = tu::at_1_and_2_threads([&] {
        Tensor rm = rm0.clone(), rv = rv0.clone();
        Outs r = forward_backward(
            [&](const std::vector<Tensor> &v) {
              return F::batch_norm(v[0], rm, rv, v[1], v[2], training, 0.1, 1e-5);
            },
            {x, w, b});
        r.push_back(rm);
        r.push_back(rv);
        return r;
      });
      for (size_t i = 0; i < one.size(); ++i)
        tu::require_bitwise(one[i], two[i],
                            what + ": " + (i < 4 ? part_name(i) : "running statistics"));
    }
  }
}

// ---------------------------------------------------------------------------
// Element-wise ops: contiguous operands are split by element, strided and
// broadcast ones by rows (for_each_row): bitwise, forward and backward. The
// backward of a broadcast operand is a reduction (sum_to), see below.
TEST_CASE("threads: element-wise unary, binary and in-place ops, 2 threads == 1 bitwise",
          "[threads][core]") {
  const int64_t M = 129, N = pg::kParallelGrain / M + 1; // odd rows: chunk edges mid-vector
  REQUIRE(N * M >= pg::kParallelGrain);
  const Tensor a = tu::uniform({N, M}, 21, 0.25f, 2.f), b = tu::uniform({N, M}, 22, 0.25f, 2.f);
  const std::vector<std::pair<std::string, Fn>> unary = {
      {"exp", [](V v) { return v[0].exp(); }},
      {"log", [](V v) { return v[0].log(); }},
      {"log1p", [](V v) { return v[0].log1p(); }},
      {"expm1", [](V v) { return v[0].expm1(); }},
      {"sqrt", [](V v) { return v[0].sqrt(); }},
      {"tanh", [](V v) { return (v[0] - 1.f).tanh(); }},
      {"sigmoid", [](V v) { return (v[0] - 1.f).sigmoid(); }},
      {"relu", [](V v) { return (v[0] - 1.f).relu(); }},
      {"abs", [](V v) { return (v[0] - 1.f).abs(); }},
      {"pow 2.5", [](V v) { return v[0].pow(2.5f); }},
      {"clamp", [](V v) { return v[0].clamp(0.5f, 1.5f); }},
      {"neg", [](V v) { return -v[0]; }},
      {"gelu", [](V v) { return F::gelu(v[0] - 1.f); }},
      {"gelu tanh", [](V v) { return F::gelu(v[0] - 1.f, "tanh"); }},
      {"silu", [](V v) { return F::silu(v[0] - 1.f); }},
      {"leaky_relu", [](V v) { return F::leaky_relu(v[0] - 1.f, 0.1); }},
  };
  for (size_t k = 0; k < unary.size(); ++k) {
    // (named references, not a structured binding: clang 14 cannot capture one)
    const std::string &name = unary[k].first;
    const Fn &fn = unary[k].second;
    require_1_2(name + ", contiguous", fn, {a});
    // A transposed view: the strided row loop (for_each_row) and a
    // non-contiguous upstream gradient; the loop is the same for every
    // functor, so a few of them.
    if (k % 4 == 0)
      require_1_2(name + ", transposed", [&](V v) { return fn({v[0].t()}); }, {a});
  }
  const std::vector<std::pair<std::string, Fn>> binary = {
      {"add", [](V v) { return v[0] + v[1]; }},
      {"sub", [](V v) { return v[0] - v[1]; }},
      {"mul", [](V v) { return v[0] * v[1]; }},
      {"div", [](V v) { return v[0] / v[1]; }},
      {"pow", [](V v) { return pg::pow(v[0], v[1]); }},
      {"maximum", [](V v) { return pg::maximum(v[0], v[1]); }},
      {"minimum", [](V v) { return pg::minimum(v[0], v[1]); }},
  };
  for (const auto &entry : binary) {
    const std::string &name = entry.first;
    const Fn &fn = entry.second;
    require_1_2(name + ", same shape", fn, {a, b});
    require_1_2(name + ", one operand transposed",
                [&](V v) {
                  return fn({v[0].t(), v[1]});
                },
                {b.t().contiguous(), b});
    // (N, 1) against (N, M): a row-wise broadcast; its gradient is a row sum,
    // each row summed by one thread.
    require_1_2(name + ", broadcast (N, 1)", fn, {a, b.slice(1, 0, 1).contiguous()});
  }
  require_1_2("scalar operand", [](V v) { return v[0] * 3.f + 1.f; }, {a});
  require_1_2("where (three operands, broadcast)",
              [&](V v) { return pg::where(pg::gt(a, b), v[0], v[1].slice(1, 0, 1)); }, {a, b});
  // (3 x 7) (1 x 7) ... broadcast over a 3-d shape, every operand strided
  const Tensor a3 = tu::uniform({N / 4 + 1, 4, M}, 23, 0.25f, 2.f);
  require_1_2("3-d broadcast (N, 4, M) * (N, 1, M)",
              [&](V v) { return v[0] * v[1].slice(1, 0, 1); }, {a3, a3});

  // In place (no autograd): contiguous, strided destination, broadcast source.
  const auto [one, two] = tu::at_1_and_2_threads([&] {
    Outs r;
    Tensor d = a.clone();
    phase("add_", [&] { return d.add_(b, 0.5f); });
    r.push_back(d.clone());
    phase("mul_", [&] { return d.mul_(b); });
    r.push_back(d.clone());
    phase("add_ scalar", [&] { return d.add_(0.25f); });
    r.push_back(d.clone());
    phase("mul_ scalar", [&] { return d.mul_(1.5f); });
    r.push_back(d.clone());
    Tensor dt = a.clone().t(); // a transposed destination
    phase("copy_ broadcast into a strided view", [&] {
      return dt.copy_(b.slice(0, 0, 1).t().contiguous().view({M, 1}));
    });
    r.push_back(dt.contiguous());
    phase("add_ strided source", [&] { return dt.add_(b.t()); });
    r.push_back(dt.contiguous());
    phase("fill_", [&] { return d.fill_(0.5f); });
    r.push_back(d.clone());
    return r;
  });
  for (size_t i = 0; i < one.size(); ++i)
    tu::require_bitwise(one[i], two[i], "in-place op " + std::to_string(i));
}

// The gradient of a (1, M) operand broadcast over R rows is a column sum of
// gy * a: at or above kColumnSumGrain each thread sums a slab of rows into its
// own partial, and the partials are added in thread order.
TEST_CASE("threads: broadcast gradients (column sums), 2 threads == 1 within rounding",
          "[threads][core]") {
  const int64_t M = 131, R = pg::kernel::kColumnSumGrain / M + 1;
  REQUIRE(R * M >= pg::kernel::kColumnSumGrain);
  const Fn fn = [](V v) { return v[0] * v[1]; };
  // d row_j = sum_i gy_ij a_ij over R rows; |a| < 1 and gy < 1.5: S <= 1.5 R.
  require_1_2("a * row, row broadcast over (R, M)", fn,
              {tu::uniform({R, M}, 24), tu::uniform({M}, 25)}, {0, 0, reorder_bound(R, 1.5 * R)});
  require_exact_1_2("a * row", fn, {small_ints({R, M}, 26, 3), small_ints({M}, 27, 3)});
}

// ---------------------------------------------------------------------------
// Reductions.
TEST_CASE("threads: reductions and the softmax family, 2 threads == 1", "[threads][core]") {
  // Lanes split across the threads, each lane reduced by one thread: bitwise.
  // (R, M) with R M >= kParallelGrain, rows of odd length.
  const int64_t M = 67, R = pg::kParallelGrain / M + 1;
  REQUIRE(R * M >= pg::kParallelGrain);
  const Tensor x = tu::uniform({R, M}, 31, -2.f, 2.f);
  const Tensor x3 = tu::uniform({R / 8 + 1, 8, M}, 32, -2.f, 2.f);
  const std::vector<std::pair<std::string, std::pair<Fn, Tensor>>> lanes = {
      {"sum over the last dim (row sums)", {[](V v) { return v[0].sum({1}); }, x}},
      {"mean over the last dim", {[](V v) { return v[0].mean({1}, true); }, x}},
      {"sum over the middle dim", {[](V v) { return v[0].sum({1}); }, x3}},
      {"sum over dims {0, 2} (permuted first)",
       {[](V v) {
          return v[0].sum({0, 2});
        },
        x3}},
      {"logsumexp over dim 1", {[](V v) { return v[0].logsumexp(1); }, x}},
      {"logsumexp over dim 0", {[](V v) { return v[0].logsumexp(0); }, x}},
      {"softmax over dim 1", {[](V v) { return v[0].softmax(1); }, x}},
      {"softmax over dim 0", {[](V v) { return v[0].softmax(0); }, x}},
      {"log_softmax over dim 1", {[](V v) { return v[0].log_softmax(1); }, x}},
      {"log_softmax over the middle dim", {[](V v) { return v[0].log_softmax(1); }, x3}},
  };
  for (const auto &[name, c] : lanes)
    require_1_2(name, c.first, {c.second});
  // max / min over a dim: the backward is scatter_add, serial by design
  // (several lanes may hit one element in general), so only the forward forks.
  const Run serial_backward{.backward_forks = false};
  require_1_2(
      "max over dim 1", [](V v) { return v[0].max(1); }, {x}, {}, serial_backward);
  require_1_2(
      "min over dim 0", [](V v) { return v[0].min(0); }, {x}, {}, serial_backward);
  require_1_2(
      "max over the middle dim", [](V v) { return v[0].max(1, true); }, {x3}, {}, serial_backward);
  // The full max / min is one lane (serial); its backward (the mask of the
  // maxima, their count, the scaled mask) forks.
  const Run serial_forward{.forward_forks = false};
  require_1_2(
      "full max", [](V v) { return v[0].max(); }, {x}, {}, serial_forward);
  require_1_2(
      "full min", [](V v) { return v[0].min(); }, {x}, {}, serial_forward);
  {
    const auto [one, two] = tu::at_1_and_2_threads(
        [&] { return phase("argmax", [&] { return pg::argmax(x, 1).to_vector<int64_t>(); }); });
    REQUIRE(one == two);
  }

  // A full sum: one double partial per thread (a slab of the elements each),
  // added in thread order, then rounded to float. Each double sum of n terms
  // errs by <= n 2^-53 S; the float rounding of each adds <= u |result|.
  const int64_t n = pg::kParallelGrain + 7;
  const Tensor v = tu::uniform({n}, 33); // |v| < 1: S < n
  const double sum_tol = 2 * n * 0x1p-53 * n + 2 * kU * std::fabs(v.sum().item()) + 1e-30;
  // The gradient is gy broadcast to the input, a stride-0 view: no pass.
  const Run no_backward_pass{.backward_forks = false};
  require_1_2(
      "full sum", [](V t) { return t[0].sum(); }, {v}, {sum_tol}, no_backward_pass);
  require_1_2(
      "full mean", [](V t) { return t[0].mean(); }, {v},
      {sum_tol / n + 2 * kU * std::fabs(v.mean().item())}, no_backward_pass);
  require_exact_1_2(
      "full sum", [](V t) { return t[0].sum(); }, {small_ints({n}, 34, 5)}, false);

  // A column sum (dim 0 of (R, M): fewer output rows than threads): at or
  // above kColumnSumGrain one float partial per thread, a slab of rows each,
  // added in thread order: R terms of magnitude < 1 per column.
  const int64_t Mc = 131, Rc = pg::kernel::kColumnSumGrain / Mc + 1;
  REQUIRE(Rc * Mc >= pg::kernel::kColumnSumGrain);
  require_1_2("column sum", [](V t) { return t[0].sum({0}); }, {tu::uniform({Rc, Mc}, 35)},
              {reorder_bound(Rc, Rc)});
  require_1_2("column mean", [](V t) { return t[0].mean({0}); }, {tu::uniform({Rc, Mc}, 36)},
              {reorder_bound(Rc, Rc) / Rc + 2 * kU}); // |mean| < 1: 2 u for the divisions
  require_exact_1_2("column sum", [](V t) { return t[0].sum({0}); }, {small_ints({Rc, Mc}, 37, 7)});
}

// ---------------------------------------------------------------------------
// matmul: a GEMM of at least kGemmSplitFlops is cut into slabs of rows of C
// (of columns when C has fewer than 2 kSlabAlign rows), a batch of at least
// one matrix per thread into whole matrices. Every element of C is still one
// thread's K-term dot product, but a slab is a smaller GEMM than the whole
// and OpenBLAS may pick another kernel for it (measured: a 133-row product and
// its 64-row slab differ in the last bits), so 1 and 2 threads agree within
// the dot-product bound: inputs in [-1, 1), gy < 1.5, so a K-term element is
// within reorder_bound(K, 1.5 K) (the forward: S <= K).
TEST_CASE("threads: matmul and linear, 2 threads == 1 within rounding", "[threads][core]") {
  const Fn mm = [](V v) { return pg::matmul(v[0], v[1]); };
  // Rows split: (M, K) x (K, N), 2 M N K >= kGemmSplitFlops, odd sizes (a
  // part-filled last slab); the backward's dA (M x K) and dB (K x N) split too.
  const int64_t K = 97, N = 83, Mr = int64_t(pg::kernel::kGemmSplitFlops / (2.0 * N * K)) + 9;
  REQUIRE(2.0 * Mr * N * K >= pg::kernel::kGemmSplitFlops);
  REQUIRE(Mr >= 2 * pg::kernel::kSlabAlign);
  auto tols = [](double k, double n, double m) {
    // y: K terms; dA = gy B^T: N terms; dB = A^T gy: M terms
    return std::vector<double>{reorder_bound(k, k), reorder_bound(n, 1.5 * n),
                               reorder_bound(m, 1.5 * m)};
  };
  require_1_2("matmul, rows split", mm, {tu::uniform({Mr, K}, 41), tu::uniform({K, N}, 42)},
              tols(K, N, Mr));
  require_exact_1_2("matmul, rows split", mm, {small_ints({Mr, K}, 43), small_ints({K, N}, 44)});
  // Columns split: fewer than 2 kSlabAlign rows.
  const int64_t Mc = 2 * pg::kernel::kSlabAlign - 1,
                Nc = int64_t(pg::kernel::kGemmSplitFlops / (2.0 * Mc * K)) + 5;
  REQUIRE(2.0 * Mc * Nc * K >= pg::kernel::kGemmSplitFlops);
  require_1_2("matmul, columns split", mm, {tu::uniform({Mc, K}, 45), tu::uniform({K, Nc}, 46)},
              tols(K, Nc, Mc));
  require_exact_1_2("matmul, columns split", mm,
                    {small_ints({Mc, K}, 47), small_ints({K, Nc}, 48)});
  // Transposed operands go to BLAS as transposes.
  const Fn mmt = [](V v) { return pg::matmul(v[0].t(), v[1].t()); };
  require_1_2("matmul, transposed operands", mmt,
              {tu::uniform({K, Mr}, 49), tu::uniform({N, K}, 50)}, tols(K, N, Mr));
  require_exact_1_2("matmul, transposed operands", mmt,
                    {small_ints({K, Mr}, 51), small_ints({N, K}, 52)});
  // A batch split into whole matrices (nb >= threads, 2 nb m^3 >=
  // kGemmSplitFlops): the same GEMM calls at both thread counts, bitwise.
  const int64_t m = 33, nb = int64_t(pg::kernel::kGemmSplitFlops / (2.0 * m * m * m)) + 3;
  require_1_2("batched matmul", mm, {tu::uniform({nb, m, m}, 53), tu::uniform({nb, m, m}, 54)});

  // linear: y = x W^T + b (the bias, then the GEMM accumulating onto it: in + 1
  // terms), dx = gy W (out terms), dW = gy^T x (B terms) are split GEMMs; db
  // sums gy over the batch: a column sum, parallel at or above kColumnSumGrain.
  const int64_t in = 61, out = 131, B = pg::kernel::kColumnSumGrain / out + 1;
  const Fn lin = [](V v) { return F::linear(v[0], v[1], v[2]); };
  require_1_2("linear", lin,
              {tu::uniform({B, in}, 55), tu::uniform({out, in}, 56), tu::uniform({out}, 57)},
              {reorder_bound(in + 1, in + 1), reorder_bound(out, 1.5 * out),
               reorder_bound(B, 1.5 * B), reorder_bound(B, 1.5 * B)});
  require_exact_1_2("linear", lin,
                    {small_ints({B, in}, 58), small_ints({out, in}, 59), small_ints({out}, 60)});
}

// ---------------------------------------------------------------------------
// conv2d. im2col splits the batch across the threads when N >= threads and
// the conv has >= kConvParallelMacs multiply-adds; Winograd whenever N >=
// threads; with one image, each GEMM is split instead. With the batch split,
// y and dx are per image, from the same GEMM calls as at 1 thread: bitwise.
// dW and db sum over the images, one partial per worker added in worker
// order: a reordered sum. Winograd groups a worker's images in chunks whose
// GEMMs then differ in size with the thread count: its cases use shapes whose
// chunks hold one image (16 (C + O) floats per tile x tiles per image > 2^16,
// half of winograd.cpp's 2^17-float chunk budget), so the GEMM calls are the
// same at both thread counts.
namespace {

struct ConvCase {
  std::string name;
  Shape x, w;
  bool bias;
  nn::Size2 s, p, d;
  int64_t G;
  nn::ConvAlgorithm algo;
  bool fused; // conv2d_relu_max_pool2d (2x2 pool) instead of conv2d
};

Tensor run_conv(const ConvCase &c, V v) {
  if (c.fused)
    return F::conv2d_relu_max_pool2d(v[0], v[1], v[2], c.s, c.p, c.d, c.G, 2);
  return F::conv2d(v[0], v[1], v[2], c.s, c.p, c.d, c.G);
}

} // namespace

TEST_CASE("threads: conv2d and conv2d_relu_max_pool2d (im2col, Winograd), 2 threads == 1",
          "[threads][nn]") {
  using A = nn::ConvAlgorithm;
  const std::vector<ConvCase> cases = {
      {"3x3 pad 1, grouped", {6, 8, 16, 16}, {16, 4, 3, 3}, true, 1, 1, 1, 2, A::Im2col, false},
      {"strided, dilated, odd batch",
       {5, 6, 21, 17},
       {12, 6, 3, 3},
       true,
       {2, 1},
       {2, 1},
       {2, 1},
       1,
       A::Im2col,
       false},
      {"1x1 direct", {4, 32, 16, 16}, {32, 32, 1, 1}, false, 1, 0, 1, 1, A::Im2col, false},
      {"batch of 1: the GEMMs split",
       {1, 16, 24, 24},
       {32, 16, 3, 3},
       true,
       1,
       1,
       1,
       1,
       A::Im2col,
       false},
      {"Winograd, pad 1, odd size",
       {3, 32, 15, 15},
       {32, 32, 3, 3},
       true,
       1,
       1,
       1,
       1,
       A::Winograd,
       false},
      {"Winograd, pad 0", {4, 24, 20, 18}, {40, 24, 3, 3}, false, 1, 0, 1, 1, A::Winograd, false},
      {"fused, im2col", {4, 8, 16, 17}, {16, 8, 3, 3}, true, 1, 1, 1, 1, A::Im2col, true},
      {"fused, Winograd", {3, 32, 16, 16}, {32, 32, 3, 3}, true, 1, 1, 1, 1, A::Winograd, true},
      {"Winograd 4x4, pad 1, odd size",
       {3, 48, 23, 23},
       {48, 48, 3, 3},
       true,
       1,
       1,
       1,
       1,
       A::Winograd4x4,
       false},
      {"fused, Winograd 4x4",
       {3, 48, 24, 24},
       {40, 48, 3, 3},
       true,
       1,
       1,
       1,
       1,
       A::Winograd4x4,
       true},
  };
  for (const ConvCase &c : cases) {
    INFO(c.name);
    nn::set_conv_algorithm(c.algo);
    const int64_t ekh = c.d.h * (c.w[2] - 1) + 1, ekw = c.d.w * (c.w[3] - 1) + 1;
    const int64_t N = c.x[0], OH = (c.x[2] + 2 * c.p.h - ekh) / c.s.h + 1,
                  OW = (c.x[3] + 2 * c.p.w - ekw) / c.s.w + 1;
    const int64_t Kg = c.w[1] * c.w[2] * c.w[3]; // terms of one output (per group)
    // The branch this case is for must be the one its shape selects (not
    // only "something forked"): the batch split, or the GEMM split.
    if (N == 1)
      REQUIRE(2.0 * c.w[0] / c.G * OH * OW * Kg >= pg::kernel::kGemmSplitFlops);
    else if (c.algo == A::Im2col)
      REQUIRE(double(N) * c.w[0] * OH * OW * Kg >= nn::kConvParallelMacs);
    const bool wino = c.algo == A::Winograd || c.algo == A::Winograd4x4;
    const int64_t m = c.algo == A::Winograd4x4 ? 4 : 2, np = (m + 2) * (m + 2);
    // tiles per image, with a spare column
    const int64_t tiles = ((OH + m - 1) / m) * ((OW + m - 1) / m + 1);
    if (wino) // one image per chunk
      REQUIRE(np * (c.x[1] + c.w[0]) * tiles > (int64_t(1) << 16));
    // Inputs in [-1, 1) and gy in [0.5, 1.5). dW[o, c, p, q] sums R = N OH OW
    // terms dy x with |x| < 1, so S <= D = sum_{n,i,j} |dy[n, o, i, j]| <= 1.5
    // N OH' OW' (for the fused op dy is gy routed to the window maxima:
    // sum |dy| <= sum |gy|, over the pooled OH' x OW'). db likewise. Winograd
    // sums dV = sum_t dM_t U_t over R' = N tiles-per-image tiles and then
    // forms dW = G^T dV G: |U| <= 4 max|x| (4-term sums of +-x), sum_t |dM_t|
    // <= D (each dy in one tile, dM entries 4-term sums of +-dy), and a dW
    // entry weights dV by coefficients of absolute sum <= 2 x 2 (rows of
    // G^T): within 4 reorder_bound(R', 4 D), plus the transform's rounding.
    const int64_t PH = c.fused ? OH / 2 : OH, PW = c.fused ? OW / 2 : OW;
    const double D = 1.5 * double(N) * PH * PW, R = double(N) * OH * OW;
    double tol_w = reorder_bound(R, D);
    if (c.algo == A::Winograd)
      tol_w = 4 * reorder_bound(double(N) * tiles + 2, 4 * D);
    // F(4x4, 3x3): |U| <= 100 max|x| (rows of B^T sum to <= 10 in absolute
    // value), sum_t |dM_t| <= 64 D (A's largest entry is 8), and a dW entry
    // weights dV by coefficients of absolute sum <= (5/3)^2 (rows of G^T).
    if (c.algo == A::Winograd4x4)
      tol_w = 25.0 / 9 * reorder_bound(double(N) * tiles + 2, 6400 * D);
    std::vector<double> tol = {0, 0, tol_w, reorder_bound(R, D)};
    if (N == 1) {
      // One image: the GEMMs are split (slabs, see the matmul case), so y
      // (Kg + 1 terms: the bias and Kg products, |w|, |x| < 1) and dx (C_out
      // kh kw / G terms dy w) are reordered dot products too.
      const double kx = double(c.w[0]) / c.G * c.w[2] * c.w[3];
      tol[0] = reorder_bound(Kg + 1, Kg + 1);
      tol[1] = reorder_bound(kx, 1.5 * kx);
    }
    const Fn fn = [&](V v) { return run_conv(c, v); };
    require_1_2(
        c.name, fn,
        {tu::uniform(c.x, 61), tu::uniform(c.w, 62), c.bias ? tu::uniform({c.w[0]}, 63) : Tensor()},
        tol);
    // Small integers keep every sum exact, so any order gives the same bits;
    // not through F(4x4, 3x3), whose G has thirds and 24ths.
    if (c.algo != A::Winograd4x4)
      require_exact_1_2(
          c.name, fn,
          {small_ints(c.x, 64), small_ints(c.w, 65), c.bias ? small_ints({c.w[0]}, 66) : Tensor()});
  }
  nn::set_conv_algorithm(nn::ConvAlgorithm::Auto);
}

// ---------------------------------------------------------------------------
// Gradient clipping (nn/utils.cpp): each gradient's norm is accumulated in
// double over 64 fixed blocks (split across the threads, added in block
// order), then every gradient is scaled or clamped in place: bitwise.
TEST_CASE("threads: clip_grad_norm_ and clip_grad_value_, 2 threads == 1 bitwise",
          "[threads][nn]") {
  const int64_t n = pg::kParallelGrain + 5;
  const Tensor g0 = tu::uniform({n}, 81, -3.f, 3.f);
  for (double norm_type : {2.0, 1.0, 3.0, double(INFINITY)}) {
    INFO("norm_type " << norm_type);
    const auto [one, two] = tu::at_1_and_2_threads([&] {
      Tensor p = pg::zeros({n}).requires_grad_(true);
      p.set_grad(g0.clone());
      const double total =
          phase("clip_grad_norm_", [&] { return nn::utils::clip_grad_norm_({p}, 1.0, norm_type); });
      return std::pair{total, p.grad().clone()};
    });
    REQUIRE(one.first == two.first);
    tu::require_bitwise(one.second, two.second, "the clipped gradient");
  }
  const auto [one, two] = tu::at_1_and_2_threads([&] {
    Tensor p = pg::zeros({n}).requires_grad_(true);
    p.set_grad(g0.clone());
    phase("clip_grad_value_", [&] {
      nn::utils::clip_grad_value_({p}, 1.5);
      return 0;
    });
    return p.grad().clone();
  });
  tu::require_bitwise(one, two, "the clamped gradient");
}

// ---------------------------------------------------------------------------
// Optimizers: each parameter's update is element-wise, split into one
// contiguous range per thread. The FULL parameter vector and every state
// buffer, the chunk boundary included, must equal the 1-thread run bitwise
// after each of three steps (the first one creates the buffers).
TEST_CASE("threads: SGD, Adam and AdamW over the full parameter vector, 2 threads == 1",
          "[threads][optim]") {
  // n >= kParallelGrain (SGD's work is n, Adam's 4 n) and odd, so the 2-thread
  // chunk boundary n / 2 falls mid-vector (the vector loop's scalar tail runs
  // on a different element per thread count); a second, small parameter
  // (serial) in the same group.
  const int64_t n = pg::kParallelGrain + 3;
  const Tensor p0 = tu::uniform({n}, 71, -2.f, 2.f), q0 = tu::uniform({5, 3}, 72);
  std::vector<Tensor> grads;
  for (int s = 0; s < 3; ++s)
    grads.push_back(tu::uniform({n}, 73 + s, -3.f, 3.f));
  using Make = std::function<std::shared_ptr<optim::Optimizer>(const std::vector<Tensor> &)>;
  const std::vector<std::pair<std::string, Make>> cases = {
      {"SGD",
       [](auto &p) { return std::make_shared<optim::SGD>(p, optim::SGDOptions{.lr = 0.1}); }},
      {"SGD momentum, dampening, weight decay",
       [](auto &p) {
         return std::make_shared<optim::SGD>(
             p,
             optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01});
       }},
      {"SGD nesterov, weight decay",
       [](auto &p) {
         return std::make_shared<optim::SGD>(
             p,
             optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
       }},
      {"SGD maximize, weight decay",
       [](auto &p) {
         return std::make_shared<optim::SGD>(
             p, optim::SGDOptions{.lr = 0.1, .weight_decay = 0.01, .maximize = true});
       }},
      {"Adam",
       [](auto &p) { return std::make_shared<optim::Adam>(p, optim::AdamOptions{.lr = 0.01}); }},
      {"Adam weight decay, amsgrad",
       [](auto &p) {
         return std::make_shared<optim::Adam>(
             p, optim::AdamOptions{.lr = 0.01, .weight_decay = 0.1, .amsgrad = true});
       }},
      {"Adam maximize",
       [](auto &p) {
         return std::make_shared<optim::Adam>(p, optim::AdamOptions{.lr = 0.01, .maximize = true});
       }},
      {"AdamW",
       [](auto &p) { return std::make_shared<optim::AdamW>(p, optim::AdamWOptions{.lr = 0.01}); }},
      {"AdamW amsgrad",
       [](auto &p) {
         return std::make_shared<optim::AdamW>(
             p, optim::AdamWOptions{.lr = 0.01, .weight_decay = 0.05, .amsgrad = true});
       }},
  };
  for (const auto &entry : cases) {
    const auto &make = entry.second; // (not a structured binding: clang 14 cannot capture one)
    INFO(entry.first);
    const auto [one, two] = tu::at_1_and_2_threads([&] {
      std::vector<Tensor> params = {p0.clone().requires_grad_(true),
                                    q0.clone().requires_grad_(true)};
      auto opt = make(params);
      Outs r;
      for (int s = 0; s < 3; ++s) {
        params[0].set_grad(grads[s].clone());
        params[1].set_grad(q0 * float(s + 1));
        phase("a step", [&] {
          opt->step();
          return 0;
        });
        r.push_back(params[0].detach().clone());
        r.push_back(params[1].detach().clone());
      }
      for (const auto &[key, t] : opt->state_dict().tensors)
        r.push_back(t.clone());
      return r;
    });
    REQUIRE(one.size() == two.size());
    for (size_t i = 0; i < one.size(); ++i)
      tu::require_bitwise(one[i], two[i], entry.first + ": output " + std::to_string(i));
  }
}
