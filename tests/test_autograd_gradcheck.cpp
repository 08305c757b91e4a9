// [autograd] Finite-difference gradcheck for every differentiable op,
// including broadcasting, reductions over dims with and without keepdim,
// views, matmul in all its shapes, indexing and joining. Inputs avoid the
// kinks of non-smooth ops (relu/abs/clamp/max/min) by more than the step.
#include "test_core_util.h"

namespace pg = polygrad;
using pg::Shape;
using pg::Tensor;
using tu::check_grad;
using tu::leaf;
using V = std::vector<Tensor>;

namespace {
// Values in [lo, hi) that keep at least `gap` away from every point in `kinks`.
Tensor away_from(const Shape &s, uint64_t seed, float lo, float hi, std::vector<float> kinks,
                 float gap = 0.05f) {
  std::vector<float> v = tu::uniform(s, seed, lo, hi).to_vector();
  for (float &x : v)
    for (float k : kinks)
      if (std::fabs(x - k) < gap)
        x = x < k ? k - gap : k + gap;
  return leaf(pg::from_vector(v, s));
}
Tensor U(const Shape &s, uint64_t seed, float lo = -1.f, float hi = 1.f) {
  return leaf(tu::uniform(s, seed, lo, hi));
}
} // namespace

TEST_CASE("gradcheck itself fails on a wrong backward and names the element", "[autograd]") {
  // A deliberately wrong derivative of x^2 (x instead of 2x).
  auto wrong = [](const V &in) {
    Tensor out = in[0] * in[0];
    if (pg::needs_grad({in[0]}))
      out = pg::record("WrongSquare", out.detach(), {in[0]},
                       [x = in[0].detach()](const Tensor &g) { return pg::grads{g * x}; });
    return out;
  };
  const auto r = pg::gradcheck(wrong, {U({3}, 1, 0.5f, 1.f)});
  INFO(r.message);
  REQUIRE_FALSE(r.ok);
  REQUIRE(r.input == 0);
  REQUIRE(r.index >= 0);
  REQUIRE(r.message.find("FAILED") != std::string::npos);
  // The right one passes.
  check_grad([](const V &in) { return in[0] * in[0]; }, {U({3}, 1)});
  // Large gradients (|g| >> 1) still report the worst element.
  const auto big = pg::gradcheck([](const V &in) { return in[0] * 1000.f; }, {U({4}, 2)});
  REQUIRE(big.ok);
  REQUIRE(big.input == 0);
  // An output that does not require grad is a failure, not a vacuous pass.
  REQUIRE_FALSE(pg::gradcheck([](const V &in) { return in[0].detach(); }, {U({2}, 3)}).ok);
  // So is checking nothing: no input requires grad, or every input is empty.
  const auto none = pg::gradcheck([](const V &in) { return in[0] * 2.f; }, {tu::uniform({3}, 4)});
  REQUIRE_FALSE(none.ok);
  REQUIRE(none.checked == 0);
  const auto empty = pg::gradcheck([](const V &in) { return in[0].exp(); }, {U({0}, 4)});
  REQUIRE_FALSE(empty.ok);
  REQUIRE(empty.message.find("no input element was checked") != std::string::npos);
}

TEST_CASE("gradcheck sees a 1 % error in a backward with its default tolerances", "[autograd]") {
  // y = f + d (f - detach(f)) has f's value and (1 + d) times f's gradient:
  // a backward that is off by d everywhere.
  auto mutant = [](double d, const std::function<Tensor(const Tensor &)> &f) {
    return [d, f](const V &in) {
      const Tensor y = f(in[0]);
      return y + (y - y.detach()) * float(d);
    };
  };
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor &)>>> fns = {
      {"x^2", [](const Tensor &x) { return x * x; }},
      {"exp", [](const Tensor &x) { return x.exp(); }},
      {"softmax", [](const Tensor &x) { return x.softmax(1); }},
      {"logsumexp-mean", [](const Tensor &x) { return x.logsumexp(1).mean(); }},
      {"tanh", [](const Tensor &x) { return x.tanh(); }},
  };
  for (const auto &[name, f] : fns) {
    INFO(name);
    const Tensor x = U({4, 5}, 7);
    const auto good = pg::gradcheck(mutant(0.0, f), {x});
    INFO(good.message);
    REQUIRE(good.ok);
    REQUIRE(good.sensitive);
    for (double d : {0.01, -0.01}) {
      const auto bad = pg::gradcheck(mutant(d, f), {x});
      INFO(bad.message);
      REQUIRE_FALSE(bad.ok);
    }
  }
  // The second-order stencil is there for kinks; it is still sensitive on a
  // smooth function at its default step.
  const auto o2 = pg::gradcheck(mutant(0.0, fns[1].second), {U({4, 5}, 8)}, {.order = 2});
  INFO(o2.message);
  REQUIRE(o2.ok);
}

