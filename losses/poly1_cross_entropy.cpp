// Poly-1 cross-entropy. Hard labels: the fused softmax engine (softmax_loss.h)
// with one of the row functions below, per row l = log Pt, q = 1 - Pt =
// -expm1(l) (precise when Pt -> 1), dq/dl = -Pt:
//   Both:             phi = w (-l + eps q)             g = -dphi/dl = w (1 + eps Pt)
//   CrossEntropyOnly: phi = -w l + eps q               g = w + eps Pt
//   RescaledPt:       phi = -w l + eps k (1 - Pt w/m)  g = w + eps k Pt w/m
// (m = mean(weight); k = weight sum / count, so that after the engine divides
// by the weight sum the eps term is averaged over the count; k = 1 for sum and
// none). Label smoothing and soft targets: the target-distribution engine
// (soft_targets.h) with Poly1TargetRow below.
#include <polygrad/losses/poly1_cross_entropy.h>

#include <polygrad/core/vec_math.h>
#include <polygrad/losses/registry.h>
#include <polygrad/losses/soft_targets.h>
#include <polygrad/losses/softmax_loss.h>

namespace polygrad::losses {

namespace {

// What both directions of every hard-label row use, computed once per row:
// q = 1 - Pt = -expm1(l) and Pt = e^l.
struct PtTerms {
  float q, pt;
};
PtTerms pt_terms(float l) { return {-vm::vexpm1_le0(l), vm::vexp_le0(l)}; }

// PolyWeighting::Both (and every weighting without class weights)
struct Poly1Row {
  float eps;
  PtTerms terms(float l) const { return pt_terms(l); }
  // forward: phi = w (-log Pt + eps (1 - Pt))
  float forward(const PtTerms &t, float l, float w) const { return w * (-l + eps * t.q); }
  // backward: g = -dphi/dl = w (1 + eps Pt)
  float backward(const PtTerms &t, float w) const { return w * (1.f + eps * t.pt); }
};

// PolyWeighting::CrossEntropyOnly (mean over the count)
struct Poly1CeOnlyRow {
  float eps;
  PtTerms terms(float l) const { return pt_terms(l); }
  // forward: phi = -w log Pt + eps (1 - Pt)
  float forward(const PtTerms &t, float l, float w) const { return -w * l + eps * t.q; }
  // backward: g = -dphi/dl = w + eps Pt
  float backward(const PtTerms &t, float w) const { return w + eps * t.pt; }
};

// PolyWeighting::RescaledPt: ek = eps k, inv_m = 1 / mean(weight)
struct Poly1RescaledRow {
  float ek, inv_m;
  PtTerms terms(float l) const { return pt_terms(l); }
  // forward: phi = -w log Pt + eps k (1 - b Pt), b = w / m, written as
  // (1 - b) + b q so that b = 1 keeps q's digits
  float forward(const PtTerms &t, float l, float w) const {
    const float b = w * inv_m;
    return -w * l + ek * ((1.f - b) + b * t.q);
  }
  // backward: g = -dphi/dl = w + eps k b Pt
  float backward(const PtTerms &t, float w) const {
    const float b = w * inv_m;
    return w + ek * b * t.pt;
  }
};

} // namespace

const char *weighting_name(PolyWeighting w) {
  switch (w) {
  case PolyWeighting::Both:
    return "both";
  case PolyWeighting::CrossEntropyOnly:
    return "ce_only";
  case PolyWeighting::RescaledPt:
    return "rescaled_pt";
  }
  return "?";
}

void check_options(const Poly1CrossEntropyOptions &o) {
  check_reduction("poly1_cross_entropy", o.reduction);
  PG_CHECK(o.epsilon >= -1.f, "poly1_cross_entropy: epsilon must be >= -1 (below, the loss ",
           "rewards lower confidence near Pt = 1), got ", o.epsilon);
  PG_CHECK(o.label_smoothing >= 0.f && o.label_smoothing <= 1.f,
           "poly1_cross_entropy: label_smoothing must be in [0, 1], got ", o.label_smoothing);
  PG_CHECK(o.weighting == PolyWeighting::Both || o.weighting == PolyWeighting::CrossEntropyOnly ||
               o.weighting == PolyWeighting::RescaledPt,
           "poly1_cross_entropy: invalid weighting; valid: both, ce_only, rescaled_pt");
}

Tensor poly1_cross_entropy(const Tensor &input, const Tensor &target,
                           const Poly1CrossEntropyOptions &o) {
  check_options(o);
  const bool soft = target.defined() && target.dtype() == DType::Float32;
  if (soft || o.label_smoothing > 0.f)
    return soft_target_poly1({"poly1_cross_entropy", "Poly1CrossEntropyBackward", input, target,
                              o.weight, o.ignore_index, o.label_smoothing, o.reduction, o.epsilon,
                              o.weighting});
  const SoftmaxLossPlan plan =
      plan_softmax_loss({"poly1_cross_entropy", "Poly1CrossEntropyBackward", input, target,
                         o.weight, o.ignore_index, o.reduction});
  const float eps = o.epsilon;
  const bool weighted = o.weight.defined();
  if (!weighted || o.weighting == PolyWeighting::Both)
    return run_softmax_loss(plan, plan.stats.weight_sum, rowwise(Poly1Row{eps}));
  if (o.weighting == PolyWeighting::CrossEntropyOnly)
    return run_softmax_loss(plan, (double)plan.stats.count, rowwise(Poly1CeOnlyRow{eps}));
  // RescaledPt
  const Tensor wc = plan.weight;
  double sw = 0;
  for (int64_t j = 0; j < wc.numel(); ++j)
    sw += wc.data<float>()[j];
  const float inv_m = (float)(wc.numel() / sw);
  // k = weight sum / count only for the mean (see the header comment above)
  const bool mean = o.reduction == Reduction::Mean && plan.stats.count > 0;
  const float ek = (float)(eps * (mean ? plan.stats.weight_sum / plan.stats.count : 1.0));
  return run_softmax_loss(plan, plan.stats.weight_sum, rowwise(Poly1RescaledRow{ek, inv_m}));
}

namespace {
Series poly1_series(const Poly1CrossEntropyOptions &o, int n) { // 1 + eps, 1/2, 1/3, ...
  Series s = log_series(n);
  s.coefficients[0] += o.epsilon;
  return s;
}
} // namespace

PG_REGISTER_LOSS(poly1_cross_entropy,
                 {.name = "poly1",
                  .aliases = {"poly1_ce", "poly1_cross_entropy"},
                  .kind = LossKind::Softmax,
                  .formula = "w_y (-log Pt + epsilon (1-Pt))"},
                 poly1_series);

} // namespace polygrad::losses
