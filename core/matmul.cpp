// GEMM through OpenBLAS, and matmul with torch.matmul's shape rules.
//
// Threading: OpenBLAS always runs single-threaded; a GEMM above
// kGemmSplitFlops is cut into one slab of rows of C per OpenMP thread (of
// columns when C has too few rows), each slab one BLAS call. So one thread
// pool (OpenMP) does all the work of the library and OpenBLAS's own pthreads
// never start. Measured on the 2-core VM (bench/core_bench sections "split"
// and "fight", docs/benchmarks.md):
//  * the row split is as fast as OpenBLAS's own 2-thread GEMM or faster on
//    every shape measured (square 128..2048, the M1/M2 Linear layers), and
//    faster than a column split everywhere (up to 2x on 128-row shapes);
//  * running OpenBLAS's pool next to OpenMP's makes a Linear layer 1.4x to
//    200x slower: each pool's idle workers keep spinning (libgomp a few ms,
//    OpenBLAS ~130 ms) on the cores the other pool needs.
//
// Small shapes: OpenBLAS 0.3.21's sgemm packs both operands even for a
// vector, so a product with M == 1 or N == 1 goes to sgemv and one with
// K == 1 (an outer product, e.g. dW = x^T g at batch 1) to a direct rank-1
// loop: 2.7-5.6x faster there (bench/core_bench section "small").
//
// Transposed views go to BLAS as transposes, never copies.
#include <algorithm>
#include <cblas.h>
#include <cstring>
#include <omp.h>

#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/kernels/gemm_split.h>

