// Each fused loss node equals the same loss written as a composition of
// primitive polygrad ops (log_softmax, gather, exp, pow, sigmoid, ...): same
// values, same gradients w.r.t. the logits (and the targets where they are
// differentiable). The compositions are the textbook formulas of
// docs/losses.md, one line each.
#include <functional>

#include <catch2/catch.hpp>

#include "golden.h"
#include <polygrad/core/random.h>
#include <polygrad/losses/losses.h>

namespace pg = polygrad;
namespace L = polygrad::losses;
using pg::Tensor;
using R = L::Reduction;
using W = L::PolyWeighting;

namespace {

constexpr int64_t N = 9, C = 6;
using Fn = std::function<Tensor(const Tensor &, const Tensor &)>;

// Runs both on fresh copies of (x, t), backpropagates the same upstream
// gradient and compares everything.
void compare(const std::string &what, const Fn &fused, const Fn &composed, const Tensor &x,
             const Tensor &t, bool target_grad = false, double rtol = 1e-5) {
  INFO(what);
  auto run = [&](const Fn &f, Tensor &gx, Tensor &gt) {
    Tensor xc = x.clone().requires_grad_(true), tc = t.clone();
    if (target_grad)
      tc.requires_grad_(true);
    Tensor out = f(xc, tc);
    pg::manual_seed(99);
    out.backward(out.dim() ? pg::rand(out.shape()) : Tensor());
    gx = xc.grad();
    gt = target_grad ? tc.grad() : Tensor();
    return out.detach();
  };
  Tensor gx1, gt1, gx2, gt2;
  const Tensor v1 = run(fused, gx1, gt1), v2 = run(composed, gx2, gt2);
  golden::require_close(v1, v2, rtol, 1e-6, what + ": value");
  golden::require_close(gx1, gx2, rtol, 1e-6, what + ": d/dinput");
  if (target_grad)
    golden::require_close(gt1, gt2, rtol, 1e-6, what + ": d/dtarget");
}

// ----- composed building blocks -----
std::vector<int64_t> kLabels = {0, 3, -100, 5, 1, 2, -100, 4, 3};
Tensor labels() { return pg::from_labels(kLabels); }
// mask of non-ignored rows (N) and the labels with ignored ones replaced by 0 (N, 1)
Tensor valid() {
  std::vector<float> m;
  for (auto y : kLabels)
    m.push_back(y == -100 ? 0.f : 1.f);
  return pg::from_vector(m, {N});
}
Tensor safe_index() {
  std::vector<int64_t> y;
  for (auto v : kLabels)
    y.push_back(v == -100 ? 0 : v);
  return pg::from_labels(y, {N, 1});
}
Tensor log_pt(const Tensor &x) {
  return pg::gather(pg::log_softmax(x, 1), 1, safe_index()).reshape({N});
}
Tensor w_y(const Tensor &w) { return pg::index_select(w, 0, safe_index().reshape({N})) * valid(); }
Tensor reduce(const Tensor &per, R r, const Tensor &denom) {
  return r == R::None ? per : r == R::Sum ? per.sum() : per.sum() / denom;
}
const Tensor kW = pg::from_vector({0.5f, 2.f, 1.f, 1.5f, 0.8f, 1.2f}, {C});

} // namespace

