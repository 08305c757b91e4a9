// K-dimensional inputs of the softmax-family losses: logits (N, C, d1, ...,
// dk) with labels (N, d1, ..., dk) (or probabilities shaped like the logits),
// PyTorch's F.cross_entropy semantics.
//   * golden values and input gradients from PyTorch for k = 1, 2, 3, every
//     loss, weights, ignored positions, every reduction
//     (tools/golden/losses.py dense_cases, tests/fixtures/losses_dense.txt);
//   * finite-difference gradchecks of the dense path;
//   * the dense engine equals the same data moved to rows (N S, C) through
//     the (N, C) path, also with many blocks per sample and a remainder block;
//   * 2 threads equal 1 bitwise on an input above the grain;
//   * errors name the op and both shapes.
#include <cmath>
#include <functional>

#include <catch2/catch.hpp>

#include "golden.h"
#include "test_core_util.h"
#include <polygrad/autograd/gradcheck.h>
#include <polygrad/core/random.h>
#include <polygrad/losses/losses.h>
#include <polygrad/losses/registry.h>

namespace pg = polygrad;
namespace L = polygrad::losses;
using pg::Shape;
using pg::Tensor;
using R = L::Reduction;
using W = L::PolyWeighting;
using Catch::Matchers::Contains;

namespace {

// (x, target, w) -> loss; w is undefined for an unweighted case.
using Fn = std::function<Tensor(const Tensor &, const Tensor &, const Tensor &)>;

struct Case {
  std::string name;   // the fixture's dK_<name>
  std::string input;  // "x" (logits) or "lp" (log-probabilities, nll)
  std::string target; // "y" (labels), "yi" (labels, some ignored), "p" (probabilities)
  bool weighted;
  Fn fn;
  bool target_grad = false;
};

// Every case of tools/golden/losses.py dense_cases, with its options.
std::vector<Case> dense_golden_cases() {
  auto ce = [](R r, float ls = 0.f, int64_t ig = -100) {
    return [=](auto &x, auto &y, auto &w) {
      return L::cross_entropy(
          x, y, {.weight = w, .ignore_index = ig, .label_smoothing = ls, .reduction = r});
    };
  };
  auto nll = [](R r) {
    return
        [=](auto &x, auto &y, auto &w) { return L::nll_loss(x, y, {.weight = w, .reduction = r}); };
  };
  auto p1 = [](float eps, W wt = W::Both, R r = R::Mean, float ls = 0.f) {
    return [=](auto &x, auto &y, auto &w) {
      return L::poly1_cross_entropy(
          x, y,
          {.epsilon = eps, .weight = w, .label_smoothing = ls, .weighting = wt, .reduction = r});
    };
  };
  auto poly = [](std::vector<float> e, R r = R::Mean) {
    return [=](auto &x, auto &y, auto &w) {
      return L::poly_loss(x, y, {.epsilons = e, .weight = w, .reduction = r});
    };
  };
  auto focal = [](float gamma, R r = R::Mean) {
    return [=](auto &x, auto &y, auto &w) {
      return L::focal_loss(x, y, {.gamma = gamma, .alpha = w, .reduction = r});
    };
  };
  auto p1f = [](float eps, float gamma, R r = R::Mean, bool on_poly = true) {
    return [=](auto &x, auto &y, auto &w) {
      return L::poly1_focal_loss(
          x, y,
          {.epsilon = eps, .gamma = gamma, .alpha = w, .reduction = r, .alpha_on_poly = on_poly});
    };
  };
  auto gce = [](float q, R r = R::Mean) {
    return [=](auto &x, auto &y, auto &w) {
      return L::gce_loss(x, y, {.q = q, .weight = w, .reduction = r});
    };
  };
  return {
      {"ce", "x", "y", false, ce(R::Mean)},
      {"ce_w_ignore", "x", "yi", true, ce(R::Mean)},
      {"ce_w_ignore_sum", "x", "yi", true, ce(R::Sum)},
      {"ce_w_ignore_none", "x", "yi", true, ce(R::None)},
      {"ce_ignore2_sum", "x", "y", false, ce(R::Sum, 0.f, 2)},
      {"ce_ls_w_ignore", "x", "yi", true, ce(R::Mean, 0.1f)},
      {"ce_ls_none", "x", "yi", true, ce(R::None, 0.2f)},
      {"ce_soft", "x", "p", false, ce(R::Mean), true},
      {"ce_soft_w_ls_sum", "x", "p", true, ce(R::Sum, 0.1f), true},
      {"ce_soft_none", "x", "p", true, ce(R::None), true},
      {"nll_w_ignore", "lp", "yi", true, nll(R::Mean)},
      {"nll_w_ignore_none", "lp", "yi", true, nll(R::None)},
      {"nll_sum", "lp", "y", false, nll(R::Sum)},
      {"poly1_eps2", "x", "y", false, p1(2.f)},
      {"poly1_w_ignore", "x", "yi", true, p1(1.f)},
      {"poly1_ce_only_sum", "x", "yi", true, p1(-0.5f, W::CrossEntropyOnly, R::Sum)},
      {"poly1_ce_only", "x", "yi", true, p1(2.f, W::CrossEntropyOnly)},
      {"poly1_rescaled_none", "x", "yi", true, p1(1.5f, W::RescaledPt, R::None)},
      {"poly1_rescaled", "x", "yi", true, p1(2.f, W::RescaledPt)},
      {"poly1_ls_w_ignore", "x", "yi", true, p1(1.f, W::Both, R::Mean, 0.1f)},
      {"poly1_soft_w", "x", "p", true, p1(2.f), true},
      {"poly1_soft_none", "x", "p", false, p1(1.f, W::Both, R::None, 0.1f), true},
      {"poly_w_ignore", "x", "yi", true, poly({2.f, -0.3f, 0.1f})},
      {"poly_none", "x", "yi", true, poly({-1.f, 1.f}, R::None)},
      {"poly_sum", "x", "y", false, poly({1.f, 0.5f}, R::Sum)},
      {"focal_w_ignore", "x", "yi", true, focal(2.f)},
      {"focal_g0p5_none", "x", "yi", true, focal(0.5f, R::None)},
      {"focal_sum", "x", "y", false, focal(1.f, R::Sum)},
      {"poly1_focal_w_ignore", "x", "yi", true, p1f(1.f, 2.f)},
      {"poly1_focal_none", "x", "yi", true, p1f(2.f, 0.5f, R::None)},
      {"poly1_focal_off_sum", "x", "yi", true, p1f(1.f, 2.f, R::Sum, false)},
      {"poly1_focal_off", "x", "yi", true, p1f(-0.5f, 1.5f, R::Mean, false)},
      {"gce_w_ignore", "x", "yi", true, gce(0.7f)},
      {"gce_none", "x", "yi", true, gce(0.3f, R::None)},
      {"gce_sum", "x", "y", false, gce(1.f, R::Sum)},
  };
}

// Row r = (n, s) of x (N, C, d1, ..., dk) as the rows of an (N S, C) tensor,
// built by index arithmetic (not by the permute the soft-target route uses).
Tensor to_rows(const Tensor &x) {
  const int64_t N = x.size(0), C = x.size(1), S = x.numel() / (N * C);
  const std::vector<float> v = x.to_vector();
  std::vector<float> out(v.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < C; ++j)
      for (int64_t s = 0; s < S; ++s)
        out[(n * S + s) * C + j] = v[(n * C + j) * S + s];
  return pg::from_vector(out, {N * S, C});
}

// Labels (N, d1, ..., dk) with every 7th position ignored, classes spread.
Tensor dense_labels(const Shape &rows, int64_t C) {
  std::vector<int64_t> y(pg::shape_numel(rows));
  for (size_t i = 0; i < y.size(); ++i)
    y[i] = i % 7 == 3 ? -100 : int64_t((i * 2654435761u) >> 7) % C;
  return pg::from_labels(y, rows);
}

Shape rows_of(const Shape &x) {
  Shape r = x;
  r.erase(r.begin() + 1);
  return r;
}

// The hard-label losses on the fused engine (and nll), each with weights.
struct HardLoss {
  const char *name;
  std::function<Tensor(const Tensor &, const Tensor &, const Tensor &, R)> fn;
};
std::vector<HardLoss> hard_losses() {
  return {
      {"cross_entropy", [](auto &x, auto &y, auto &w,
                           R r) { return L::cross_entropy(x, y, {.weight = w, .reduction = r}); }},
      {"poly1_cross_entropy",
       [](auto &x, auto &y, auto &w, R r) {
         return L::poly1_cross_entropy(x, y, {.epsilon = 2.f, .weight = w, .reduction = r});
       }},
      {"poly1_cross_entropy rescaled_pt",
       [](auto &x, auto &y, auto &w, R r) {
         return L::poly1_cross_entropy(
             x, y, {.epsilon = 1.f, .weight = w, .weighting = W::RescaledPt, .reduction = r});
       }},
      {"poly_loss",
       [](auto &x, auto &y, auto &w, R r) {
         return L::poly_loss(x, y, {.epsilons = {1.f, -0.3f}, .weight = w, .reduction = r});
       }},
      {"focal_loss",
       [](auto &x, auto &y, auto &w, R r) {
         return L::focal_loss(x, y, {.gamma = 2.f, .alpha = w, .reduction = r});
       }},
      {"poly1_focal_loss",
       [](auto &x, auto &y, auto &w, R r) {
         return L::poly1_focal_loss(x, y,
                                    {.epsilon = 1.f, .gamma = 0.5f, .alpha = w, .reduction = r});
       }},
      {"gce_loss", [](auto &x, auto &y, auto &w,
                      R r) { return L::gce_loss(x, y, {.q = 0.7f, .weight = w, .reduction = r}); }},
      {"nll_loss", [](auto &x, auto &y, auto &w,
                      R r) { return L::nll_loss(x, y, {.weight = w, .reduction = r}); }},
  };
}

} // namespace

