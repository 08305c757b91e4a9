#include <polygrad/losses/common.h>

#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>

namespace polygrad::losses {

const char *reduction_name(Reduction r) {
  switch (r) {
  case Reduction::None:
    return "none";
  case Reduction::Mean:
    return "mean";
  case Reduction::Sum:
    return "sum";
  case Reduction::BatchMean:
    return "batchmean";
  }
  return "?";
}

void check_reduction(const char *op, Reduction r, bool batchmean_ok) {
  const bool ok = r == Reduction::None || r == Reduction::Mean || r == Reduction::Sum ||
                  (batchmean_ok && r == Reduction::BatchMean);
  PG_CHECK(ok, op, ": reduction '", reduction_name(r), "' is not supported; valid: none, mean, sum",
           batchmean_ok ? ", batchmean" : "");
}

void check_logits(const char *op, const Tensor &input, bool dense_ok) {
  PG_CHECK(input.defined(), op, ": input is an undefined tensor");
  PG_CHECK(input.dtype() == DType::Float32, op, ": input must be float32 logits, got ",
           dtype_name(input.dtype()), " of shape ", shape_str(input.shape()));
  PG_CHECK(input.dim() == 2 || (dense_ok && input.dim() > 2), op,
           ": input must have shape (N, C), got ", shape_str(input.shape()),
           dense_ok ? " (or (N, C, d1, ..., dk) with labels (N, d1, ..., dk))" : "");
  PG_CHECK(input.size(1) >= 1, op, ": input must have at least one class, got shape ",
           shape_str(input.shape()));
}

void check_class_vector(const char *op, const char *what, const Tensor &v, int64_t C) {
  if (!v.defined())
    return;
  PG_CHECK(v.dtype() == DType::Float32, op, ": ", what, " must be float32, got ",
           dtype_name(v.dtype()));
  PG_CHECK(v.dim() == 1 && v.size(0) == C, op, ": ", what, " must have shape [", C,
           "] (one value per class), got ", shape_str(v.shape()));
  PG_CHECK(!v.requires_grad(), op, ": gradients w.r.t. ", what,
           " are not supported (PyTorch does not compute them either); pass ", what, ".detach()");
}

void check_same_shape(const char *op, const char *what, const Tensor &input, const Tensor &target) {
  PG_CHECK(input.defined() && target.defined(), op, ": input and ", what, " must be defined");
  PG_CHECK(input.dtype() == DType::Float32, op, ": input must be float32, got ",
           dtype_name(input.dtype()));
  PG_CHECK(target.dtype() == DType::Float32, op, ": ", what, " must be float32, got ",
           dtype_name(target.dtype()), " of shape ", shape_str(target.shape()));
  PG_CHECK(input.shape() == target.shape(), op, ": input of shape ", shape_str(input.shape()),
           " and ", what, " of shape ", shape_str(target.shape()), " must have the same shape");
}

Tensor broadcast_to(const char *op, const char *what, const Tensor &v, const Shape &shape) {
  if (!v.defined())
    return v;
  PG_CHECK(v.dtype() == DType::Float32, op, ": ", what, " must be float32, got ",
           dtype_name(v.dtype()));
  PG_CHECK(!v.requires_grad(), op, ": gradients w.r.t. ", what, " are not supported; pass ", what,
           ".detach()");
  bool ok = v.dim() <= (int64_t)shape.size();
  for (int64_t i = 1; ok && i <= v.dim(); ++i) {
    const int64_t a = v.shape()[v.dim() - i], b = shape[shape.size() - i];
    ok = a == b || a == 1;
  }
  PG_CHECK(ok, op, ": ", what, " of shape ", shape_str(v.shape()),
           " does not broadcast to the input shape ", shape_str(shape));
  if (v.shape() == shape)
    return kernel::contiguous(v);
  return kernel::contiguous(
      kernel::as_strided(v, shape, kernel::broadcast_strides(v, shape), v.offset()));
}

int64_t positions(const Tensor &input) {
  int64_t S = 1;
  for (int64_t d = 2; d < input.dim(); ++d)
    S *= input.size(d);
  return S;
}

Shape label_shape(const Shape &input) {
  Shape s = input;
  s.erase(s.begin() + 1);
  return s;
}

LabelStats scan_labels(const char *op, const Tensor &input, const Tensor &labels,
                       const float *weight, int64_t ignore_index) {
  const int64_t C = input.size(1);
  const Shape want = label_shape(input.shape());
  PG_CHECK(labels.defined(), op, ": target is an undefined tensor");
  PG_CHECK(labels.dtype() == DType::Int64, op, ": class labels must be int64, got ",
           dtype_name(labels.dtype()), " of shape ", shape_str(labels.shape()));
  PG_CHECK(labels.shape() == want, op, ": input of shape ", shape_str(input.shape()),
           " needs labels of shape ", shape_str(want), ", got ", shape_str(labels.shape()));
  const Tensor lc = kernel::contiguous(labels);
  const int64_t *y = lc.data<int64_t>();
  const int64_t n = lc.numel();
  LabelStats st;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = y[i];
    if (v == ignore_index)
      continue;
    // the index as PyTorch prints it: i, or [n, i1, ..., ik] for K-dimensional labels
    auto where = [&] {
      if (want.size() == 1)
        return std::to_string(i);
      Shape idx(want.size());
      for (int64_t d = (int64_t)want.size() - 1, r = i; d >= 0; --d)
        idx[d] = r % want[d], r /= want[d];
      return shape_str(idx);
    };
    PG_CHECK(v >= 0 && v < C, op, ": label ", v, " at index ", where(), " is out of range for ", C,
             " classes (valid: 0..", C - 1, ", or ignore_index=", ignore_index, ")");
    st.weight_sum += weight ? (double)weight[v] : 1.0;
    ++st.count;
  }
  return st;
}

ContiguousFloat::ContiguousFloat(const Tensor &x) {
  if (!x.defined())
    return;
  t = kernel::contiguous(x);
  p = t.data<float>();
}

} // namespace polygrad::losses
