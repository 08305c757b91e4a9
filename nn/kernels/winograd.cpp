// Winograd F(2x2, 3x3): the transforms, the 16 GEMMs per chunk of images and
// the three drivers (see winograd.h for the math).
#include <polygrad/nn/kernels/winograd.h>

#include <algorithm>
#include <omp.h>
#include <vector>

#include <polygrad/core/elementwise.h>
#include <polygrad/core/interleave.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/parallel.h>
#include <polygrad/core/sgemm.h>
#include <polygrad/core/tensor.h>

namespace polygrad::nn::detail {
namespace {

// A convolution as the tile kernels see it: Ci input planes H x W, Co output
// planes OH x OW, th x tw tiles of 2x2 outputs per image.
struct Plan {
  int64_t N, Ci, H, W, Co, ph, pw, OH, OW, th, tw, TI;
};

Plan make_plan(int64_t N, int64_t Ci, int64_t H, int64_t W, int64_t Co, int64_t ph, int64_t pw) {
  Plan p{N, Ci, H, W, Co, ph, pw, H + 2 * ph - 2, W + 2 * pw - 2, 0, 0, 0};
  p.th = (p.OH + 1) / 2;
  p.tw = (p.OW + 1) / 2;
  p.TI = p.th * (p.tw + 1); // tiles per image, with one spare per tile row (see pitch)
  return p;
}

// Images per chunk: U and M of a chunk (16 (Ci + Co) floats per tile) within
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
  return images_per_chunk(16 * (p.Ci + p.Co) * p.TI, p.TI);
}

// The batch split: one worker per thread when each gets an image.
int workers_for(const Plan &p) {
  const int nt = get_num_threads();
  return (nt <= 1 || omp_in_parallel() || p.N < nt) ? 1 : nt;
}

// Tiles are numbered t = ti (tw + 1) + tj per image: one spare tile per
// tile row (tj = tw, computed and dropped; 1/(tw + 1) extra GEMM work). With
// that row pitch, every entry of every tile is a plain shift of t in one of
// four phase planes (even/odd rows x even/odd columns of the padded image),
// so the transforms are contiguous vector loops over all tiles of a plane
// instead of short loops over one tile row.
int64_t pitch(const Plan &p) { return p.tw + 1; }
int64_t phase_size(const Plan &p) { return (p.th + 2) * pitch(p); }
int64_t scratch_size(const Plan &p) { return 4 * phase_size(p); }

// Phase planes of an H x W plane seen with padding (ph, pw) and zeros around:
// Q[2 a + b][i pitch + j] = plane[2 i + a - ph, 2 j + b - pw], i < th + 2,
// j <= tw (row pitch tw + 1).
void phase_split(const Plan &p, const float *plane, int64_t H, int64_t W, int64_t ph, int64_t pw,
                 float *Q) {
  const int64_t P = pitch(p), S = phase_size(p);
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t i = 0; i < p.th + 2; ++i) {
      float *q0 = Q + (2 * a) * S + i * P, *q1 = Q + (2 * a + 1) * S + i * P;
      const int64_t r = 2 * i + a - ph;
      if (r < 0 || r >= H) {
        std::fill_n(q0, P, 0.f);
        std::fill_n(q1, P, 0.f);
        continue;
      }
      const float *row = plane + r * W;
      // [ja, jb): both columns inside the row (a deinterleaving vector loop)
      const int64_t ja = std::min(P, (pw + 1) / 2), jb = std::clamp((W + pw) / 2, ja, P);
      auto edge = [&](int64_t j) {
        const int64_t x0 = 2 * j - pw, x1 = x0 + 1;
        q0[j] = x0 >= 0 && x0 < W ? row[x0] : 0.f;
        q1[j] = x1 >= 0 && x1 < W ? row[x1] : 0.f;
      };
      for (int64_t j = 0; j < ja; ++j)
        edge(j);
      kernel::deinterleave(row + 2 * ja - pw, jb - ja, q0 + ja, q1 + ja);
      for (int64_t j = jb; j < P; ++j)
        edge(j);
    }
}

