// GEMM through cblas_sgemm. OpenBLAS runs single-threaded; polygrad splits the
// larger of M and N across its OpenMP threads, so one thread pool does all the
// work (see core/parallel.h). Transposed views go to BLAS as transposes, not
// copies.
#include <cblas.h>
#include <omp.h>

#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>

namespace polygrad::kernel {

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
          const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
          float *C, int64_t ldc) {
  if (M == 0 || N == 0)
    return;
  const CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE TB = tb ? CblasTrans : CblasNoTrans;
  const int nt = get_num_threads();
  // Below ~4 MFLOP a split costs more than it gains (bench/core_bench).
  const bool split = nt > 1 && !omp_in_parallel() &&
                     2.0 * M * N * K >= 4e6 && std::max(M, N) >= 2 * 16;
  if (!split) {
    cblas_sgemm(CblasRowMajor, TA, TB, (int)M, (int)N, (int)K, alpha, A,
                (int)lda, B, (int)ldb, beta, C, (int)ldc);
    return;
  }
  const bool split_m = M >= N;
  const int64_t D = split_m ? M : N;
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), n = omp_get_num_threads();
    // Block edges on multiples of 16 keep the kernels' panels full.
    const int64_t blocks = (D + 15) / 16;
    const int64_t b0 = blocks * t / n, b1 = blocks * (t + 1) / n;
    const int64_t d0 = std::min(D, b0 * 16), d1 = std::min(D, b1 * 16);
    if (d1 > d0) {
      if (split_m) {
        const float *a = ta ? A + d0 : A + d0 * lda;
        cblas_sgemm(CblasRowMajor, TA, TB, (int)(d1 - d0), (int)N, (int)K, alpha,
                    a, (int)lda, B, (int)ldb, beta, C + d0 * ldc, (int)ldc);
      } else {
        const float *b = tb ? B + d0 * ldb : B + d0;
        cblas_sgemm(CblasRowMajor, TA, TB, (int)M, (int)(d1 - d0), (int)K, alpha,
                    A, (int)lda, b, (int)ldb, beta, C + d0, (int)ldc);
      }
    }
  }
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
} // namespace

Tensor matmul(const Tensor &a_in, const Tensor &b_in) {
  check_float(a_in, "matmul");
  check_float(b_in, "matmul");
  PG_CHECK(a_in.dim() >= 1 && b_in.dim() >= 1,
           "matmul: both arguments need at least 1 dim, got shapes ",
           shape_str(a_in.shape()), " and ", shape_str(b_in.shape()));
  Tensor a = a_in, b = b_in;
  const bool va = a.dim() == 1, vb = b.dim() == 1;
  if (va)
    a = as_strided(a, {1, a.shape()[0]}, {0, a.strides()[0]}, a.offset());
  if (vb)
    b = as_strided(b, {b.shape()[0], 1}, {b.strides()[0], 0}, b.offset());
  const int64_t M = a.shape()[a.dim() - 2], K = a.shape()[a.dim() - 1];
  const int64_t K2 = b.shape()[b.dim() - 2], N = b.shape()[b.dim() - 1];
  PG_CHECK(K == K2, "matmul: shapes ", shape_str(a_in.shape()), " and ",
           shape_str(b_in.shape()), " cannot be multiplied (", K, " != ", K2, ")");
  // Broadcast the batch dims.
  const Shape ba(a.shape().begin(), a.shape().end() - 2);
  const Shape bb(b.shape().begin(), b.shape().end() - 2);
  const Shape batch = broadcast_shapes(ba, bb, "matmul");
  const int64_t nb = shape_numel(batch);
  Shape a_full = batch, b_full = batch;
  a_full.insert(a_full.end(), {M, K});
  b_full.insert(b_full.end(), {K, N});
  bool ta, tb;
  int64_t lda, ldb;
  if (!blas_layout(a, ta, lda))
    a = contiguous(a), blas_layout(a, ta, lda);
  if (!blas_layout(b, tb, ldb))
    b = contiguous(b), blas_layout(b, tb, ldb);
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
  if (K == 0) {
    out.zero_();
  } else {
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
    if (nb >= get_num_threads() && nb > 1 && 2.0 * nb * M * N * K >= 4e6) {
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < nb; ++i)
        one(i);
    } else {
      for (int64_t i = 0; i < nb; ++i)
        one(i);
    }
  }
  Shape final_shape = batch;
  if (!va)
    final_shape.push_back(M);
  if (!vb)
    final_shape.push_back(N);
  return as_strided(out, final_shape, contiguous_strides(final_shape), 0);
}

} // namespace polygrad::kernel