TEST_CASE("losses dense: every softmax-family loss vs PyTorch, k = 1, 2, 3", "[losses][dense]") {
  const auto f = golden::load("losses_dense.txt");
  int ran = 0;
  for (int k = 1; k <= 3; ++k) {
    const std::string p = std::string("d").append(std::to_string(k));
    for (const Case &c : dense_golden_cases()) {
      const std::string name = p + "_" + c.name;
      INFO("case " << name);
      Tensor x = golden::get(f, p + "." + c.input).clone().requires_grad_(true);
      Tensor t = golden::get(f, p + "." + c.target).clone();
      REQUIRE(x.dim() == k + 2);
      if (c.target_grad)
        t.requires_grad_(true);
      const Tensor w = c.weighted ? golden::get(f, p + ".w") : Tensor();
      Tensor loss = c.fn(x, t, w);
      golden::require_close(loss, golden::get(f, name + ".loss"), 1e-5, 1e-6, name + " loss");
      if (f.count(name + ".v"))
        loss.backward(golden::get(f, name + ".v"));
      else
        loss.backward();
      golden::require_close(x.grad(), golden::get(f, name + ".gx"), 1e-5, 1e-6, name + " dL/dx");
      if (c.target_grad)
        golden::require_close(t.grad(), golden::get(f, name + ".gt"), 1e-5, 1e-6,
                              name + " dL/dtarget");
      ++ran;
    }
  }
  REQUIRE(ran == 3 * (int)dense_golden_cases().size());
}

