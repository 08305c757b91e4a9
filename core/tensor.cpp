// Tensor basics: shapes, storage, factories, element access, printing and the
// non-recorded in-place updates. Differentiable ops live in autograd/.
#include <polygrad/core/tensor.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <type_traits>

#include <polygrad/core/allocator.h>
#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/random.h>

namespace polygrad {

const char *dtype_name(DType d) { return d == DType::Float32 ? "float32" : "int64"; }

std::string shape_str(const Shape &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i)
      r += ", ";
    r += std::to_string(s[i]);
  }
  return r + "]";
}

int64_t shape_numel(const Shape &s, const char *op) {
  int64_t n = 1;
  bool overflow = false;
  for (int64_t d : s) {
    PG_CHECK(d >= 0, op, ": negative size ", d, " in shape ", shape_str(s));
    overflow |= __builtin_mul_overflow(n, d, &n);
  }
  // A zero anywhere makes the product 0 even if a partial product wrapped.
  for (int64_t d : s)
    if (d == 0)
      return 0;
  PG_CHECK(!overflow, op, ": shape ", shape_str(s), " has more than 2^63 - 1 elements");
  return n;
}

Shape contiguous_strides(const Shape &s, const char *op) {
  Shape st(s.size());
  int64_t acc = 1;
  for (int64_t i = (int64_t)s.size() - 1; i >= 0; --i) {
    st[i] = acc;
    PG_CHECK(!__builtin_mul_overflow(acc, std::max<int64_t>(s[i], 1), &acc), op,
             ": the strides of shape ", shape_str(s), " overflow int64");
  }
  return st;
}

void check_new_shape(const Shape &s, DType dtype, const char *op) {
  const int64_t n = shape_numel(s, op);
  PG_CHECK(n <= kMaxTensorBytes / (int64_t)dtype_size(dtype), op, ": shape ", shape_str(s), " (", n,
           " elements of ", dtype_name(dtype), ") is larger than the 2^62-byte limit");
  // With a size-0 dim the other sizes can still be absurd: their strides
  // (product of the later sizes, zeros counted as 1) must stay representable.
  int64_t span = 1;
  for (int64_t d : s)
    PG_CHECK(!__builtin_mul_overflow(span, std::max<int64_t>(d, 1), &span) &&
                 span <= kMaxTensorBytes,
             op, ": shape ", shape_str(s), " is larger than the 2^62-byte limit");
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char *op) {
  const int64_t lo = -std::max<int64_t>(ndim, 1), hi = std::max<int64_t>(ndim, 1) - 1;
  PG_CHECK(dim >= lo && dim <= hi, op, ": dim ", dim, " out of range for a ", ndim,
           "-d tensor (expected ", lo, "..", hi, ")");
  return dim < 0 ? dim + std::max<int64_t>(ndim, 1) : dim;
}

Shape broadcast_shapes(const Shape &a, const Shape &b, const char *op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    PG_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ", shape_str(b),
             " cannot be broadcast (dim ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Storage::Storage(size_t n) : data(allocator::allocate(n)), nbytes(n) {}
Storage::~Storage() { allocator::deallocate(data, nbytes); }

Tensor Tensor::empty(const Shape &shape, DType dtype, const char *op) {
  check_new_shape(shape, dtype, op);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(size_t(shape_numel(shape)) * dtype_size(dtype));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape, op);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

TensorImpl &Tensor::impl() const {
  PG_CHECK(impl_ != nullptr, "use of an undefined tensor");
  return *impl_;
}

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }

bool Tensor::is_contiguous() const {
  const auto &sh = shape();
  const auto &st = strides();
  int64_t acc = 1;
  for (int64_t i = (int64_t)sh.size() - 1; i >= 0; --i) {
    if (sh[i] == 1)
      continue;
    if (st[i] != acc)
      return false;
    acc *= sh[i];
  }
  return true;
}

template <class T> T *Tensor::data() const {
  PG_CHECK(dtype() == dtype_of<T>(), "data<", dtype_name(dtype_of<T>()), ">: tensor has dtype ",
           dtype_name(dtype()));
  return static_cast<T *>(impl().storage->data) + impl().offset;
}
template float *Tensor::data<float>() const;
template int64_t *Tensor::data<int64_t>() const;

