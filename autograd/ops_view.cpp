// View ops: the output shares the input's storage (no copy); the backward
// maps the gradient back to the input's layout.
#include <algorithm>

#include <polygrad/autograd/node.h>
#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>

namespace polygrad {

using kernel::as_strided;

namespace {
// Output `out` of a view op on `in`: gradient = reshape back to in's shape.
Tensor record_reshape_like(const char *name, const Tensor &in, Tensor out) {
  if (needs_grad({in}))
    record(name, out, {in},
           [shape = in.shape()](const Tensor &g) { return grads{g.reshape(shape)}; });
  return out;
}
} // namespace

Tensor Tensor::view(const Shape &shape_in) const {
  const Shape shape = kernel::infer_shape(shape_in, numel(), "view");
  Shape st;
  PG_CHECK(kernel::view_strides(*this, shape, st), "view: cannot view a tensor of shape ",
           shape_str(this->shape()), " and strides ", shape_str(strides()), " as ",
           shape_str(shape), " without a copy; use reshape()");
  return record_reshape_like("ViewBackward", *this, as_strided(*this, shape, st, offset()));
}

Tensor Tensor::reshape(const Shape &shape_in) const {
  const Shape shape = kernel::infer_shape(shape_in, numel(), "reshape");
  Shape st;
  if (kernel::view_strides(*this, shape, st))
    return record_reshape_like("ReshapeBackward", *this, as_strided(*this, shape, st, offset()));
  Tensor c = kernel::contiguous(*this);
  return record_reshape_like("ReshapeBackward", *this,
                             as_strided(c, shape, contiguous_strides(shape), c.offset()));
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
  if (dim() == 0)
    return reshape({1});
  start = wrap_dim(start, dim(), "flatten");
  end = wrap_dim(end, dim(), "flatten");
  PG_CHECK(start <= end, "flatten: start_dim ", start, " is after end_dim ", end);
  Shape s(shape().begin(), shape().begin() + start);
  int64_t m = 1;
  for (int64_t d = start; d <= end; ++d)
    m *= shape()[d];
  s.push_back(m);
  s.insert(s.end(), shape().begin() + end + 1, shape().end());
  return reshape(s);
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  Shape perm(std::max<int64_t>(dim(), 0));
  for (int64_t i = 0; i < dim(); ++i)
    perm[i] = i;
  if (dim() == 0)
    return *this;
  d0 = wrap_dim(d0, dim(), "transpose");
  d1 = wrap_dim(d1, dim(), "transpose");
  std::swap(perm[d0], perm[d1]);
  return permute(perm);
}

Tensor Tensor::t() const {
  PG_CHECK(dim() <= 2, "t: expects a tensor with <= 2 dims, got shape ", shape_str(shape()),
           "; use transpose(d0, d1)");
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::permute(const Shape &dims) const {
  PG_CHECK((int64_t)dims.size() == dim(), "permute: ", dims.size(),
           " dims given for a tensor of shape ", shape_str(shape()));
  Shape perm(dims.size()), inv(dims.size()), sh(dims.size()), st(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    perm[i] = wrap_dim(dims[i], dim(), "permute");
    PG_CHECK(!seen[perm[i]], "permute: dim ", perm[i], " repeated in ", shape_str(dims));
    seen[perm[i]] = true;
    inv[perm[i]] = (int64_t)i;
    sh[i] = shape()[perm[i]];
    st[i] = strides()[perm[i]];
  }
  Tensor out = as_strided(*this, sh, st, offset());
  if (needs_grad({*this}))
    record("PermuteBackward", out, {*this},
           [inv](const Tensor &g) { return grads{g.permute(inv)}; });
  return out;
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  PG_CHECK(dim() > 0, "slice: cannot slice a 0-d tensor");
  d = wrap_dim(d, dim(), "slice");
  PG_CHECK(step > 0, "slice: step must be positive, got ", step);
  const int64_t n = shape()[d];
  if (start < 0)
    start += n;
  if (end < 0)
    end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape sh = shape(), st = strides();
  sh[d] = (end - start + step - 1) / step;
  st[d] *= step;
  Tensor out = as_strided(*this, sh, st, offset() + start * strides()[d]);
  if (needs_grad({*this}))
    // the gradient lands in the selected slots of a zero tensor
    record("SliceBackward", out, {*this}, [in = shape(), d, start, end, step](const Tensor &g) {
      Tensor z = zeros(in);
      Shape zs = z.strides(), zsh = in;
      zsh[d] = (end - start + step - 1) / step;
      zs[d] *= step;
      kernel::apply_inplace(as_strided(z, zsh, zs, start * z.strides()[d]), g,
                            [](float, float s) { return s; });
      return grads{z};
    });
  return out;
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  PG_CHECK(dim() > 0, "narrow: cannot narrow a 0-d tensor");
  const int64_t dd = wrap_dim(d, dim(), "narrow");
  const int64_t n = shape()[dd];
  if (start < 0)
    start += n;
  PG_CHECK(start >= 0 && length >= 0 && start + length <= n, "narrow: start ", start, " + length ",
           length, " exceeds size ", n, " of dim ", dd, " in shape ", shape_str(shape()));
  return slice(dd, start, start + length);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  PG_CHECK(dim() > 0, "select: cannot select from a 0-d tensor");
  d = wrap_dim(d, dim(), "select");
  const int64_t n = shape()[d];
  PG_CHECK(index >= -n && index < n, "select: index ", index, " is out of range for dim ", d,
           " of size ", n);
  if (index < 0)
    index += n;
  return slice(d, index, index + 1).squeeze(d);
}

Tensor Tensor::squeeze() const {
  Shape s;
  for (int64_t x : shape())
    if (x != 1)
      s.push_back(x);
  return reshape(s);
}

Tensor Tensor::squeeze(int64_t d) const {
  if (dim() == 0)
    return *this;
  d = wrap_dim(d, dim(), "squeeze");
  if (shape()[d] != 1)
    return *this;
  Shape s = shape();
  s.erase(s.begin() + d);
  return reshape(s);
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = wrap_dim(d, dim() + 1, "unsqueeze");
  Shape s = shape();
  s.insert(s.begin() + d, 1);
  return reshape(s);
}

Tensor Tensor::expand(const Shape &shape_in) const {
  PG_CHECK((int64_t)shape_in.size() >= dim(), "expand: the target ", shape_str(shape_in),
           " has fewer dims than the tensor ", shape_str(shape()));
  const size_t lead = shape_in.size() - dim();
  Shape sh(shape_in.size()), st(shape_in.size(), 0);
  for (size_t i = 0; i < shape_in.size(); ++i) {
    if (i < lead) {
      PG_CHECK(shape_in[i] >= 0, "expand: size ", shape_in[i],
               " not allowed in a new leading dim of ", shape_str(shape_in));
      sh[i] = shape_in[i];
      continue;
    }
    const int64_t cur = shape()[i - lead];
    const int64_t want = shape_in[i] == -1 ? cur : shape_in[i];
    PG_CHECK(want >= 0, "expand: invalid size ", shape_in[i], " in ", shape_str(shape_in));
    PG_CHECK(cur == want || cur == 1, "expand: cannot expand shape ", shape_str(shape()), " to ",
             shape_str(shape_in), " (dim ", i, ": ", cur, " vs ", want, ")");
    sh[i] = want;
    st[i] = cur == want ? strides()[i - lead] : 0;
  }
  (void)shape_numel(sh, "expand"); // a view may be huge, its element count must not wrap
  Tensor out = as_strided(*this, sh, st, offset());
  if (needs_grad({*this}))
    // the engine sums the gradient back over the expanded dims
    record("ExpandBackward", out, {*this}, [](const Tensor &g) { return grads{g}; });
  return out;
}

Tensor Tensor::contiguous() const {
  if (is_contiguous())
    return *this;
  Tensor out = kernel::contiguous(*this);
  if (needs_grad({*this}))
    record("ContiguousBackward", out, {*this}, [](const Tensor &g) { return grads{g}; });
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = Tensor::empty(shape(), dtype());
  if (dtype() == DType::Int64) {
    Tensor c = kernel::contiguous(*this);
    std::copy(c.data<int64_t>(), c.data<int64_t>() + numel(), out.data<int64_t>());
    return out;
  }
  kernel::apply_inplace(out, *this, [](float, float s) { return s; });
  if (needs_grad({*this}))
    record("CloneBackward", out, {*this}, [](const Tensor &g) { return grads{g}; });
  return out;
}

} // namespace polygrad
