// Sigmoid focal loss and Poly-1 sigmoid focal loss: one element-wise pass
// (pointwise_loss.h) with SigmoidFocalElem below. Per element (formulas in
// sigmoid_focal.h), with ce = bce(x, t) (bce_elem.h):
//   forward   L = a_t ce q^gamma + b q^(gamma+1),  b = eps a_t (alpha_on_poly) or eps
//   backward  dL/dx = a_t q^gamma (dce/dx + gamma ce (1 - 2t) [p (1 - p) / q])
//                     + b (gamma + 1) q^gamma (1 - 2t) p (1 - p)
// where
//   e = exp(-|x|), p = sigmoid(x), 1 - p = sigmoid(-x) (both without cancellation),
//   log p = min(x, 0) - log1p(e), log(1 - p) = min(-x, 0) - log1p(e),
//   q = 1 - p_t = t (1 - p) + (1 - t) p   (a sum of non-negative terms),
//   q^gamma = exp(gamma log q).
// Derivative: dq/dx = (1 - 2t) p (1 - p), and d(q^gamma)/dx = gamma q^gamma
// (1 - 2t) [p (1 - p) / q]; the bracket is <= 1 (q >= min(p, 1-p) >= p (1-p)),
// and is set to 0 where q = 0 (then q^gamma = 0 for gamma > 0, and the gamma
// factor is 0 for gamma = 0), so no q^(gamma-1) is ever formed.
#include <polygrad/losses/sigmoid_focal.h>

#include <cmath>

#include <polygrad/core/kernels.h>
#include <polygrad/core/vec_math.h>
#include <polygrad/losses/bce.h>
#include <polygrad/losses/bce_elem.h>
#include <polygrad/losses/pointwise_loss.h>
#include <polygrad/losses/registry.h>