TEST_CASE("losses dense: gradcheck of the K-dimensional paths", "[losses][dense]") {
  pg::manual_seed(21);
  const Tensor w = pg::from_vector({0.5f, 2.f, 1.f, 1.5f}, {4});
  for (const Shape &shape : std::vector<Shape>{{2, 4, 5}, {2, 4, 3, 2}, {1, 4, 2, 2, 2}}) {
    const Tensor y = dense_labels(rows_of(shape), 4);
    const Tensor probs = pg::softmax(pg::randn(shape) * 2.f, 1).detach();
    for (R r : {R::Mean, R::Sum, R::None})
      for (bool weighted : {false, true}) {
        const Tensor wt = weighted ? w : Tensor();
        INFO("shape " << pg::shape_str(shape) << " reduction " << L::reduction_name(r)
                      << " weighted " << weighted);
        for (const HardLoss &h : hard_losses()) {
          INFO(h.name);
          tu::check_grad([&](const std::vector<Tensor> &v) { return h.fn(v[0], y, wt, r); },
                         {tu::leaf(pg::randn(shape) * 1.5f)}, {.eps = 3e-2f});
        }
        INFO("label smoothing and soft targets (as rows)");
        tu::check_grad(
            [&](const std::vector<Tensor> &v) {
              return L::cross_entropy(v[0], y,
                                      {.weight = wt, .label_smoothing = 0.2f, .reduction = r});
            },
            {tu::leaf(pg::randn(shape) * 1.5f)}, {.eps = 3e-2f});
        tu::check_grad(
            [&](const std::vector<Tensor> &v) {
              return L::poly1_cross_entropy(v[0], v[1],
                                            {.epsilon = 1.f, .weight = wt, .reduction = r});
            },
            {tu::leaf(pg::randn(shape) * 1.5f), tu::leaf(probs)}, {.eps = 3e-2f});
      }
  }
}