// U[(xi Ci + c) ld + t0 + t] = (B^T d_t B)[xi] for every tile t of image xn,
// where d_t[k][l] = Q[2 (k % 2) + l % 2][t + (k / 2) pitch + l / 2]:
//   B^T d: s0 = d0 - d2, s1 = d1 + d2, s2 = d2 - d1, s3 = d1 - d3 (rows k),
//   then the same on the columns l.
void input_tiles(const Plan &p, const float *xn, float *U, int64_t ld, int64_t t0, float *Q) {
  const int64_t P = pitch(p), S = phase_size(p), T = p.th * P;
  for (int64_t c = 0; c < p.Ci; ++c) {
    phase_split(p, xn + c * p.H * p.W, p.H, p.W, p.ph, p.pw, Q);
    const float *src[4][4];
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 4; ++l)
        src[k][l] = Q + (2 * (k % 2) + l % 2) * S + (k / 2) * P + l / 2;
    float *u[16];
    for (int xi = 0; xi < 16; ++xi)
      u[xi] = U + (xi * p.Ci + c) * ld + t0;
#pragma omp simd
    for (int64_t t = 0; t < T; ++t) {
      float sr[4][4];
      for (int l = 0; l < 4; ++l) {
        const float d0 = src[0][l][t], d1 = src[1][l][t], d2 = src[2][l][t], d3 = src[3][l][t];
        sr[0][l] = d0 - d2, sr[1][l] = d1 + d2, sr[2][l] = d2 - d1, sr[3][l] = d1 - d3;
      }
      for (int i = 0; i < 4; ++i) {
        u[4 * i + 0][t] = sr[i][0] - sr[i][2];
        u[4 * i + 1][t] = sr[i][1] + sr[i][2];
        u[4 * i + 2][t] = sr[i][2] - sr[i][1];
        u[4 * i + 3][t] = sr[i][1] - sr[i][3];
      }
    }
  }
}

// Image yn (Co planes OH x OW) from M[(xi Co + o) ld + t0 + t]:
//   Y = A^T m A,  A^T m: a0 = m0 + m1 + m2, a1 = m1 - m2 - m3 (rows of m),
// then the same on the columns; plus the bias. The four outputs of each tile
// go to phase planes R (contiguous over t), then interleaved into the rows;
// the spare tile, the column past OW and the row past OH are dropped.
void output_tiles(const Plan &p, const float *M, int64_t ld, int64_t t0, const float *bias,
                  float *yn, float *R) {
  const int64_t P = pitch(p), T = p.th * P;
  float *R00 = R, *R01 = R + T, *R10 = R + 2 * T, *R11 = R + 3 * T;
  for (int64_t o = 0; o < p.Co; ++o) {
    const float b = bias ? bias[o] : 0.f;
    const float *m[16];
    for (int xi = 0; xi < 16; ++xi)
      m[xi] = M + (xi * p.Co + o) * ld + t0;
#pragma omp simd
    for (int64_t t = 0; t < T; ++t) {
      float a0[4], a1[4];
      for (int k = 0; k < 4; ++k) {
        a0[k] = m[k][t] + m[4 + k][t] + m[8 + k][t];
        a1[k] = m[4 + k][t] - m[8 + k][t] - m[12 + k][t];
      }
      R00[t] = a0[0] + a0[1] + a0[2] + b;
      R01[t] = a0[1] - a0[2] - a0[3] + b;
      R10[t] = a1[0] + a1[1] + a1[2] + b;
      R11[t] = a1[1] - a1[2] - a1[3] + b;
    }
    float *plane = yn + o * p.OH * p.OW;
    for (int64_t i = 0; i < p.OH; ++i) {
      const float *e = (i % 2 ? R10 : R00) + (i / 2) * P, *d = (i % 2 ? R11 : R01) + (i / 2) * P;
      float *row = plane + i * p.OW;
      kernel::interleave(e, d, p.OW / 2, row);
      if (p.OW % 2)
        row[p.OW - 1] = e[p.OW / 2];
    }
  }
}

