// im2col / col2im (im2col.h): a general path that copies one run of OW
// values per kernel tap and output row, and a stride-1 "same" path (OW == W)
// that copies one contiguous run per kernel tap.
#include <polygrad/nn/kernels/im2col.h>

#include <algorithm>

namespace polygrad::nn::detail {
namespace {

// Valid output columns [lo, hi) for kernel column offset off = q dw - pw:
// 0 <= j sw + off < W.
inline void col_range(const ConvGeom &g, int64_t off, int64_t &lo, int64_t &hi) {
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
inline bool same_stride1(const ConvGeom &g) { return g.sh == 1 && g.sw == 1 && g.OW == g.W; }

struct Tap {
  int64_t lo, hi; // valid output columns
  int64_t va, vb; // valid output rows within the block
  int64_t start;  // plane index of the first valid row's column 0 (may be < 0)
  int64_t k0, k1; // the part of the run [0, (vb - va) OW) inside the plane
};

inline Tap same_tap(const ConvGeom &g, int64_t p, int64_t q, int64_t i0, int64_t i1) {
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

void im2col_same(const ConvGeom &g, const float *x, float *col, int64_t i0, int64_t i1) {
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
void col2im_same(const ConvGeom &g, float *col, float *dx, int64_t i0, int64_t i1) {
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

} // namespace

// col[(c kh + p) kw + q, (i - i0) OW + j] = x[c, i sh - ph + p dh, j sw - pw + q dw]
// for output rows i in [i0, i1) (0 outside the image). col has row length
// (i1 - i0) OW. Plain loops, not memcpy/memset calls: the runs are short
// (OW floats) and a call per run costs more than the copy.
void im2col(const ConvGeom &g, const float *x, float *col, int64_t i0, int64_t i1) {
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
void col2im_add(const ConvGeom &g, float *col, float *dx, int64_t i0, int64_t i1) {
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

} // namespace polygrad::nn::detail
