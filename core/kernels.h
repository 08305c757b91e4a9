// Raw compute kernels on tensors: no autograd, no graph. The differentiable
// ops in autograd/ call these for their forward and backward passes.
#pragma once

#include <polygrad/core/parallel.h>
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
// A reduction with fewer output rows than threads and more than one column
// (a column sum over dim 0, a broadcast gradient) splits the reduced rows
// across the threads, one float partial per thread combined in thread order,
// only at or above this much work (outer * R * inner elements): below it the
// fork, the partials and their combine cost more than the second core saves
// (core/reduce.cpp). Public so that tests size their inputs from it.
inline constexpr int64_t kColumnSumGrain = 4 * kParallelGrain;
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
// Below this many flops (2 M N K) a GEMM runs on one thread: the fork/join
// (~3.5 us on the VM) and the duplicated packing of the shared operand cost
// more than the second core gains. Row split / serial at 2 threads, measured
// (bench/core_bench "split"): 0.5 MFLOP 0.79, 1.0 MFLOP 1.05-1.12,
// 1.3 MFLOP (K = 10) 0.86, 1.8 MFLOP 1.19, 4.2 MFLOP 1.45, >= 67 MFLOP 1.6-1.85.
// A batched matmul with at least one matrix per thread splits the batch
// instead, above the same total.
inline constexpr double kGemmSplitFlops = 2e6;
// Slab edges on multiples of 16 keep the kernels' register panels full; a
// dimension (rows of C, or its columns when it has too few rows) is split
// only if every thread gets at least one 16-wide slab.
inline constexpr int64_t kSlabAlign = 16;
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
