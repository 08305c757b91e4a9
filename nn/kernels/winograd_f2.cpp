// Winograd F(2x2, 3x3)'s tile transforms (winograd_tiles.h; the math in
// winograd.h): 4x4 input tiles at a stride of 2, 2x2 output tiles,
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//   A^T = [1 1 1 0; 0 1 -1 -1]
// Only adds, subtracts and halvings: the result differs from the direct sum
// by rounding only.
#include <polygrad/nn/kernels/winograd_tiles.h>

#include <algorithm>

#include <polygrad/core/interleave.h>

namespace polygrad::nn::detail {
namespace {

// Phase planes of an H x W plane seen with padding (ph, pw) and zeros around:
// Q[2 a + b][i pitch + j] = plane[2 i + a - ph, 2 j + b - pw], i < th + 2,
// j <= tw (row pitch tw + 1).
void phase_split(const WinogradPlan &p, const float *plane, int64_t H, int64_t W, int64_t ph,
                 int64_t pw, float *Q) {
  const int64_t P = p.pitch(), S = p.phase_size();
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

// U[(xi Ci + c) ld + t0 + ti rt + tj] = (B^T d_t B)[xi] for every tile
// (ti, tj) of image xn, where, with t = ti pitch + tj,
// d_t[k][l] = Q[2 (k % 2) + l % 2][t + (k / 2) pitch + l / 2]:
//   B^T d: s0 = d0 - d2, s1 = d1 + d2, s2 = d2 - d1, s3 = d1 - d3 (rows k),
//   then the same on the columns l.
// The vector loop runs over all th pitch tiles: into U itself (rt = pitch),
// or into the E planes, whose rows then go to U without their spare tile
// (rt = tw: the GEMMs compute no dropped column, 1/(tw + 1) of them).
void input_tiles(const WinogradPlan &p, const float *xn, float *U, int64_t ld, int64_t t0,
                 float *scratch) {
  const int64_t P = p.pitch(), S = p.phase_size(), T = p.th * P;
  const bool compact = p.rt != P;
  float *Q = scratch, *E = scratch + 4 * S;
  for (int64_t c = 0; c < p.Ci; ++c) {
    phase_split(p, xn + c * p.H * p.W, p.H, p.W, p.ph, p.pw, Q);
    const float *src[4][4];
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 4; ++l)
        src[k][l] = Q + (2 * (k % 2) + l % 2) * S + (k / 2) * P + l / 2;
    float *u[16];
    for (int xi = 0; xi < 16; ++xi)
      u[xi] = compact ? E + xi * T : U + (xi * p.Ci + c) * ld + t0;
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
    // (The row copies here and in the adjoint are inline vector loops, not
    // std::copy_n: rows of 4-16 floats, where a memmove call per row took
    // 6 % of M3's training step; M3 1.030 (0.987..1.069) without them.)
    for (int xi = 0; compact && xi < 16; ++xi) {
      float *dst = U + (xi * p.Ci + c) * ld + t0;
      for (int64_t ti = 0; ti < p.th; ++ti) {
        const float *from = u[xi] + ti * P;
        float *to = dst + ti * p.tw;
#pragma omp simd
        for (int64_t j = 0; j < p.tw; ++j)
          to[j] = from[j];
      }
    }
  }
}

// The D planes of input_tiles_adjoint: 16 planes of T values with a zero
// margin of pitch + 1 on both sides, so the shifted reads need no bounds.
int64_t adjoint_plane(const WinogradPlan &p) { return p.th * p.pitch() + 2 * (p.pitch() + 1); }

// The adjoint of input_tiles: dx image xn (Ci planes H x W) from
// dU[(xi Ci + c) ld + t0 + ti rt + tj]. Per tile, dd_t = B dU_t B^T, with B applied to
// a 4-vector g as (g0, g1 - g2 + g3, g1 + g2 - g0, -g3) (B^T's transpose),
// rows then columns; each dd_t goes back where input_tiles read d_t from:
// phase plane 2 (k % 2) + l % 2 at t + (k / 2) pitch + l / 2, the windows of
// neighbouring tiles overlapping by 2, so
//   Qd[2 a + b][s] = sum over i, j in {0, 1} of D[4 (2 i + a) + 2 j + b][s - i pitch - j]
// (D[xi][t] = dd_t[xi / 4][xi % 4]); then the phase planes interleave back
// into the rows, the padding dropped. A spare tile's dU is zero (its dM is);
// with rt = tw dU has none, and the E planes put them back as zeros.
void input_tiles_adjoint(const WinogradPlan &p, const float *dU, int64_t ld, int64_t t0, float *dxn,
                         float *scratch) {
  const int64_t P = p.pitch(), T = p.th * P, DP = adjoint_plane(p), S = p.phase_size();
  const bool compact = p.rt != P;
  float *D = scratch, *Q = scratch + 16 * DP, *E = Q + 4 * S;
  for (int xi = 0; xi < 16; ++xi) { // the margins, and the E planes' spare tiles
    std::fill_n(D + xi * DP, P + 1, 0.f);
    std::fill_n(D + xi * DP + P + 1 + T, P + 1, 0.f);
    for (int64_t ti = 0; compact && ti < p.th; ++ti)
      E[xi * T + ti * P + p.tw] = 0.f;
  }
  for (int64_t c = 0; c < p.Ci; ++c) {
    const float *u[16];
    float *d[16];
    for (int xi = 0; xi < 16; ++xi) {
      const float *src = dU + (xi * p.Ci + c) * ld + t0;
      u[xi] = src;
      if (compact) { // dU's rows at the pitch of the phase planes
        float *e = E + xi * T;
        for (int64_t ti = 0; ti < p.th; ++ti) {
          const float *from = src + ti * p.tw;
          float *to = e + ti * P;
#pragma omp simd
          for (int64_t j = 0; j < p.tw; ++j)
            to[j] = from[j];
        }
        u[xi] = e;
      }
      d[xi] = D + xi * DP + P + 1;
    }
#pragma omp simd
    for (int64_t t = 0; t < T; ++t) {
      float r[4][4]; // B dU on the rows (k), for each column l
      for (int l = 0; l < 4; ++l) {
        const float g0 = u[l][t], g1 = u[4 + l][t], g2 = u[8 + l][t], g3 = u[12 + l][t];
        r[0][l] = g0, r[1][l] = g1 - g2 + g3, r[2][l] = g1 + g2 - g0, r[3][l] = -g3;
      }
      for (int k = 0; k < 4; ++k) { // then on the columns
        d[4 * k + 0][t] = r[k][0];
        d[4 * k + 1][t] = r[k][1] - r[k][2] + r[k][3];
        d[4 * k + 2][t] = r[k][1] + r[k][2] - r[k][0];
        d[4 * k + 3][t] = -r[k][3];
      }
    }
    // Qd[2 a + b][s] for the phase rows the tiles reach (th + 1 of them)
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b) {
        const float *e00 = d[4 * a + b], *e01 = d[4 * a + b + 2] - 1, *e10 = d[4 * (a + 2) + b] - P,
                    *e11 = d[4 * (a + 2) + b + 2] - P - 1;
        float *q = Q + (2 * a + b) * S;
#pragma omp simd
        for (int64_t s = 0; s < T + P; ++s)
          q[s] = e00[s] + e01[s] + e10[s] + e11[s];
      }
    // row r of the image is phase row (r + ph) / 2 of the planes with
    // a = (r + ph) % 2; column x is entry (x + pw) / 2 of b = (x + pw) % 2
    float *plane = dxn + c * p.H * p.W;
    const int64_t b0 = p.pw % 2, j0 = p.pw / 2; // column 0's phase and entry
    for (int64_t r = 0; r < p.H; ++r) {
      const int64_t a = (r + p.ph) % 2, i = (r + p.ph) / 2;
      const float *first = Q + (2 * a + b0) * S + i * P + j0;
      const float *second = Q + (2 * a + 1 - b0) * S + i * P + j0 + b0;
      float *row = plane + r * p.W;
      kernel::interleave(first, second, p.W / 2, row);
      if (p.W % 2)
        row[p.W - 1] = first[p.W / 2];
    }
  }
}

// Image yn (Co planes OH x OW) from M[(xi Co + o) ld + t0 + t], t = ti rt + tj:
//   Y = A^T m A,  A^T m: a0 = m0 + m1 + m2, a1 = m1 - m2 - m3 (rows of m),
// then the same on the columns; plus the bias. The four outputs of each tile
// go to phase planes R (contiguous over t), then interleaved into the rows;
// a spare tile, the column past OW and the row past OH are dropped.
void output_tiles(const WinogradPlan &p, const float *M, int64_t ld, int64_t t0, const float *bias,
                  float *yn, float *R) {
  const int64_t tw = p.rt, T = p.th * tw;
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
      const float *e = (i % 2 ? R10 : R00) + (i / 2) * tw, *d = (i % 2 ? R11 : R01) + (i / 2) * tw;
      float *row = plane + i * p.OW;
      kernel::interleave(e, d, p.OW / 2, row);
      if (p.OW % 2)
        row[p.OW - 1] = e[p.OW / 2];
    }
  }
}

