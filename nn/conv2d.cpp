#include <polygrad/nn/conv2d.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <omp.h>

#include <polygrad/autograd/node.h>
#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/parallel.h>
#include <polygrad/nn/init.h>
#include <polygrad/nn/pooling_detail.h>
#include <polygrad/nn/winograd.h>

namespace polygrad::nn {

namespace {
std::atomic<ConvAlgorithm> g_algorithm{ConvAlgorithm::Auto};
} // namespace

void set_conv_algorithm(ConvAlgorithm algorithm) { g_algorithm = algorithm; }
ConvAlgorithm conv_algorithm() { return g_algorithm; }

namespace {

struct Geom {
  int64_t N, C, H, W; // input
  int64_t O, kh, kw;  // output channels, kernel
  int64_t sh, sw, ph, pw, dh, dw, G;
  int64_t OH, OW;
  int64_t Cg() const { return C / G; }          // input channels per group
  int64_t Og() const { return O / G; }          // output channels per group
  int64_t Kg() const { return Cg() * kh * kw; } // GEMM K per group
  int64_t L() const { return OH * OW; }         // output pixels per image
  int64_t K() const { return C * kh * kw; }     // rows of col
  // 1x1, stride 1, no padding: col = x_n, no im2col needed.
  bool direct() const { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
  // Whether conv_algorithm() sends this conv to Winograd F(2x2, 3x3).
  bool winograd() const {
    const ConvAlgorithm a = conv_algorithm();
    const bool fits = kh == 3 && kw == 3 && sh == 1 && sw == 1 && dh == 1 && dw == 1 && G == 1 &&
                      ph <= 2 && pw <= 2;
    return fits &&
           (a == ConvAlgorithm::Winograd || (a == ConvAlgorithm::Auto && C >= 16 && O >= 16));
  }
  detail::Winograd3x3 winograd_geom() const { return {N, C, H, W, O, ph, pw}; }
};

// Output rows per block. The per-image GEMMs run over blocks of whole output
// rows whose col slice (K x rows*OW floats) stays within ~1 MB, the L2 size:
// im2col writes it and the GEMM reads it back mostly from L2 (a whole image's
// col is 2.4 MB for a 64-channel 32x32 layer). Blocks are balanced (16 rows
// in 2 blocks of 8, not 14 + 2: a thin last block makes a slow GEMM); larger
// blocks also mean fewer re-packings of the weights by OpenBLAS.
int64_t block_rows(const Geom &g) {
  const int64_t target = int64_t(1) << 18; // floats
  const int64_t most = std::clamp<int64_t>(target / std::max<int64_t>(1, g.K() * g.OW), 1, g.OH);
  const int64_t blocks = (g.OH + most - 1) / most;
  return (g.OH + blocks - 1) / blocks;
}

// Valid output columns [lo, hi) for kernel column offset off = q dw - pw:
// 0 <= j sw + off < W.
inline void col_range(const Geom &g, int64_t off, int64_t &lo, int64_t &hi) {
  lo = off >= 0 ? 0 : (-off + g.sw - 1) / g.sw;
  hi = (g.W - 1 - off) >= 0 ? (g.W - 1 - off) / g.sw + 1 : 0;
  lo = std::min(lo, g.OW);
  hi = std::max(lo, std::min(hi, g.OW));
}

// Stride 1 with OW == W (a "same" conv such as 3x3 / pad 1): for kernel tap
// (p, q), the block [i0, i1) x [0, OW) of col is the input plane shifted by
// dp = p dh - ph rows and dq = q dw - pw columns, i.e. ONE contiguous run
// x[(i + dp) W + j + dq] over the valid rows, except the columns that fall
// off the left or right edge (they wrapped into the neighbouring row): those
// are zeroed afterwards. One long copy instead of a short one per row.
inline bool same_stride1(const Geom &g) { return g.sh == 1 && g.sw == 1 && g.OW == g.W; }

struct Tap {
  int64_t lo, hi; // valid output columns
  int64_t va, vb; // valid output rows within the block
  int64_t start;  // plane index of the first valid row's column 0 (may be < 0)
  int64_t k0, k1; // the part of the run [0, (vb - va) OW) inside the plane
};

inline Tap same_tap(const Geom &g, int64_t p, int64_t q, int64_t i0, int64_t i1) {
  Tap t;
  const int64_t dp = p * g.dh - g.ph, dq = q * g.dw - g.pw;
  col_range(g, dq, t.lo, t.hi);
  // Clamped to the block: with 1-row blocks and dilation a tap's rows can lie
  // wholly above or below it (then va = vb and the run is empty).
  t.va = std::clamp(-dp, i0, i1);
  t.vb = std::max(t.va, std::min(i1, g.H - dp));
  t.start = (t.va + dp) * g.W + dq;
  const int64_t len = (t.vb - t.va) * g.OW;
  t.k0 = std::min(len, std::max<int64_t>(0, -t.start)); // k < k0, k >= k1: edge columns
  t.k1 = std::max(t.k0, std::min(len, g.H * g.W - t.start));
  return t;
}

// Zeroes the edge columns (j < lo, j >= hi) of rows [0, rows) of a run.
inline void zero_edges(float *run, int64_t rows, int64_t OW, int64_t lo, int64_t hi) {
  if (lo == 0 && hi == OW)
    return;
  for (int64_t r = 0; r < rows; ++r) {
    float *d = run + r * OW;
    for (int64_t j = 0; j < lo; ++j)
      d[j] = 0.f;
    for (int64_t j = hi; j < OW; ++j)
      d[j] = 0.f;
  }
}

void im2col_same(const Geom &g, const float *x, float *col, int64_t i0, int64_t i1) {
  const int64_t n = (i1 - i0) * g.OW;
  for (int64_t c = 0; c < g.C; ++c) {
    const float *xc = x + c * g.H * g.W;
    for (int64_t p = 0; p < g.kh; ++p)
      for (int64_t q = 0; q < g.kw; ++q) {
        float *row = col + ((c * g.kh + p) * g.kw + q) * n;
        const Tap t = same_tap(g, p, q, i0, i1);
        float *run = row + (t.va - i0) * g.OW;
        const int64_t len = (t.vb - t.va) * g.OW;
        std::fill(row, run, 0.f);           // rows above the image
        std::fill(run + len, row + n, 0.f); // rows below
        std::fill(run, run + t.k0, 0.f);    // (edge columns)
        if (t.k1 > t.k0)                    // (no pointer is formed outside the plane)
          std::copy(xc + t.start + t.k0, xc + t.start + t.k1, run + t.k0);
        std::fill(run + t.k1, run + len, 0.f); // (edge columns)
        zero_edges(run, t.vb - t.va, g.OW, t.lo, t.hi);
      }
  }
}

// Its adjoint: zero the edge columns of the dcol run (scratch), then one
// contiguous add into the plane.
void col2im_same(const Geom &g, float *col, float *dx, int64_t i0, int64_t i1) {
  const int64_t n = (i1 - i0) * g.OW;
  for (int64_t c = 0; c < g.C; ++c) {
    float *xc = dx + c * g.H * g.W;
    for (int64_t p = 0; p < g.kh; ++p)
      for (int64_t q = 0; q < g.kw; ++q) {
        float *row = col + ((c * g.kh + p) * g.kw + q) * n;
        const Tap t = same_tap(g, p, q, i0, i1);
        float *run = row + (t.va - i0) * g.OW;
        zero_edges(run, t.vb - t.va, g.OW, t.lo, t.hi);
        const int64_t m = t.k1 - t.k0;
        if (m <= 0)
          continue;
        float *d = xc + (t.start + t.k0);
        const float *src = run + t.k0;
#pragma omp simd
        for (int64_t k = 0; k < m; ++k)
          d[k] += src[k];
      }
  }
}

// col[(c kh + p) kw + q, (i - i0) OW + j] = x[c, i sh - ph + p dh, j sw - pw + q dw]
// for output rows i in [i0, i1) (0 outside the image). col has row length
// (i1 - i0) OW. Plain loops, not memcpy/memset calls: the runs are short
// (OW floats) and a call per run costs more than the copy.
void im2col(const Geom &g, const float *x, float *col, int64_t i0, int64_t i1) {
  if (same_stride1(g))
    return im2col_same(g, x, col, i0, i1);
  const int64_t n = (i1 - i0) * g.OW;
  for (int64_t c = 0; c < g.C; ++c) {
    const float *xc = x + c * g.H * g.W;
    for (int64_t p = 0; p < g.kh; ++p)
      for (int64_t q = 0; q < g.kw; ++q) {
        float *row = col + ((c * g.kh + p) * g.kw + q) * n;
        const int64_t off = q * g.dw - g.pw;
        int64_t lo, hi;
        col_range(g, off, lo, hi);
        for (int64_t i = i0; i < i1; ++i) {
          float *dst = row + (i - i0) * g.OW;
          const int64_t ih = i * g.sh - g.ph + p * g.dh;
          if (ih < 0 || ih >= g.H) {
            for (int64_t j = 0; j < g.OW; ++j)
              dst[j] = 0.f;
            continue;
          }
          for (int64_t j = 0; j < lo; ++j)
            dst[j] = 0.f;
          if (g.sw == 1) {
#pragma omp simd
            for (int64_t j = lo; j < hi; ++j)
              dst[j] = xc[ih * g.W + off + j];
          } else {
            for (int64_t j = lo; j < hi; ++j)
              dst[j] = xc[ih * g.W + off + j * g.sw];
          }
          for (int64_t j = hi; j < g.OW; ++j)
            dst[j] = 0.f;
        }
      }
  }
}

// The adjoint of im2col over output rows [i0, i1): adds every col entry back
// into the input position it was copied from (overlapping windows sum). col
// is scratch: the fast path zeroes entries of it.
void col2im_add(const Geom &g, float *col, float *dx, int64_t i0, int64_t i1) {
  if (same_stride1(g))
    return col2im_same(g, col, dx, i0, i1);
  const int64_t n = (i1 - i0) * g.OW;
  for (int64_t c = 0; c < g.C; ++c) {
    float *xc = dx + c * g.H * g.W;
    for (int64_t p = 0; p < g.kh; ++p)
      for (int64_t q = 0; q < g.kw; ++q) {
        const float *row = col + ((c * g.kh + p) * g.kw + q) * n;
        const int64_t off = q * g.dw - g.pw;
        int64_t lo, hi;
        col_range(g, off, lo, hi);
        for (int64_t i = i0; i < i1; ++i) {
          const int64_t ih = i * g.sh - g.ph + p * g.dh;
          if (ih < 0 || ih >= g.H)
            continue;
          const float *src = row + (i - i0) * g.OW;
          if (g.sw == 1) {
#pragma omp simd
            for (int64_t j = lo; j < hi; ++j)
              xc[ih * g.W + off + j] += src[j];
          } else {
            for (int64_t j = lo; j < hi; ++j)
              xc[ih * g.W + off + j * g.sw] += src[j];
          }
        }
      }
  }
}

// Image-parallel driver: fn(worker, n0, n1) over a static split of the batch
// when every thread gets at least one image and the work pays for the fork;
// otherwise one worker runs the whole batch (and kernel::gemm splits each
// GEMM across the threads itself). Returns the number of workers used.
int workers_for(const Geom &g) {
  const int nt = get_num_threads();
  const double macs = double(g.N) * g.O * g.L() * g.Kg();
  if (nt <= 1 || omp_in_parallel() || g.N < nt || macs < kConvParallelMacs)
    return 1;
  return nt;
}

using detail::ImageSink;
using detail::ImageSource;

// With a sink (winograd.h), image n's output goes to it from a per-worker
// buffer right after its GEMMs, while still in cache, and no y is returned.
Tensor conv_forward(const Geom &g, bool wino, const Tensor &x, const Tensor &w, const Tensor &b,
                    const ImageSink &sink = nullptr) {
  const float *pb = b.defined() ? b.data<float>() : nullptr;
  if (wino) {
    Tensor y = sink ? Tensor() : Tensor::empty({g.N, g.O, g.OH, g.OW});
    detail::winograd_forward(g.winograd_geom(), x.data<float>(), w.data<float>(), pb,
                             sink ? nullptr : y.data<float>(), sink);
    return y;
  }
  const int64_t L = g.L(), Og = g.Og(), Kg = g.Kg();
  const int nw = workers_for(g);
  Tensor y = sink ? Tensor::empty({nw, g.O * L}) : Tensor::empty({g.N, g.O, g.OH, g.OW});
  const bool direct = g.direct();
  const int64_t rows = direct ? g.OH : block_rows(g), bufsize = g.K() * rows * g.OW;
  Tensor colbuf = direct ? Tensor() : Tensor::empty({nw, bufsize});
  const float *px = x.data<float>(), *pw = w.data<float>();
  float *py = y.data<float>();
  kernel::run_workers(nw, g.N, [&](int t, int64_t n0, int64_t n1) {
    float *col = direct ? nullptr : colbuf.data<float>() + t * bufsize;
    for (int64_t n = n0; n < n1; ++n) {
      const float *xn = px + n * g.C * g.H * g.W;
      float *yn = py + (sink ? t : n) * g.O * L;
      for (int64_t i0 = 0; i0 < g.OH; i0 += rows) {
        const int64_t i1 = std::min(g.OH, i0 + rows), m = (i1 - i0) * g.OW;
        const float *cb = xn; // 1x1 direct: col is x_n itself
        if (!direct) {
          im2col(g, xn, col, i0, i1);
          cb = col;
        }
        // The bias is written first and the GEMM accumulates onto it (beta =
        // 1): no separate pass, and OpenBLAS skips its C-zeroing pass.
        float *yb = yn + i0 * g.OW;
        if (pb)
          for (int64_t o = 0; o < g.O; ++o)
            std::fill_n(yb + o * L, m, pb[o]);
        // y_n,g[:, block] = W_g col_g: (Og x Kg)(Kg x m)
        for (int64_t grp = 0; grp < g.G; ++grp)
          kernel::gemm(false, false, Og, m, Kg, 1.f, pw + grp * Og * Kg, Kg, cb + grp * Kg * m, m,
                       pb ? 1.f : 0.f, yb + grp * Og * L, L);
      }
      if (sink)
        sink(t, n, yn);
    }
  });
  return sink ? Tensor() : y;
}

struct ConvGrads {
  Tensor dx, dw, db;
};

// With dy_of (winograd.h), image n's dy_n comes from it instead of gy.
ConvGrads conv_backward(const Geom &g, const Tensor &gy, const Tensor &x, const Tensor &w, bool gx,
                        bool gw, bool gb, const ImageSource &dy_of = nullptr);

// Winograd's dx, dW and db in one pass over dy (db alone: the im2col path's
// plain sum over dy).
ConvGrads winograd_backward(const Geom &g, const Tensor &gy, const Tensor &x, const Tensor &w,
                            bool gx, bool gw, bool gb, const ImageSource &dy_of = nullptr) {
  if (!gx && !gw)
    return conv_backward(g, gy, x, w, false, false, gb, dy_of);
  ConvGrads r;
  if (gx)
    r.dx = Tensor::empty({g.N, g.C, g.H, g.W});
  if (gw)
    r.dw = Tensor::empty({g.O, g.C, 3, 3});
  if (gb)
    r.db = Tensor::empty({g.O});
  detail::winograd_backward(g.winograd_geom(), dy_of ? nullptr : gy.data<float>(),
                            gw ? x.data<float>() : nullptr, gx ? w.data<float>() : nullptr,
                            gx ? r.dx.data<float>() : nullptr, gw ? r.dw.data<float>() : nullptr,
                            gb ? r.db.data<float>() : nullptr, dy_of);
  return r;
}

ConvGrads conv_backward(const Geom &g, const Tensor &gy, const Tensor &x, const Tensor &w, bool gx,
                        bool gw, bool gb, const ImageSource &dy_of) {
  ConvGrads r;
  const int64_t L = g.L(), Og = g.Og(), Kg = g.Kg(), wsize = g.O * Kg;
  const int nw = workers_for(g);
  const bool direct = g.direct();
  const int64_t rows = direct ? g.OH : block_rows(g), bufsize = g.K() * rows * g.OW;
  // Per worker: one block buffer, holding first im2col(x_n) (for dW) and then,
  // once the dW GEMM has read it, dcol (for dx); and partial dW / db sums,
  // reduced in worker order (deterministic).
  Tensor colbuf = ((gw || gx) && !direct) ? Tensor::empty({nw, bufsize}) : Tensor();
  if (gx)
    r.dx = Tensor::empty({g.N, g.C, g.H, g.W});
  if (gw)
    r.dw = Tensor::empty({g.O, g.Cg(), g.kh, g.kw});
  if (gb)
    r.db = Tensor::empty({g.O});
  Tensor dw_part = (gw && nw > 1) ? Tensor::empty({nw, wsize}) : Tensor();
  Tensor db_part = gb ? Tensor::empty({nw, g.O}) : Tensor();
  Tensor dybuf = dy_of ? Tensor::empty({nw, g.O * L}) : Tensor();
  const float *pg = dy_of ? nullptr : gy.data<float>();
  const float *px = gw ? x.data<float>() : nullptr;
  const float *pw = gx ? w.data<float>() : nullptr;
  kernel::run_workers(nw, g.N, [&](int t, int64_t n0, int64_t n1) {
    float *col = colbuf.defined() ? colbuf.data<float>() + t * bufsize : nullptr;
    float *dcol = col; // reused: the dW GEMM is done with col before dcol is written
    float *dwt = !gw ? nullptr : nw > 1 ? dw_part.data<float>() + t * wsize : r.dw.data<float>();
    float *dbt = gb ? db_part.data<float>() + t * g.O : nullptr;
    if (gb)
      std::fill_n(dbt, g.O, 0.f);
    if (gw && n1 == n0)
      std::fill_n(dwt, wsize, 0.f); // no image: dW = 0
    for (int64_t n = n0; n < n1; ++n) {
      const float *gn = dy_of ? dy_of(t, n, dybuf.data<float>() + t * g.O * L) : pg + n * g.O * L;
      const float *xn = gw ? px + n * g.C * g.H * g.W : nullptr;
      float *dxn = gx ? r.dx.data<float>() + n * g.C * g.H * g.W : nullptr;
      if (gx && !direct)
        std::memset(dxn, 0, sizeof(float) * g.C * g.H * g.W); // col2im adds
      for (int64_t i0 = 0; i0 < g.OH; i0 += rows) {
        const int64_t i1 = std::min(g.OH, i0 + rows), m = (i1 - i0) * g.OW;
        const float *gb0 = gn + i0 * g.OW; // dy_n[:, block], row stride L
        if (gw) {
          const float *cb = xn;
          if (!direct) {
            im2col(g, xn, col, i0, i1);
            cb = col;
          }
          // dW_g += dy_n,g[:, block] col_g^T: (Og x m)(m x Kg)
          const float beta = (n == n0 && i0 == 0) ? 0.f : 1.f;
          for (int64_t grp = 0; grp < g.G; ++grp)
            kernel::gemm(false, true, Og, Kg, m, 1.f, gb0 + grp * Og * L, L, cb + grp * Kg * m, m,
                         beta, dwt + grp * Og * Kg, Kg);
        }
        if (gx) {
          // dcol_g = W_g^T dy_n,g[:, block]: (Kg x Og)(Og x m); a 1x1 direct
          // conv writes it straight into dx_n.
          float *target = direct ? dxn : dcol;
          const int64_t ldt = direct ? L : m;
          for (int64_t grp = 0; grp < g.G; ++grp)
            kernel::gemm(true, false, Kg, m, Og, 1.f, pw + grp * Og * Kg, Kg, gb0 + grp * Og * L, L,
                         0.f, target + grp * Kg * ldt, ldt);
          if (!direct)
            col2im_add(g, dcol, dxn, i0, i1);
        }
      }
      if (gb)
        kernel::add_row_sums(gn, g.O, L, dbt);
    }
  });
  if (gw && nw > 1) {
    const float *pp = dw_part.data<float>();
    float *pd = r.dw.data<float>();
    for (int64_t i = 0; i < wsize; ++i) {
      float s = pp[i];
      for (int t = 1; t < nw; ++t)
        s += pp[t * wsize + i];
      pd[i] = s;
    }
  }
  if (gb) {
    const float *pp = db_part.data<float>();
    float *pd = r.db.data<float>();
    for (int64_t o = 0; o < g.O; ++o) {
      float s = pp[o];
      for (int t = 1; t < nw; ++t)
        s += pp[t * g.O + o];
      pd[o] = s;
    }
  }
  return r;
}

void check_conv_input(const Tensor &x, const Tensor &w) {
  PG_CHECK(x.defined() && w.defined(), "conv2d: input and weight must be defined");
  PG_CHECK(x.dim() == 3 || x.dim() == 4,
           "conv2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape ",
           shape_str(x.shape()));
}

// Validates conv2d's arguments (x 4-D) and computes the geometry.
Geom conv_geom(const Tensor &x, const Tensor &w, const Tensor &b, Size2 stride, Size2 padding,
               Size2 dilation, int64_t groups) {
  PG_CHECK(x.defined() && w.defined(), "conv2d: input and weight must be defined");
  PG_CHECK(x.dtype() == DType::Float32 && w.dtype() == DType::Float32,
           "conv2d: expected float32 input and weight, got ", dtype_name(x.dtype()), " and ",
           dtype_name(w.dtype()));
  PG_CHECK(w.dim() == 4, "conv2d: weight must be 4-D (C_out, C_in / groups, kh, kw), got shape ",
           shape_str(w.shape()));
  PG_CHECK(groups >= 1, "conv2d: groups must be >= 1, got ", groups);
  PG_CHECK(stride.h >= 1 && stride.w >= 1, "conv2d: stride must be >= 1, got ", stride.str());
  PG_CHECK(dilation.h >= 1 && dilation.w >= 1, "conv2d: dilation must be >= 1, got ",
           dilation.str());
  PG_CHECK(padding.h >= 0 && padding.w >= 0, "conv2d: padding must be >= 0, got ", padding.str());
  Geom g{};
  g.N = x.size(0), g.C = x.size(1), g.H = x.size(2), g.W = x.size(3);
  g.O = w.size(0), g.kh = w.size(2), g.kw = w.size(3);
  g.sh = stride.h, g.sw = stride.w, g.ph = padding.h, g.pw = padding.w;
  g.dh = dilation.h, g.dw = dilation.w, g.G = groups;
  PG_CHECK(g.O % groups == 0, "conv2d: weight of shape ", shape_str(w.shape()), " has ", g.O,
           " output channels, not divisible by groups=", groups);
  PG_CHECK(g.C == w.size(1) * groups, "conv2d: input of shape ", shape_str(x.shape()), " has ", g.C,
           " channels, but weight of shape ", shape_str(w.shape()), " with groups=", groups,
           " expects ", w.size(1) * groups, " channels");
  PG_CHECK(g.kh >= 1 && g.kw >= 1, "conv2d: weight of shape ", shape_str(w.shape()),
           " has an empty kernel");
  const int64_t eh = g.dh * (g.kh - 1) + 1, ew = g.dw * (g.kw - 1) + 1; // effective kernel
  PG_CHECK(g.H + 2 * g.ph >= eh && g.W + 2 * g.pw >= ew, "conv2d: input of shape ",
           shape_str(x.shape()), " padded by ", padding.str(), " is smaller than the (dilated) ",
           "kernel (", eh, ", ", ew, ") of weight of shape ", shape_str(w.shape()));
  g.OH = (g.H + 2 * g.ph - eh) / g.sh + 1;
  g.OW = (g.W + 2 * g.pw - ew) / g.sw + 1;
  PG_CHECK(!b.defined() || (b.dtype() == DType::Float32 && b.shape() == Shape{g.O}),
           "conv2d: bias must be a float32 tensor of shape [", g.O, "], got ",
           b.defined() ? shape_str(b.shape()) : "");

  return g;
}

} // namespace

namespace functional {

Tensor conv2d(const Tensor &x, const Tensor &w, const Tensor &b, Size2 stride, Size2 padding,
              Size2 dilation, int64_t groups) {
  check_conv_input(x, w);
  if (x.dim() == 3) // unbatched: run as a batch of one
    return conv2d(x.unsqueeze(0), w, b, stride, padding, dilation, groups).squeeze(0);
  const Geom g = conv_geom(x, w, b, stride, padding, dilation, groups);
  const Tensor xc = kernel::contiguous(x), wc = kernel::contiguous(w);
  const Tensor bc = b.defined() ? kernel::contiguous(b) : Tensor();
  const bool wino = g.winograd();
  Tensor y = conv_forward(g, wino, xc, wc, bc);
  if (needs_grad({x, w, b})) {
    const bool gx = x.requires_grad(), gw = w.requires_grad(),
               gb = b.defined() && b.requires_grad();
    record("Conv2dBackward", y, {x, w, b},
           [g, wino, gx, gw, gb, sx = SavedTensor(gw ? xc : Tensor()),
            sw = SavedTensor(gx ? wc : Tensor())](const Tensor &gy) {
             const Tensor gc = kernel::contiguous(gy);
             ConvGrads r = wino ? winograd_backward(g, gc, sx.get(), sw.get(), gx, gw, gb)
                                : conv_backward(g, gc, sx.get(), sw.get(), gx, gw, gb);
             return grads{r.dx, r.dw, r.db};
           });
  }
  return y;
}

Tensor conv2d_relu_max_pool2d(const Tensor &x, const Tensor &w, const Tensor &b, Size2 stride,
                              Size2 padding, Size2 dilation, int64_t groups, Size2 pool_kernel,
                              std::optional<Size2> pool_stride, Size2 pool_padding,
                              Size2 pool_dilation, bool ceil_mode) {
  check_conv_input(x, w);
  if (x.dim() == 3)
    return conv2d_relu_max_pool2d(x.unsqueeze(0), w, b, stride, padding, dilation, groups,
                                  pool_kernel, pool_stride, pool_padding, pool_dilation, ceil_mode)
        .squeeze(0);
  const Geom g = conv_geom(x, w, b, stride, padding, dilation, groups);
  const bool wino = g.winograd();
  // The pooling of one image's O planes.
  detail::PoolGeom pg =
      detail::pool_geom("conv2d_relu_max_pool2d", {g.N, g.O, g.OH, g.OW}, pool_kernel,
                        pool_stride.value_or(pool_kernel), pool_padding, pool_dilation, ceil_mode);
  pg.P = g.O;
  const int64_t per = g.O * pg.OH * pg.OW; // pooled floats per image
  Tensor y = Tensor::empty({g.N, g.O, pg.OH, pg.OW});
  // int32 argmax indices in a float32-sized buffer, as max_pool2d's.
  Tensor idx = Tensor::empty({y.numel()});
  int32_t *pi = reinterpret_cast<int32_t *>(idx.storage()->data);
  float *py = y.data<float>();
  const Tensor xc = kernel::contiguous(x), wc = kernel::contiguous(w);
  const Tensor bc = b.defined() ? kernel::contiguous(b) : Tensor();
  conv_forward(g, wino, xc, wc, bc, [&](int, int64_t n, const float *yn) {
    detail::max_pool_forward(pg, yn, py + n * per, pi + n * per, true);
  });
  if (needs_grad({x, w, b})) {
    const bool gx = x.requires_grad(), gw = w.requires_grad(),
               gb = b.defined() && b.requires_grad();
    record("Conv2dReluMaxPool2dBackward", y, {x, w, b},
           [g, wino, pg, per, idx, gx, gw, gb, sx = SavedTensor(gw ? xc : Tensor()),
            sw = SavedTensor(gx ? wc : Tensor())](const Tensor &gy) {
             const Tensor gc = kernel::contiguous(gy);
             const float *pgy = gc.data<float>();
             const int32_t *pidx = reinterpret_cast<const int32_t *>(idx.storage()->data);
             // Image n's conv gradient: dy routed to the winning inputs,
             // rebuilt per image in the backward's per-worker buffer.
             const ImageSource dy_of = [&](int, int64_t n, float *buf) -> const float * {
               detail::max_pool_backward(pg, pgy + n * per, pidx + n * per, buf);
               return buf;
             };
             ConvGrads r =
                 wino ? winograd_backward(g, Tensor(), sx.get(), sw.get(), gx, gw, gb, dy_of)
                      : conv_backward(g, Tensor(), sx.get(), sw.get(), gx, gw, gb, dy_of);
             return grads{r.dx, r.dw, r.db};
           });
  }
  return y;
}

} // namespace functional

Conv2d::Conv2d(int64_t in, int64_t out, Size2 k, Conv2dOptions opt)
    : in_channels(in), out_channels(out), kernel_size(k), options(opt) {
  PG_CHECK(in >= 1 && out >= 1, "Conv2d: in_channels and out_channels must be >= 1, got ", in,
           " and ", out);
  PG_CHECK(k.h >= 1 && k.w >= 1, "Conv2d: kernel_size must be >= 1, got ", k.str());
  PG_CHECK(opt.groups >= 1, "Conv2d: groups must be >= 1, got ", opt.groups);
  PG_CHECK(in % opt.groups == 0, "Conv2d: in_channels (", in, ") must be divisible by groups (",
           opt.groups, ")");
  PG_CHECK(out % opt.groups == 0, "Conv2d: out_channels (", out, ") must be divisible by groups (",
           opt.groups, ")");
  PG_CHECK(opt.stride.h >= 1 && opt.stride.w >= 1, "Conv2d: stride must be >= 1, got ",
           opt.stride.str());
  PG_CHECK(opt.dilation.h >= 1 && opt.dilation.w >= 1, "Conv2d: dilation must be >= 1, got ",
           opt.dilation.str());
  PG_CHECK(opt.padding.h >= 0 && opt.padding.w >= 0, "Conv2d: padding must be >= 0, got ",
           opt.padding.str());
  weight = register_parameter("weight", Tensor::empty({out, in / opt.groups, k.h, k.w}));
  if (opt.bias)
    bias = register_parameter("bias", Tensor::empty({out}));
  reset_parameters();
}

void Conv2d::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double fan_in = double(in_channels / options.groups * kernel_size.h * kernel_size.w);
    const double bound = 1.0 / std::sqrt(fan_in);
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Conv2d::forward(const Tensor &x) {
  check_input(x);
  return functional::conv2d(x, weight, bias, options.stride, options.padding, options.dilation,
                            options.groups);
}

void Conv2d::check_input(const Tensor &x) const {
  PG_CHECK(x.defined() && (x.dim() == 3 || x.dim() == 4), name(), "(", extra_repr(),
           "): expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got ",
           x.defined() ? "shape " + shape_str(x.shape()) : std::string("an undefined tensor"));
  const int64_t c = x.size(x.dim() - 3);
  PG_CHECK(c == in_channels, name(), "(", extra_repr(), "): expected input with ", in_channels,
           " channels, got input of shape ", shape_str(x.shape()), " (", c,
           " channels); weight has shape ", shape_str(weight.shape()));
}

std::string Conv2d::extra_repr() const {
  std::string s = std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                  ", kernel_size=" + kernel_size.str() + ", stride=" + options.stride.str();
  if (!(options.padding == Size2(0)))
    s += ", padding=" + options.padding.str();
  if (!(options.dilation == Size2(1)))
    s += ", dilation=" + options.dilation.str();
  if (options.groups != 1)
    s += ", groups=" + std::to_string(options.groups);
  if (!bias.defined())
    s += ", bias=false";
  return s;
}

} // namespace polygrad::nn
