// Reductions and the softmax family, forward and backward side by side.
#include <cmath>

#include <polygrad/autograd/node.h>
#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>

namespace polygrad {
namespace {
// The keepdim shape of reducing `shape` over (normalized) `dims`.
Shape keep_shape(const Shape &shape, const Shape &dims) {
  Shape k = shape;
  if (dims.empty())
    k.assign(shape.size(), 1);
  for (int64_t d : dims)
    k[d] = 1;
  return k;
}
// Broadcasts a reduced gradient back over the reduced dims (a stride-0 view).
Tensor expand_back(const Tensor &g, const Shape &keep, const Shape &full) {
  Tensor gk = kernel::contiguous(g);
  gk = kernel::as_strided(gk, keep, contiguous_strides(keep), gk.offset());
  Shape st = gk.strides();
  for (size_t d = 0; d < full.size(); ++d)
    if (keep[d] == 1 && full[d] != 1)
      st[d] = 0;
  return kernel::as_strided(gk, full, st, gk.offset());
}
} // namespace

Tensor sum(const Tensor &a, const Shape &dims_in, bool keepdim) {
  const Shape dims = kernel::normalize_dims(dims_in, a.dim(), "sum");
  Tensor out = kernel::sum(a, dims, keepdim);
  if (needs_grad({a}))
    // d sum(x) / dx_i = 1: broadcast g back over the reduced dims
    record("SumBackward", out, {a},
           [keep = keep_shape(a.shape(), dims), full = a.shape()](const Tensor &g) {
             return grads{expand_back(g, keep, full)};
           });
  return out;
}
Tensor sum(const Tensor &a) { return sum(a, {}, false); }

Tensor mean(const Tensor &a, const Shape &dims_in, bool keepdim) {
  kernel::check_float(a, "mean"); // an int64 mean has no int64 result (torch refuses it too)
  const Shape dims = kernel::normalize_dims(dims_in, a.dim(), "mean");
  int64_t count = 1;
  if (dims.empty())
    count = a.numel();
  for (int64_t d : dims)
    count *= a.shape()[d];
  const float inv = 1.f / (float)count; // 0 elements: NaN, as in PyTorch
  Tensor out = kernel::sum(a, dims, keepdim);
  kernel::apply_inplace(out, Tensor(),
                        [inv, count](float s, float) { return count ? s * inv : NAN; });
  if (needs_grad({a}))
    // d mean(x) / dx_i = 1/count
    record("MeanBackward", out, {a},
           [keep = keep_shape(a.shape(), dims), full = a.shape(), inv](const Tensor &g) {
             return grads{expand_back(g * inv, keep, full)};
           });
  return out;
}
Tensor mean(const Tensor &a) { return mean(a, {}, false); }

namespace {
Tensor extreme_dim(const Tensor &a, int64_t dim_in, bool keepdim, bool is_max) {
  Tensor idx;
  Tensor out = is_max ? kernel::max_dim(a, dim_in, keepdim, &idx)
                      : kernel::min_dim(a, dim_in, keepdim, &idx);
  if (needs_grad({a})) {
    const int64_t dim = wrap_dim(dim_in, a.dim(), is_max ? "max" : "min");
    const Shape keep = keep_shape(a.shape(), a.dim() ? Shape{dim} : Shape{});
    // the gradient goes to the selected element of each lane
    record(is_max ? "MaxBackward" : "MinBackward", out, {a},
           [idx = kernel::as_strided(idx, keep, contiguous_strides(keep), 0), keep,
            full = a.shape(), dim](const Tensor &g) {
             Tensor gk = kernel::contiguous(g);
             gk = kernel::as_strided(gk, keep, contiguous_strides(keep), gk.offset());
             return grads{kernel::scatter_add(full, full.empty() ? 0 : dim, idx, gk)};
           });
  }
  return out;
}

Tensor extreme_all(const Tensor &a, bool is_max) {
  PG_CHECK(a.numel() > 0, is_max ? "max" : "min", ": cannot reduce an empty tensor of shape ",
           shape_str(a.shape()));
  Tensor flat = kernel::contiguous(a);
  flat = kernel::as_strided(flat, {a.numel()}, {1}, flat.offset());
  Tensor out =
      is_max ? kernel::max_dim(flat, 0, false, nullptr) : kernel::min_dim(flat, 0, false, nullptr);
  if (needs_grad({a}))
    // ties share the gradient evenly, as in PyTorch's full max()/min()
    record(is_max ? "MaxBackward" : "MinBackward", out, {a},
           [sa = SavedTensor(a), so = SavedTensor(out)](const Tensor &g) {
             Tensor m = eq(sa.get(), so.get());
             const float n = kernel::sum(m, {}, false).item();
             return grads{m * (g / n)};
           });
  return out;
}
} // namespace

Tensor max(const Tensor &a, int64_t dim, bool keepdim) {
  return extreme_dim(a, dim, keepdim, true);
}
Tensor min(const Tensor &a, int64_t dim, bool keepdim) {
  return extreme_dim(a, dim, keepdim, false);
}
Tensor max(const Tensor &a) { return extreme_all(a, true); }
Tensor min(const Tensor &a) { return extreme_all(a, false); }

Tensor argmax(const Tensor &a, int64_t dim, bool keepdim) {
  kernel::check_float(a, "argmax");
  const int64_t d = wrap_dim(dim, a.dim(), "argmax");
  PG_CHECK(a.dim() == 0 || a.shape()[d] > 0, "argmax: cannot reduce an empty dim ", d, " of shape ",
           shape_str(a.shape()));
  Tensor idx;
  kernel::max_dim(a, dim, keepdim, &idx);
  return idx;
}

Tensor logsumexp(const Tensor &a, int64_t dim_in, bool keepdim) {
  Tensor out = kernel::logsumexp(a, dim_in, keepdim);
  if (needs_grad({a})) {
    const int64_t dim = wrap_dim(dim_in, a.dim(), "logsumexp");
    const Shape keep = keep_shape(a.shape(), a.dim() ? Shape{dim} : Shape{});
    // d lse(x) / dx_i = softmax(x)_i = exp(x_i - lse)
    record("LogsumexpBackward", out, {a},
           [sa = SavedTensor(a), so = SavedTensor(out), keep, full = a.shape()](const Tensor &g) {
             Tensor lse = expand_back(so.get(), keep, full);
             Tensor gg = expand_back(g, keep, full);
             return grads{
                 kernel::zip3(sa.get(), lse, gg, "logsumexp_backward",
                              [](float x, float l, float g) { return g * std::exp(x - l); })};
           });
  }
  return out;
}

Tensor softmax(const Tensor &a, int64_t dim) {
  Tensor out = kernel::softmax(a, dim);
  if (needs_grad({a}))
    // dx = y * (g - sum(g * y))
    record("SoftmaxBackward", out, {a}, [so = SavedTensor(out), dim](const Tensor &g) {
      return grads{kernel::softmax_backward(so.get(), g, dim)};
    });
  return out;
}

Tensor log_softmax(const Tensor &a, int64_t dim) {
  Tensor out = kernel::log_softmax(a, dim);
  if (needs_grad({a}))
    // dx = g - softmax(x) * sum(g)
    record("LogSoftmaxBackward", out, {a}, [so = SavedTensor(out), dim](const Tensor &g) {
      return grads{kernel::log_softmax_backward(so.get(), g, dim)};
    });
  return out;
}

Tensor Tensor::sum() const { return polygrad::sum(*this); }
Tensor Tensor::sum(const Shape &d, bool k) const { return polygrad::sum(*this, d, k); }
Tensor Tensor::mean() const { return polygrad::mean(*this); }
Tensor Tensor::mean(const Shape &d, bool k) const { return polygrad::mean(*this, d, k); }
Tensor Tensor::max() const { return polygrad::max(*this); }
Tensor Tensor::max(int64_t d, bool k) const { return polygrad::max(*this, d, k); }
Tensor Tensor::min() const { return polygrad::min(*this); }
Tensor Tensor::min(int64_t d, bool k) const { return polygrad::min(*this, d, k); }
Tensor Tensor::argmax(int64_t d, bool k) const { return polygrad::argmax(*this, d, k); }
Tensor Tensor::logsumexp(int64_t d, bool k) const { return polygrad::logsumexp(*this, d, k); }
Tensor Tensor::softmax(int64_t d) const { return polygrad::softmax(*this, d); }
Tensor Tensor::log_softmax(int64_t d) const { return polygrad::log_softmax(*this, d); }

} // namespace polygrad
