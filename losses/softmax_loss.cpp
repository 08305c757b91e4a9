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
  check_logits(a.op, a.input, true);
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
  p.positions = positions(a.input);
  return p;
}

namespace {

constexpr int64_t kMaxBlockRows = 256;

// Rows per block: enough rows that the per-row stage (phi, vectorised across
// rows) has work, few enough that the block's exp values stay in L1/L2.
int64_t block_rows(int64_t C) { return std::clamp<int64_t>(4096 / C, 1, kMaxBlockRows); }

// Positions per block of a K-dimensional input: kMaxBlockRows (or all S),
// whatever C. Unlike rows, the block is not sized to fit L1: its C class
// rows of positions are strided by S, and long rows stream better than
// cache-sized short ones (measured at C = 1000, S = 256, one thread: 6.0 ms
// with 256 positions per block, 13.0 ms with the rows' 4096 / C rounded to
// 16 positions; C = 21 gets 192 or 256 alike).
int64_t block_positions(int64_t S) { return std::min(S, kMaxBlockRows); }

struct BlockIO {
  const float *z;   // logits (N, C) or (N, C, S)
  const int64_t *y; // labels (N) or (N, S)
  const float *w;   // class weights (C) or null
  int64_t C, S, ignore;
  float scale;     // 1/D for mean, else 1
  bool store_grad; // E is the gradient buffer (else scratch)
  float *row_loss; // (N) or (N, S) for reduction none, else null
};

// The per-row stage of a block of nr rows (a row: one sample of an (N, C)
// input, or one position of one sample of an (N, C, d1, ..., dk) input),
// the same for both layouts. The layout's pass fills, for each row r, the
// label (yy[r], -1 when ignored, ok[r]), the max m[r], rest[r] = sum_{j != y}
// e_j with e_j = exp(z_j - max), and the label's logit and e (zy[r], ey[r],
// 0 when ignored); finish() gives the loss and the gradient's factors.
//
// Precision: the row sum is s = e_y + rest, rest kept apart. When the label
// holds the max (e_y = 1),
//   log Pt = -log1p(rest)   and   p_y - 1 = -rest / s
// keep every digit of 1 - Pt ~ rest, which log(s) and e_y / s - 1 would lose
// once rest < 1e-4 (confident rows: exactly where Poly-1's eps and focal's
// (1-Pt)^gamma act). Otherwise log Pt = z_y - max - log(s), and Pt <= 1/2.
struct RowStage {
  float m[kMaxBlockRows], rest[kMaxBlockRows], zy[kMaxBlockRows], ey[kMaxBlockRows],
      s[kMaxBlockRows], lp[kMaxBlockRows], wy[kMaxBlockRows], loss[kMaxBlockRows], f[kMaxBlockRows],
      fy[kMaxBlockRows];
  int64_t yy[kMaxBlockRows]; // the label, or -1 when ignored
  bool ok[kMaxBlockRows];

  // Rows r < nr take labels y[r]: yy and ok.
  void labels(const BlockIO &io, const int64_t *y, int64_t nr) {
    for (int64_t r = 0; r < nr; ++r) {
      ok[r] = y[r] != io.ignore;
      yy[r] = ok[r] ? y[r] : -1;
    }
  }

  // log Pt (see above; ignored rows get a harmless dummy), phi, the masking
  // of ignored rows and the gradient's factors: row r's gradient is
  //   (g / D) (p - onehot(y)) = f e - onehot(y) (f e_y - fy) with f = g / (D s)
  // i.e. f e_j off the label and fy = -f rest at the label (p_y - 1 = -rest /
  // s). Writes the row losses to row_loss (when not null); returns their sum.
  double finish(const BlockIO &io, const RowLossFn &phi, int64_t nr, float *row_loss) {
    float g[kMaxBlockRows];
    for (int64_t r = 0; r < nr; ++r) {
      s[r] = ey[r] + rest[r];
      lp[r] = ok[r] ? zy[r] - m[r] : 0.f;
      wy[r] = ok[r] ? (io.w ? io.w[yy[r]] : 1.f) : 0.f;
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
    if (row_loss)
      std::copy(loss, loss + nr, row_loss);
    for (int64_t r = 0; r < nr; ++r) {
      f[r] = g[r] / s[r];
      fy[r] = -f[r] * rest[r];
    }
    return acc;
  }
};

// One block of nr rows of an (N, C) input starting at r0: row r's logits are
// z[(r0 + r) C + j]. E (nr * C floats) receives e = exp(z - max), then the
// gradient rows when io.store_grad.
double softmax_block(const BlockIO &io, const RowLossFn &phi, int64_t r0, int64_t nr, float *E) {
  const int64_t C = io.C;
  const float *zb = io.z + r0 * C;
  RowStage st;
  st.labels(io, io.y + r0, nr);
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
      const int64_t y = st.yy[r];
      float sum = 0.f;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < C; ++j) {
        const float e = vm::vexp_le0(row[j] - mx);
        er[j] = e;
        sum += j == y ? 0.f : e;
      }
      st.m[r] = mx;
      st.rest[r] = sum;
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
      st.m[r] = mx;
    }
    const int64_t n = nr * C;
    for (int64_t k = 0; k < n; ++k)
      E[k] = vm::vexp_le0(E[k]);
    for (int64_t r = 0; r < nr; ++r) {
      const float *er = E + r * C;
      const int64_t y = st.yy[r];
      float sum = 0.f;
      for (int64_t j = 0; j < C; ++j)
        sum += j == y ? 0.f : er[j];
      st.rest[r] = sum;
    }
  }
  for (int64_t r = 0; r < nr; ++r) {
    st.ey[r] = st.ok[r] ? E[r * C + st.yy[r]] : 0.f;
    st.zy[r] = st.ok[r] ? zb[r * C + st.yy[r]] : 0.f;
  }
  const double acc = st.finish(io, phi, nr, io.row_loss ? io.row_loss + r0 : nullptr);
  if (io.store_grad) {
    for (int64_t r = 0; r < nr; ++r) {
      float *er = E + r * C;
      const float f = st.f[r];
      for (int64_t j = 0; j < C; ++j)
        er[j] *= f;
      if (st.ok[r])
        er[st.yy[r]] = st.fy[r];
    }
  }
  return acc;
}