// The adjoint of output_tiles (without the bias): dM_t = A dY_t A^T, dY_t
// the 2x2 block of dy at tile t = ti rt + tj (zero past OH / OW and for a
// spare tile). On the rows: (y0, y0 + y1, y0 - y1, -y1), then the same on
// the columns.
void output_tiles_adjoint(const WinogradPlan &p, const float *dyn, float *dM, int64_t ld,
                          int64_t t0, float *Y) {
  const int64_t tw = p.rt, T = p.th * tw;
  float *Y00 = Y, *Y01 = Y + T, *Y10 = Y + 2 * T, *Y11 = Y + 3 * T;
  for (int64_t o = 0; o < p.Co; ++o) {
    const float *plane = dyn + o * p.OH * p.OW;
    for (int64_t ti = 0; ti < p.th; ++ti)
      for (int64_t a = 0; a < 2; ++a) {
        float *e = (a ? Y10 : Y00) + ti * tw, *d = (a ? Y11 : Y01) + ti * tw;
        const int64_t r = 2 * ti + a;
        if (r >= p.OH) {
          std::fill_n(e, tw, 0.f);
          std::fill_n(d, tw, 0.f);
          continue;
        }
        const float *row = plane + r * p.OW;
        const int64_t full = p.OW / 2; // tiles with both columns inside
        kernel::deinterleave(row, full, e, d);
        for (int64_t j = full; j < tw; ++j) { // an odd OW's last tile, a spare tile
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

// v[xi stride] = (G g G^T)[xi]. G applied to a 3-vector (a, b, c):
// (a, (a + b + c) / 2, (a - b + c) / 2, c).
void kernel_transform(const float *g, float *v, int64_t stride) {
  float t[4][3]; // G g
  for (int k = 0; k < 3; ++k) {
    t[0][k] = g[k];
    t[1][k] = 0.5f * (g[k] + g[3 + k] + g[6 + k]);
    t[2][k] = 0.5f * (g[k] - g[3 + k] + g[6 + k]);
    t[3][k] = g[6 + k];
  }
  for (int i = 0; i < 4; ++i) {
    const float r[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]),
                        0.5f * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
    for (int j = 0; j < 4; ++j)
      v[(4 * i + j) * stride] = r[j];
  }
}

// The adjoint: g = G^T dV G, with G^T applied to a 4-vector (a, b, c, d):
// (a + (b + c) / 2, (b - c) / 2, (b + c) / 2 + d).
void kernel_transform_adjoint(const float *dv, int64_t stride, float *g) {
  float d[4][4];
  for (int xi = 0; xi < 16; ++xi)
    d[xi / 4][xi % 4] = dv[xi * stride];
  float t[3][4]; // G^T dV
  for (int k = 0; k < 4; ++k) {
    t[0][k] = d[0][k] + 0.5f * (d[1][k] + d[2][k]);
    t[1][k] = 0.5f * (d[1][k] - d[2][k]);
    t[2][k] = 0.5f * (d[1][k] + d[2][k]) + d[3][k];
  }
  for (int i = 0; i < 3; ++i) {
    g[3 * i + 0] = t[i][0] + 0.5f * (t[i][1] + t[i][2]);
    g[3 * i + 1] = 0.5f * (t[i][1] - t[i][2]);
    g[3 * i + 2] = 0.5f * (t[i][1] + t[i][2]) + t[i][3];
  }
}

// input_tiles: 4 phase planes and 16 E planes; output_tiles and its
// adjoint: 4 planes; input_tiles_adjoint: 16 D planes, 4 phase planes and
// 16 E planes.
int64_t scratch_size(const WinogradPlan &p) {
  return 16 * adjoint_plane(p) + 4 * p.phase_size() + 16 * p.th * p.pitch();
}

} // namespace

const WinogradTiles &winograd_f2_tiles() {
  static const WinogradTiles t{2,
                               scratch_size,
                               input_tiles,
                               output_tiles,
                               output_tiles_adjoint,
                               input_tiles_adjoint,
                               kernel_transform,
                               kernel_transform_adjoint};
  return t;
}

} // namespace polygrad::nn::detail