// The dense engine against the (N, C) path on the same numbers moved to rows:
// equal to float rounding (the per-position sums over the classes run in
// another order than the row pass's vectorised reduction). Shapes: one
// position, positions < one block, many blocks per sample with a remainder
// (S = 1073: four blocks of 256 and one of 49), C = 1 and 2, C = 300, all
// through every hard-label loss and every reduction.
TEST_CASE("losses dense: equals the same data as (N S, C) rows", "[losses][dense]") {
  pg::manual_seed(5);
  for (const Shape &shape : std::vector<Shape>{{3, 6, 1},
                                               {2, 5, 3, 3},
                                               {3, 21, 37, 29},
                                               {2, 1, 40},
                                               {2, 2, 17, 3},
                                               {2, 300, 41},
                                               {2, 10, 4, 3, 5}}) {
    const int64_t C = shape[1];
    const Tensor x = pg::randn(shape) * 3.f;
    const Tensor y = dense_labels(rows_of(shape), C);
    const Tensor xr = to_rows(x), yr = y.reshape({y.numel()});
    const Tensor w = pg::rand({C}) + 0.5f;
    for (const HardLoss &h : hard_losses())
      for (R r : {R::Mean, R::Sum, R::None})
        for (bool weighted : {false, true}) {
          INFO("shape " << pg::shape_str(shape) << " " << h.name << " reduction "
                        << L::reduction_name(r) << " weighted " << weighted);
          const Tensor wt = weighted ? w : Tensor();
          const Tensor xd = tu::leaf(x), xf = tu::leaf(xr);
          Tensor ld = h.fn(xd, y, wt, r), lf = h.fn(xf, yr, wt, r);
          if (r == R::None) {
            REQUIRE(ld.shape() == rows_of(shape));
            const Tensor v = pg::rand(ld.shape()) + 0.5f;
            ld.backward(v);
            lf.backward(v.reshape({v.numel()}));
            lf = lf.reshape(ld.shape());
          } else {
            ld.backward();
            lf.backward();
          }
          REQUIRE(xd.grad().shape() == shape);
          golden::require_close(ld, lf, 2e-6, 1e-7, "loss");
          golden::require_close(to_rows(xd.grad()), xf.grad(), 2e-6, 1e-8, "dL/dx");
        }
  }
}