// The adjoint of output_tiles (without the bias): dM_t = A dY_t A^T, dY_t
// the 2x2 block of dy at tile t (zero past OH / OW and for the spare tile).
// On the rows: (y0, y0 + y1, y0 - y1, -y1), then the same on the columns.
void output_tiles_adjoint(const Plan &p, const float *dyn, float *dM, int64_t ld, int64_t t0,
                          float *Y) {
  const int64_t P = pitch(p), T = p.th * P;
  float *Y00 = Y, *Y01 = Y + T, *Y10 = Y + 2 * T, *Y11 = Y + 3 * T;
  for (int64_t o = 0; o < p.Co; ++o) {
    const float *plane = dyn + o * p.OH * p.OW;
    for (int64_t ti = 0; ti < p.th; ++ti)
      for (int64_t a = 0; a < 2; ++a) {
        float *e = (a ? Y10 : Y00) + ti * P, *d = (a ? Y11 : Y01) + ti * P;
        const int64_t r = 2 * ti + a;
        if (r >= p.OH) {
          std::fill_n(e, P, 0.f);
          std::fill_n(d, P, 0.f);
          continue;
        }
        const float *row = plane + r * p.OW;
        const int64_t full = p.OW / 2; // tiles with both columns inside
        kernel::deinterleave(row, full, e, d);
        for (int64_t j = full; j < P; ++j) { // an odd OW's last tile, the spare tile
          e[j] = 2 * j < p.OW ? row[2 * j] : 0.f;
          d[j] = 0.f;
        }
      }
    float *m[16];
    for (int xi = 0; xi < 16; ++xi)
      m[xi] = dM + (xi * p.Co + o) * ld + t0;
#pragma omp simd
    for (int64_t t = 0; t < T; ++t) {
      const float e0 = Y00[t], o0 = Y01[t], e1 = Y10[t], o1 = Y11[t];
      const float re[4] = {e0, e0 + e1, e0 - e1, -e1}, ro[4] = {o0, o0 + o1, o0 - o1, -o1};
      for (int i = 0; i < 4; ++i) {
        m[4 * i + 0][t] = re[i];
        m[4 * i + 1][t] = re[i] + ro[i];
        m[4 * i + 2][t] = re[i] - ro[i];
        m[4 * i + 3][t] = -ro[i];
      }
    }
  }
}

// V[(xi O + o) C + c] = (G g G^T)[xi] for g = w[o, c] (3x3). G applied to a
// 3-vector (a, b, c): (a, (a + b + c) / 2, (a - b + c) / 2, c).
void weight_transform(int64_t O, int64_t C, const float *w, float *V) {
  kernel::parallel_range(O, O * C * 64, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o)
      for (int64_t c = 0; c < C; ++c) {
        const float *g = w + (o * C + c) * 9;
        float t[4][3]; // G g
        for (int k = 0; k < 3; ++k) {
          t[0][k] = g[k];
          t[1][k] = 0.5f * (g[k] + g[3 + k] + g[6 + k]);
          t[2][k] = 0.5f * (g[k] - g[3 + k] + g[6 + k]);
          t[3][k] = g[6 + k];
        }
        for (int i = 0; i < 4; ++i) {
          const float v[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]),
                              0.5f * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
          for (int j = 0; j < 4; ++j)
            V[((4 * i + j) * O + o) * C + c] = v[j];
        }
      }
  });
}

// The adjoint of weight_transform: dw[o, c] = G^T dV G, with G^T applied to
// a 4-vector (a, b, c, d): (a + (b + c) / 2, (b - c) / 2, (b + c) / 2 + d).
void weight_transform_adjoint(int64_t O, int64_t C, const float *dV, float *dw) {
  for (int64_t o = 0; o < O; ++o)
    for (int64_t c = 0; c < C; ++c) {
      float d[4][4];
      for (int xi = 0; xi < 16; ++xi)
        d[xi / 4][xi % 4] = dV[(xi * O + o) * C + c];
      float t[3][4]; // G^T dV
      for (int k = 0; k < 4; ++k) {
        t[0][k] = d[0][k] + 0.5f * (d[1][k] + d[2][k]);
        t[1][k] = 0.5f * (d[1][k] - d[2][k]);
        t[2][k] = 0.5f * (d[1][k] + d[2][k]) + d[3][k];
      }
      float *g = dw + (o * C + c) * 9;
      for (int i = 0; i < 3; ++i) {
        g[3 * i + 0] = t[i][0] + 0.5f * (t[i][1] + t[i][2]);
        g[3 * i + 1] = 0.5f * (t[i][1] - t[i][2]);
        g[3 * i + 2] = 0.5f * (t[i][1] + t[i][2]) + t[i][3];
      }
    }
}

