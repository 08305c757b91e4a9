// Cross-entropy / Poly-1 with target distributions (soft targets, label
// smoothing). See soft_targets.h for the formulas; derivations inline.
#include <polygrad/losses/soft_targets.h>

#include <cmath>
#include <vector>

#include <polygrad/autograd/node.h>
#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/vec_math.h>
#include <polygrad/losses/loss_node.h>

namespace polygrad::losses {

Tensor soft_target_poly1(const SoftPoly1Args &a) {
  check_logits(a.op, a.input);
  check_reduction(a.op, a.reduction);
  const int64_t N = a.input.size(0), C = a.input.size(1);
  check_class_vector(a.op, "weight", a.weight, C);
  const bool soft = a.target.defined() && a.target.dtype() == DType::Float32;
  const Tensor w = a.weight.defined() ? kernel::contiguous(a.weight) : Tensor();
  const float *pw = w.defined() ? w.data<float>() : nullptr;
  LabelStats stats;
  if (soft)
    check_same_shape(a.op, "target probabilities", a.input, a.target);
  else
    stats = scan_labels(a.op, a.input, a.target, pw, a.ignore_index);
  const float ls = a.label_smoothing;
  // the weights as a plain array (ones without weights): `pw ? pw[j] : 1`
  // inside the per-class loops would keep them from vectorising
  std::vector<float> ones(pw ? 0 : C, 1.f);
  const float *wv = pw ? pw : ones.data();
  double wmean = 1;
  if (pw) {
    double sw = 0;
    for (int64_t j = 0; j < C; ++j)
      sw += pw[j];
    wmean = sw / C;
  }
  // Mean's denominator D and the eps term's extra factor k (see header).
  double D = soft ? (double)N : stats.weight_sum;
  double k = 1;
  if (!soft && a.weighting == PolyWeighting::CrossEntropyOnly)
    D = (double)stats.count;
  if (!soft && a.weighting == PolyWeighting::RescaledPt && a.reduction == Reduction::Mean)
    k = stats.count ? stats.weight_sum / (double)stats.count : 1.0;
  const float scale = a.reduction == Reduction::Mean ? (float)(1.0 / D) : 1.f;
  const float ek = (float)(a.epsilon * k);

  const Tensor x = kernel::contiguous(a.input);
  const Tensor tg = kernel::contiguous(a.target);
  const float *z = x.data<float>();
  const float *T = soft ? tg.data<float>() : nullptr;
  const int64_t *Y = soft ? nullptr : tg.data<int64_t>();
  const bool need_x = needs_grad({a.input});
  const bool need_t = soft && needs_grad({a.target}) && a.target.requires_grad();
  Tensor G = need_x ? Tensor::empty({N, C}) : Tensor();
  Tensor GT = need_t ? Tensor::empty({N, C}) : Tensor();
  Tensor rows = Tensor::empty({N});
  float *pG = need_x ? G.data<float>() : nullptr, *pGT = need_t ? GT.data<float>() : nullptr;
  float *prow = rows.data<float>();

  kernel::parallel_range(N, N * C * 8, [&](int64_t b, int64_t e) {
    std::vector<float> tbuf(C), ebuf(C), lbuf(C);
    for (int64_t i = b; i < e; ++i) {
      const float *row = z + i * C;
      float *gr = pG ? pG + i * C : nullptr;
      float *gtr = pGT ? pGT + i * C : nullptr;
      int64_t y = -1;
      if (!soft) {
        y = Y[i];
        if (y == a.ignore_index) { // nothing: loss, gradient and D all skip it
          prow[i] = 0.f;
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
          continue;
        }
      }
      // the target distribution t of this row
      const float *t;
      if (soft && ls == 0.f) {
        t = T + i * C;
      } else {
        for (int64_t j = 0; j < C; ++j)
          tbuf[j] = soft ? (1.f - ls) * T[i * C + j] + ls / C : (j == y ? 1.f - ls : 0.f) + ls / C;
        t = tbuf.data();
      }
      // stable softmax: e = exp(z - max); lse = max + log1p(sum of the
      // non-max terms), which keeps log p of a confident class precise
      float mx = row[0];
      int64_t jm = 0;
      for (int64_t j = 1; j < C; ++j)
        if (row[j] > mx)
          mx = row[j], jm = j;
      float *er = gr ? gr : ebuf.data();
      float rest = 0.f;
      for (int64_t j = 0; j < C; ++j) {
        er[j] = vm::vexp_le0(row[j] - mx);
        rest += j == jm ? 0.f : er[j];
      }
      const float s = 1.f + rest, lse = mx + std::log1p(rest);
      // CE = -sum w t l; W = sum w t; 1 - Pt = sum t (1 - p) + (1 - sum t),
      // with 1 - p_j = -expm1(l_j) so a confident row keeps its precision
      float ce = 0.f, W = 0.f, sumt = 0.f, q = 0.f;
      for (int64_t j = 0; j < C; ++j) {
        const float l = row[j] - lse, wj = wv[j];
        lbuf[j] = l;
        ce -= wj * t[j] * l;
        W += wj * t[j];
        sumt += t[j];
        q -= t[j] * vm::vexpm1_le0(l);
      }
      const float one_minus_pt = q + (1.f - sumt), pt = 1.f - one_minus_pt;
      const float wrow = pw ? (soft ? W : pw[y]) : 1.f;
      float A = 1.f, B = 1.f;
      if (a.weighting == PolyWeighting::Both)
        A = wrow;
      else if (a.weighting == PolyWeighting::RescaledPt)
        B = (float)(wrow / wmean);
      // eps k A (1 - B Pt); for B = 1 use the precise 1 - Pt
      const float poly = B == 1.f ? one_minus_pt : (1.f - B) + B * one_minus_pt;
      prow[i] = ce + ek * A * poly;
      if (gr) {
        // d(-sum w t l)/dz_j = W p_j - w_j t_j;  dPt/dz_j = p_j (t_j - Pt), so
        // d[eps k A (1 - B Pt)]/dz_j = -c p_j (t_j - Pt), c = eps k A B.
        const float c = ek * A * B, av = W + c * pt, inv = 1.f / s;
        for (int64_t j = 0; j < C; ++j) {
          const float p = er[j] * inv, wj = wv[j];
          gr[j] = (av * p - t[j] * (wj + c * p)) * scale;
        }
      }
      if (gtr) {
        // dL/dt_j = -w_j l_j + eps k [A'_j (1 - B Pt) - A (B'_j Pt + B p_j)],
        // A'_j = w_j when A = W (Both, weighted), B'_j = w_j / mean(w) when
        // B = W / mean(w) (RescaledPt, weighted); then the chain rule through
        // smoothing, dt/dtarget = 1 - ls.
        const bool dA = pw && a.weighting == PolyWeighting::Both;
        const bool dB = pw && a.weighting == PolyWeighting::RescaledPt;
        for (int64_t j = 0; j < C; ++j) {
          const float wj = wv[j], p = vm::vexp_le0(lbuf[j]);
          const float Aj = dA ? wj : 0.f, Bj = dB ? (float)(wj / wmean) : 0.f;
          const float d = -wj * lbuf[j] + ek * (Aj * (1.f - B * pt) - A * (Bj * pt + B * p));
          gtr[j] = d * (1.f - ls) * scale;
        }
      }
    }
  });

  const bool reduced = a.reduction != Reduction::None;
  Tensor out = rows;
  if (reduced) {
    double total = 0;
    for (int64_t i = 0; i < N; ++i)
      total += prow[i];
    out = scalar_tensor(a.reduction == Reduction::Mean ? (float)(total / D) : (float)total);
  }
  if (need_x || need_t)
    out =
        record_loss(a.node_name, out, {a.input, a.target}, grad_scale_for(reduced, true), {G, GT});
  return out;
}

} // namespace polygrad::losses
