// The fused hard-label softmax-loss pass (see softmax_loss.h for the math).
#include <polygrad/losses/softmax_loss.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include <polygrad/autograd/node.h>
#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/vec_math.h>
#include <polygrad/losses/loss_node.h>

namespace polygrad::losses {

SoftmaxLossPlan plan_softmax_loss(const SoftmaxLossArgs &a) {
  check_logits(a.op, a.input);
  check_reduction(a.op, a.reduction);
  const int64_t C = a.input.size(1);
  check_class_vector(a.op, "weight", a.weight, C);
  SoftmaxLossPlan p;
  p.args = a;
  p.input = kernel::contiguous(a.input);
  p.weight = a.weight.defined() ? kernel::contiguous(a.weight) : Tensor();
  p.stats = scan_labels(a.op, a.input, a.labels,
                        p.weight.defined() ? p.weight.data<float>() : nullptr, a.ignore_index);
  p.labels = kernel::contiguous(a.labels);
  return p;
}

namespace {

constexpr int64_t kMaxBlockRows = 256;

// Rows per block: enough rows that the per-row stage (phi, vectorised across
// rows) has work, few enough that the block's exp values stay in L1/L2.
int64_t block_rows(int64_t C) { return std::clamp<int64_t>(4096 / C, 1, kMaxBlockRows); }

struct BlockIO {
  const float *z;   // logits (N, C)
  const int64_t *y; // labels (N)
  const float *w;   // class weights (C) or null
  int64_t C, ignore;
  float scale;     // 1/D for mean, else 1
  bool store_grad; // E is the gradient buffer (else scratch)
  float *row_loss; // (N) for reduction none, else null
};

// One block of nr rows starting at r0. E (nr * C floats) receives e = exp(z -
// max), then the gradient rows when io.store_grad.
//
// Precision: with e_j = exp(z_j - max), the row sum is s = e_y + rest, rest =
// sum_{j != y} e_j, kept apart. When the label holds the max (e_y = 1),
//   log Pt = -log1p(rest)   and   p_y - 1 = -rest / s
// keep every digit of 1 - Pt ~ rest, which log(s) and e_y / s - 1 would lose
// once rest < 1e-4 (confident rows: exactly where Poly-1's eps and focal's
// (1-Pt)^gamma act). Otherwise log Pt = z_y - max - log(s), and Pt <= 1/2.
double softmax_block(const BlockIO &io, const RowLossFn &phi, int64_t r0, int64_t nr, float *E) {
  const int64_t C = io.C;
  const float *zb = io.z + r0 * C;
  float m[kMaxBlockRows], rest[kMaxBlockRows], s[kMaxBlockRows], lp[kMaxBlockRows],
      wy[kMaxBlockRows], loss[kMaxBlockRows], g[kMaxBlockRows];
  int64_t yy[kMaxBlockRows]; // the label, or -1 when ignored
  bool ok[kMaxBlockRows];
  for (int64_t r = 0; r < nr; ++r) {
    const int64_t y = io.y[r0 + r];
    ok[r] = y != io.ignore;
    yy[r] = ok[r] ? y : -1;
  }
  if (C >= 32) {
    // long rows: max, then exp and the sum of the non-label terms in one
    // vectorised pass per row
    for (int64_t r = 0; r < nr; ++r) {
      const float *row = zb + r * C;
      float *er = E + r * C;
      float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
      for (int64_t j = 0; j < C; ++j)
        mx = row[j] > mx ? row[j] : mx;
      const int64_t y = yy[r];
      float sum = 0.f;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < C; ++j) {
        const float e = vm::vexp_le0(row[j] - mx);
        er[j] = e;
        sum += j == y ? 0.f : e;
      }
      m[r] = mx;
      rest[r] = sum;
    }
  } else {
    // short rows: per-row shifts, then one flat exp over the whole block (a
    // loop of nr*C elements vectorises; a loop of C = 10 does not)
    for (int64_t r = 0; r < nr; ++r) {
      const float *row = zb + r * C;
      float *er = E + r * C;
      float mx = row[0];
      for (int64_t j = 1; j < C; ++j)
        mx = row[j] > mx ? row[j] : mx;
      for (int64_t j = 0; j < C; ++j)
        er[j] = row[j] - mx;
      m[r] = mx;
    }
    const int64_t n = nr * C;
    for (int64_t k = 0; k < n; ++k)
      E[k] = vm::vexp_le0(E[k]);
    for (int64_t r = 0; r < nr; ++r) {
      const float *er = E + r * C;
      const int64_t y = yy[r];
      float sum = 0.f;
      for (int64_t j = 0; j < C; ++j)
        sum += j == y ? 0.f : er[j];
      rest[r] = sum;
    }
  }
  // log Pt (see above); ignored rows get a harmless dummy.
  for (int64_t r = 0; r < nr; ++r) {
    const int64_t y = yy[r];
    const float ey = ok[r] ? E[r * C + y] : 0.f;
    s[r] = ey + rest[r];
    lp[r] = ok[r] ? zb[r * C + y] - m[r] : 0.f;
    wy[r] = ok[r] ? (io.w ? io.w[y] : 1.f) : 0.f;
  }
  for (int64_t r = 0; r < nr; ++r) {
    const float top = -vm::vlog1p(rest[r]); // the label holds the max
    lp[r] = lp[r] == 0.f ? top : lp[r] - vm::vlog(s[r]);
  }
  phi(lp, wy, nr, loss, g);
  double acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t r = 0; r < nr; ++r) {
    loss[r] = ok[r] ? loss[r] : 0.f;
    g[r] = ok[r] ? g[r] * io.scale : 0.f;
    acc += loss[r];
  }
  if (io.row_loss)
    std::copy(loss, loss + nr, io.row_loss + r0);
  if (io.store_grad) {
    // dL/dz = (g / D) (p - onehot(y)) with p = e / s, and p_y - 1 = -rest / s
    for (int64_t r = 0; r < nr; ++r) {
      float *er = E + r * C;
      const float f = g[r] / s[r];
      for (int64_t j = 0; j < C; ++j)
        er[j] *= f;
      if (ok[r])
        er[yy[r]] = -f * rest[r];
    }
  }
  return acc;
}

} // namespace

