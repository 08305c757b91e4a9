// Generalized cross-entropy on the fused softmax engine (softmax_loss.h): the
// engine hands each row l = log Pt and the label's weight w, GceRow gives the
// loss and g = -dL/dl, and the engine makes dL/dz = g (softmax(z) - onehot(y)).
#include <polygrad/losses/gce.h>

#include <polygrad/core/vec_math.h>
#include <polygrad/losses/registry.h>
#include <polygrad/losses/softmax_loss.h>

namespace polygrad::losses {

namespace {
struct GceRow {
  float q;
  // forward: L = w (1 - Pt^q) / q = -w expm1(q l) / q  (expm1 keeps the digits
  // of 1 - Pt^q on confident rows; q l <= 0)
  float forward(float l, float w) const { return -w * vm::vexpm1_le0(q * l) / q; }
  // backward: g = -dL/dl = w e^(q l) = w Pt^q
  float backward(float l, float w) const { return w * vm::vexp_le0(q * l); }
};

// (1 - (1 - x)^q) / q = sum_j a_j x^j, a_1 = 1, a_(j+1) = a_j (j - q) / (j + 1)
Series gce_series(const GCELossOptions &o, int n) {
  Series s;
  double a = 1;
  for (int j = 1; j <= n; ++j, a *= (j - 1 - o.q) / j)
    s.coefficients.push_back(a);
  return s;
}
} // namespace

void check_options(const GCELossOptions &o) {
  check_reduction("gce_loss", o.reduction);
  PG_CHECK(o.q > 0.f && o.q <= 1.f, "gce_loss: q must be in (0, 1], got ", o.q);
}

Tensor gce_loss(const Tensor &input, const Tensor &labels, const GCELossOptions &o) {
  check_options(o);
  const SoftmaxLossPlan plan = plan_softmax_loss(
      {"gce_loss", "GCELossBackward", input, labels, o.weight, o.ignore_index, o.reduction});
  return run_softmax_loss(plan, plan.stats.weight_sum, rowwise(GceRow{o.q}));
}

PG_REGISTER_LOSS(gce_loss,
                 {.name = "gce",
                  .aliases = {"gce_loss", "generalized_cross_entropy"},
                  .kind = LossKind::Softmax,
                  .formula = "w_y (1 - Pt^q) / q"},
                 gce_series);

} // namespace polygrad::losses
