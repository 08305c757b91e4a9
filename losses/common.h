// What every loss shares: the Reduction enum, input validation with messages
// that name the op, the shapes and the offending values, and the scan of a
// hard-label vector (range check, weight sum of the non-ignored targets).
//
// Conventions (as PyTorch): classification losses take logits of shape (N, C)
// and int64 labels of shape (N), or K-dimensional logits (N, C, d1, ..., dk)
// and labels (N, d1, ..., dk) (one loss per position); `weight` / `alpha` are optional per-class
// float tensors of shape (C) (an undefined Tensor() means "all ones"); a label
// equal to `ignore_index` adds nothing to the loss, the gradient or the mean's
// denominator. Mean divides by the sum of the weights of the non-ignored
// targets (their count without weights); when every target is ignored that is
// 0/0 = NaN, with an all-zero gradient, exactly like PyTorch.
//
// Other degenerate inputs also give PyTorch's result, value and gradient
// (tests/test_losses_degenerate.cpp), never an error: N = 0 gives NaN for mean
// (0/0), 0 for sum and an empty tensor for none; all-zero class weights give a
// NaN mean and NaN gradient rows for the non-ignored targets (0 * 1/0); a NaN
// or +inf logit makes its row's loss and gradient NaN, also the gradient of an
// ignored row (PyTorch's log_softmax backward forms 0 * NaN there); -inf off
// the label leaves the row finite (p = 0 there) unless label smoothing puts
// weight on it, -inf at the label gives a loss of inf.
// Inputs, targets, weights and upstream gradients may be any strided view
// (transposed, sliced, expanded with stride 0).
#pragma once

#include <cstdint>
#include <string>

#include <polygrad/core/tensor.h>
#include <polygrad/core/text.h>

namespace polygrad::losses {

// None: one loss per sample (per element for element-wise losses).
// Mean: see each loss (default). Sum: the plain sum.
// BatchMean: kl_div only, the sum divided by the batch size input.size(0).
enum class Reduction { None, Mean, Sum, BatchMean };

const char *reduction_name(Reduction r); // "none", "mean", "sum", "batchmean"
// Throws unless r is None/Mean/Sum (or BatchMean when batchmean_ok).
void check_reduction(const char *op, Reduction r, bool batchmean_ok = false);

// input must be a float32 (N, C) tensor with C >= 1, or with dense_ok also
// (N, C, d1, ..., dk) (K-dimensional inputs).
void check_logits(const char *op, const Tensor &input, bool dense_ok = false);
// S = d1 ... dk, the positions per sample of an (N, C, d1, ..., dk) input (1
// for (N, C)).
int64_t positions(const Tensor &input);
// The labels' shape for an input: (N, C, d1, ..., dk) -> (N, d1, ..., dk).
Shape label_shape(const Shape &input);
// An optional per-class vector (`what` = "weight", "alpha"): undefined, or a
// float32 tensor of shape (C) that does not require grad.
void check_class_vector(const char *op, const char *what, const Tensor &v, int64_t C);
// A float target shaped exactly like the input (`what` names it in errors).
void check_same_shape(const char *op, const char *what, const Tensor &input, const Tensor &target);

// An optional tensor (pos_weight, weight, ...) broadcast to `shape` and made
// contiguous; undefined stays undefined. Errors name both shapes.
Tensor broadcast_to(const char *op, const char *what, const Tensor &v, const Shape &shape);

// Result of scanning hard labels: the mean's denominators.
struct LabelStats {
  double weight_sum = 0; // sum of weight[y_i] over non-ignored i (count if no weight)
  int64_t count = 0;     // number of non-ignored labels
};
// Checks labels: int64 of shape (N) for an (N, C) input, (N, d1, ..., dk) for
// (N, C, d1, ..., dk); every label in [0, C) or equal to ignore_index (else
// names the index, [n, i1, ..., ik] for K-dimensional labels, and the value).
// `weight` is a contiguous (C) float pointer or null.
LabelStats scan_labels(const char *op, const Tensor &input, const Tensor &labels,
                       const float *weight, int64_t ignore_index);

// Float pointer of a contiguous copy (or the tensor itself); keeps it alive.
struct ContiguousFloat {
  Tensor t;
  const float *p = nullptr;
  explicit ContiguousFloat(const Tensor &x);
};

} // namespace polygrad::losses

// Reduction's text form (registry specs, flags, printing): core/text.h.
template <> struct polygrad::text::EnumNames<polygrad::losses::Reduction> {
  using R = polygrad::losses::Reduction;
  static constexpr std::pair<R, const char *> values[] = {
      {R::None, "none"}, {R::Mean, "mean"}, {R::Sum, "sum"}, {R::BatchMean, "batchmean"}};
};