// Rotating g by 180 degrees (g J, J reversing the 3 taps) permutes the rows
// of G: G J = P G with P swapping entries 0 and 3 (rows 1 and 2 of G are
// palindromes). So G (J g J) G^T = P (G g G^T) P: position (i, j) of the
// rotated kernel's transform is (pi(i), pi(j)) of the original's.
inline int rotated_index(int xi) {
  constexpr int pi[4] = {3, 1, 2, 0};
  return 4 * pi[xi / 4] + pi[xi % 4];
}

// The 16 left operands of the tile GEMMs, packed once per call for the GEMM
// kernel (kernel::PackedA) and shared by every worker and chunk: V[xi]
// (Co x Ci) from V's [16][Co][Ci]; with `rotated`, V holds the forward's
// [16][Ci][Co] and position xi takes V[rotated_index(xi)]^T.
std::vector<kernel::PackedA> pack_v(const Plan &p, const float *V, bool rotated) {
  std::vector<kernel::PackedA> out(16);
  kernel::parallel_range(16, 16 * p.Co * p.Ci, [&](int64_t x0, int64_t x1) {
    for (int64_t xi = x0; xi < x1; ++xi)
      out[xi] = rotated ? kernel::PackedA(true, p.Co, p.Ci,
                                          V + rotated_index((int)xi) * p.Ci * p.Co, p.Co)
                        : kernel::PackedA(false, p.Co, p.Ci, V + xi * p.Co * p.Ci, p.Ci);
  });
  return out;
}

// M[xi] (Co x ld) = V[xi] (Co x Ci) U[xi] (Ci x ld) for the 16 positions;
// C written, not accumulated (beta = 0).
void tile_gemms(const Plan &p, const std::vector<kernel::PackedA> &V, const float *U, float *M,
                int64_t ld) {
  for (int xi = 0; xi < 16; ++xi)
    kernel::sgemm(V[xi], false, ld, 1.f, U + xi * p.Ci * ld, ld, 0.f, M + xi * p.Co * ld, ld);
}

// With sink, image n's output goes to it (from a per-worker buffer) instead
// of to y.
void conv_tiles(const Plan &p, const float *x, const std::vector<kernel::PackedA> &V,
                const float *bias, float *y, const ImageSink &sink) {
  const int nw = workers_for(p);
  const int64_t ic = images_per_chunk(p);
  const int64_t in_size = p.Ci * p.H * p.W, out_size = p.Co * p.OH * p.OW;
  kernel::run_workers(nw, p.N, [&](int t, int64_t n0, int64_t n1) {
    const int64_t tiles = std::min(ic, std::max<int64_t>(1, n1 - n0)) * p.TI;
    Tensor ub = Tensor::empty({16 * p.Ci * tiles}), mb = Tensor::empty({16 * p.Co * tiles});
    Tensor sb = Tensor::empty({scratch_size(p)});
    Tensor ib = Tensor::empty({sink ? out_size : 0});
    float *U = ub.data<float>(), *M = mb.data<float>(), *buf = sb.data<float>();
    for (int64_t c0 = n0; c0 < n1; c0 += ic) {
      const int64_t c1 = std::min(n1, c0 + ic), ld = (c1 - c0) * p.TI;
      for (int64_t n = c0; n < c1; ++n)
        input_tiles(p, x + n * in_size, U, ld, (n - c0) * p.TI, buf);
      tile_gemms(p, V, U, M, ld);
      for (int64_t n = c0; n < c1; ++n) {
        float *yn = sink ? ib.data<float>() : y + n * out_size;
        output_tiles(p, M, ld, (n - c0) * p.TI, bias, yn, buf);
        if (sink)
          sink(t, n, yn);
      }
    }
  });
}

} // namespace

void winograd_forward(const Winograd3x3 &g, const float *x, const float *w, const float *b,
                      float *y, const ImageSink &sink) {
  Tensor vb = Tensor::empty({16 * g.O * g.C});
  weight_transform(g.O, g.C, w, vb.data<float>());
  const Plan p = make_plan(g.N, g.C, g.H, g.W, g.O, g.ph, g.pw);
  conv_tiles(p, x, pack_v(p, vb.data<float>(), false), b, y, sink);
}