TEST_CASE("losses dense: non-contiguous inputs and labels, modules, registry", "[losses][dense]") {
  pg::manual_seed(8);
  // logits stored as (N, d1, C, d2) and seen as (N, C, d1, d2); labels transposed
  const Tensor base = pg::randn({2, 6, 5, 4});
  const Tensor x = base.permute({0, 2, 1, 3});
  const Tensor yt = dense_labels({2, 4, 6}, 5).transpose(1, 2); // (2, 6, 4), strided
  const Tensor xc = x.contiguous(), yc = yt.contiguous();
  REQUIRE(!x.is_contiguous());
  for (R r : {R::Mean, R::None}) {
    golden::require_close(L::focal_loss(x, yt, {.reduction = r}),
                          L::focal_loss(xc, yc, {.reduction = r}), 0, 0, "strided focal");
    golden::require_close(L::nll_loss(x, yt, {.reduction = r}),
                          L::nll_loss(xc, yc, {.reduction = r}), 0, 0, "strided nll");
  }
  golden::require_close(L::make("poly1:epsilon=2")(xc, yc),
                        L::poly1_cross_entropy(xc, yc, {.epsilon = 2.f}), 0, 0, "registry");
}

// An input above the grain (N C S = 4 * 21 * 1920 > kParallelGrain), so the
// dense pass forks; blocks are fixed and summed in block order, and
// reduction none's backward scales positions independently, so 2 threads
// equal 1 bitwise: values and gradients.
TEST_CASE("losses dense: 2 threads equal 1 bitwise", "[losses][dense][threads]") {
  const Shape shape{4, 21, 48, 40};
  REQUIRE(pg::shape_numel(shape) > pg::kParallelGrain);
  pg::manual_seed(77);
  const Tensor x = pg::randn(shape) * 3.f;
  const Tensor y = dense_labels(rows_of(shape), 21);
  const Tensor w = pg::rand({21}) + 0.5f;
  for (const HardLoss &h : hard_losses())
    for (R r : {R::Mean, R::Sum, R::None}) {
      if (std::string(h.name) == "nll_loss")
        continue; // a serial loop
      INFO(h.name << " reduction " << L::reduction_name(r));
      const auto [one, two] = tu::at_1_and_2_threads([&] {
        const Tensor xl = tu::leaf(x);
        const Tensor loss = h.fn(xl, y, w, r);
        if (r == R::None)
          loss.backward(pg::full(loss.shape(), 0.75f));
        else
          loss.backward(pg::full({}, 1.25f));
        return std::make_pair(loss.detach(), xl.grad());
      });
      tu::require_bitwise(one.first, two.first, "loss");
      tu::require_bitwise(one.second, two.second, "dL/dx");
    }
}

