// (internal) The micro-kernels behind kernel::sgemm (core/sgemm.h): one
// register block of C per call, from packed panels.
//
//   a: kc x MR floats, a[k MR + i] = op(A)[i][k]   (rows past m are 0)
//   b: kc rows ldb apart, b[k ldb + j] = op(B)[k][j], j < n
//   C[i][j] = alpha sum_k a[k MR + i] b[k ldb + j] + beta C[i][j],
//             i < m <= MR, j < n <= NR; beta == 0 never reads C
// b is either a packed panel (ldb = its width w: NR or, for the last panel
// of a matrix, the narrowest multiple of the kernel's vector width that
// holds its n columns, so that an edge of 20 columns runs a 32-wide kernel,
// not a 48-wide one; columns past n are 0), or, for kernels with direct_b,
// op(B) itself read in place (ldb its row stride; the kernel reads no column
// past n). a is 64-byte aligned.
#pragma once

#include <cstdint>

namespace polygrad::kernel::detail {

// Below this K an NT product is packed like the others: the dot kernel's
// final reductions (45 shuffles and adds per 4 x 4 block) do not pay.
// Measured (bench/core_bench "own", avx512, 1 thread, dot / packed): K = 72
// 0.50x, 272 0.88x, 1024 1.59x (M3 conv1's dW, N = 27).
inline constexpr int64_t kDotMinK = 512;
// ... and above this M N, or where N is a multiple of the kernel's vector
// width, too: the dot kernel reads every row of A once per 4 columns of C
// and every row of B once per 4 rows, from L2 at best, where the packed path
// reuses each packed panel from L1 across a whole block of C; what the dot
// kernel still wins is a narrow ragged N, which the packed path pads to whole
// vectors (N = 27 computed as 32, 10 as 16). Measured (avx512, 1 thread,
// GFLOP/s dot vs packed with A read in place, M x N x K): 64x27x1024 (M3
// conv1's dW) 87 vs 70, 128x10x512 71 vs 59; 128x16x1024 87 vs 104,
// 32x64x784 82 vs 95, 128x48x1024 86 vs 94, 64x64x1024 87 vs 86, 64x128x3136
// (M2 fc1 forward, one thread's rows) 87 vs 101; and before A was read in
// place, 64x512x784 (M1 fc1 forward, one thread's rows) 55 vs 92.
inline constexpr int64_t kDotMaxMN = 8192;

using SgemmMicroKernel = void (*)(int64_t kc, const float *a, const float *b, int64_t ldb, float *c,
                                  int64_t ldc, int m, int n, float alpha, float beta);
// The same with a full block of MR rows of a row-major A read in place:
// a[i lda + k] = op(A)[i][k] (no packing: the broadcast operand needs no
// contiguity; Winograd's dM and Linear's x, both K-contiguous, skip their
// transposing packs). Rows past an M edge are packed and run as above.
using SgemmMicroKernelDirectA = void (*)(int64_t kc, const float *a, int64_t lda, const float *b,
                                         int64_t ldb, float *c, int64_t ldc, int n, float alpha,
                                         float beta);

// C (M x N) = alpha A B^T + beta C with A (M x K) and B (N x K) both read
// along K in place (no packing): each C element a dot product. For the
// weight-gradient GEMMs (dW = dY X^T), whose K (pixels, tiles) is long and
// whose operands are both contiguous along it.
using SgemmDotKernel = void (*)(int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                                int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                                int64_t ldc);

// out[k width + r] = src[r ld + k] for r < rows, k < kc, and 0 for
// rows <= r < width: the transposing half of the packing (op(A) = A with A
// row-major, op(B) = B^T), which a plain loop does one scalar at a time.
using SgemmTransposePack = void (*)(const float *src, int64_t ld, int rows, int64_t kc, int width,
                                    float *out);
// The AVX2 8 x 8 transpose version (any x86-64 CPU with AVX2; null elsewhere).
SgemmTransposePack sgemm_transpose_pack_avx2();

struct SgemmKernelInfo {
  int mr, nr; // the register block
  int unit;   // panel widths are multiples of it, up to nr
  // run[w / unit - 1]: the kernel for panels of width w
  SgemmMicroKernel run[4];
  // the NT product for K >= kDotMinK, M N <= kDotMaxMN and N not a multiple
  // of unit, or null (packed path)
  SgemmDotKernel nt_dot = nullptr;
  // the transposing pack, or null (scalar loop)
  SgemmTransposePack pack_t = nullptr;
  // whether run[] reads an unpacked op(B) = B (masked at the N edge)
  bool direct_b = false;
  // run_direct_a[w / unit - 1]: in-place-A kernels by panel width, or null
  SgemmMicroKernelDirectA run_direct_a[4] = {};
  int width_for(int n) const { return n >= nr ? nr : (n + unit - 1) / unit * unit; }
  SgemmMicroKernel for_width(int w) const { return run[w / unit - 1]; }
};

// Each is compiled for its instruction set (function target attributes), so
// the library builds and loads on any x86-64 CPU; the caller checks the CPU
// first. Null where the compiler cannot target the ISA.
const SgemmKernelInfo *sgemm_avx512_kernel();
const SgemmKernelInfo *sgemm_avx2_kernel();
const SgemmKernelInfo *sgemm_reference_kernel();

} // namespace polygrad::kernel::detail
