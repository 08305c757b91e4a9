// Raw compute kernels on tensors: no autograd, no graph. The differentiable
// ops in autograd/ call these for their forward and backward passes.
#pragma once

#include <polygrad/core/tensor.h>

namespace polygrad::kernel {

// A contiguous tensor with the same values (the input itself if it already is).
Tensor contiguous(const Tensor &t);
// A view (shared storage) with new shape/strides/offset; no checks.
Tensor as_strided(const Tensor &t, const Shape &shape, const Shape &strides, int64_t offset);
// Strides for viewing `t` as `shape` without a copy, or empty if impossible.
bool view_strides(const Tensor &t, const Shape &shape, Shape &out_strides);
// Resolves one -1 in `shape` against `numel`; throws naming `op`.
Shape infer_shape(const Shape &shape, int64_t numel, const char *op);

// ----- reductions -----
// Sorted, unique, wrapped dims; empty `dims` means all dims.
Shape normalize_dims(const Shape &dims, int64_t ndim, const char *op);
Tensor sum(const Tensor &a, const Shape &dims, bool keepdim);
// Reduces a broadcast gradient back to `shape` (sums the broadcast dims).
Tensor sum_to(const Tensor &g, const Shape &shape);
// max / min over one dim; also writes the int64 argmax/argmin if asked.
Tensor max_dim(const Tensor &a, int64_t dim, bool keepdim, Tensor *indices);
Tensor min_dim(const Tensor &a, int64_t dim, bool keepdim, Tensor *indices);
Tensor logsumexp(const Tensor &a, int64_t dim, bool keepdim);

// ----- softmax family (numerically stable: shift by the max) -----
Tensor softmax(const Tensor &a, int64_t dim);
Tensor log_softmax(const Tensor &a, int64_t dim);
// dx = y * (g - sum(g * y, dim))           for y = softmax(x)
Tensor softmax_backward(const Tensor &y, const Tensor &g, int64_t dim);
// dx = g - exp(y) * sum(g, dim)            for y = log_softmax(x)
Tensor log_softmax_backward(const Tensor &y, const Tensor &g, int64_t dim);

// ----- GEMM -----
// C = alpha * op(A) op(B) + beta * C, row-major, through cblas_sgemm; the M
// or N dimension is split across OpenMP threads (OpenBLAS runs single-threaded).
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
          int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
// Non-differentiable matmul with torch.matmul's shape rules.
Tensor matmul(const Tensor &a, const Tensor &b);

// ----- indexing -----
Tensor gather(const Tensor &a, int64_t dim, const Tensor &index);
// out = zeros(shape); out[... index ...] += src along dim (gather's adjoint).
Tensor scatter_add(const Shape &shape, int64_t dim, const Tensor &index, const Tensor &src);
Tensor index_select(const Tensor &a, int64_t dim, const Tensor &index);
// index_select's adjoint: zeros(shape) with slices of src added at index.
Tensor index_add(const Shape &shape, int64_t dim, const Tensor &index, const Tensor &src);
Tensor cat(const std::vector<Tensor> &ts, int64_t dim);

} // namespace polygrad::kernel
