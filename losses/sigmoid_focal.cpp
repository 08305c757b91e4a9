// Sigmoid focal loss and Poly-1 sigmoid focal loss: one element-wise pass
// (pointwise_loss.h). Per element (formulas in sigmoid_focal.h):
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

// q^gamma: G = 0, 1, 2 exactly; G = 3 any gamma, as exp(gamma log q) (0 at q = 0).
template <int G> inline float qpow(float q, float gamma) {
  if constexpr (G == 0)
    return 1.f;
  else if constexpr (G == 1)
    return q;
  else if constexpr (G == 2)
    return q * q;
  else
    return vm::vexp_le0(gamma * vm::vlog(q)); // gamma log q <= 0
}

template <int G, bool HasPW>
void sigmoid_focal_block(const SigmoidFocalParams &P, const float *X, const float *T,
                         const float *PW, int64_t b, int64_t e, float scale, float *loss,
                         float *gx) {
  const bool use_alpha = P.alpha >= 0.f;
  for (int64_t i = b; i < e; ++i) {
    float pw = 1.f; // a template flag, not `PW ? PW[i] : 1` (keeps the loop vectorised)
    if constexpr (HasPW)
      pw = PW[i];
    const float ti = T[i];
    const detail::BceElem be = detail::bce_elem(X[i], ti, pw);
    const float p = be.p, np = be.np, ce = be.loss;
    const float q = ti * np + (1.f - ti) * p; // 1 - p_t
    const float qg = qpow<G>(q, P.gamma);
    const float at = use_alpha ? P.alpha * ti + (1.f - P.alpha) * (1.f - ti) : 1.f;
    const float ep = P.eps * (P.alpha_on_poly ? at : 1.f);
    loss[i - b] = at * ce * qg + ep * qg * q;
    if (gx) {
      // d/dx [at ce q^g + ep q^(g+1)] = at q^g (dce + g ce (1-2t) [p(1-p)/q])
      //                                + ep (g+1) q^g (1-2t) p(1-p)
      const float pnp = p * np, s12 = 1.f - 2.f * ti;
      const float ratio = q > 0.f ? pnp / q : 0.f;
      gx[i] = scale * (at * qg * (be.dx + P.gamma * ce * s12 * ratio) +
                       ep * (P.gamma + 1.f) * qg * s12 * pnp);
    }
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
  const SigmoidFocalParams P = prm;
  return run_pointwise_loss(
      {op, node, input, targets, reduction, false, (double)input.numel()},
      [=](int64_t b, int64_t e, float scale, float *loss, float *gx, float *) {
        // q^gamma without exp/log for the common integer gammas
        const int g = P.gamma == 0.f ? 0 : P.gamma == 1.f ? 1 : P.gamma == 2.f ? 2 : 3;
        if (PW) {
          switch (g) {
          case 0:
            return sigmoid_focal_block<0, true>(P, X, T, PW, b, e, scale, loss, gx);
          case 1:
            return sigmoid_focal_block<1, true>(P, X, T, PW, b, e, scale, loss, gx);
          case 2:
            return sigmoid_focal_block<2, true>(P, X, T, PW, b, e, scale, loss, gx);
          default:
            return sigmoid_focal_block<3, true>(P, X, T, PW, b, e, scale, loss, gx);
          }
        }
        switch (g) {
        case 0:
          return sigmoid_focal_block<0, false>(P, X, T, PW, b, e, scale, loss, gx);
        case 1:
          return sigmoid_focal_block<1, false>(P, X, T, PW, b, e, scale, loss, gx);
        case 2:
          return sigmoid_focal_block<2, false>(P, X, T, PW, b, e, scale, loss, gx);
        default:
          return sigmoid_focal_block<3, false>(P, X, T, PW, b, e, scale, loss, gx);
        }
      });
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