TEST_CASE("gradcheck: sensitive means a 1 % error either way would fail", "[autograd]") {
  // A backward already 0.5 % too large, checked with rtol 1.2 % (atol 0):
  // it passes, and one more +1 % (1.5 %) would fail, but -1 % (-0.5 %) would
  // pass too, so the check cannot see a 1 % error and must not claim it can.
  auto off = [](double d) {
    return [d](const V &in) {
      const Tensor y = in[0] * in[0];
      return y + (y - y.detach()) * float(d);
    };
  };
  const Tensor x = U({3, 4}, 21, 0.5f, 1.f); // gradients 2 x v, |2 x v| >= 0.5: far from 0
  const pg::GradcheckOptions loose{.atol = 0.f, .rtol = 0.012f};
  const auto one_sided = pg::gradcheck(off(0.005), {x}, loose);
  INFO(one_sided.message);
  REQUIRE(one_sided.ok);
  REQUIRE_FALSE(one_sided.sensitive);
  REQUIRE(one_sided.message.find("NOT sensitive") != std::string::npos);
  // Exact backward, rtol 0.8 %: both +-1 % would fail.
  const auto exact = pg::gradcheck(off(0.0), {x}, {.atol = 0.f, .rtol = 0.008f});
  INFO(exact.message);
  REQUIRE(exact.ok);
  REQUIRE(exact.sensitive);
  // Tolerances far above 1 % of the gradient are not sensitive either way.
  const auto blunt = pg::gradcheck(off(0.0), {x}, {.atol = 0.5f});
  REQUIRE(blunt.ok);
  REQUIRE_FALSE(blunt.sensitive);
}

TEST_CASE("gradcheck divides by the step float32 actually took", "[autograd]") {
  // Near 3000 float32's spacing is 2^-12 ~ 2.4e-4, so x +- h with h = 1e-2
  // lands up to ~1.2 % away from the nominal step. y = 2 (x - 3000) is exact
  // in float32 there (Sterbenz), so with the step taken the numeric
  // derivative is exactly 2; with the nominal one it would be off by ~1 %.
  std::vector<float> v;
  for (int i = 0; i < 12; ++i)
    v.push_back(3000.f + 0.137f * float(i) + 0.0123f);
  const Tensor x = pg::from_vector(v, {12}).requires_grad_(true);
  const auto r =
      pg::gradcheck([](const V &in) { return (in[0] - 3000.f) * 2.f; }, {x}, {.atol = 0.f});
  INFO(r.message);
  REQUIRE(r.ok);
  REQUIRE(r.max_abs_err < 1e-9);
}