template <class T> std::vector<T> Tensor::to_vector() const {
  PG_CHECK(dtype() == dtype_of<T>(), "to_vector<", dtype_name(dtype_of<T>()),
           ">: tensor has dtype ", dtype_name(dtype()));
  Tensor c = kernel::contiguous(*this);
  const T *p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;

template <class T> T Tensor::item() const {
  PG_CHECK(numel() == 1, "item: tensor with ", numel(), " elements (shape ", shape_str(shape()),
           ") is not a scalar");
  if (dtype() == DType::Int64)
    return (T)*data<int64_t>();
  const float v = *data<float>();
  if constexpr (std::is_same_v<T, int64_t>)
    // never a silent truncation or an undefined out-of-range cast
    PG_CHECK(v >= -0x1p63f && v < 0x1p63f && std::trunc(v) == v, "item<int64>: the float32 value ",
             v, " is not a whole number in int64's range");
  return (T)v;
}
template float Tensor::item<float>() const;
template int64_t Tensor::item<int64_t>() const;

// ----- factories -----
Tensor zeros(const Shape &shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype, "zeros");
  std::memset(t.storage()->data, 0, t.storage()->nbytes);
  return t;
}
namespace {
Tensor filled(const Shape &shape, float value, const char *op) {
  Tensor t = Tensor::empty(shape, DType::Float32, op);
  std::fill_n(t.data<float>(), t.numel(), value);
  return t;
}
} // namespace
Tensor full(const Shape &shape, float value) { return filled(shape, value, "full"); }
Tensor ones(const Shape &shape) { return filled(shape, 1.f, "ones"); }
Tensor scalar_tensor(float value) { return full({}, value); }
Tensor zeros_like(const Tensor &t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor &t) { return ones(t.shape()); }
Tensor full_like(const Tensor &t, float v) { return full(t.shape(), v); }

Tensor arange(float start, float end, float step) {
  PG_CHECK(step != 0.f, "arange: step must be nonzero");
  PG_CHECK(std::isfinite(start) && std::isfinite(end) && std::isfinite(step), "arange: start ",
           start, ", end ", end, " and step ", step, " must be finite");
  PG_CHECK((end - start) * step >= 0, "arange: the sign of step ", step,
           " does not lead from start ", start, " to end ", end);
  const double n = std::ceil((double(end) - start) / step);
  Tensor t = Tensor::empty({std::max<int64_t>(0, (int64_t)n)});
  float *p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = float(start + double(i) * step);
  return t;
}
Tensor arange(int64_t end) { return arange(0.f, (float)end, 1.f); }

Tensor rand(const Shape &shape) {
  Tensor t = Tensor::empty(shape, DType::Float32, "rand");
  float *p = t.data<float>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i)
    p[i] = uniform();
  return t;
}
Tensor randn(const Shape &shape) {
  Tensor t = Tensor::empty(shape, DType::Float32, "randn");
  float *p = t.data<float>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i)
    p[i] = normal();
  return t;
}

