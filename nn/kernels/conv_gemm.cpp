// conv2d's drivers (conv_gemm.h): the row blocking, the split of the batch
// across the threads, the per-image GEMMs of the im2col path, and the
// tensor-level calls into the Winograd kernel.
#include <polygrad/nn/kernels/conv_gemm.h>

#include <algorithm>
#include <cstring>
#include <omp.h>
#include <vector>

#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/parallel.h>
#include <polygrad/core/sgemm.h>
#include <polygrad/nn/conv2d.h>
#include <polygrad/nn/kernels/im2col.h>
#include <polygrad/nn/kernels/winograd.h>

namespace polygrad::nn::detail {
namespace {

// Output rows per block. The per-image GEMMs run over blocks of whole output
// rows whose col slice (K x rows*OW floats) stays within ~1 MB, the L2 size:
// im2col writes it and the GEMM reads it back mostly from L2 (a whole image's
// col is 2.4 MB for a 64-channel 32x32 layer). Blocks are balanced (16 rows
// in 2 blocks of 8, not 14 + 2: a thin last block makes a slow GEMM); larger
// blocks also mean fewer GEMM calls (the weights are packed once per call
// of the conv, kernel::PackedA).
int64_t block_rows(const ConvGeom &g) {
  const int64_t target = int64_t(1) << 18; // floats
  const int64_t most = std::clamp<int64_t>(target / std::max<int64_t>(1, g.K() * g.OW), 1, g.OH);
  const int64_t blocks = (g.OH + most - 1) / most;
  return (g.OH + blocks - 1) / blocks;
}

// Image-parallel driver: fn(worker, n0, n1) over a static split of the batch
// when every thread gets at least one image and the work pays for the fork;
// otherwise one worker runs the whole batch (and kernel::sgemm splits each
// GEMM across the threads itself). Returns the number of workers used.
int workers_for(const ConvGeom &g) {
  const int nt = get_num_threads();
  const double macs = double(g.N) * g.O * g.L() * g.Kg();
  if (nt <= 1 || omp_in_parallel() || g.N < nt || macs < kConvParallelMacs)
    return 1;
  return nt;
}

Winograd3x3 winograd_geom(const ConvGeom &g, int m) {
  return {g.N, g.C, g.H, g.W, g.O, g.ph, g.pw, m};
}

// The im2col path's forward. With a sink, y_n is computed in a per-worker
// buffer.
Tensor gemm_forward(const ConvGeom &g, const Tensor &x, const Tensor &w, const Tensor &b,
                    const ImageSink &sink) {
  const float *pb = b.defined() ? b.data<float>() : nullptr;
  const int64_t L = g.L(), Og = g.Og(), Kg = g.Kg();
  const int nw = workers_for(g);
  Tensor y = sink ? Tensor::empty({nw, g.O * L}) : Tensor::empty({g.N, g.O, g.OH, g.OW});
  const bool direct = g.direct();
  const int64_t rows = direct ? g.OH : block_rows(g), bufsize = g.K() * rows * g.OW;
  Tensor colbuf = direct ? Tensor() : Tensor::empty({nw, bufsize});
  const float *px = x.data<float>(), *pw = w.data<float>();
  float *py = y.data<float>();
  // W_g packed once for the GEMM kernel, shared by the workers.
  std::vector<kernel::PackedA> wp;
  for (int64_t grp = 0; grp < g.G; ++grp)
    wp.emplace_back(false, Og, Kg, pw + grp * Og * Kg, Kg);
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
        // 1): no separate pass, and no C-zeroing pass inside the GEMM.
        float *yb = yn + i0 * g.OW;
        if (pb)
          for (int64_t o = 0; o < g.O; ++o)
            std::fill_n(yb + o * L, m, pb[o]);
        // y_n,g[:, block] = W_g col_g: (Og x Kg)(Kg x m)
        for (int64_t grp = 0; grp < g.G; ++grp)
          kernel::sgemm(wp[grp], false, m, 1.f, cb + grp * Kg * m, m, pb ? 1.f : 0.f,
                        yb + grp * Og * L, L);
      }
      if (sink)
        sink(t, n, yn);
    }
  });
  return sink ? Tensor() : y;
}

// The im2col path's backward. With dy_of, image n's dy_n comes from it
// instead of gy.
ConvGrads gemm_backward(const ConvGeom &g, const Tensor &gy, const Tensor &x, const Tensor &w,
                        bool gx, bool gw, bool gb, const ImageSource &dy_of) {
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
  // W_g^T packed once for the dcol GEMMs.
  std::vector<kernel::PackedA> wtp;
  for (int64_t grp = 0; gx && grp < g.G; ++grp)
    wtp.emplace_back(true, Kg, Og, pw + grp * Og * Kg, Kg);
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
            kernel::sgemm(false, true, Og, Kg, m, 1.f, gb0 + grp * Og * L, L, cb + grp * Kg * m, m,
                          beta, dwt + grp * Og * Kg, Kg);
        }
        if (gx) {
          // dcol_g = W_g^T dy_n,g[:, block]: (Kg x Og)(Og x m); a 1x1 direct
          // conv writes it straight into dx_n.
          float *target = direct ? dxn : dcol;
          const int64_t ldt = direct ? L : m;
          for (int64_t grp = 0; grp < g.G; ++grp)
            kernel::sgemm(wtp[grp], false, m, 1.f, gb0 + grp * Og * L, L, 0.f,
                          target + grp * Kg * ldt, ldt);
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

// Winograd's dx, dW and db in one pass over dy (db alone: the im2col path's
// plain sum over dy).
ConvGrads winograd_grads(const ConvGeom &g, int m, const Tensor &gy, const Tensor &x,
                         const Tensor &w, bool gx, bool gw, bool gb, const ImageSource &dy_of) {
  if (!gx && !gw)
    return gemm_backward(g, gy, x, w, false, false, gb, dy_of);
  ConvGrads r;
  if (gx)
    r.dx = Tensor::empty({g.N, g.C, g.H, g.W});
  if (gw)
    r.dw = Tensor::empty({g.O, g.C, 3, 3});
  if (gb)
    r.db = Tensor::empty({g.O});
  winograd_backward(winograd_geom(g, m), dy_of ? nullptr : gy.data<float>(),
                    gw ? x.data<float>() : nullptr, gx ? w.data<float>() : nullptr,
                    gx ? r.dx.data<float>() : nullptr, gw ? r.dw.data<float>() : nullptr,
                    gb ? r.db.data<float>() : nullptr, dy_of);
  return r;
}

} // namespace

Tensor conv_forward(const ConvGeom &g, int wino, const Tensor &x, const Tensor &w, const Tensor &b,
                    const ImageSink &sink) {
  if (wino) {
    const float *pb = b.defined() ? b.data<float>() : nullptr;
    Tensor y = sink ? Tensor() : Tensor::empty({g.N, g.O, g.OH, g.OW});
    winograd_forward(winograd_geom(g, wino), x.data<float>(), w.data<float>(), pb,
                     sink ? nullptr : y.data<float>(), sink);
    return y;
  }
  return gemm_forward(g, x, w, b, sink);
}

ConvGrads conv_backward(const ConvGeom &g, int wino, const Tensor &gy, const Tensor &x,
                        const Tensor &w, bool gx, bool gw, bool gb, const ImageSource &dy_of) {
  return wino ? winograd_grads(g, wino, gy, x, w, gx, gw, gb, dy_of)
              : gemm_backward(g, gy, x, w, gx, gw, gb, dy_of);
}

} // namespace polygrad::nn::detail