TEST_CASE("gradcheck: binary element-wise ops with broadcasting", "[autograd]") {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 3}, {2, 3}}, {{3, 1}, {1, 4}}, {{2, 3, 4}, {4}}, {{2, 3, 4}, {3, 1}},
      {{}, {2, 3}},     {{2, 3}, {}},     {{1}, {3, 2}},    {{5, 1, 3}, {1, 2, 1}}};
  for (const auto &[sa, sb] : shapes) {
    INFO("shapes " << pg::shape_str(sa) << " and " << pg::shape_str(sb));
    check_grad([](const V &in) { return in[0] + in[1]; }, {U(sa, 1), U(sb, 2)});
    check_grad([](const V &in) { return in[0] - in[1]; }, {U(sa, 1), U(sb, 2)});
    check_grad([](const V &in) { return in[0] * in[1]; }, {U(sa, 1), U(sb, 2)});
    check_grad([](const V &in) { return in[0] / in[1]; }, {U(sa, 1), U(sb, 2, 0.5f, 2.f)});
    // pow: both the base (kept positive) and the exponent are differentiated.
    check_grad([](const V &in) { return pg::pow(in[0], in[1]); },
               {U(sa, 1, 0.5f, 2.f), U(sb, 2, -1.5f, 1.5f)});
    // maximum/minimum: a and b kept apart by far more than the FD step.
    Tensor a = U(sa, 3, -1.f, 1.f);
    Tensor b = leaf(pg::where(pg::gt(tu::uniform(sb, 4), pg::scalar_tensor(0.f)), pg::full(sb, 2.f),
                              pg::full(sb, -2.f)) +
                    tu::uniform(sb, 5, -0.5f, 0.5f));
    check_grad([](const V &in) { return pg::maximum(in[0], in[1]); }, {a, b});
    check_grad([](const V &in) { return pg::minimum(in[0], in[1]); }, {a, b});
    check_grad([](const V &in) { return pg::maximum(in[1], in[0]); }, {a, b});
  }
  // Only one side requires grad.
  check_grad([](const V &in) { return in[0] * in[1]; }, {U({3, 1}, 1), tu::uniform({4}, 2)});
  check_grad([](const V &in) { return in[1] / in[0]; },
             {U({4}, 1, 0.5f, 2.f), tu::uniform({3, 1}, 2)});
  // Same tensor on both sides (the engine sums the two contributions).
  check_grad([](const V &in) { return in[0] * in[0] - in[0] / (in[0] * in[0] + 2.f); },
             {U({2, 3}, 6)});
  // Scalar operators, both orders.
  check_grad(
      [](const V &in) { return (in[0] + 2.f) * 3.f - 1.f / (in[0] + 4.f) + (5.f - in[0]) / 2.f; },
      {U({3}, 7)});
  check_grad([](const V &in) { return -in[0] * 2.f + pg::neg(in[0]); }, {U({2, 2}, 8)});
}

TEST_CASE("gradcheck: unary element-wise ops", "[autograd]") {
  const Shape s{3, 4};
  check_grad([](const V &in) { return in[0].exp(); }, {U(s, 1)});
  check_grad([](const V &in) { return in[0].log(); }, {U(s, 2, 0.5f, 2.f)});
  check_grad([](const V &in) { return in[0].log1p(); }, {U(s, 3, -0.5f, 2.f)});
  check_grad([](const V &in) { return in[0].expm1(); }, {U(s, 4)});
  check_grad([](const V &in) { return in[0].sqrt(); }, {U(s, 5, 0.5f, 2.f)});
  check_grad([](const V &in) { return in[0].sigmoid(); }, {U(s, 6, -4.f, 4.f)});
  check_grad([](const V &in) { return in[0].tanh(); }, {U(s, 7, -2.f, 2.f)});
  check_grad([](const V &in) { return in[0].pow(3.f); }, {U(s, 8)});
  check_grad([](const V &in) { return in[0].pow(-1.5f); }, {U(s, 9, 0.5f, 2.f)});
  check_grad([](const V &in) { return in[0].pow(0.f); }, {U(s, 9)});
  check_grad([](const V &in) { return pg::neg(in[0]); }, {U(s, 10)});
  check_grad([](const V &in) { return in[0].abs(); }, {away_from(s, 11, -1, 1, {0})});
  check_grad([](const V &in) { return in[0].relu(); }, {away_from(s, 12, -1, 1, {0})});
  check_grad([](const V &in) { return in[0].clamp(-0.3f, 0.4f); },
             {away_from(s, 13, -1, 1, {-0.3f, 0.4f})});
  // Free functions on strided (transposed) input.
  check_grad([](const V &in) { return pg::exp(in[0].t()) * pg::sigmoid(in[0].t()); }, {U(s, 14)});
  check_grad([](const V &in) { return pg::tanh(pg::log(pg::sqrt(in[0]))); }, {U(s, 15, 0.5f, 2.f)});
  check_grad([](const V &in) { return pg::clamp(pg::abs(pg::relu(in[0])), 0.f, 0.5f); },
             {away_from(s, 16, -1, 1, {0, 0.5f})});
  // 0-d input.
  check_grad([](const V &in) { return in[0].exp() * in[0]; }, {U({}, 17)});
}

TEST_CASE("gradcheck: where (both branches, broadcast)", "[autograd]") {
  Tensor mask = pg::gt(tu::uniform({3, 4}, 1), pg::scalar_tensor(0.f));
  check_grad([mask](const V &in) { return pg::where(mask, in[0], in[1]); },
             {U({3, 4}, 2), U({3, 4}, 3)});
  check_grad([mask](const V &in) { return pg::where(mask, in[0], in[1]); },
             {U({4}, 2), U({3, 1}, 3)});
  Tensor m1 = pg::from_vector({1, 0, 1}, {3, 1});
  check_grad([m1](const V &in) { return pg::where(m1, in[0], in[1]); }, {U({1, 5}, 4), U({}, 5)});
  // Only one branch differentiable.
  check_grad(
      [mask](const V &in) {
        return pg::where(mask, in[0], pg::zeros({3, 4}));
      },
      {U({3, 4}, 6)});
  // Mask from a comparison on the input itself (mask carries no gradient).
  check_grad(
      [](const V &in) {
        return pg::where(pg::gt(in[0], pg::scalar_tensor(0.f)), in[0] * 2.f, in[0].exp());
      },
      {away_from({2, 5}, 7, -1, 1, {0})});
}