void winograd_backward(const Winograd3x3 &g, const float *dy, const float *x, const float *w,
                       float *dx, float *dw, float *db, const ImageSource &dy_of) {
  // dx: the forward's tiles on dy (O planes OH x OW) with padding 2 - p and
  // the rotated kernel, giving C planes H x W. dW: the forward's own tiles
  // (x: C planes, dy: O planes).
  const Plan pd = make_plan(g.N, g.O, g.OH(), g.OW(), g.C, 2 - g.ph, 2 - g.pw);
  const Plan pw = make_plan(g.N, g.C, g.H, g.W, g.O, g.ph, g.pw);
  Tensor vb = dx ? Tensor::empty({16 * g.O * g.C}) : Tensor();
  if (dx)
    weight_transform(g.O, g.C, w, vb.data<float>());
  const std::vector<kernel::PackedA> V =
      dx ? pack_v(pd, vb.data<float>(), true) : std::vector<kernel::PackedA>();
  const int nw = workers_for(pw);
  // Both halves' U and M within a chunk's budget.
  const int64_t ic = images_per_chunk(16 * (g.O + g.C) * ((dx ? pd.TI : 0) + (dw ? pw.TI : 0)),
                                      dw ? pw.TI : pd.TI);
  const int64_t L = g.OH() * g.OW(), xsize = g.C * g.H * g.W, vsize = 16 * g.O * g.C;
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
    const int64_t k = std::min(ic, n1 - n0), td = dx ? k * pd.TI : 0, tw = dw ? k * pw.TI : 0;
    // Ud, Md (data half), Uw, dMw (weight half), transform scratch, dy_n.
    const int64_t sz[6] = {16 * g.O * td,
                           16 * g.C * td,
                           16 * g.C * tw,
                           16 * g.O * tw,
                           std::max(scratch_size(pd), scratch_size(pw)),
                           dy_of ? g.O * L : 0};
    Tensor bufs = Tensor::empty({sz[0] + sz[1] + sz[2] + sz[3] + sz[4] + sz[5]});
    float *Ud = bufs.data<float>(), *Md = Ud + sz[0], *Uw = Md + sz[1], *dMw = Uw + sz[2];
    float *buf = dMw + sz[3], *ib = buf + sz[4];
    for (int64_t c0 = n0; c0 < n1; c0 += ic) {
      const int64_t c1 = std::min(n1, c0 + ic), ldd = (c1 - c0) * pd.TI, ldw = (c1 - c0) * pw.TI;
      for (int64_t n = c0; n < c1; ++n) {
        // dy_n once for both halves (a fused epilogue rebuilds it here)
        const float *dyn = dy_of ? dy_of(t, n, ib) : dy + n * g.O * L;
        if (dx)
          input_tiles(pd, dyn, Ud, ldd, (n - c0) * pd.TI, buf);
        if (dw) {
          input_tiles(pw, x + n * xsize, Uw, ldw, (n - c0) * pw.TI, buf);
          output_tiles_adjoint(pw, dyn, dMw, ldw, (n - c0) * pw.TI, buf);
        }
        if (dbt) // db[o] = sum of dy[n, o] (while dy_n is in cache)
          kernel::add_row_sums(dyn, g.O, L, dbt);
      }
      if (dx) {
        tile_gemms(pd, V, Ud, Md, ldd);
        for (int64_t n = c0; n < c1; ++n)
          output_tiles(pd, Md, ldd, (n - c0) * pd.TI, nullptr, dx + n * xsize, buf);
      }
      if (dw) // dV[xi] (+)= dM[xi] (O x ld) U[xi]^T (ld x C)
        for (int xi = 0; xi < 16; ++xi)
          kernel::sgemm(false, true, g.O, g.C, ldw, 1.f, dMw + xi * g.O * ldw, ldw,
                        Uw + xi * g.C * ldw, ldw, c0 == n0 ? 0.f : 1.f, dV + xi * g.O * g.C, g.C);
    }
  });
  if (!psize)
    return;
  float *dV = part.data<float>();
  for (int t = 1; t < nw; ++t) {
    const float *q = dV + t * psize;
    for (int64_t i = 0; i < psize; ++i)
      dV[i] += q[i];
  }
  if (dw)
    weight_transform_adjoint(g.O, g.C, dV, dw);
  if (db)
    std::copy(dV + voff, dV + psize, db);
}

} // namespace polygrad::nn::detail
