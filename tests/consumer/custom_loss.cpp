// An out-of-tree loss built against the INSTALLED polygrad (ctest
// install_and_consume builds and runs every tests/consumer/*.cpp): the
// example of docs/adding-a-loss.md, whose code blocks are copied verbatim from
// the [doc:...] regions below (tests/test_losses_registry.cpp checks that), so
// the page cannot rot. Exits 0 only if every check passes.
//
// The loss: Taylor cross-entropy (Feng et al., "Can Cross Entropy Loss Be
// Robust to Label Noise?", IJCAI 2020), cross-entropy's series in (1 - Pt)
// truncated after `order` terms:
//     L = sum_{j=1..n} (1 - Pt)^j / j
// It is bounded (by sum 1/j), which is what makes it robust to noisy labels,
// and as n grows it tends to cross-entropy.
#include <cmath>
#include <cstdio>
#include <string>

#include <polygrad/autograd/gradcheck.h>
#include <polygrad/core/random.h>
#include <polygrad/losses/losses.h>

namespace pg = polygrad;
namespace L = polygrad::losses;
using pg::Tensor;

// [doc:loss]
namespace mylosses {

struct TaylorCrossEntropyOptions {
  int64_t order = 2;           // n >= 1 terms of the series
  Tensor weight{};             // (C) class weights; undefined = all ones
  int64_t ignore_index = -100; // labels equal to it are skipped
  L::Reduction reduction = L::Reduction::Mean;
  // The schema: the registry's parameters and the module form come from it.
  template <class O, class F> static void fields(O &o, F &&f) {
    f("order", o.order), f("weight", o.weight), f("ignore_index", o.ignore_index),
        f("reduction", o.reduction);
  }
};

void check_options(const TaylorCrossEntropyOptions &o) {
  PG_CHECK(o.order >= 1, "taylor_cross_entropy: order must be >= 1, got ", o.order);
}

// L_i = w_y sum_{j=1..n} q^j / j with q = 1 - Pt. With l = log Pt, dq/dl = -Pt,
// so g = -dL/dl = w_y Pt sum_{j=1..n} q^(j-1), and the engine turns it into
// dL/dz = g (softmax(z) - onehot(y)) / D in the same fused pass.
Tensor taylor_cross_entropy(const Tensor &logits, const Tensor &labels,
                            const TaylorCrossEntropyOptions &o = {}) {
  check_options(o);
  const L::SoftmaxLossPlan plan =
      L::plan_softmax_loss({"taylor_cross_entropy", "TaylorCrossEntropyBackward", logits, labels,
                            o.weight, o.ignore_index, o.reduction});
  const int n = (int)o.order;
  return L::run_softmax_loss(plan, plan.stats.weight_sum,
                             L::rowwise([n](float l, float w, float &loss, float &g) {
                               const float pt = std::exp(l), q = -std::expm1(l);
                               float s = 0.f, d = 0.f; // sum q^(j-1) / j, sum q^(j-1)
                               for (int j = n; j >= 1; --j) {
                                 s = s * q + 1.f / (float)j;
                                 d = d * q + 1.f;
                               }
                               loss = w * q * s;
                               g = w * pt * d;
                             }));
}

// [/doc:loss]
// [doc:register]
PG_REGISTER_LOSS(taylor_cross_entropy, {.name = "taylor_ce",
                                        .aliases = {"taylor_cross_entropy"},
                                        .kind = L::LossKind::Softmax,
                                        .formula = "w_y sum_{j=1..order} (1-Pt)^j / j"});
// [/doc:register]

} // namespace mylosses

namespace {
int failures = 0;
void check(bool ok, const std::string &what) {
  std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what.c_str());
  failures += !ok;
}
} // namespace

int main() {
  using mylosses::TaylorCrossEntropyOptions;
  pg::manual_seed(7);
  const Tensor x = pg::randn({6, 4}) * 2.f;
  const Tensor y = pg::from_labels({0, 3, 1, -100, 2, 2});

  const L::Loss loss = L::make("taylor_ce:order=3");

  // [doc:test]
  // 1. the fused node equals the formula written with primitive ops
  {
    const Tensor xc = x.clone().requires_grad_(true);
    mylosses::taylor_cross_entropy(xc, y, {.order = 3}).backward();
    const Tensor xr = x.clone().requires_grad_(true);
    std::vector<int64_t> safe = {0, 3, 1, 0, 2, 2};
    const Tensor valid = pg::from_vector({1, 1, 1, 0, 1, 1}, {6});
    const Tensor q =
        1.f -
        pg::exp(pg::gather(pg::log_softmax(xr, 1), 1, pg::from_labels(safe, {6, 1}))).reshape({6});
    const Tensor ref = ((q + q * q / 2.f + q * q * q / 3.f) * valid).sum() / valid.sum();
    ref.backward();
    double worst = 0;
    const auto a = xc.grad().to_vector(), b = xr.grad().to_vector();
    for (size_t i = 0; i < a.size(); ++i)
      worst = std::max(worst, std::fabs((double)a[i] - b[i]));
    check(worst < 1e-6,
          "gradient equals the composed formula (max diff " + std::to_string(worst) + ")");
  }
  // 2. finite differences
  const auto gc = pg::gradcheck(
      [&](const std::vector<Tensor> &in) {
        return mylosses::taylor_cross_entropy(in[0], y, {.order = 4});
      },
      {x.clone().requires_grad_(true)});
  check(gc.ok && gc.sensitive, gc.message);
  // 3. the registry builds it from a spec
  check(std::fabs(loss(x, y).item() - mylosses::taylor_cross_entropy(x, y, {.order = 3}).item()) <
            1e-7,
        "losses::make(\"taylor_ce:order=3\") == taylor_cross_entropy(order=3)");
  // [/doc:test]

  // 4. properties: order -> infinity is cross-entropy; order 1 is 1 - Pt
  const Tensor xs = x * 0.25f; // Pt >= ~0.1: the series converges quickly
  check(std::fabs(mylosses::taylor_cross_entropy(xs, y, {.order = 200}).item() -
                  L::cross_entropy(xs, y).item()) < 1e-5,
        "order 200 ~ cross_entropy");
  const Tensor x2 = pg::from_vector({2.f, 0.f}, {1, 2});
  const double pt = 1 / (1 + std::exp(-2.0));
  check(std::fabs(mylosses::taylor_cross_entropy(x2, pg::from_labels({0}), {.order = 1}).item() -
                  (1 - pt)) < 1e-6,
        "order 1 is 1 - Pt");
  // 5. bad options and unknown parameters are errors that list what is valid
  try {
    L::make("taylor_ce:order=0");
    check(false, "order=0 must be rejected");
  } catch (const pg::Error &e) {
    check(std::string(e.what()).find("order must be >= 1") != std::string::npos, e.what());
  }
  try {
    L::make("taylor_ce:degree=3");
    check(false, "an unknown parameter must be rejected");
  } catch (const pg::Error &e) {
    check(std::string(e.what()).find("valid: order (integer)") != std::string::npos, e.what());
  }
  std::printf("%s\n", loss.describe().c_str());
  return failures ? 1 : 0;
}