// One block of a K-dimensional input (N, C, d1, ..., dk), S = d1 ... dk
// positions per sample: the np positions s0 .. s0 + np - 1 of sample n, each
// a row of the loss. Class j's logits of these positions are contiguous, at
// z + (n C + j) S + s0, so every loop runs over the classes outside and over
// the positions inside, vectorised across positions: no transposed copy. E
// holds class j's e (then gradient) values at E + j es (es = S when E is the
// gradient buffer, laid out like the input; np for scratch).
double dense_block(const BlockIO &io, const RowLossFn &phi, int64_t n, int64_t s0, int64_t np,
                   float *E, int64_t es) {
  const int64_t C = io.C, S = io.S;
  const float *zb = io.z + n * C * S + s0;
  RowStage st;
  st.labels(io, io.y + n * S + s0, np);
  float *m = st.m, *rest = st.rest;
  // max over the classes, position by position
  std::copy(zb, zb + np, m);
  for (int64_t j = 1; j < C; ++j) {
    const float *zj = zb + j * S;
    for (int64_t k = 0; k < np; ++k)
      m[k] = zj[k] > m[k] ? zj[k] : m[k];
  }
  // e = exp(z - max) and rest = sum of the non-label e, class by class
  std::fill(rest, rest + np, 0.f);
  for (int64_t j = 0; j < C; ++j) {
    const float *zj = zb + j * S;
    float *ej = E + j * es;
    for (int64_t k = 0; k < np; ++k) {
      const float e = vm::vexp_le0(zj[k] - m[k]);
      ej[k] = e;
      rest[k] += j == st.yy[k] ? 0.f : e;
    }
  }
  for (int64_t k = 0; k < np; ++k) {
    const int64_t y = st.ok[k] ? st.yy[k] : 0;
    st.ey[k] = st.ok[k] ? E[y * es + k] : 0.f;
    st.zy[k] = st.ok[k] ? zb[y * S + k] : 0.f;
  }
  const double acc = st.finish(io, phi, np, io.row_loss ? io.row_loss + n * S + s0 : nullptr);
  if (io.store_grad) {
    for (int64_t j = 0; j < C; ++j) {
      float *ej = E + j * es;
      for (int64_t k = 0; k < np; ++k)
        ej[k] *= st.f[k];
    }
    for (int64_t k = 0; k < np; ++k)
      if (st.ok[k])
        E[st.yy[k] * es + k] = st.fy[k];
  }
  return acc;
}

} // namespace

Tensor run_softmax_loss(const SoftmaxLossPlan &p, double mean_denominator, const RowLossFn &phi) {
  const SoftmaxLossArgs &a = p.args;
  const int64_t N = p.input.size(0), C = p.input.size(1), S = p.positions;
  const bool grad = needs_grad({a.input});
  const bool reduced = a.reduction != Reduction::None;
  Tensor G = grad ? Tensor::empty(p.input.shape()) : Tensor();
  Tensor rows = reduced ? Tensor() : Tensor::empty(p.labels.shape());

  BlockIO io;
  io.z = p.input.data<float>();
  io.y = p.labels.data<int64_t>();
  io.w = p.weight.defined() ? p.weight.data<float>() : nullptr;
  io.C = C;
  io.S = S;
  io.ignore = a.ignore_index;
  io.scale = a.reduction == Reduction::Mean ? (float)(1.0 / mean_denominator) : 1.f;
  io.store_grad = grad;
  io.row_loss = reduced ? nullptr : rows.data<float>();

  // Blocks: of R rows for (N, C) (and for S = 1, the same layout); of R
  // positions of one sample for (N, C, d1, ..., dk), block b = n T + t.
  // (S = 0, an empty spatial dimension: no blocks at all)
  const bool dense = S != 1;
  const int64_t R = dense ? std::max<int64_t>(block_positions(S), 1) : block_rows(C);
  const int64_t T = dense ? (S + R - 1) / R : 0;
  const int64_t nb = dense ? N * T : (N + R - 1) / R;
  std::vector<double> block_sum(nb);
  float *gp = grad ? G.data<float>() : nullptr;
  kernel::parallel_range(nb, N * C * S, [&](int64_t b0, int64_t b1) {
    std::vector<float> scratch(grad ? 0 : R * C);
    for (int64_t b = b0; b < b1; ++b) {
      if (dense) {
        const int64_t n = b / T, s0 = (b % T) * R, np = std::min(R, S - s0);
        block_sum[b] = grad ? dense_block(io, phi, n, s0, np, gp + n * C * S + s0, S)
                            : dense_block(io, phi, n, s0, np, scratch.data(), np);
      } else {
        const int64_t r0 = b * R, nr = std::min(R, N - r0);
        float *E = grad ? gp + r0 * C : scratch.data();
        block_sum[b] = softmax_block(io, phi, r0, nr, E);
      }
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
    out = record_loss(a.node_name, out, {a.input},
                      reduced             ? GradScale::Scalar
                      : p.input.dim() > 2 ? GradScale::Positions
                                          : GradScale::Rows,
                      {G});
  return out;
}

} // namespace polygrad::losses
