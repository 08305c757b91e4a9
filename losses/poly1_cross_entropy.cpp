// Poly-1 cross-entropy. Hard labels: the fused softmax engine (softmax_loss.h)
// with one of the row functions below, per row l = log Pt, q = 1 - Pt =
// -expm1(l) (precise when Pt -> 1), dq/dl = -Pt:
//   Both:             phi = w (-l + eps q)             g = -dphi/dl = w (1 + eps Pt)
//   CrossEntropyOnly: phi = -w l + eps q               g = w + eps Pt
//   RescaledPt:       phi = -w l + eps k (1 - Pt w/m)  g = w + eps k Pt w/m
// (m = mean(weight); k = weight sum / count, so that after the engine divides
// by the weight sum the eps term is averaged over the count; k = 1 for sum and
// none). Label smoothing and soft targets: the target-distribution engine
// (soft_targets.h) with Poly1TargetRow below, cross-entropy's target row
// (cross_entropy_row.h) plus the eps term, Pt = sum_j t_j p_j:
//   L = CE + eps k A (1 - B Pt)
//   dL/dz_j = (W + c Pt) p_j - t_j (w_j + c p_j),  c = eps k A B
// where (A, B) = (w_row, 1) for Both, (1, 1) for CrossEntropyOnly, (1, w_row /
// m) for RescaledPt, w_row = w_y (hard labels) or W = sum_j w_j t_j (soft), k as
// above for hard labels (1 for soft targets).
#include <polygrad/losses/poly1_cross_entropy.h>

#include <polygrad/core/vec_math.h>
#include <polygrad/losses/cross_entropy_row.h>
#include <polygrad/losses/registry.h>
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

// Target distributions (label smoothing, soft targets): cross-entropy's row
// plus eps k A (1 - B Pt). ek = eps k; wmean = m (1 without weights).
struct Poly1TargetRow {
  float ek;
  PolyWeighting weighting;
  bool weighted;
  double wmean;
  detail::CrossEntropyTargetRow ce;
  // What both directions use, computed once per row: CE's terms (CE, W),
  // 1 - Pt = sum_j t_j (1 - p_j) + (1 - sum_j t_j) (with 1 - p_j = -expm1(l_j),
  // so a confident row keeps its precision), Pt, A, B, c = eps k A B, W + c Pt.
  struct Terms {
    detail::CrossEntropyTargetRow::Terms ce;
    float q, pt, A, B, c, av;
  };
  Terms terms(const TargetRow &r) const {
    detail::CrossEntropyTargetRow::Terms k;
    float sumt = 0.f, q = 0.f;
    for (int64_t j = 0; j < r.C; ++j) { // one pass: the four sums' chains overlap
      ce.add_class(k, r.w[j], r.t[j], r.l(j));
      sumt += r.t[j];
      q -= r.t[j] * vm::vexpm1_le0(r.l(j));
    }
    const float one_minus_pt = q + (1.f - sumt), pt = 1.f - one_minus_pt;
    const float wrow = weighted ? (r.y < 0 ? k.W : r.w[r.y]) : 1.f;
    float A = 1.f, B = 1.f;
    if (weighting == PolyWeighting::Both)
      A = wrow;
    else if (weighting == PolyWeighting::RescaledPt)
      B = (float)(wrow / wmean);
    const float c = ek * A * B;
    return {k, one_minus_pt, pt, A, B, c, k.W + c * pt};
  }
  // forward: L = CE + eps k A (1 - B Pt); for B = 1 the precise 1 - Pt
  float forward(const Terms &k) const {
    const float poly = k.B == 1.f ? k.q : (1.f - k.B) + k.B * k.q;
    return ce.forward(k.ce) + ek * k.A * poly;
  }
  // backward: dL/dz_j = W p_j - w_j t_j - c p_j (t_j - Pt), since dPt/dz_j =
  // p_j (t_j - Pt); grouped as (W + c Pt) p_j - t_j (w_j + c p_j)
  float backward(const Terms &k, float p, float t, float w) const {
    return k.av * p - t * (w + k.c * p);
  }
  // backward w.r.t. the target: dL/dt_j = -w_j l_j + eps k [A'_j (1 - B Pt) -
  // A (B'_j Pt + B p_j)], A'_j = w_j when A = W (Both, weighted), B'_j = w_j / m
  // when B = W / m (RescaledPt, weighted); the engine applies dt/dtarget = 1 - ls.
  float backward_target(const Terms &k, float l, float w) const {
    const float p = vm::vexp_le0(l);
    const float Aj = weighted && weighting == PolyWeighting::Both ? w : 0.f;
    const float Bj = weighted && weighting == PolyWeighting::RescaledPt ? (float)(w / wmean) : 0.f;
    return ce.backward_target(k.ce, l, w) +
           ek * (Aj * (1.f - k.B * k.pt) - k.A * (Bj * k.pt + k.B * p));
  }
};

// RescaledPt's k = weight sum / count for the mean of hard labels, else 1.
double rescaled_k(const LabelStats &st, Reduction r) {
  return r == Reduction::Mean && st.count > 0 ? st.weight_sum / st.count : 1.0;
}

// sum_j w_j, in double
double weight_total(const Tensor &w) {
  double sw = 0;
  for (int64_t j = 0; j < w.numel(); ++j)
    sw += w.data<float>()[j];
  return sw;
}

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
  const bool weighted = o.weight.defined();
  if (soft || o.label_smoothing > 0.f) {
    if (input.defined() && input.dim() > 2) // (N, C, d1, ..., dk): as rows (soft_targets.h)
      return dense_as_rows(
          {"poly1_cross_entropy", "Poly1CrossEntropyBackward", input, target, o.weight,
           o.ignore_index, o.label_smoothing, o.reduction},
          [&](const Tensor &x, const Tensor &t) { return poly1_cross_entropy(x, t, o); });
    const TargetLossPlan plan =
        plan_target_loss({"poly1_cross_entropy", "Poly1CrossEntropyBackward", input, target,
                          o.weight, o.ignore_index, o.label_smoothing, o.reduction});
    const bool hard = !plan.soft;
    // CrossEntropyOnly averages over the count; k (RescaledPt): see above
    const double D = hard && o.weighting == PolyWeighting::CrossEntropyOnly
                         ? (double)plan.stats.count
                         : plan.mean_denominator;
    const double k =
        hard && o.weighting == PolyWeighting::RescaledPt ? rescaled_k(plan.stats, o.reduction) : 1;
    const double wmean = weighted ? weight_total(plan.weight) / input.size(1) : 1;
    return run_target_loss(
        plan, D, Poly1TargetRow{(float)(o.epsilon * k), o.weighting, weighted, wmean, {}});
  }
  const SoftmaxLossPlan plan =
      plan_softmax_loss({"poly1_cross_entropy", "Poly1CrossEntropyBackward", input, target,
                         o.weight, o.ignore_index, o.reduction});
  const float eps = o.epsilon;
  if (!weighted || o.weighting == PolyWeighting::Both)
    return run_softmax_loss(plan, plan.stats.weight_sum, rowwise(Poly1Row{eps}));
  if (o.weighting == PolyWeighting::CrossEntropyOnly)
    return run_softmax_loss(plan, (double)plan.stats.count, rowwise(Poly1CeOnlyRow{eps}));
  // RescaledPt
  const float inv_m = (float)(plan.weight.numel() / weight_total(plan.weight));
  const float ek = (float)(eps * rescaled_k(plan.stats, o.reduction));
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