TEST_CASE("gradcheck: sum / mean over dims with and without keepdim", "[autograd]") {
  const Shape s{2, 3, 4};
  for (const Shape &dims : std::vector<Shape>{{}, {0}, {1}, {2}, {-1}, {0, 2}, {1, 2}, {0, 1, 2}})
    for (bool keep : {false, true}) {
      INFO("dims " << pg::shape_str(dims) << " keepdim " << keep);
      check_grad([dims, keep](const V &in) { return in[0].sum(dims, keep); }, {U(s, 1)});
      check_grad([dims, keep](const V &in) { return in[0].mean(dims, keep); }, {U(s, 2)});
      // Through a non-contiguous input.
      check_grad([dims, keep](const V &in) { return in[0].transpose(0, 2).sum(dims, keep); },
                 {U({4, 3, 2}, 3)});
    }
  check_grad([](const V &in) { return in[0].sum(); }, {U({5}, 4)});
  check_grad([](const V &in) { return in[0].mean(); }, {U({2, 5}, 5)});
  check_grad([](const V &in) { return pg::sum(in[0] * in[0]) + pg::mean(in[0], {0}).sum(); },
             {U({3, 2}, 6)});
  check_grad([](const V &in) { return in[0].sum(); }, {U({}, 7)});
}

TEST_CASE("gradcheck: max / min / logsumexp over dims, and over everything", "[autograd]") {
  const Shape s{3, 4, 5};
  // Distinct values 0.1 apart: no ties, and the FD step never reorders them.
  auto X = [&](uint64_t seed) { return leaf(tu::distinct(s, seed, 0.1f)); };
  for (int64_t d = -3; d < 3; ++d)
    for (bool keep : {false, true}) {
      INFO("dim " << d << " keepdim " << keep);
      check_grad([d, keep](const V &in) { return in[0].max(d, keep); }, {X(1)});
      check_grad([d, keep](const V &in) { return in[0].min(d, keep); }, {X(2)});
      check_grad([d, keep](const V &in) { return in[0].logsumexp(d, keep); }, {U(s, 3, -2, 2)});
      check_grad(
          [d, keep](const V &in) {
            return pg::max(in[0].permute({2, 0, 1}), d, keep);
          },
          {X(4)});
    }
  check_grad([](const V &in) { return in[0].max(); }, {X(5)});
  check_grad([](const V &in) { return in[0].min(); }, {X(6)});
  check_grad([](const V &in) { return in[0].t().max() * in[0].min(); },
             {leaf(tu::distinct({4, 3}, 7, 0.1f))});
  // 0-d.
  check_grad([](const V &in) { return in[0].max(0) + in[0].logsumexp(0); }, {U({}, 8)});
  // Large logits (finite differences are meaningless at 1e4 in float32, so
  // compare with the known answer): d lse(x) / dx = softmax(x), still finite.
  Tensor big =
      leaf(pg::from_vector({1e4f, 1e4f - 1.f, -1e4f, -1e4f, -1e4f + 2.f, -1e4f + 1.f}, {2, 3}));
  big.logsumexp(1).sum().backward();
  const double e1 = std::exp(-1.0), e2 = std::exp(-2.0), z = 1 + e1 + e2;
  tu::require_values(
      big.grad().to_vector(),
      {float(1 / (1 + e1)), float(e1 / (1 + e1)), 0.f, float(e2 / z), float(1 / z), float(e1 / z)},
      // exp(x - lse) with lse ~ 1e4 held in float32 (ulp 1e-3),
      // exactly as torch computes it
      2e-3, 1e-7);
}

