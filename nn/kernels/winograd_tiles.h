// (internal) The tile transforms of Winograd F(m x m, 3x3) as winograd.cpp's
// drivers call them, one table per tile size: winograd_f2.cpp (m = 2) and
// winograd_f4.cpp (m = 4). The math is in winograd.h. Not installed.
//
// Layout shared by every tile size, for an image of Ci planes H x W giving
// Co planes OH x OW: th x tw tiles of m x m outputs. Inside the transforms
// they are numbered t = ti (tw + 1) + tj: one spare tile per tile row
// (tj = tw, computed and dropped). With that row pitch every entry (k, l) of
// every n x n input tile (n = m + 2) is a plain shift of t in one of m x m
// phase planes of the padded image,
//   Q[(k % m) m + l % m][t + (k / m) pitch + l / m],
// so the transforms are contiguous vector loops over all tiles of a plane
// instead of short loops over one tile row.
// The n^2 positions xi = n k + l of a transformed tile are GEMM operands,
// TI tiles per image (WinogradPlan::TI):
//   U[(xi Ci + c) ld + t0 + t]   the input tiles (ld: the chunk's tiles)
//   M[(xi Co + o) ld + t0 + t]   the products, dM their gradients
//   V[(xi O + o) C + c]          the transformed kernels
// with t = ti rt + tj: rt = pitch (the spare tiles kept: 1/(tw + 1) extra
// GEMM work; F(4x4) always) or tw (F(2x2) where the GEMM kernel's panel
// widths make that fewer computed columns: the transforms drop the spares
// on the way).
#pragma once

#include <cstdint>

namespace polygrad::nn::detail {

// output_tiles may read up to this many floats past the last tile of a row
// of M (values it then drops): M buffers carry that much slack at the end.
inline constexpr int64_t kWinogradSlack = 16;

struct WinogradPlan {
  int64_t N, Ci, H, W, Co, ph, pw, OH, OW;
  int m, n;       // output tile m x m, input tile n x n (n = m + 2)
  int64_t th, tw; // tiles per column, per row
  int64_t rt, TI; // tiles per tile row in U / M (tw or pitch()), per image (th rt)
  int64_t pitch() const { return tw + 1; }
  int64_t phase_size() const { return (th + 2) * pitch(); } // one phase plane
  int64_t positions() const { return int64_t(n) * n; }
};

WinogradPlan make_winograd_plan(int m, int64_t N, int64_t Ci, int64_t H, int64_t W, int64_t Co,
                                int64_t ph, int64_t pw);

struct WinogradTiles {
  int m; // output tile size
  // Floats of scratch the three tile functions need (one buffer, reused).
  int64_t (*scratch_size)(const WinogradPlan &p);
  // U[(xi Ci + c) ld + t0 + t] = (B^T d_{c,t} B)[xi] for every tile t of image xn.
  void (*input_tiles)(const WinogradPlan &p, const float *xn, float *U, int64_t ld, int64_t t0,
                      float *scratch);
  // Image yn (Co planes OH x OW) = A^T M_t A per tile, plus bias[o] (may be null).
  void (*output_tiles)(const WinogradPlan &p, const float *M, int64_t ld, int64_t t0,
                       const float *bias, float *yn, float *scratch);
  // The adjoint of output_tiles without the bias: dM_t = A dY_t A^T.
  void (*output_tiles_adjoint)(const WinogradPlan &p, const float *dyn, float *dM, int64_t ld,
                               int64_t t0, float *scratch);
  // The adjoint of input_tiles: image dxn (Ci planes H x W) = the sum over
  // tiles of B dU_t B^T put back at each tile's (overlapping) input window,
  // the padding dropped: backward-data is dx = input_tiles^T (V^T dM), from
  // the dM the weight gradient needs anyway.
  void (*input_tiles_adjoint)(const WinogradPlan &p, const float *dU, int64_t ld, int64_t t0,
                              float *dxn, float *scratch);
  // v[xi stride] = (G g G^T)[xi] for one 3x3 kernel g (9 floats, row-major)
  // (the drivers loop it over V[(xi O + o) C + c] for g = w[o, c]).
  void (*kernel_transform)(const float *g, float *v, int64_t stride);
  // The adjoint for one kernel: g = G^T dV G, dV[xi] at dv[xi stride].
  void (*kernel_transform_adjoint)(const float *dv, int64_t stride, float *g);
};

const WinogradTiles &winograd_f2_tiles(); // F(2x2, 3x3), winograd_f2.cpp
const WinogradTiles &winograd_f4_tiles(); // F(4x4, 3x3), winograd_f4.cpp

} // namespace polygrad::nn::detail
