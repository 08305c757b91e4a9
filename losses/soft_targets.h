// The engine behind the softmax losses on target distributions: soft targets
// (float (N, C) probabilities) and/or label smoothing of hard labels, for
// cross_entropy and poly1_cross_entropy (the math of each is in its own file:
// cross_entropy_row.h, poly1_cross_entropy.cpp).
//
// Per row, with p = softmax(z) and l_j = log p_j, the loss depends on the
// logits through l and on the row's target distribution
//   t = (1 - ls) onehot(y) + ls / C    (hard label y, label smoothing ls)
//   t = (1 - ls) target + ls / C       (soft targets)
// so it cannot be reduced to one scalar per row as in softmax_loss.h: the
// loss's row function receives the whole row (t, l, p, the class weights w)
// and gives the loss, dL/dz_j and (soft targets that require grad) dL/dt_j.
// The engine does the rest: validation, the stable softmax (max, e = exp(z -
// max), lse = max + log1p(sum of the non-max terms), which keeps log p of a
// confident class precise), ignored rows, the chain rule through smoothing
// (dt_j/dtarget_j = 1 - ls), the reduction (scale 1/D folded into the
// gradient), OpenMP over rows and the graph node. Like softmax_loss.h, the
// gradient is ready when the forward returns; backward only scales it.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <polygrad/core/vec_math.h>
#include <polygrad/losses/common.h>

