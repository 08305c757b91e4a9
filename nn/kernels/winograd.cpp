// Winograd F(m x m, 3x3): the n^2 GEMMs per chunk of images (n = m + 2) and
// the three drivers, for every tile size (see winograd.h for the math; the
// transforms are in winograd_f2.cpp and winograd_f4.cpp).
#include <polygrad/nn/kernels/winograd.h>

#include <algorithm>
#include <omp.h>
#include <utility>
#include <vector>

#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/parallel.h>
#include <polygrad/core/sgemm.h>
#include <polygrad/core/tensor.h>
#include <polygrad/nn/kernels/winograd_tiles.h>

namespace polygrad::nn::detail {
namespace {

using Plan = WinogradPlan;

const WinogradTiles &tiles_for(int m) { return m == 4 ? winograd_f4_tiles() : winograd_f2_tiles(); }

// Images per chunk: U and M of a chunk (n^2 (Ci + Co) floats per tile) within
// ~512 KB, so the GEMMs read what the transforms just wrote from L2; at
// least one image. (M2 step, interleaved A/B: 20.7 ms at 512 KB and at
// 256 KB, 21.3 at 1 MB, 22.5 at 2 MB.) Where that leaves the GEMM kernel's
// last column panel mostly empty (under 80 % of the computed columns used),
// a few more images, up to ~160 tiles: the 8x8 images of M3's conv5 have
// 20 tiles, which the avx512 kernel computes as 32 columns (62 % used); 4
// images are 80 tiles, all used (that layer's fwd+bwd 64 ms instead of 76,
// bench/nn_layers_bench). Not for 80-90 % (M2's conv2, 56 tiles in 64
// columns): the larger chunk spills the transforms' output out of L2 and
// costs more than the fuller panel gains (M2 conv2 fwd+bwd 13.0 ms vs 11.9).
int64_t images_per_chunk(int64_t floats_per_image, int64_t tiles_per_image) {
  const int64_t k0 = std::max<int64_t>(1, (int64_t(1) << 17) / floats_per_image);
  auto used = [&](int64_t k) {
    return double(k * tiles_per_image) / double(kernel::sgemm_computed_cols(k * tiles_per_image));
  };
  int64_t best = k0;
  if (used(k0) < 0.8)
    for (int64_t k = k0 + 1; k * tiles_per_image <= 160; ++k)
      if (used(k) > used(best) + 0.02)
        best = k;
  return best;
}
int64_t images_per_chunk(const Plan &p) {
  return images_per_chunk(p.positions() * (p.Ci + p.Co) * p.TI, p.TI);
}

// The batch split: one worker per thread when each gets an image.
int workers_for(const Plan &p) {
  const int nt = get_num_threads();
  return (nt <= 1 || omp_in_parallel() || p.N < nt) ? 1 : nt;
}

// The n^2 left operands of the tile GEMMs, packed once per call for the
// GEMM kernel (kernel::PackedA) and shared by every worker and chunk: V[xi]
// (Co x Ci) from V's [n^2][Co][Ci]; with `transposed`, V holds [n^2][Ci][Co]
// (the forward's, for a plan with the channels swapped) and position xi
// takes V[xi]^T.
std::vector<kernel::PackedA> pack_v(const Plan &p, const float *V, bool transposed = false) {
  const int64_t np = p.positions();
  std::vector<kernel::PackedA> out(np);
  kernel::parallel_range(np, np * p.Co * p.Ci, [&](int64_t x0, int64_t x1) {
    for (int64_t xi = x0; xi < x1; ++xi)
      out[xi] = transposed ? kernel::PackedA(true, p.Co, p.Ci, V + xi * p.Ci * p.Co, p.Co)
                           : kernel::PackedA(false, p.Co, p.Ci, V + xi * p.Co * p.Ci, p.Ci);
  });
  return out;
}

// M[xi] (Co x ld) = V[xi] (Co x Ci) U[xi] (Ci x ld) for the n^2 positions;
// C written, not accumulated (beta = 0).
void tile_gemms(const Plan &p, const std::vector<kernel::PackedA> &V, const float *U, float *M,
                int64_t ld) {
  for (int64_t xi = 0; xi < p.positions(); ++xi)
    kernel::sgemm(V[xi], false, ld, 1.f, U + xi * p.Ci * ld, ld, 0.f, M + xi * p.Co * ld, ld);
}

// V[(xi O + o) C + c] = (G g G^T)[xi] for every kernel g = w[o, c].
void weight_transform(const WinogradTiles &k, int64_t O, int64_t C, const float *w, float *V) {
  const int64_t n2 = (k.m + 2) * (k.m + 2);
  kernel::parallel_range(O, O * C * n2 * 4, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o)
      for (int64_t c = 0; c < C; ++c)
        k.kernel_transform(w + (o * C + c) * 9, V + o * C + c, O * C);
  });
}

