// The fused engine behind every hard-label softmax loss (cross-entropy,
// Poly-1, Poly-N, focal, Poly-1 focal, and losses you add yourself, see
// docs/adding-a-loss.md).
//
// Such a loss depends on the logits z of row i only through
//     l = log Pt = z_y - logsumexp(z)        (the log-softmax at the label y)
// and the label's class weight w = weight[y]:   L_i = phi(l, w).
// Since dl/dz_j = onehot_j(y) - p_j with p = softmax(z),
//     dL_i/dz_j = -phi'(l) (onehot_j - p_j) = g (p_j - onehot_j),  g = -dphi/dl,
// so the whole backward is one scalar g per row. The engine makes one pass
// over each row: max, e = exp(z - max) (written straight into the gradient
// buffer), rest = sum_{j != y} e_j, l = z_y - max - log(e_y + rest) (or
// -log1p(rest) when the label holds the max, so 1 - Pt keeps its digits on
// confident rows), then your phi gives loss and g, and the row of the gradient
// becomes (g / D) (e / s - onehot(y)), where D is the mean's denominator (1
// for sum/none). The gradient is thus ready when the forward returns
// (computing it then costs one multiply per element on data still in L1;
// recomputing exp in backward would cost a second pass over the logits);
// backward only scales it by the upstream gradient. Rows are split across
// OpenMP threads; phi runs on blocks of up to 256 rows so your loop over the
// block vectorises.
//
// K-dimensional inputs, as PyTorch's cross_entropy: logits (N, C, d1, ...,
// dk) with labels (N, d1, ..., dk). Every position (n, d1, ..., dk) is a row
// of the math above, its logits z[n, :, d1, ..., dk] at class stride S = d1
// ... dk. The engine runs them in place, in blocks of up to 256 contiguous
// positions of one sample: classes in the outer loop, positions in the inner
// (vectorised) one, the gradient written in the input's layout; the per-row
// stage (log Pt, phi, masking, the gradient's factors) is the same code for
// both layouts. Reduction none gives the losses in the labels' shape; mean
// divides by the weight sum over every non-ignored position.
#pragma once

#include <functional>

#include <polygrad/losses/common.h>

namespace polygrad::losses {

// phi on a block of n rows: for k < n,
//   loss[k] = phi(logpt[k], w[k]),  g[k] = -dphi/dlogpt at (logpt[k], w[k]).
// w[k] is the label's class weight (1 without weights). Rows whose label is
// ignored are masked by the engine (their values are discarded).
using RowLossFn =
    std::function<void(const float *logpt, const float *w, int64_t n, float *loss, float *g)>;

// A loss's row function, written as its math reads: forward phi and its
// backward g = -dphi/dl side by side (the engine turns g into dL/dz):
//   struct GceRow {
//     float q;
//     float forward(float l, float w) const { return -w * expm1(q l) / q; }
//     float backward(float l, float w) const { return w * exp(q l); }
//   };
//   run_softmax_loss(plan, plan.stats.weight_sum, rowwise(GceRow{q}));
// When both directions need the same costly terms (exp, log), the row says
// so: Terms terms(float l) is computed once per row and handed to
// forward(terms, l, w) and backward(terms, w). rowwise() makes a RowLossFn of
// it: a plain loop that GCC inlines the row into and vectorises. A functor
// f(float logpt, float w, float &loss, float &g) that computes both at once
// is accepted too.
template <class F> RowLossFn rowwise(F f) {
  return [f](const float *logpt, const float *w, int64_t n, float *loss, float *g) {
    for (int64_t k = 0; k < n; ++k) {
      const float l = logpt[k];
      if constexpr (requires { f.terms(l); }) {
        const auto t = f.terms(l);
        loss[k] = f.forward(t, l, w[k]);
        g[k] = f.backward(t, w[k]);
      } else if constexpr (requires { f.backward(l, w[k]); }) {
        loss[k] = f.forward(l, w[k]);
        g[k] = f.backward(l, w[k]);
      } else {
        f(l, w[k], loss[k], g[k]);
      }
    }
  };
}

struct SoftmaxLossArgs {
  const char *op = "";        // for error messages, e.g. "poly1_cross_entropy"
  const char *node_name = ""; // the grad_fn's name, e.g. "Poly1CrossEntropyBackward"
  Tensor input{};             // (N, C) or (N, C, d1, ..., dk) float logits
  Tensor labels{};            // (N) or (N, d1, ..., dk) int64 class ids
  Tensor weight{};            // (C) class weights, or undefined
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::Mean;
};

// Step 1: validate the arguments and scan the labels.
struct SoftmaxLossPlan {
  SoftmaxLossArgs args;
  Tensor input, labels, weight; // contiguous
  LabelStats stats;             // weight sum and count of the non-ignored labels
  int64_t positions = 1;        // S = d1 ... dk per sample (1 for (N, C))
};
SoftmaxLossPlan plan_softmax_loss(const SoftmaxLossArgs &args);

// Step 2: the fused pass. `mean_denominator` is D for Reduction::Mean
// (usually plan.stats.weight_sum, as PyTorch's cross_entropy); ignored for
// none/sum. Returns the reduced loss (0-d) or the per-row losses (N) (per
// position, (N, d1, ..., dk), for a K-dimensional input), recorded as one
// graph node when the input requires grad.
Tensor run_softmax_loss(const SoftmaxLossPlan &plan, double mean_denominator, const RowLossFn &phi);

} // namespace polygrad::losses