namespace polygrad::kernel {
namespace {

// C[MxN] = alpha op(A) op(B) + beta C on the calling thread, with the fast
// paths for vectors and rank-1 products.
void gemm_serial(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                 int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  if (M == 1) {
    // c^T = op(B)^T op(A)^T: a matrix-vector product over op(B).
    // op(A) is a row: its K elements are 1 apart (stored 1xK) or lda apart (stored Kx1).
    const int inc_a = ta ? (int)lda : 1;
    if (tb) // B stored N x K
      cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)N, (int)K, alpha, B, (int)ldb, A, inc_a, beta,
                  C, 1);
    else // B stored K x N
      cblas_sgemv(CblasRowMajor, CblasTrans, (int)K, (int)N, alpha, B, (int)ldb, A, inc_a, beta, C,
                  1);
    return;
  }
  if (N == 1) {
    // c = op(A) op(B): op(B) is a column, its elements ldb apart (stored Kx1) or 1 apart (1xK).
    const int inc_b = tb ? 1 : (int)ldb;
    if (ta) // A stored K x M
      cblas_sgemv(CblasRowMajor, CblasTrans, (int)K, (int)M, alpha, A, (int)lda, B, inc_b, beta, C,
                  (int)ldc);
    else // A stored M x K
      cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)M, (int)K, alpha, A, (int)lda, B, inc_b, beta,
                  C, (int)ldc);
    return;
  }
  if (K == 1) {
    // Rank-1: C[i][j] = alpha a_i b_j + beta C[i][j]. Output-sized work, like
    // an element-wise op; the inner loop vectorises. beta == 0 never reads C
    // (it may hold garbage), as in BLAS.
    const int64_t sa = ta ? 1 : lda, sb = tb ? ldb : 1;
    for (int64_t i = 0; i < M; ++i) {
      const float ai = alpha * A[i * sa];
      float *c = C + i * ldc;
      if (beta == 0.f) {
        if (sb == 1)
          for (int64_t j = 0; j < N; ++j)
            c[j] = ai * B[j];
        else
          for (int64_t j = 0; j < N; ++j)
            c[j] = ai * B[j * sb];
      } else {
        for (int64_t j = 0; j < N; ++j)
          c[j] = ai * B[j * sb] + beta * c[j];
      }
    }
    return;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M,
              (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

} // namespace

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
          int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  detail::split_gemm(gemm_serial, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

namespace {
// How a matrix (the last two dims) is handed to BLAS: transposed or not, and
// its leading dimension. Returns false if it needs a contiguous copy first.
bool blas_layout(const Tensor &t, bool &trans, int64_t &ld) {
  const int64_t r = t.shape()[t.dim() - 2], c = t.shape()[t.dim() - 1];
  const int64_t sr = t.strides()[t.dim() - 2], sc = t.strides()[t.dim() - 1];
  if ((sc == 1 || c == 1) && sr >= std::max<int64_t>(c, 1)) {
    trans = false;
    ld = std::max<int64_t>(sr, 1);
    return true;
  }
  if ((sr == 1 || r == 1) && sc >= std::max<int64_t>(r, 1)) {
    trans = true;
    ld = std::max<int64_t>(sc, 1);
    return true;
  }
  return false;
}

// Makes `t` acceptable to BLAS (a copy only if its strides are not).
Tensor blas_operand(const Tensor &t, bool &trans, int64_t &ld) {
  if (blas_layout(t, trans, ld))
    return t;
  Tensor c = contiguous(t);
  blas_layout(c, trans, ld);
  return c;
}
} // namespace

Tensor matmul(const Tensor &a_in, const Tensor &b_in) {
  check_float(a_in, "matmul");
  check_float(b_in, "matmul");
  PG_CHECK(a_in.dim() >= 1 && b_in.dim() >= 1,
           "matmul: both arguments need at least 1 dim, got shapes ", shape_str(a_in.shape()),
           " and ", shape_str(b_in.shape()));
  // The common case first, with no batch bookkeeping: (M,K) x (K,N).
  if (a_in.dim() == 2 && b_in.dim() == 2) {
    const int64_t M = a_in.shape()[0], K = a_in.shape()[1], N = b_in.shape()[1];
    PG_CHECK(K == b_in.shape()[0], "matmul: shapes ", shape_str(a_in.shape()), " and ",
             shape_str(b_in.shape()), " cannot be multiplied (", K, " != ", b_in.shape()[0], ")");
    bool ta, tb;
    int64_t lda, ldb;
    const Tensor a = blas_operand(a_in, ta, lda), b = blas_operand(b_in, tb, ldb);
    Tensor out = Tensor::empty({M, N});
    gemm(ta, tb, M, N, K, 1.f, a.data<float>(), lda, b.data<float>(), ldb, 0.f, out.data<float>(),
         N);
    return out;
  }
  Tensor a = a_in, b = b_in;
  const bool va = a.dim() == 1, vb = b.dim() == 1;
  if (va)
    a = as_strided(a, {1, a.shape()[0]}, {0, a.strides()[0]}, a.offset());
  if (vb)
    b = as_strided(b, {b.shape()[0], 1}, {b.strides()[0], 0}, b.offset());
  const int64_t M = a.shape()[a.dim() - 2], K = a.shape()[a.dim() - 1];
  const int64_t K2 = b.shape()[b.dim() - 2], N = b.shape()[b.dim() - 1];
  PG_CHECK(K == K2, "matmul: shapes ", shape_str(a_in.shape()), " and ", shape_str(b_in.shape()),
           " cannot be multiplied (", K, " != ", K2, ")");
  // Broadcast the batch dims.
  const Shape ba(a.shape().begin(), a.shape().end() - 2);
  const Shape bb(b.shape().begin(), b.shape().end() - 2);
  const Shape batch = broadcast_shapes(ba, bb, "matmul");
  const int64_t nb = shape_numel(batch);
  bool ta, tb;
  int64_t lda, ldb;
  a = blas_operand(a, ta, lda);
  b = blas_operand(b, tb, ldb);
  // Batch strides (0 where broadcast), via an expanded view of each operand.
  auto batch_strides = [&](const Tensor &t) {
    Shape s(batch.size(), 0);
    const size_t off = batch.size() - (t.dim() - 2);
    for (int64_t i = 0; i < t.dim() - 2; ++i)
      s[i + off] = t.shape()[i] == 1 ? 0 : t.strides()[i];
    return s;
  };
  const Shape sa = batch_strides(a), sb = batch_strides(b);
  Shape out_shape = batch;
  out_shape.insert(out_shape.end(), {M, N});
  Tensor out = Tensor::empty(out_shape);
  const float *pa = a.data<float>(), *pb = b.data<float>();
  float *pc = out.data<float>();
  auto one = [&](int64_t i) {
    int64_t oa = 0, ob = 0, rem = i;
    for (int64_t d = (int64_t)batch.size() - 1; d >= 0; --d) {
      const int64_t k = rem % batch[d];
      rem /= batch[d];
      oa += k * sa[d];
      ob += k * sb[d];
    }
    gemm(ta, tb, M, N, K, 1.f, pa + oa, lda, pb + ob, ldb, 0.f, pc + i * M * N, N);
  };
  // Many small matrices: one thread per group of whole GEMMs (each serial,
  // gemm() sees omp_in_parallel()); few large ones: gemm() splits each.
  const int nt = get_num_threads();
  if (nt > 1 && nb >= nt && !omp_in_parallel() && 2.0 * nb * M * N * K >= kGemmSplitFlops) {
    polygrad::detail::count_parallel_region();
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < nb; ++i)
      one(i);
  } else {
    for (int64_t i = 0; i < nb; ++i)
      one(i);
  }
  Shape final_shape = batch;
  if (!va)
    final_shape.push_back(M);
  if (!vb)
    final_shape.push_back(N);
  if (final_shape == out_shape)
    return out;
  return as_strided(out, final_shape, contiguous_strides(final_shape), 0);
}

} // namespace polygrad::kernel
