// Winograd F(4x4, 3x3)'s tile transforms (winograd_tiles.h; the math in
// winograd.h): 6x6 input tiles at a stride of 4, 4x4 output tiles, 36
// products per tile where the direct form needs 144 (4x fewer multiply-adds;
// F(2x2, 3x3): 2.25x). Interpolation points 0, 1, -1, 2, -2 and infinity
// (Lavin & Gray 2016):
//   B^T = [4  0 -5  0  1  0]    G = [ 1/4     0     0]   A^T = [1 1  1 1  1 0]
//         [0 -4 -4  1  1  0]        [-1/6  -1/6  -1/6]         [0 1 -1 2 -2 0]
//         [0  4 -4 -1  1  0]        [-1/6   1/6  -1/6]         [0 1  1 4  4 0]
//         [0 -2 -1  2  1  0]        [1/24  1/12   1/6]         [0 1 -1 8 -8 1]
//         [0  2 -1 -2  1  0]        [1/24 -1/12   1/6]
//         [0  4  0 -5  0  1]        [   0     0     1]
// Unlike F(2x2, 3x3) the transforms scale (by up to 8 and 1/24), so the
// rounding error grows ~10x (tests/test_nn_layers.cpp: y 3.4e-4 vs 2.0e-5
// relative on 64 channels of N(0, 1) data). Points 0, 1, -1, 1/2, -2 would
// halve it (measured in numpy: 1.2e-6 vs 2.2e-6 of the largest output),
// not close the gap; these keep the transforms symmetric (fewer operations).
#include <polygrad/nn/kernels/winograd_tiles.h>

#include <algorithm>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <polygrad/core/interleave.h>

