// Indexing and joining: gather, index_select, cat, stack, one_hot.
#include <polygrad/autograd/node.h>
#include <polygrad/core/kernels.h>

namespace polygrad {

Tensor gather(const Tensor &a, int64_t dim, const Tensor &index) {
  Tensor out = kernel::gather(a, dim, index);
  if (needs_grad({a}))
    // gather's adjoint: scatter-add the gradient back to the picked slots
    record("GatherBackward", out, {a},
           [shape = a.shape(), dim, idx = index.detach()](const Tensor &g) {
             return grads{kernel::scatter_add(shape, dim, idx, g)};
           });
  return out;
}

Tensor index_select(const Tensor &a, int64_t dim, const Tensor &index) {
  Tensor out = kernel::index_select(a, dim, index);
  if (needs_grad({a}))
    // adjoint: add each selected slice's gradient back at its index
    record("IndexSelectBackward", out, {a},
           [shape = a.shape(), dim, idx = index.detach()](const Tensor &g) {
             return grads{kernel::index_add(shape, dim, idx, g)};
           });
  return out;
}

Tensor cat(const std::vector<Tensor> &ts, int64_t dim) {
  Tensor out = kernel::cat(ts, dim);
  if (needs_grad(ts)) {
    const int64_t d = wrap_dim(dim, ts[0].dim(), "cat");
    std::vector<int64_t> sizes;
    for (const Tensor &t : ts)
      sizes.push_back(t.shape()[d]);
    // each input gets its own slice of the gradient
    record("CatBackward", out, ts, [sizes, d](const Tensor &g) {
      grads gs;
      int64_t at = 0;
      for (int64_t s : sizes) {
        gs.push_back(g.narrow(d, at, s));
        at += s;
      }
      return gs;
    });
  }
  return out;
}

Tensor stack(const std::vector<Tensor> &ts, int64_t dim) {
  PG_CHECK(!ts.empty(), "stack: expected a non-empty list of tensors");
  const int64_t d = wrap_dim(dim, ts[0].dim() + 1, "stack");
  std::vector<Tensor> us;
  for (size_t i = 0; i < ts.size(); ++i) {
    PG_CHECK(ts[i].shape() == ts[0].shape(), "stack: tensor ", i, " has shape ",
             shape_str(ts[i].shape()), ", expected ", shape_str(ts[0].shape()));
    us.push_back(ts[i].unsqueeze(d));
  }
  return cat(us, d);
}

Tensor one_hot(const Tensor &labels, int64_t num_classes) {
  PG_CHECK(labels.dtype() == DType::Int64, "one_hot: labels must be int64, got ",
           dtype_name(labels.dtype()));
  PG_CHECK(num_classes > 0, "one_hot: num_classes must be positive, got ", num_classes);
  const Tensor l = kernel::contiguous(labels);
  Shape s = l.shape();
  s.push_back(num_classes);
  Tensor out = zeros(s);
  const int64_t *pl = l.data<int64_t>();
  float *po = out.data<float>();
  for (int64_t i = 0; i < l.numel(); ++i) {
    PG_CHECK(pl[i] >= 0 && pl[i] < num_classes, "one_hot: label ", pl[i], " at position ", i,
             " is out of range for ", num_classes, " classes");
    po[i * num_classes + pl[i]] = 1.f;
  }
  return out;
}

} // namespace polygrad
