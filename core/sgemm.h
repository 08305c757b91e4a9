// polygrad's own single-precision GEMM, and the switch between it and
// OpenBLAS for the convolution GEMMs.
//
//   C (M x N) = alpha op(A) op(B) + beta C,  row-major, op(X) = X or X^T
//
// Why: a convolution step is thousands of small GEMMs (16 per Winograd chunk,
// a few per im2col block). OpenBLAS packs both operands inside every call,
// takes a mutex for its buffer each time, zeroes C before accumulating when
// beta == 0, and runs the kernel OPENBLAS_CORETYPE picks (AVX2 here). The own
// GEMM (Goto/BLIS blocking) packs into thread-local buffers (no lock),
// writes C from the first K block (no zeroing pass), reads a row-major op(A)
// in place where the kernel can (avx512, avx2: the broadcast operand needs
// no packing, which spares the weight gradients' and Linear's inputs a
// transposing pack) and runs the widest micro-kernel the CPU supports,
// chosen at run time:
//   avx512     8 x 48 register block (24 zmm accumulators; the 8 rows
//              divide every channel count of the reference models)
//   avx2       6 x 16 (12 ymm accumulators)
//   reference  4 x 16, plain C++ (any CPU; the compiler vectorises it)
// Blocking: K in blocks of 256 (an 8 x 256 A micro-panel is 8 KB of L1),
// M in blocks of 240 rows of packed A (240 KB, L2), N in blocks of 3072.
//
// Which GEMMs use it: kernel::sgemm (the convolutions' GEMMs, nn/kernels/,
// and nn::Linear's three) runs on gemm_kernel(); kernel::gemm (matmul) stays
// on OpenBLAS (docs/benchmarks.md).
//
// Threads: C's rows are split across the OpenMP threads (its columns when
// it has too few rows); an NT product with a large op(B) (>= 64K floats:
// Linear's forward, x W^T) has its B transposed and packed once, half by
// each thread, into one shared buffer, instead of whole by each thread
// (M1 training +11.6 %); one whose op(B) is at least twice op(A) and K at
// least 2 M (x W^T with more weights than inputs: M1's hidden layers) is
// computed transposed, C^T = B A^T, so that the weights are read in place
// and only the inputs are transposed (beta == 0 only; the same bits as the
// usual path; M1 training 1.02-1.39x in one A/B run).
// Results: every element of C is one K-ordered sum whatever the thread split
// (the dot kernel or the packed path is chosen on the whole product, not on
// a thread's rows), so the result does not depend on the thread count; it
// differs from OpenBLAS's by rounding only (a float sum in another order).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace polygrad::kernel {

enum class GemmKernel { OpenBLAS, Avx512, Avx2, Reference };

// "openblas", "avx512", "avx2", "reference".
const char *gemm_kernel_name(GemmKernel k);
// Parses a name as above, or "own" (the best own kernel this CPU supports);
// throws polygrad::Error listing the valid names otherwise.
GemmKernel parse_gemm_kernel(const std::string &name);
// Whether this CPU (and OS) runs the kernel; OpenBLAS and reference always.
bool gemm_kernel_supported(GemmKernel k);
// The own kernels this CPU runs, widest first (always ends with Reference).
std::vector<GemmKernel> supported_own_gemm_kernels();

// The kernel kernel::sgemm uses. Initially from the environment variable
// POLYGRAD_GEMM (a name for parse_gemm_kernel; a bad name makes the first
// GEMM throw, naming the variable), else "own". set_gemm_kernel throws if
// the CPU does not support the kernel.
GemmKernel gemm_kernel();
void set_gemm_kernel(GemmKernel k);

// How many columns of C gemm_kernel() computes for N columns: N rounded up
// to its panel widths (e.g. 20 -> 32 and 56 -> 64 for avx512's 48-wide
// panel with 16- and 32-wide edge panels; N for OpenBLAS). Callers that
// choose N (a Winograd chunk) use it to avoid wasted columns.
int64_t sgemm_computed_cols(int64_t N);

// C = alpha op(A) op(B) + beta C with gemm_kernel(); the same contract and
// thread split as kernel::gemm (core/kernels.h): beta == 0 never reads C,
// above kGemmSplitFlops the rows (or columns) of C are split across the
// OpenMP threads, inside a parallel region it runs on the calling thread.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
           int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

// What sgemm does to C after the product, on each tile of C while it is
// still in L1 (no extra pass over C, and on the threads of the split):
//   C[i][j] = act(alpha op(A) op(B) + beta C[i][j] + bias[j])
// bias: N floats (one per column of C), or null for none; act = ReLU
// (c <= 0 ? 0 : c, as polygrad::relu: a NaN passes) or the identity. The
// sum is the same K-ordered sum as without an epilogue; the bias is added
// once, after it (nn::Linear's y = x W^T + b, and Linear+ReLU as one node).
struct SgemmEpilogue {
  const float *bias = nullptr;
  bool relu = false;
};
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
           int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc,
           const SgemmEpilogue &epilogue);

// op(A) (M x K) packed once into a kernel's layout, for many products with
// the same left operand (a convolution's weights over every chunk of images
// and every thread): sgemm(PackedA, ...) then packs only op(B). Packed for
// the given kernel (default gemm_kernel()) and run on it whatever
// gemm_kernel() says later; for OpenBLAS it keeps A's address (A must then
// outlive it) and calls kernel::gemm. Copies share the packed data.
class PackedA {
public:
  PackedA() = default;
  PackedA(bool trans_a, int64_t M, int64_t K, const float *A, int64_t lda);
  PackedA(bool trans_a, int64_t M, int64_t K, const float *A, int64_t lda, GemmKernel k);
  int64_t rows() const { return M_; }
  int64_t cols() const { return K_; }
  GemmKernel kernel() const { return kernel_; }

private:
  friend void sgemm(const PackedA &, bool, int64_t, float, const float *, int64_t, float, float *,
                    int64_t);
  GemmKernel kernel_ = GemmKernel::OpenBLAS;
  bool trans_ = false;
  int64_t M_ = 0, K_ = 0, lda_ = 0;
  const float *a_ = nullptr;    // OpenBLAS: the caller's A
  std::shared_ptr<float> data_; // own kernels: the panels
};

// C (M x N) = alpha a op(B) + beta C, M = a.rows(), K = a.cols(); thread
// split and contract as sgemm above.
void sgemm(const PackedA &a, bool trans_b, int64_t N, float alpha, const float *B, int64_t ldb,
           float beta, float *C, int64_t ldc);

// One own kernel, on the calling thread, whatever gemm_kernel() says (k not
// OpenBLAS, and supported): for tests and benchmarks.
void sgemm_serial(GemmKernel k, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                  float alpha, const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                  float *C, int64_t ldc);

} // namespace polygrad::kernel