TEST_CASE("gradcheck: softmax and log_softmax over each dim", "[autograd]") {
  for (int64_t d = -3; d < 3; ++d) {
    INFO("dim " << d);
    check_grad([d](const V &in) { return in[0].softmax(d); }, {U({2, 3, 4}, 1, -2, 2)});
    check_grad([d](const V &in) { return in[0].log_softmax(d); }, {U({2, 3, 4}, 2, -2, 2)});
    check_grad([d](const V &in) { return in[0].transpose(0, 2).log_softmax(d); },
               {U({4, 3, 2}, 3, -2, 2)});
  }
  check_grad([](const V &in) { return pg::softmax(in[0], 0) * pg::log_softmax(in[0], 0); },
             {U({6}, 4)});
  check_grad([](const V &in) { return in[0].softmax(0); }, {U({}, 5)});
  // Reduced after the softmax: the incoming gradient is a stride-0 view.
  check_grad([](const V &in) { return in[0].softmax(1).sum({0}) + in[0].log_softmax(0).mean(); },
             {U({3, 4}, 6)});
}

TEST_CASE("gradcheck: views", "[autograd]") {
  Tensor x = U({2, 3, 4}, 1);
  check_grad([](const V &in) { return in[0].reshape({6, 4}); }, {x});
  check_grad([](const V &in) { return in[0].view({4, -1}); }, {x});
  check_grad([](const V &in) { return in[0].transpose(0, 2).reshape({-1}); }, {x}); // copy path
  check_grad([](const V &in) { return in[0].flatten(1); }, {x});
  check_grad([](const V &in) { return in[0].transpose(1, 2); }, {x});
  check_grad([](const V &in) { return in[0].permute({2, 0, 1}) * 2.f; }, {x});
  check_grad([](const V &in) { return in[0].narrow(2, 1, 2); }, {x});
  check_grad([](const V &in) { return in[0].slice(2, 0, 4, 3); }, {x});
  check_grad([](const V &in) { return in[0].slice(1, -2, 3); }, {x});
  check_grad([](const V &in) { return in[0].select(1, 2); }, {x});
  check_grad([](const V &in) { return in[0].select(-1, 0) + in[0].select(-1, 3); }, {x});
  check_grad([](const V &in) { return in[0].unsqueeze(1).squeeze(); }, {x});
  check_grad([](const V &in) { return in[0].squeeze(1); }, {U({2, 1, 3}, 2)});
  check_grad([](const V &in) { return in[0].expand({2, 3, 4}); }, {U({3, 1}, 3)});
  check_grad([](const V &in) { return in[0].expand({4, -1}); }, {U({1, 3}, 4)});
  check_grad([](const V &in) { return in[0].expand({2, 2}); }, {U({}, 5)});
  check_grad([](const V &in) { return in[0].t().contiguous(); }, {U({3, 5}, 6)});
  check_grad([](const V &in) { return in[0].t().clone(); }, {U({3, 5}, 7)});
  // A chain of views on a view, and overlapping views of one tensor.
  check_grad(
      [](const V &in) {
        Tensor t = in[0].permute({1, 0, 2}).narrow(0, 1, 2).slice(2, 1, 4, 2);
        return t.reshape({-1}) * in[0].select(0, 1).narrow(0, 0, 2).reshape({-1}).narrow(0, 0, 8);
      },
      {x});
}

TEST_CASE("gradcheck: matmul 2-D, batched, broadcast, 1-D, transposed", "[autograd]") {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{1, 1}, {1, 1}},       {{7, 13}, {13, 5}},  {{3, 4, 5}, {3, 5, 2}},
      {{2, 3, 4}, {4, 5}},    {{3, 4}, {2, 4, 5}}, {{2, 1, 3, 4}, {5, 4, 2}},
      {{1, 3, 4}, {2, 4, 2}}, {{4}, {4}},          {{4}, {4, 3}},
      {{3, 4}, {4}},          {{4}, {2, 4, 3}},    {{2, 3, 4}, {4}}};
  for (const auto &[sa, sb] : cases) {
    INFO(pg::shape_str(sa) << " x " << pg::shape_str(sb));
    check_grad([](const V &in) { return pg::matmul(in[0], in[1]); }, {U(sa, 1), U(sb, 2)});
  }
  // Transposed / sliced views as operands.
  check_grad([](const V &in) { return pg::matmul(in[0].t(), in[1].t()); },
             {U({5, 3}, 3), U({4, 5}, 4)});
  check_grad([](const V &in) { return pg::matmul(in[0].transpose(1, 2), in[1]); },
             {U({2, 5, 3}, 5), U({2, 5, 4}, 6)});
  check_grad([](const V &in) { return pg::matmul(in[0].slice(1, 0, 6, 2), in[1]); },
             {U({4, 6}, 7), U({3, 2}, 8)});
  // Only one side differentiable.
  check_grad([](const V &in) { return pg::matmul(in[0], in[1]); },
             {U({3, 4}, 9), tu::uniform({4, 2}, 10)});
  check_grad([](const V &in) { return pg::matmul(in[1], in[0]); },
             {U({4, 2}, 9), tu::uniform({2, 3, 4}, 10)});
  // x @ x^T (the same leaf twice).
  check_grad([](const V &in) { return pg::matmul(in[0], in[0].t()); }, {U({3, 4}, 11)});
}