// The adjoint: dw[o, c] = G^T dV_{o,c} G (split over the threads: serial,
// M3's 61k kernels per step kept the other thread waiting ~1 ms).
void weight_transform_adjoint(const WinogradTiles &k, int64_t O, int64_t C, const float *dV,
                              float *dw) {
  const int64_t n2 = (k.m + 2) * (k.m + 2);
  kernel::parallel_range(O, O * C * n2 * 4, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o)
      for (int64_t c = 0; c < C; ++c)
        k.kernel_transform_adjoint(dV + o * C + c, O * C, dw + (o * C + c) * 9);
  });
}

// With sink, image n's output goes to it (from a per-worker buffer) instead
// of to y.
void conv_tiles(const Plan &p, const WinogradTiles &k, const float *x,
                const std::vector<kernel::PackedA> &V, const float *bias, float *y,
                const ImageSink &sink) {
  const int nw = workers_for(p);
  const int64_t ic = images_per_chunk(p);
  const int64_t in_size = p.Ci * p.H * p.W, out_size = p.Co * p.OH * p.OW;
  kernel::run_workers(nw, p.N, [&](int t, int64_t n0, int64_t n1) {
    const int64_t tiles = std::min(ic, std::max<int64_t>(1, n1 - n0)) * p.TI;
    Tensor ub = Tensor::empty({p.positions() * p.Ci * tiles});
    Tensor mb = Tensor::empty({p.positions() * p.Co * tiles + kWinogradSlack});
    Tensor sb = Tensor::empty({k.scratch_size(p)});
    Tensor ib = Tensor::empty({sink ? out_size : 0});
    float *U = ub.data<float>(), *M = mb.data<float>(), *buf = sb.data<float>();
    for (int64_t c0 = n0; c0 < n1; c0 += ic) {
      const int64_t c1 = std::min(n1, c0 + ic), ld = (c1 - c0) * p.TI;
      for (int64_t n = c0; n < c1; ++n)
        k.input_tiles(p, x + n * in_size, U, ld, (n - c0) * p.TI, buf);
      tile_gemms(p, V, U, M, ld);
      for (int64_t n = c0; n < c1; ++n) {
        float *yn = sink ? ib.data<float>() : y + n * out_size;
        k.output_tiles(p, M, ld, (n - c0) * p.TI, bias, yn, buf);
        if (sink)
          sink(t, n, yn);
      }
    }
  });
}

} // namespace

WinogradPlan make_winograd_plan(int m, int64_t N, int64_t Ci, int64_t H, int64_t W, int64_t Co,
                                int64_t ph, int64_t pw) {
  WinogradPlan p{N, Ci, H, W, Co, ph, pw, H + 2 * ph - 2, W + 2 * pw - 2, m, m + 2, 0, 0, 0, 0};
  p.th = (p.OH + m - 1) / m;
  p.tw = (p.OW + m - 1) / m;
  // F(2x2) drops the spare tiles on the way to the GEMMs where that makes
  // the kernel compute fewer columns for an image (M3: 272 -> 256 on 32x32
  // maps, 80 -> 64 on 16x16, 32 -> 16 on 8x8; the copy costs less), not
  // where it does not (M2's 14x14: 56 or 49 tiles are 64 columns either way,
  // and the chunk rule would then take 3 images: 0.86x M2's step).
  // F(4x4)'s transforms keep them (winograd_tiles.h).
  const bool compact = m == 2 && kernel::sgemm_computed_cols(p.th * p.tw) <
                                     kernel::sgemm_computed_cols(p.th * p.pitch());
  p.rt = compact ? p.tw : p.pitch();
  p.TI = p.th * p.rt;
  return p;
}

void winograd_forward(const Winograd3x3 &g, const float *x, const float *w, const float *b,
                      float *y, const ImageSink &sink) {
  const WinogradTiles &k = tiles_for(g.m);
  const Plan p = make_winograd_plan(g.m, g.N, g.C, g.H, g.W, g.O, g.ph, g.pw);
  Tensor vb = Tensor::empty({p.positions() * g.O * g.C});
  weight_transform(k, g.O, g.C, w, vb.data<float>());
  conv_tiles(p, k, x, pack_v(p, vb.data<float>()), b, y, sink);
}