Tensor from_vector(const std::vector<float> &values, const Shape &shape) {
  PG_CHECK((int64_t)values.size() == shape_numel(shape), "from_vector: ", values.size(),
           " values do not fill shape ", shape_str(shape), " (", shape_numel(shape), " elements)");
  Tensor t = Tensor::empty(shape);
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

Tensor from_labels(const std::vector<int64_t> &labels, const Shape &shape) {
  PG_CHECK((int64_t)labels.size() == shape_numel(shape), "from_labels: ", labels.size(),
           " labels do not fill shape ", shape_str(shape));
  Tensor t = Tensor::empty(shape, DType::Int64);
  std::copy(labels.begin(), labels.end(), t.data<int64_t>());
  return t;
}
Tensor from_labels(const std::vector<int64_t> &labels) {
  return from_labels(labels, {(int64_t)labels.size()});
}

// ----- in-place -----
namespace {
// any_dtype: copy_ also writes int64 tensors; the arithmetic ones need float32.
void check_inplace(const Tensor &t, const char *op, bool any_dtype = false) {
  PG_CHECK(any_dtype || t.dtype() == DType::Float32, op, ": needs a float32 tensor, got ",
           dtype_name(t.dtype()));
  // In-place ops are not recorded, so changing a tensor that is part of a
  // graph would silently change the math under autograd's feet.
  PG_CHECK(!t.requires_grad() || !is_grad_enabled(), op, ": tensor of shape ", shape_str(t.shape()),
           " requires grad",
           t.is_leaf() ? " (a leaf); wrap the update in NoGradGuard"
                       : " (it is an op's output); in-place ops are not recorded by autograd, "
                         "use the out-of-place op (e.g. a * b instead of a.mul_(b))");
  // An expanded tensor has several elements at one address: writing all of
  // them in place is ill-defined (and a data race across threads).
  for (int64_t d = 0; d < t.dim(); ++d)
    PG_CHECK(t.strides()[d] != 0 || t.shape()[d] <= 1, op,
             ": cannot write in place to an expanded tensor of shape ", shape_str(t.shape()),
             " (several elements share one memory location); clone() it first");
}

// A source sharing memory with the destination under a different layout
// (x.copy_(x.t())) would read elements already overwritten: read a copy.
template <class T = float> Tensor unaliased(const Tensor &dst, const Tensor &src) {
  if (!src.defined() || src.storage() != dst.storage() ||
      (src.offset() == dst.offset() && src.shape() == dst.shape() &&
       src.strides() == dst.strides()))
    return src;
  kernel::check_dtype<T>(src, "in-place op");
  Tensor c = Tensor::empty(src.shape(), dtype_of<T>());
  kernel::apply_inplace<T>(c, src, [](T, T s) { return s; });
  return c;
}
} // namespace

Tensor &Tensor::fill_(float v) {
  check_inplace(*this, "fill_");
  kernel::apply_inplace(*this, Tensor(), [v](float, float) { return v; });
  bump_version();
  return *this;
}
Tensor &Tensor::copy_(const Tensor &src) {
  check_inplace(*this, "copy_", true);
  // No conversion (PyTorch's copy_ converts; polygrad's two dtypes never
  // need it): a mismatch is a mistake worth naming.
  PG_CHECK(!src.defined() || src.dtype() == dtype(), "copy_: source of dtype ",
           dtype_name(src.dtype()), " into a tensor of dtype ", dtype_name(dtype()));
  if (dtype() == DType::Int64)
    kernel::apply_inplace<int64_t>(*this, unaliased<int64_t>(*this, src),
                                   [](int64_t, int64_t s) { return s; });
  else
    kernel::apply_inplace(*this, unaliased(*this, src), [](float, float s) { return s; });
  bump_version();
  return *this;
}
Tensor &Tensor::add_(const Tensor &o, float alpha) {
  check_inplace(*this, "add_");
  kernel::apply_inplace(*this, unaliased(*this, o),
                        [alpha](float a, float b) { return a + alpha * b; });
  bump_version();
  return *this;
}
Tensor &Tensor::add_(float v) {
  check_inplace(*this, "add_");
  kernel::apply_inplace(*this, Tensor(), [v](float a, float) { return a + v; });
  bump_version();
  return *this;
}
Tensor &Tensor::mul_(const Tensor &o) {
  check_inplace(*this, "mul_");
  kernel::apply_inplace(*this, unaliased(*this, o), [](float a, float b) { return a * b; });
  bump_version();
  return *this;
}
Tensor &Tensor::mul_(float v) {
  check_inplace(*this, "mul_");
  kernel::apply_inplace(*this, Tensor(), [v](float a, float) { return a * v; });
  bump_version();
  return *this;
}

// ----- printing -----
namespace {
void print_rec(std::ostream &os, const Tensor &c, int64_t d, int64_t off, int indent,
               bool summarise) {
  const int64_t n = c.shape()[d];
  const int64_t st = c.strides()[d];
  os << "[";
  const bool last = d == c.dim() - 1;
  for (int64_t i = 0; i < n; ++i) {
    if (summarise && n > 6 && i == 3) {
      os << (last ? "..., " : "...,\n" + std::string(indent + 1, ' '));
      i = n - 3;
    }
    if (last) {
      if (c.dtype() == DType::Int64)
        os << c.data<int64_t>()[off + i * st];
      else
        os << std::setw(9) << c.data<float>()[off + i * st];
    } else {
      print_rec(os, c, d + 1, off + i * st, indent + 1, summarise);
    }
    if (i + 1 < n)
      os << (last ? ", " : ",\n" + std::string(indent + 1, ' '));
  }
  os << "]";
}
} // namespace

std::ostream &operator<<(std::ostream &os, const Tensor &t) {
  if (!t.defined())
    return os << "tensor(undefined)";
  std::ios state(nullptr);
  state.copyfmt(os);
  os << "tensor(";
  os << std::setprecision(4);
  if (t.dim() == 0) {
    if (t.dtype() == DType::Int64)
      os << *t.data<int64_t>();
    else
      os << *t.data<float>();
  } else if (t.numel() == 0) {
    os << "[]";
  } else {
    // Index through the view itself (data<T>() already includes the offset).
    Tensor base = t;
    print_rec(os, base, 0, 0, 7, t.numel() > 1000);
  }
  os.copyfmt(state);
  os << ", shape=" << shape_str(t.shape()) << ", dtype=" << dtype_name(t.dtype());
  if (t.grad_fn())
    os << ", grad_fn=<" << t.grad_fn_name() << ">";
  else if (t.requires_grad())
    os << ", requires_grad=true";
  return os << ")";
}

} // namespace polygrad