namespace polygrad::losses {

namespace {
void check_focal_params(const char *op, float alpha, float gamma) {
  PG_CHECK(alpha <= 1.f, op, ": alpha must be in [0, 1] (or < 0 to disable), got ", alpha);
  PG_CHECK(gamma >= 0.f, op, ": gamma must be >= 0, got ", gamma);
}

struct SigmoidFocalParams {
  float eps, alpha, gamma;
  bool alpha_on_poly;
};

// q^gamma for any gamma, exp(gamma log q) (0 at q = 0). Out of line, so the
// loop of a non-integer gamma stays scalar as it always was and its results
// stay bitwise the same (inlined, GCC vectorises that loop: ~12x faster, with
// differences of a few ulp).
[[gnu::noinline]] float qpow_any(float q, float gamma) {
  return vm::vexp_le0(gamma * vm::vlog(q)); // gamma log q <= 0
}

// q^gamma: G = 0, 1, 2 exactly; G = 3 any gamma.
template <int G> inline float qpow(float q, float gamma) {
  if constexpr (G == 0)
    return 1.f;
  else if constexpr (G == 1)
    return q;
  else if constexpr (G == 2)
    return q * q;
  else
    return qpow_any(q, gamma);
}

// One element; G selects q^gamma's form (qpow), HasPW whether pos_weight is
// given (a template flag: `PW ? PW[i] : 1` would keep the loop from vectorising).
template <int G, bool HasPW> struct SigmoidFocalElem {
  SigmoidFocalParams P;
  const float *PW;
  // What both directions use, computed once per element: t, p, 1 - p, BCE's
  // ce and dce/dx (bce_elem.h), q = 1 - p_t, q^gamma, a_t (1 without alpha)
  // and b (ep). Plain floats, so the loop keeps them in registers.
  struct Terms {
    float t, p, np, ce, dce, q, qg, at, ep;
  };
  Terms terms(float x, float t, int64_t i) const {
    float pw = 1.f;
    if constexpr (HasPW)
      pw = PW[i];
    const detail::BceElem be = detail::bce_elem(x, t, pw);
    const float q = t * be.np + (1.f - t) * be.p; // 1 - p_t
    const float at = P.alpha >= 0.f ? P.alpha * t + (1.f - P.alpha) * (1.f - t) : 1.f;
    return {t,
            be.p,
            be.np,
            be.forward(),
            be.backward(),
            q,
            qpow<G>(q, P.gamma),
            at,
            P.eps * (P.alpha_on_poly ? at : 1.f)};
  }
  // forward: L = a_t ce q^gamma + b q^(gamma+1)
  float forward(const Terms &k) const { return k.at * k.ce * k.qg + k.ep * k.qg * k.q; }
  // backward: g dL/dx = g (a_t q^gamma (dce/dx + gamma ce (1-2t) [p(1-p)/q])
  //                        + b (gamma+1) q^gamma (1-2t) p(1-p))   ([p(1-p)/q] = 0 at q = 0)
  float backward_input(float g, const Terms &k) const {
    const float pnp = k.p * k.np, s12 = 1.f - 2.f * k.t;
    const float ratio = k.q > 0.f ? pnp / k.q : 0.f;
    return g * (k.at * k.qg * (k.dce + P.gamma * k.ce * s12 * ratio) +
                k.ep * (P.gamma + 1.f) * k.qg * s12 * pnp);
  }
};

// q^gamma without exp/log for the common integer gammas
template <bool HasPW>
PointwiseBody sigmoid_focal_body(const SigmoidFocalParams &P, const float *X, const float *T,
                                 const float *PW) {
  switch (P.gamma == 0.f ? 0 : P.gamma == 1.f ? 1 : P.gamma == 2.f ? 2 : 3) {
  case 0:
    return elementwise(X, T, SigmoidFocalElem<0, HasPW>{P, PW});
  case 1:
    return elementwise(X, T, SigmoidFocalElem<1, HasPW>{P, PW});
  case 2:
    return elementwise(X, T, SigmoidFocalElem<2, HasPW>{P, PW});
  default:
    return elementwise(X, T, SigmoidFocalElem<3, HasPW>{P, PW});
  }
}

Tensor run_sigmoid_focal(const char *op, const char *node, const Tensor &input,
                         const Tensor &targets, const SigmoidFocalParams &prm,
                         const Tensor &pos_weight, Reduction reduction) {
  check_reduction(op, reduction);
  check_same_shape(op, "targets", input, targets);
  if (prm.gamma == 0.f && prm.alpha < 0.f && prm.eps == 0.f) {
    // exactly binary cross-entropy: take its kernel, so the reduction is exact
    // to the bit (not just up to a different FMA contraction of the same sum)
    PG_CHECK(!(is_grad_enabled() && targets.requires_grad()), op,
             ": gradients w.r.t. the target are not supported; pass target.detach()");
    return binary_cross_entropy_with_logits(input, targets,
                                            {.pos_weight = pos_weight, .reduction = reduction});
  }
  const Tensor x = kernel::contiguous(input), t = kernel::contiguous(targets);
  const Tensor pwt = broadcast_to(op, "pos_weight", pos_weight, input.shape());
  const float *X = x.data<float>(), *T = t.data<float>();
  const float *PW = pwt.defined() ? pwt.data<float>() : nullptr;
  return run_pointwise_loss({op, node, input, targets, reduction, false, (double)input.numel()},
                            PW ? sigmoid_focal_body<true>(prm, X, T, PW)
                               : sigmoid_focal_body<false>(prm, X, T, PW));
}
} // namespace

void check_options(const SigmoidFocalLossOptions &o) {
  check_reduction("sigmoid_focal_loss", o.reduction);
  check_focal_params("sigmoid_focal_loss", o.alpha, o.gamma);
}

void check_options(const Poly1SigmoidFocalLossOptions &o) {
  check_reduction("poly1_sigmoid_focal_loss", o.reduction);
  check_focal_params("poly1_sigmoid_focal_loss", o.alpha, o.gamma);
  PG_CHECK(o.epsilon >= -1.f, "poly1_sigmoid_focal_loss: epsilon must be >= -1, got ", o.epsilon);
}

Tensor sigmoid_focal_loss(const Tensor &input, const Tensor &targets,
                          const SigmoidFocalLossOptions &o) {
  check_options(o);
  return run_sigmoid_focal("sigmoid_focal_loss", "SigmoidFocalLossBackward", input, targets,
                           {0.f, o.alpha, o.gamma, false}, Tensor(), o.reduction);
}

namespace {
Series sigmoid_focal_series(const SigmoidFocalLossOptions &o, int n) { // target 1: alpha_t = alpha
  return log_series(n, o.alpha < 0 ? 1.0 : o.alpha, 1 + o.gamma);
}
} // namespace

PG_REGISTER_LOSS(sigmoid_focal_loss,
                 {.name = "sigmoid_focal",
                  .aliases = {"sigmoid_focal_loss"},
                  .kind = LossKind::Sigmoid,
                  .formula = "per element: alpha_t bce(x, t) (1-p_t)^gamma"},
                 sigmoid_focal_series);

Tensor poly1_sigmoid_focal_loss(const Tensor &input, const Tensor &targets,
                                const Poly1SigmoidFocalLossOptions &o) {
  check_options(o);
  return run_sigmoid_focal("poly1_sigmoid_focal_loss", "Poly1SigmoidFocalLossBackward", input,
                           targets, {o.epsilon, o.alpha, o.gamma, o.alpha_on_poly}, o.pos_weight,
                           o.reduction);
}

namespace {
Series poly1_sigmoid_focal_series(const Poly1SigmoidFocalLossOptions &o, int n) { // target 1
  const double at = o.alpha < 0 ? 1.0 : o.alpha;
  Series s = log_series(n, at, 1 + o.gamma);
  s.coefficients[0] += o.epsilon * (o.alpha_on_poly ? at : 1.0);
  return s;
}
} // namespace

PG_REGISTER_LOSS(poly1_sigmoid_focal_loss,
                 {.name = "poly1_sigmoid_focal",
                  .aliases = {"poly1_sigmoid_focal_loss"},
                  .kind = LossKind::Sigmoid,
                  .formula = "per element: alpha_t bce(x, t) (1-p_t)^gamma + epsilon [alpha_t if "
                             "alpha_on_poly] (1-p_t)^(gamma+1)"},
                 poly1_sigmoid_focal_series);

} // namespace polygrad::losses