TEST_CASE("gradcheck: gather, index_select, cat, stack", "[autograd]") {
  Tensor idx0 = pg::from_labels({2, 0, 1, 2, 2, 0, 1, 1}, {2, 4}); // repeats
  check_grad([idx0](const V &in) { return pg::gather(in[0], 0, idx0); }, {U({3, 4}, 1)});
  Tensor idx1 = pg::from_labels({3, 3, 0, 1, 2, 0}, {3, 2});
  check_grad([idx1](const V &in) { return pg::gather(in[0], 1, idx1); }, {U({3, 4}, 2)});
  check_grad([idx1](const V &in) { return pg::gather(in[0], -1, idx1); }, {U({4, 4}, 3)});
  check_grad([idx1](const V &in) { return pg::gather(in[0].t(), 1, idx1); }, {U({4, 3}, 4)});
  Tensor idx3 = pg::from_labels({1, 0, 0, 1, 1, 1}, {1, 3, 2});
  check_grad([idx3](const V &in) { return pg::gather(in[0], 2, idx3); }, {U({2, 3, 2}, 5)});

  Tensor sel = pg::from_labels({2, 0, 2});
  for (int64_t d = 0; d < 3; ++d)
    check_grad([sel, d](const V &in) { return pg::index_select(in[0], d, sel); },
               {U({3, 3, 4}, 6)});
  check_grad([sel](const V &in) { return pg::index_select(in[0].t(), 0, sel); }, {U({2, 3}, 7)});

  check_grad(
      [](const V &in) {
        return pg::cat({in[0], in[1], in[0]}, 1);
      },
      {U({2, 3}, 8), U({2, 2}, 9)});
  check_grad(
      [](const V &in) {
        return pg::cat({in[0].t(), in[1]}, 0);
      },
      {U({3, 2}, 10), U({4, 3}, 11)});
  check_grad(
      [](const V &in) {
        return pg::cat({in[0], in[1]}, -1);
      },
      {U({2, 1, 3}, 12), tu::uniform({2, 1, 2}, 13)});
  for (int64_t d = 0; d < 3; ++d)
    check_grad(
        [d](const V &in) {
          return pg::stack({in[0], in[1] * 2.f, in[0]}, d);
        },
        {U({2, 3}, 14), U({2, 3}, 15)});
  check_grad([](const V &in) { return pg::stack({in[0], in[1]}); }, {U({}, 16), U({}, 17)});
  // one_hot is not differentiable (int64 labels) but feeds differentiable math.
  Tensor oh = pg::one_hot(pg::from_labels({1, 0, 2}), 3);
  check_grad([oh](const V &in) { return (in[0].log_softmax(1) * oh).sum({1}); }, {U({3, 3}, 18)});
}

TEST_CASE("gradcheck: composite expressions mixing everything", "[autograd]") {
  // A two-layer MLP with a softmax cross-entropy loss from primitives.
  Tensor labels = pg::from_labels({0, 2, 1, 2});
  check_grad(
      [labels](const V &in) {
        Tensor h = (pg::matmul(in[0], in[1]) + in[2]).tanh();
        Tensor logits = pg::matmul(h, in[3]);
        Tensor lp = logits.log_softmax(1);
        return -pg::gather(lp, 1, labels.unsqueeze(1)).mean();
      },
      {U({4, 5}, 1), U({5, 6}, 2), U({6}, 3), U({6, 3}, 4)});
  // Normalisation along a dim: (x - mean) / sqrt(var + eps).
  check_grad(
      [](const V &in) {
        Tensor mu = in[0].mean({1}, true);
        Tensor var = ((in[0] - mu) * (in[0] - mu)).mean({1}, true);
        return (in[0] - mu) / (var + 1e-3f).sqrt() * in[1];
      },
      {U({3, 5}, 5), U({5}, 6)});
}