namespace polygrad::losses {

// One row as the engine hands it to the loss's row function.
struct TargetRow {
  int64_t C;      // classes
  const float *t; // the target distribution t_j
  const float *z; // the logits
  float lse;      // logsumexp(z)
  const float *e; // e_j = exp(z_j - max z), so p_j = e_j inv_s
  float inv_s;    // 1 / sum_j e_j
  const float *w; // class weights w_j (all ones without weights)
  int64_t y;      // the hard label, or -1 for soft targets
  float *gz, *gt; // where dL/dz and dL/dt go (null: not needed); gz may be e
  float l(int64_t j) const { return z[j] - lse; } // log p_j
};

struct TargetLossArgs {
  const char *op = "";        // for error messages, e.g. "cross_entropy"
  const char *node_name = ""; // the grad_fn's name, e.g. "CrossEntropyBackward"
  Tensor input{};             // (N, C) float logits
  Tensor target{};            // (N) int64 class ids or (N, C) float probabilities
  Tensor weight{};            // (C) class weights, or undefined
  int64_t ignore_index = -100;
  float label_smoothing = 0.f;
  Reduction reduction = Reduction::Mean;
};

// Step 1: validate the arguments and scan the labels.
struct TargetLossPlan {
  TargetLossArgs args;
  Tensor weight;    // contiguous, or undefined
  bool soft;        // float targets (else hard labels, smoothed)
  LabelStats stats; // hard labels: weight sum and count of the non-ignored labels
  // D as PyTorch's cross_entropy: N for soft targets, else stats.weight_sum
  double mean_denominator;
};
TargetLossPlan plan_target_loss(const TargetLossArgs &args);

// K-dimensional inputs (PyTorch's cross_entropy semantics): logits (N, C, d1,
// ..., dk) with int64 labels (N, d1, ..., dk) or float probabilities shaped
// like the input. Not native to this engine: after validating the arguments
// here (so errors name the K-dimensional shapes), the input and a soft target
// become rows, (N S, C) with S = d1 ... dk, through differentiable views
// (permute(0, 2, ..., k+1, 1) then reshape: one copy of each, and the same
// way back for their gradients), labels become (N S); rows(input, target)
// computes the (N, C) loss and reduction none's per-row losses come back as
// (N, d1, ..., dk). Every mean is then PyTorch's: hard labels divide by the
// weight sum of the non-ignored positions, soft targets by N S.
Tensor dense_as_rows(const TargetLossArgs &args,
                     const std::function<Tensor(const Tensor &, const Tensor &)> &rows);

// The state of one pass: inputs, outputs, constants (soft_targets.cpp), and
// the per-row work that is the same for every loss (prepare, inline below:
// as an out-of-line call per row it cost 3 % at C = 10).
class TargetPass {
public:
  TargetPass(const TargetLossPlan &plan, double mean_denominator);
  int64_t N, C;
  float scale;        // 1/D for the mean, else 1
  float one_minus_ls; // dt_j/dtarget_j
  float *row_loss;    // (N)
  // Row i: the target distribution and the stable softmax (e, 1/s, lse),
  // into `scratch` (2 C floats, one per thread) and r. Returns false for an
  // ignored hard label, whose loss and gradient it has written.
  bool prepare(int64_t i, float *scratch, TargetRow &r) const;
  // body(begin, end, scratch) over ranges of rows, one per OpenMP thread.
  void for_rows(const std::function<void(int64_t, int64_t, float *)> &body) const;
  // The reduction and the graph node.
  Tensor finish();

private:
  TargetLossPlan plan_;
  double D_;
  Tensor x_, target_, G_, GT_, rows_;
  std::vector<float> ones_;
  const float *z_, *T_, *w_;
  const int64_t *Y_;
  float *pG_, *pGT_;
};

// Row i's target distribution and stable softmax, or its ignored-row outputs.
inline bool TargetPass::prepare(int64_t i, float *scratch, TargetRow &r) const {
  const bool soft = plan_.soft;
  const float ls = plan_.args.label_smoothing;
  const float *row = z_ + i * C;
  float *gr = pG_ ? pG_ + i * C : nullptr;
  int64_t y = -1;
  if (!soft) {
    y = Y_[i];
    if (y == plan_.args.ignore_index) { // nothing: loss, gradient and D all skip it
      row_loss[i] = 0.f;
      if (gr) {
        // PyTorch's gradient here is log_softmax's backward of a zero
        // upstream, 0 - p_j * 0: 0, but NaN on a row whose softmax is NaN
        // (a NaN or +inf logit), as the hard-label engine's (g / s) e_j
        float mx = row[0];
        for (int64_t j = 1; j < C; ++j)
          mx = row[j] > mx ? row[j] : mx;
        float s = 0.f;
        for (int64_t j = 0; j < C; ++j)
          s += vm::vexp_le0(row[j] - mx);
        std::fill(gr, gr + C, 0.f / s);
      }
      return false;
    }
  }
  float *tbuf = scratch, *ebuf = scratch + C;
  // the target distribution t of this row
  const float *t;
  if (soft && ls == 0.f) {
    t = T_ + i * C;
  } else {
    for (int64_t j = 0; j < C; ++j)
      tbuf[j] = soft ? (1.f - ls) * T_[i * C + j] + ls / C : (j == y ? 1.f - ls : 0.f) + ls / C;
    t = tbuf;
  }
  // stable softmax: e = exp(z - max); lse = max + log1p(sum of the non-max
  // terms), which keeps log p of a confident class precise
  float mx = row[0];
  int64_t jm = 0;
  for (int64_t j = 1; j < C; ++j)
    if (row[j] > mx)
      mx = row[j], jm = j;
  float *er = gr ? gr : ebuf;
  float rest = 0.f;
  for (int64_t j = 0; j < C; ++j) {
    er[j] = vm::vexp_le0(row[j] - mx);
    rest += j == jm ? 0.f : er[j];
  }
  // e_jm = 1, or NaN when the max is +inf (inf - inf): then log p and p are
  // NaN on the whole row, as PyTorch's log_softmax gives
  const float top = er[jm];
  const float s = top + rest, lse = top == 1.f ? mx + std::log1p(rest) : NAN;
  r = {C, t, row, lse, er, 1.f / s, w_, y, gr, pGT_ ? pGT_ + i * C : nullptr};
  return true;
}

// A loss's row written as its math reads, forward next to backward: the
// per-row sums both directions use, then the loss, dL/dz_j and dL/dt_j:
//   struct Row {
//     struct Terms { ... };
//     Terms terms(const TargetRow &r) const;     // e.g. sum_j w_j t_j l_j
//     float forward(const Terms &) const;        // L
//     float backward(const Terms &, float p_j, float t_j, float w_j) const; // dL/dz_j
//     float backward_target(const Terms &, float l_j, float w_j) const;     // dL/dt_j
//   };
// Step 2: the pass over the rows, OpenMP over rows, with the row function
// inlined. `mean_denominator` is D for Reduction::Mean; ignored for none/sum.
// Returns the reduced loss (0-d) or the per-row losses (N), recorded as one
// graph node when the input (or the soft target) requires grad; the gradient
// is scale dL/dz (and scale (1 - ls) dL/dt, the chain rule through smoothing).
template <class Row>
Tensor run_target_loss(const TargetLossPlan &plan, double mean_denominator, const Row &f) {
  TargetPass pass(plan, mean_denominator);
  const int64_t C = pass.C;
  const float scale = pass.scale, dt = pass.one_minus_ls;
  pass.for_rows([&](int64_t b, int64_t e, float *scratch) {
    for (int64_t i = b; i < e; ++i) {
      TargetRow r;
      if (!pass.prepare(i, scratch, r))
        continue;
      const auto k = f.terms(r);
      if (r.gz)
        for (int64_t j = 0; j < C; ++j)
          r.gz[j] = f.backward(k, r.e[j] * r.inv_s, r.t[j], r.w[j]) * scale;
      if (r.gt)
        for (int64_t j = 0; j < C; ++j)
          r.gt[j] = f.backward_target(k, r.l(j), r.w[j]) * dt * scale;
      pass.row_loss[i] = f.forward(k);
    }
  });
  return pass.finish();
}

} // namespace polygrad::losses