TEST_CASE("losses dense: errors name the op and both shapes", "[losses][dense]") {
  const Tensor x = pg::randn({2, 5, 3, 4});
  // labels: (N, d1, ..., dk) only
  REQUIRE_THROWS_WITH(L::cross_entropy(x, pg::zeros({2, 3}, pg::DType::Int64)),
                      Contains("cross_entropy: input of shape [2, 5, 3, 4] needs labels of shape "
                               "[2, 3, 4], got [2, 3]"));
  REQUIRE_THROWS_WITH(L::focal_loss(x, pg::zeros({2, 4, 3}, pg::DType::Int64)),
                      Contains("focal_loss: input of shape [2, 5, 3, 4] needs labels of shape "
                               "[2, 3, 4], got [2, 4, 3]"));
  REQUIRE_THROWS_WITH(L::nll_loss(x, pg::zeros({2, 12}, pg::DType::Int64)),
                      Contains("nll_loss: input of shape [2, 5, 3, 4] needs labels of shape "
                               "[2, 3, 4], got [2, 12]"));
  REQUIRE_THROWS_WITH(
      L::cross_entropy(x, pg::zeros({2, 3}, pg::DType::Int64), {.label_smoothing = 0.1f}),
      Contains("cross_entropy: input of shape [2, 5, 3, 4] needs labels of shape [2, 3, 4], got "
               "[2, 3]"));
  REQUIRE_THROWS_WITH(
      L::poly1_cross_entropy(x, pg::zeros({2, 4, 3}, pg::DType::Int64), {.label_smoothing = 0.1f}),
      Contains("poly1_cross_entropy: input of shape [2, 5, 3, 4] needs labels of "
               "shape [2, 3, 4], got [2, 4, 3]"));
  // probabilities: the input's shape
  REQUIRE_THROWS_WITH(L::cross_entropy(x, pg::rand({2, 5, 12})),
                      Contains("cross_entropy: input of shape [2, 5, 3, 4] and target "
                               "probabilities of shape [2, 5, 12] must have the same shape"));
  // a label out of range names its position
  std::vector<int64_t> yv(24, 1);
  yv[2 * 4 + 1] = 9; // [0, 2, 1]
  REQUIRE_THROWS_WITH(L::poly_loss(x, pg::from_labels(yv, {2, 3, 4})),
                      Contains("poly_loss: label 9 at index [0, 2, 1] is out of range for 5 "
                               "classes"));
  REQUIRE_THROWS_WITH(
      L::cross_entropy(x, pg::from_labels(yv, {2, 3, 4}), {.label_smoothing = 0.1f}),
      Contains("label 9 at index [0, 2, 1]"));
  // a 1-D input is neither (N, C) nor (N, C, d1, ..., dk)
  REQUIRE_THROWS_WITH(L::gce_loss(pg::randn({5}), pg::from_labels({1})),
                      Contains("gce_loss: input must have shape (N, C), got [5] (or (N, C, d1, "
                               "..., dk)"));
}

// Degenerate shapes give PyTorch's results: one position (S = 1, the row
// layout), an empty spatial dimension (S = 0: mean 0/0 = NaN, sum 0, none an
// empty (N, 0) tensor, an empty gradient), every position ignored.
TEST_CASE("losses dense: S = 1, S = 0 and all-ignored inputs", "[losses][dense]") {
  pg::manual_seed(3);
  const Tensor x1 = pg::randn({4, 5, 1, 1});
  const Tensor y1 = pg::from_labels({0, 4, -100, 2}, {4, 1, 1});
  golden::require_close(L::focal_loss(x1, y1, {.reduction = R::None}).reshape({4}),
                        L::focal_loss(x1.reshape({4, 5}), y1.reshape({4}), {.reduction = R::None}),
                        0, 0, "S = 1");
  const Tensor x0 = tu::leaf(pg::randn({2, 3, 0, 4}));
  const Tensor y0 = pg::zeros({2, 0, 4}, pg::DType::Int64);
  for (const HardLoss &h : hard_losses()) {
    INFO(h.name);
    REQUIRE(std::isnan(h.fn(x0, y0, Tensor(), R::Mean).item()));
    REQUIRE(h.fn(x0, y0, Tensor(), R::Sum).item() == 0.f);
    const Tensor none = h.fn(x0, y0, Tensor(), R::None);
    REQUIRE(none.shape() == Shape{2, 0, 4});
    h.fn(x0, y0, Tensor(), R::Sum).backward();
    REQUIRE(x0.grad().shape() == x0.shape());
    x0.zero_grad();
  }
  REQUIRE(L::cross_entropy(x0, y0, {.label_smoothing = 0.1f, .reduction = R::Sum}).item() == 0.f);
  const Tensor xi = tu::leaf(pg::randn({2, 3, 4, 5}));
  const Tensor yi = pg::from_labels(std::vector<int64_t>(40, -100), {2, 4, 5});
  const Tensor loss = L::poly1_focal_loss(xi, yi);
  REQUIRE(std::isnan(loss.item()));
  loss.backward();
  golden::require_close(xi.grad(), pg::zeros({2, 3, 4, 5}), 0, 0, "all ignored: zero gradient");
}
