// The portable micro-kernel of kernel::sgemm: a 4 x 16 block of C in plain
// C++ (sgemm_ukernel.h has the contract). Runs on any CPU; the compiler
// vectorises the j loops for whatever the build targets. Also the yardstick
// the tests hold the SIMD kernels to.
#include <polygrad/core/kernels/sgemm_ukernel.h>

namespace polygrad::kernel::detail {
namespace {

constexpr int MR = 4, NR = 16;

void ukernel_4x16(int64_t kc, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc,
                  int m, int n, float alpha, float beta) {
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k, a += MR, b += ldb)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j)
        acc[i][j] += a[i] * b[j];
  for (int i = 0; i < m; ++i) {
    float *r = c + i * ldc;
    if (beta == 0.f)
      for (int j = 0; j < n; ++j)
        r[j] = alpha * acc[i][j];
    else
      for (int j = 0; j < n; ++j)
        r[j] = alpha * acc[i][j] + beta * r[j];
  }
}

constexpr SgemmKernelInfo kInfo{MR, NR, NR, {ukernel_4x16, nullptr, nullptr, nullptr}};

} // namespace

const SgemmKernelInfo *sgemm_reference_kernel() { return &kInfo; }

} // namespace polygrad::kernel::detail