Tensor run_softmax_loss(const SoftmaxLossPlan &p, double mean_denominator, const RowLossFn &phi) {
  const SoftmaxLossArgs &a = p.args;
  const int64_t N = p.input.size(0), C = p.input.size(1);
  const bool grad = needs_grad({a.input});
  const bool reduced = a.reduction != Reduction::None;
  Tensor G = grad ? Tensor::empty({N, C}) : Tensor();
  Tensor rows = reduced ? Tensor() : Tensor::empty({N});

  BlockIO io;
  io.z = p.input.data<float>();
  io.y = p.labels.data<int64_t>();
  io.w = p.weight.defined() ? p.weight.data<float>() : nullptr;
  io.C = C;
  io.ignore = a.ignore_index;
  io.scale = a.reduction == Reduction::Mean ? (float)(1.0 / mean_denominator) : 1.f;
  io.store_grad = grad;
  io.row_loss = reduced ? nullptr : rows.data<float>();

  const int64_t R = block_rows(C), nb = (N + R - 1) / R;
  std::vector<double> block_sum(nb);
  float *gp = grad ? G.data<float>() : nullptr;
  kernel::parallel_range(nb, N * C, [&](int64_t b0, int64_t b1) {
    std::vector<float> scratch(grad ? 0 : R * C);
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = b * R, nr = std::min(R, N - r0);
      float *E = grad ? gp + r0 * C : scratch.data();
      block_sum[b] = softmax_block(io, phi, r0, nr, E);
    }
  });

  Tensor out;
  if (reduced) {
    double total = 0; // block order: deterministic for any thread count
    for (double v : block_sum)
      total += v;
    out = scalar_tensor(a.reduction == Reduction::Mean ? (float)(total / mean_denominator)
                                                       : (float)total);
  } else {
    out = rows;
  }
  if (grad)
    out = record_loss(a.node_name, out, {a.input}, grad_scale_for(reduced, true), {G});
  return out;
}

} // namespace polygrad::losses