void winograd_backward(const Winograd3x3 &g, const float *dy, const float *x, const float *w,
                       float *dx, float *dw, float *db, const ImageSource &dy_of) {
  // dW: dV[xi] = sum over tiles of dM[xi] U[xi]^T, dM = the adjoint of the
  // output transform on dy, U the forward's tiles of x. dx from the same dM:
  // dU[xi] = V[xi]^T dM[xi], then the input transform's adjoint.
  const WinogradTiles &k = tiles_for(g.m);
  const Plan pw = make_winograd_plan(g.m, g.N, g.C, g.H, g.W, g.O, g.ph, g.pw);
  // the dx GEMMs' dimensions: C outputs from O inputs (V^T), on pw's tiles
  Plan pd = pw;
  std::swap(pd.Ci, pd.Co);
  const int64_t np = pw.positions();
  Tensor vb;
  std::vector<kernel::PackedA> V;
  if (dx) { // V[xi]^T (C x O) from the forward's V [xi][O][C]
    vb = Tensor::empty({np * g.O * g.C});
    weight_transform(k, g.O, g.C, w, vb.data<float>());
    V = pack_v(pd, vb.data<float>(), true);
  }
  const bool need_dm = dw || dx;
  const int nw = workers_for(pw);
  // Every buffer of a chunk within the chunk's budget.
  const int64_t ic =
      images_per_chunk(np * ((dw ? g.C : 0) + (need_dm ? g.O : 0) + (dx ? g.C : 0)) * pw.TI, pw.TI);
  const int64_t L = g.OH() * g.OW(), xsize = g.C * g.H * g.W, vsize = np * g.O * g.C;
  const int64_t voff = dw ? vsize : 0, psize = voff + (db ? g.O : 0);
  // Per-worker dV and db partials, summed in worker order (deterministic).
  Tensor part = psize ? Tensor::empty({nw, psize}) : Tensor();
  kernel::run_workers(nw, g.N, [&](int t, int64_t n0, int64_t n1) {
    float *dV = psize ? part.data<float>() + t * psize : nullptr;
    float *dbt = db ? dV + voff : nullptr;
    if (dV && n1 == n0)
      std::fill_n(dV, psize, 0.f);
    if (n1 == n0)
      return;
    if (dbt)
      std::fill_n(dbt, g.O, 0.f);
    const int64_t tw = std::min(ic, n1 - n0) * pw.TI;
    // Uw (x's tiles), dM, Ux (dx's tiles), scratch (transforms may read
    // past a buffer's last tile: the slack), dy_n.
    const int64_t sz[5] = {dw ? np * g.C * tw : 0, need_dm ? np * g.O * tw : 0,
                           dx ? np * g.C * tw : 0, k.scratch_size(pw) + kWinogradSlack,
                           dy_of ? g.O * L : 0};
    Tensor bufs = Tensor::empty({sz[0] + sz[1] + sz[2] + sz[3] + sz[4]});
    float *Uw = bufs.data<float>(), *dM = Uw + sz[0], *Ux = dM + sz[1], *buf = Ux + sz[2];
    float *ib = buf + sz[3];
    for (int64_t c0 = n0; c0 < n1; c0 += ic) {
      const int64_t c1 = std::min(n1, c0 + ic), ldw = (c1 - c0) * pw.TI;
      for (int64_t n = c0; n < c1; ++n) {
        // dy_n once for everything (a fused epilogue rebuilds it here)
        const float *dyn = dy_of ? dy_of(t, n, ib) : dy + n * g.O * L;
        if (need_dm)
          k.output_tiles_adjoint(pw, dyn, dM, ldw, (n - c0) * pw.TI, buf);
        if (dw)
          k.input_tiles(pw, x + n * xsize, Uw, ldw, (n - c0) * pw.TI, buf);
        if (dbt) // db[o] = sum of dy[n, o] (while dy_n is in cache)
          kernel::add_row_sums(dyn, g.O, L, dbt);
      }
      if (dx) { // Ux[xi] (C x ld) = V[xi]^T dM[xi], then the input adjoint
        tile_gemms(pd, V, dM, Ux, ldw);
        for (int64_t n = c0; n < c1; ++n)
          k.input_tiles_adjoint(pw, Ux, ldw, (n - c0) * pw.TI, dx + n * xsize, buf);
      }
      if (dw) // dV[xi] (+)= dM[xi] (O x ld) U[xi]^T (ld x C)
        for (int64_t xi = 0; xi < np; ++xi)
          kernel::sgemm(false, true, g.O, g.C, ldw, 1.f, dM + xi * g.O * ldw, ldw,
                        Uw + xi * g.C * ldw, ldw, c0 == n0 ? 0.f : 1.f, dV + xi * g.O * g.C, g.C);
    }
  });
  if (!psize)
    return;
  float *dV = part.data<float>();
  kernel::parallel_range(psize, psize * nw, [&](int64_t i0, int64_t i1) {
    for (int t = 1; t < nw; ++t) { // worker order per element: deterministic
      const float *q = dV + t * psize;
      for (int64_t i = i0; i < i1; ++i)
        dV[i] += q[i];
    }
  });
  if (dw)
    weight_transform_adjoint(k, g.O, g.C, dV, dw);
  if (db)
    std::copy(dV + voff, dV + psize, db);
}

} // namespace polygrad::nn::detail