TEST_CASE("losses compose: softmax family equals its composition", "[losses]") {
  pg::manual_seed(21);
  const Tensor x = pg::randn({N, C}) * 1.5f, y = labels();
  for (R r : {R::Mean, R::Sum, R::None}) {
    const std::string rs = std::string(" ") + L::reduction_name(r);
    compare(
        "cross_entropy" + rs,
        [&](auto &x, auto &y) { return L::cross_entropy(x, y, {.weight = kW, .reduction = r}); },
        [&](auto &x, auto &) {
          const Tensor wy = w_y(kW);
          return reduce(-wy * log_pt(x), r, wy.sum());
        },
        x, y);
    compare(
        "nll_loss" + rs,
        [&](auto &x, auto &y) {
          return L::nll_loss(pg::log_softmax(x, 1), y, {.weight = kW, .reduction = r});
        },
        [&](auto &x, auto &) {
          const Tensor wy = w_y(kW);
          return reduce(-wy * log_pt(x), r, wy.sum());
        },
        x, y);
    for (float eps : {-1.f, 0.f, 2.f}) {
      const std::string es = " eps=" + std::to_string(eps);
      compare(
          "poly1 both" + es + rs,
          [&](auto &x, auto &y) {
            return L::poly1_cross_entropy(x, y, {.epsilon = eps, .weight = kW, .reduction = r});
          },
          [&](auto &x, auto &) {
            const Tensor wy = w_y(kW), lp = log_pt(x);
            return reduce(wy * (-lp + eps * (1.f - pg::exp(lp))), r, wy.sum());
          },
          x, y);
      compare(
          "poly1 ce_only" + es + rs,
          [&](auto &x, auto &y) {
            return L::poly1_cross_entropy(
                x, y,
                {.epsilon = eps, .weight = kW, .weighting = W::CrossEntropyOnly, .reduction = r});
          },
          [&](auto &x, auto &) {
            const Tensor wy = w_y(kW), lp = log_pt(x);
            return reduce(-wy * lp + eps * (1.f - pg::exp(lp)) * valid(), r, valid().sum());
          },
          x, y);
      compare(
          "poly1 rescaled_pt" + es + rs,
          [&](auto &x, auto &y) {
            return L::poly1_cross_entropy(
                x, y, {.epsilon = eps, .weight = kW, .weighting = W::RescaledPt, .reduction = r});
          },
          [&](auto &x, auto &) {
            const Tensor wy = w_y(kW), lp = log_pt(x);
            const Tensor poly = eps * (1.f - pg::exp(lp) * wy / kW.mean()) * valid();
            return r == R::Mean ? (-wy * lp).sum() / wy.sum() + poly.sum() / valid().sum()
                                : reduce(-wy * lp + poly, r, Tensor());
          },
          x, y);
    }
    compare(
        "poly_loss {2, -0.3, 0.1}" + rs,
        [&](auto &x, auto &y) {
          return L::poly_loss(x, y, {.epsilons = {2.f, -0.3f, 0.1f}, .weight = kW, .reduction = r});
        },
        [&](auto &x, auto &) {
          const Tensor wy = w_y(kW), lp = log_pt(x), q = 1.f - pg::exp(lp);
          return reduce(wy * (-lp + 2.f * q - 0.3f * q * q + 0.1f * q * q * q), r, wy.sum());
        },
        x, y);
    for (float g : {0.f, 0.5f, 2.f, 5.f})
      for (float eps : {0.f, -1.f, 1.f}) {
        // the composition forms 1 - exp(l) in float32 (cancellation for
        // confident rows) and pow through autograd: agreement to 1e-4
        compare(
            "poly1_focal gamma=" + std::to_string(g) + " eps=" + std::to_string(eps) + rs,
            [&](auto &x, auto &y) {
              return eps == 0.f
                         ? L::focal_loss(x, y, {.gamma = g, .alpha = kW, .reduction = r})
                         : L::poly1_focal_loss(
                               x, y, {.epsilon = eps, .gamma = g, .alpha = kW, .reduction = r});
            },
            [&](auto &x, auto &) {
              const Tensor ay = w_y(kW), lp = log_pt(x), q = 1.f - pg::exp(lp);
              const Tensor qg = g == 0.f ? pg::ones_like(q) : pg::pow(q, g);
              return reduce(ay * (-qg * lp + eps * qg * q), r, ay.sum());
            },
            x, y, false, 1e-4);
      }
  }
}

TEST_CASE("losses compose: label smoothing and soft targets", "[losses]") {
  pg::manual_seed(22);
  const Tensor x = pg::randn({N, C}) * 1.5f, y = labels();
  const Tensor probs = pg::softmax(pg::randn({N, C}), 1).detach();
  const float ls = 0.1f;
  // t = (1 - ls) onehot + ls / C; CE = -sum_j w_j t_j log p_j; Pt = sum_j t_j p_j
  auto smoothed = [&] {
    return (pg::one_hot(safe_index().reshape({N}), C) * (1.f - ls) + ls / C) *
           valid().reshape({N, 1});
  };
  compare(
      "cross_entropy smoothing+weight",
      [&](auto &x, auto &y) {
        return L::cross_entropy(x, y, {.weight = kW, .label_smoothing = ls});
      },
      [&](auto &x, auto &) {
        const Tensor t = smoothed();
        return -(t * kW * pg::log_softmax(x, 1)).sum() / w_y(kW).sum();
      },
      x, y);
  compare(
      "poly1 smoothing+weight (both)",
      [&](auto &x, auto &y) {
        return L::poly1_cross_entropy(x, y, {.epsilon = 2.f, .weight = kW, .label_smoothing = ls});
      },
      [&](auto &x, auto &) {
        const Tensor t = smoothed(), lp = pg::log_softmax(x, 1);
        const Tensor pt = (t * pg::exp(lp)).sum({1});
        const Tensor wy = w_y(kW);
        return (-(t * kW * lp).sum() + (2.f * wy * (valid() - pt)).sum()) / wy.sum();
      },
      x, y);
  compare(
      "cross_entropy soft targets+weight (target grads)",
      [&](auto &x, auto &t) { return L::cross_entropy(x, t, {.weight = kW}); },
      [&](auto &x, auto &t) { return -(t * kW * pg::log_softmax(x, 1)).sum() / (float)N; }, x,
      probs, true);
  compare(
      "poly1 soft targets+weight both (target grads)",
      [&](auto &x, auto &t) {
        return L::poly1_cross_entropy(x, t, {.epsilon = 1.5f, .weight = kW});
      },
      [&](auto &x, auto &t) {
        const Tensor lp = pg::log_softmax(x, 1), pt = (t * pg::exp(lp)).sum({1});
        const Tensor wbar = (t * kW).sum({1});
        return (-(t * kW * lp).sum({1}) + 1.5f * wbar * (1.f - pt)).sum() / (float)N;
      },
      x, probs, true);
}