namespace polygrad::nn::detail {
namespace {

// The tile loops work on blocks of kV tiles held in GCC / clang vector
// types (one AVX-512 register; two AVX2 ones): written as plain loops over
// the 36 entries, the compiler vectorised across the entries with gathers,
// or not at all (2x slower than F(2x2, 3x3) per output). Scratch planes carry
// kV floats of slack so a block may read past a plane's last tile, and so
// do the M buffers (kWinogradSlack); values past the last tile are computed
// and never stored.
constexpr int kV = 16;
static_assert(kV <= kWinogradSlack);
typedef float Vec __attribute__((vector_size(kV * sizeof(float))));
typedef float VecU __attribute__((vector_size(kV * sizeof(float)), aligned(4), may_alias));

// (Vectors go by reference: without AVX-512 a 64-byte vector passed or
// returned by value has no fixed ABI, which GCC and clang warn about.)
inline void load(Vec &v, const float *p) { v = *reinterpret_cast<const VecU *>(p); }
inline void store(float *p, const Vec &v) { *reinterpret_cast<VecU *>(p) = v; }
// The first n (<= kV) lanes only: past them lie other tiles' values.
inline void store_n(float *p, const Vec &v, int64_t n) {
  if (n == kV)
    store(p, v);
  else
#if defined(__AVX512F__)
    _mm512_mask_storeu_ps(p, __mmask16((1u << n) - 1), __m512(v));
#else
    for (int64_t i = 0; i < n; ++i)
      p[i] = v[i];
#endif
}

// Scratch: 16 planes of phase_size + kV floats (the input's phase planes,
// the output's R / Y planes), then a padded row (4 pitch floats), then for
// input_tiles_adjoint 36 D planes (adjoint_plane floats each).
int64_t plane_stride(const WinogradPlan &p) { return p.phase_size() + kV; }
int64_t adjoint_plane(const WinogradPlan &p) { return p.th * p.pitch() + 2 * (p.pitch() + 1) + kV; }
int64_t scratch_size(const WinogradPlan &p) {
  return 16 * plane_stride(p) + 4 * p.pitch() + 36 * adjoint_plane(p);
}

// r = B^T d, on kV tiles at once.
inline void bt6(const Vec d[6], Vec r[6]) {
  const Vec a = d[4] - d[2], b = d[3] - d[1];
  r[0] = 4.f * d[0] - 5.f * d[2] + d[4];
  r[1] = (d[3] + d[4]) - 4.f * (d[1] + d[2]);
  r[2] = (d[4] - d[3]) + 4.f * (d[1] - d[2]);
  r[3] = a + 2.f * b;
  r[4] = a - 2.f * b;
  r[5] = 4.f * d[1] - 5.f * d[3] + d[5];
}

// r = B g, on kV tiles at once (the adjoint of bt6: column j of B^T).
inline void b6(const Vec g[6], Vec r[6]) {
  r[0] = 4.f * g[0];
  r[1] = 4.f * (g[2] - g[1]) + 2.f * (g[4] - g[3]) + 4.f * g[5];
  r[2] = -5.f * g[0] - 4.f * (g[1] + g[2]) - (g[3] + g[4]);
  r[3] = (g[1] - g[2]) + 2.f * (g[3] - g[4]) - 5.f * g[5];
  r[4] = g[0] + g[1] + g[2] + g[3] + g[4];
  r[5] = g[5];
}

// out_t = F in_t F^T on the 6x6 tiles t .. t + kV of the 36 planes in
// (columns first, then rows; F a 1-D transform on 6 vectors), the first n
// lanes stored: the input transform (F = B^T) and its adjoint (F = B).
template <void (*F)(const Vec[6], Vec[6])>
inline void transform66(const float *const in[36], float *const out[36], int64_t t, int64_t n) {
  Vec s[6][6]; // F in, s[l]: column l
  for (int l = 0; l < 6; ++l) {
    Vec g[6];
    for (int k = 0; k < 6; ++k)
      load(g[k], in[6 * k + l] + t);
    F(g, s[l]);
  }
  for (int k = 0; k < 6; ++k) { // then (F in) F^T on each row k
    const Vec g[6] = {s[0][k], s[1][k], s[2][k], s[3][k], s[4][k], s[5][k]};
    Vec r[6];
    F(g, r);
    for (int l = 0; l < 6; ++l)
      store_n(out[6 * k + l] + t, r[l], n);
  }
}

// U[(xi Ci + c) ld + t0 + t] = (B^T d_t B)[xi], d_t[k][l] from the phase
// planes Q[(k % 4) 4 + l % 4][t + (k / 4) pitch + l / 4] of the padded plane c.
void input_tiles(const WinogradPlan &p, const float *xn, float *U, int64_t ld, int64_t t0,
                 float *Q) {
  const int64_t P = p.pitch(), S = plane_stride(p), T = p.th * P;
  float *row = Q + 16 * S;
  for (int b = 0; b < 16; ++b) // the slack (read, never stored)
    std::fill_n(Q + b * S + p.phase_size(), kV, 0.f);
  for (int64_t c = 0; c < p.Ci; ++c) {
    const float *plane = xn + c * p.H * p.W;
    // Phase planes: Q[4 a + b][i P + j] = padded[4 i + a][4 j + b], i < th + 2.
    for (int64_t a = 0; a < 4; ++a)
      for (int64_t i = 0; i < p.th + 2; ++i) {
        float *q = Q + 4 * a * S + i * P;
        const int64_t r = 4 * i + a - p.ph;
        if (r < 0 || r >= p.H) {
          for (int b = 0; b < 4; ++b)
            std::fill_n(q + b * S, P, 0.f);
          continue;
        }
        // the row with its padding: 4 P >= pw + W floats (4 tw >= OW = W + 2 pw - 2)
        std::fill_n(row, 4 * P, 0.f);
        std::copy_n(plane + r * p.W, std::min(p.W, 4 * P - p.pw), row + p.pw);
        kernel::deinterleave4(row, P, q, q + S, q + 2 * S, q + 3 * S);
      }
    const float *src[36];
    for (int k = 0; k < 6; ++k)
      for (int l = 0; l < 6; ++l)
        src[6 * k + l] = Q + ((k % 4) * 4 + l % 4) * S + (k / 4) * P + l / 4;
    float *u[36];
    for (int xi = 0; xi < 36; ++xi)
      u[xi] = U + (xi * p.Ci + c) * ld + t0;
    for (int64_t t = 0; t < T; t += kV)
      transform66<bt6>(src, u, t, std::min<int64_t>(kV, T - t));
  }
}

// The adjoint of input_tiles: dx image xn from dU[(xi Ci + c) ld + t0 + t].
// Per tile dd_t = B dU_t B^T (6x6), into the D planes; each goes back where
// input_tiles read d_t from, phase plane (k % 4) 4 + l % 4 at
// t + (k / 4) pitch + l / 4, the windows of neighbouring tiles overlapping
// by 2:
//   Qd[4 a + b][s] = sum over k = a (+ 4 if < 6), l = b (+ 4 if < 6) of
//                    D[6 k + l][s - (k / 4) pitch - l / 4]
// (the D planes carry a zero margin of pitch + 1 on both sides); then each
// padded row is interleaved back from its 4 phase planes and its part inside
// the image copied out. A spare tile's dU is zero (its dM is).
void input_tiles_adjoint(const WinogradPlan &p, const float *dU, int64_t ld, int64_t t0, float *dxn,
                         float *scratch) {
  const int64_t P = p.pitch(), S = plane_stride(p), T = p.th * P, DP = adjoint_plane(p);
  float *Q = scratch, *row = Q + 16 * S, *D = row + 4 * P;
  for (int xi = 0; xi < 36; ++xi) { // the margins
    std::fill_n(D + xi * DP, P + 1, 0.f);
    std::fill_n(D + xi * DP + P + 1 + T, P + 1, 0.f);
  }
  for (int64_t c = 0; c < p.Ci; ++c) {
    const float *u[36];
    float *d[36];
    for (int xi = 0; xi < 36; ++xi) {
      u[xi] = dU + (xi * p.Ci + c) * ld + t0;
      d[xi] = D + xi * DP + P + 1;
    }
    // (a block may read dU past the chunk's last tile: the buffers after it
    // hold those floats; the lanes are computed and never stored)
    for (int64_t t = 0; t < T; t += kV)
      transform66<b6>(u, d, t, std::min<int64_t>(kV, T - t));
    for (int a = 0; a < 4; ++a)
      for (int b = 0; b < 4; ++b) {
        const float *e[4] = {nullptr, nullptr, nullptr, nullptr};
        int ne = 0;
        for (int k = a; k < 6; k += 4)
          for (int l = b; l < 6; l += 4)
            e[ne++] = d[6 * k + l] - (k / 4) * P - l / 4;
        float *q = Q + (4 * a + b) * S;
        if (ne == 4) {
#pragma omp simd
          for (int64_t i = 0; i < T + P; ++i)
            q[i] = e[0][i] + e[1][i] + e[2][i] + e[3][i];
        } else if (ne == 2) {
#pragma omp simd
          for (int64_t i = 0; i < T + P; ++i)
            q[i] = e[0][i] + e[1][i];
        } else {
          std::copy_n(e[0], T + P, q);
        }
      }
    // image row r is padded row r + ph = 4 i + a; column x is padded 4 j + b
    float *plane = dxn + c * p.H * p.W;
    for (int64_t r = 0; r < p.H; ++r) {
      const int64_t a = (r + p.ph) % 4, i = (r + p.ph) / 4;
      const float *q = Q + 4 * a * S + i * P;
      kernel::interleave4(q, q + S, q + 2 * S, q + 3 * S, P, row);
      std::copy_n(row + p.pw, p.W, plane + r * p.W);
    }
  }
}

// y = A^T m, on kV tiles at once.
inline void at6(const Vec m[6], Vec y[4]) {
  const Vec s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];
  y[0] = m[0] + s12 + s34;
  y[1] = d12 + 2.f * d34;
  y[2] = s12 + 4.f * s34;
  y[3] = d12 + 8.f * d34 + m[5];
}

// Image yn from M: Y_t = A^T m_t A + bias. The 16 outputs of each tile go to
// phase planes R[4 a + b] (contiguous over t), then are interleaved into the
// rows; the spare tile and what lies past OH / OW are dropped.
void output_tiles(const WinogradPlan &p, const float *M, int64_t ld, int64_t t0, const float *bias,
                  float *yn, float *R) {
  const int64_t P = p.pitch(), S = plane_stride(p), T = p.th * P;
  float *row = R + 16 * S;
  for (int64_t o = 0; o < p.Co; ++o) {
    const float b = bias ? bias[o] : 0.f;
    const float *m[36];
    for (int xi = 0; xi < 36; ++xi)
      m[xi] = M + (xi * p.Co + o) * ld + t0;
    for (int64_t t = 0; t < T; t += kV) { // whole blocks: M and R have the slack
      Vec a[6][4];                        // A^T m (columns first), a[l]: column l
      for (int l = 0; l < 6; ++l) {
        Vec c[6];
        for (int k = 0; k < 6; ++k)
          load(c[k], m[6 * k + l] + t);
        at6(c, a[l]);
      }
      for (int i = 0; i < 4; ++i) {
        const Vec c[6] = {a[0][i], a[1][i], a[2][i], a[3][i], a[4][i], a[5][i]};
        Vec y[4];
        at6(c, y);
        for (int j = 0; j < 4; ++j)
          store(R + (4 * i + j) * S + t, y[j] + b);
      }
    }
    float *plane = yn + o * p.OH * p.OW;
    for (int64_t i = 0; i < p.OH; ++i) {
      const float *q = R + 4 * (i % 4) * S + (i / 4) * P;
      kernel::interleave4(q, q + S, q + 2 * S, q + 3 * S, P, row);
      std::copy_n(row, p.OW, plane + i * p.OW);
    }
  }
}

// m = A y, on kV tiles at once (the adjoint of at6).
inline void a6(const Vec y[4], Vec m[6]) {
  const Vec s02 = y[0] + y[2], s13 = y[1] + y[3];
  const Vec f02 = y[0] + 4.f * y[2], f13 = 2.f * y[1] + 8.f * y[3];
  m[0] = y[0];
  m[1] = s02 + s13;
  m[2] = s02 - s13;
  m[3] = f02 + f13;
  m[4] = f02 - f13;
  m[5] = y[3];
}

// dM_t = A dY_t A^T, dY_t the 4x4 block of dy at tile t (zero past OH / OW
// and for the spare tile), through phase planes Y[4 a + b] as output_tiles.
void output_tiles_adjoint(const WinogradPlan &p, const float *dyn, float *dM, int64_t ld,
                          int64_t t0, float *Y) {
  const int64_t P = p.pitch(), S = plane_stride(p), T = p.th * P;
  float *row = Y + 16 * S;
  for (int b = 0; b < 16; ++b) // the slack (read, never stored)
    std::fill_n(Y + b * S + T, kV, 0.f);
  for (int64_t o = 0; o < p.Co; ++o) {
    const float *plane = dyn + o * p.OH * p.OW;
    for (int64_t ti = 0; ti < p.th; ++ti)
      for (int64_t a = 0; a < 4; ++a) {
        float *q = Y + 4 * a * S + ti * P;
        const int64_t r = 4 * ti + a;
        if (r >= p.OH) {
          for (int b = 0; b < 4; ++b)
            std::fill_n(q + b * S, P, 0.f);
          continue;
        }
        std::copy_n(plane + r * p.OW, p.OW, row); // 4 P > OW: the spare tile reads zeros
        std::fill(row + p.OW, row + 4 * P, 0.f);
        kernel::deinterleave4(row, P, q, q + S, q + 2 * S, q + 3 * S);
      }
    float *m[36];
    for (int xi = 0; xi < 36; ++xi)
      m[xi] = dM + (xi * p.Co + o) * ld + t0;
    for (int64_t t = 0; t < T; t += kV) {
      const int64_t n = std::min<int64_t>(kV, T - t);
      Vec c[4][6]; // A dY (columns first), c[j]: column j
      for (int j = 0; j < 4; ++j) {
        Vec y[4];
        for (int i = 0; i < 4; ++i)
          load(y[i], Y + (4 * i + j) * S + t);
        a6(y, c[j]);
      }
      for (int k = 0; k < 6; ++k) { // then (A dY) A^T on each row k
        const Vec y[4] = {c[0][k], c[1][k], c[2][k], c[3][k]};
        Vec r[6];
        a6(y, r);
        for (int l = 0; l < 6; ++l)
          store_n(m[6 * k + l] + t, r[l], n);
      }
    }
  }
}

// G applied to a 3-vector g.
inline void g6(float g0, float g1, float g2, float v[6]) {
  const float s = g0 + g2;
  v[0] = 0.25f * g0;
  v[1] = (-1.f / 6) * (s + g1);
  v[2] = (-1.f / 6) * (s - g1);
  const float q = (1.f / 24) * g0 + (1.f / 6) * g2, h = (1.f / 12) * g1;
  v[3] = q + h;
  v[4] = q - h;
  v[5] = g2;
}

// v[xi stride] = (G g G^T)[xi].
void kernel_transform(const float *g, float *v, int64_t stride) {
  float t[6][3]; // G g
  for (int k = 0; k < 3; ++k) {
    float r[6];
    g6(g[k], g[3 + k], g[6 + k], r);
    for (int i = 0; i < 6; ++i)
      t[i][k] = r[i];
  }
  for (int i = 0; i < 6; ++i) { // (G g) G^T
    float r[6];
    g6(t[i][0], t[i][1], t[i][2], r);
    for (int j = 0; j < 6; ++j)
      v[(6 * i + j) * stride] = r[j];
  }
}

// G^T applied to a 6-vector d (the adjoint of g6).
inline void gt6(const float d[6], float g[3]) {
  const float s12 = d[1] + d[2], d12 = d[2] - d[1], s34 = d[3] + d[4], d34 = d[3] - d[4];
  g[0] = 0.25f * d[0] - (1.f / 6) * s12 + (1.f / 24) * s34;
  g[1] = (1.f / 6) * d12 + (1.f / 12) * d34;
  g[2] = (1.f / 6) * (s34 - s12) + d[5];
}

// The adjoint: g = G^T dV G.
void kernel_transform_adjoint(const float *dv, int64_t stride, float *g) {
  float t[3][6]; // G^T dV
  for (int l = 0; l < 6; ++l) {
    float d[6], r[3];
    for (int k = 0; k < 6; ++k)
      d[k] = dv[(6 * k + l) * stride];
    gt6(d, r);
    for (int i = 0; i < 3; ++i)
      t[i][l] = r[i];
  }
  for (int i = 0; i < 3; ++i) // (G^T dV) G
    gt6(t[i], g + 3 * i);
}

} // namespace

const WinogradTiles &winograd_f4_tiles() {
  static const WinogradTiles t{4,
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