TEST_CASE("losses compose: element-wise losses equal their composition", "[losses]") {
  pg::manual_seed(23);
  const Tensor x = pg::randn({N, C}) * 1.5f;
  const Tensor t01 = pg::one_hot(safe_index().reshape({N}), C), tsoft = pg::rand({N, C});
  const Tensor pw = pg::from_vector({0.5f, 2.f, 1.f, 3.f, 1.f, 0.7f}, {C});
  for (const Tensor &t : {t01, tsoft})
    for (float g : {0.f, 0.5f, 2.f})
      for (float eps : {0.f, 1.f}) {
        const std::string s = " gamma=" + std::to_string(g) + " eps=" + std::to_string(eps);
        compare(
            "poly1_sigmoid_focal" + s,
            [&](auto &x, auto &t) {
              return L::poly1_sigmoid_focal_loss(
                  x, t, {.epsilon = eps, .alpha = 0.25f, .gamma = g, .pos_weight = pw});
            },
            [&](auto &x, auto &t) { // torchvision's formula, with pos_weight in the BCE
              const Tensor p = pg::sigmoid(x);
              const Tensor ce = -(pw * t * pg::log(p) + (1.f - t) * pg::log(1.f - p));
              const Tensor q = 1.f - (p * t + (1.f - p) * (1.f - t));
              const Tensor qg = g == 0.f ? pg::ones_like(q) : pg::pow(q, g);
              const Tensor at = 0.25f * t + 0.75f * (1.f - t);
              return (at * ce * qg + eps * qg * q).mean();
            },
            x, t, false, 1e-4);
      }
  compare(
      "bce_with_logits weight+pos_weight (target grads)",
      [&](auto &x, auto &t) {
        return L::binary_cross_entropy_with_logits(x, t, {.weight = kW, .pos_weight = pw});
      },
      [&](auto &x, auto &t) {
        const Tensor p = pg::sigmoid(x);
        return (-kW * (pw * t * pg::log(p) + (1.f - t) * pg::log(1.f - p))).mean();
      },
      x, tsoft, true, 1e-4);
  const Tensor tr = x + pg::randn({N, C});
  compare(
      "mse", [](auto &x, auto &t) { return L::mse_loss(x, t); },
      [](auto &x, auto &t) { return ((x - t) * (x - t)).mean(); }, x, tr, true);
  compare(
      "l1", [](auto &x, auto &t) { return L::l1_loss(x, t, {.reduction = R::Sum}); },
      [](auto &x, auto &t) { return pg::abs(x - t).sum(); }, x, tr, true);
  compare(
      "smooth_l1", [](auto &x, auto &t) { return L::smooth_l1_loss(x, t, {.beta = 0.7f}); },
      [](auto &x, auto &t) {
        const Tensor d = x - t, a = pg::abs(d);
        return pg::where(pg::lt(a, pg::full_like(a, 0.7f)), 0.5f * d * d / 0.7f, a - 0.35f).mean();
      },
      x, tr, true);
  compare(
      "huber", [](auto &x, auto &t) { return L::huber_loss(x, t, {.delta = 0.7f}); },
      [](auto &x, auto &t) {
        const Tensor d = x - t, a = pg::abs(d);
        return pg::where(pg::le(a, pg::full_like(a, 0.7f)), 0.5f * d * d, 0.7f * (a - 0.35f))
            .mean();
      },
      x, tr, true);
  const Tensor lp = pg::log_softmax(x, 1).detach(), q = pg::softmax(pg::randn({N, C}), 1).detach();
  compare(
      "kl_div batchmean",
      [](auto &x, auto &t) { return L::kl_div(x, t, {.reduction = R::BatchMean}); },
      [](auto &x, auto &t) { return (t * (pg::log(t) - x)).sum() / (float)N; }, lp, q, true);
  compare(
      "kl_div log_target", [](auto &x, auto &t) { return L::kl_div(x, t, {.log_target = true}); },
      [](auto &x, auto &t) { return (pg::exp(t) * (t - x)).mean(); }, lp, pg::log(q).detach(),
      true);
}
