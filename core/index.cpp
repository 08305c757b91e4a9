// Indexing and joining kernels: gather/scatter_add, index_select/index_add, cat.
#include <cstring>

#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>

namespace polygrad::kernel {
namespace {
void check_index(const Tensor &index, int64_t limit, const char *op) {
  PG_CHECK(index.dtype() == DType::Int64, op, ": index must be int64, got ",
           dtype_name(index.dtype()));
  const Tensor c = contiguous(index);
  const int64_t *p = c.data<int64_t>();
  for (int64_t i = 0; i < c.numel(); ++i)
    PG_CHECK(p[i] >= 0 && p[i] < limit, op, ": index ", p[i], " at position ", i,
             " is out of range for a dim of size ", limit);
}

// Strides of `a` on the non-`dim` axes, 0 on `dim` (the index supplies it).
Shape strides_without(const Tensor &a, int64_t dim) {
  Shape s = a.strides();
  s[dim] = 0;
  return s;
}

void check_gather_shapes(const Shape &a, const Tensor &index, int64_t dim, const char *op) {
  PG_CHECK((int64_t)a.size() == index.dim(), op, ": index of shape ", shape_str(index.shape()),
           " must have as many dims as the input ", shape_str(a));
  for (int64_t d = 0; d < index.dim(); ++d)
    PG_CHECK(d == dim || index.shape()[d] <= a[d], op, ": index shape ", shape_str(index.shape()),
             " exceeds input shape ", shape_str(a), " at dim ", d);
}
} // namespace

Tensor gather(const Tensor &a, int64_t dim_in, const Tensor &index) {
  check_float(a, "gather");
  const int64_t dim = wrap_dim(dim_in, a.dim(), "gather");
  check_gather_shapes(a.shape(), index, dim, "gather");
  check_index(index, a.dim() ? a.shape()[dim] : 1, "gather");
  Tensor out = Tensor::empty(index.shape());
  if (index.numel() == 0)
    return out;
  const Tensor idx = contiguous(index);
  const int64_t *pi = idx.data<int64_t>();
  const float *pa = a.data<float>();
  float *po = out.data<float>();
  if (a.dim() == 0) {
    po[0] = pa[0];
    return out;
  }
  const int64_t sd = a.strides()[dim];
  const Shape cs = contiguous_strides(index.shape());
  for_each_row<2>(index.shape(), {cs, strides_without(a, dim)},
                  [&](const std::array<int64_t, 2> &off, int64_t n) {
                    const int64_t sa = dim == index.dim() - 1 ? 0 : a.strides().back();
                    for (int64_t i = 0; i < n; ++i)
                      po[off[0] + i] = pa[off[1] + i * sa + pi[off[0] + i] * sd];
                  });
  return out;
}

Tensor scatter_add(const Shape &shape, int64_t dim_in, const Tensor &index, const Tensor &src_in) {
  const int64_t dim = wrap_dim(dim_in, (int64_t)shape.size(), "scatter_add");
  check_gather_shapes(shape, index, dim, "scatter_add");
  check_index(index, shape.empty() ? 1 : shape[dim], "scatter_add");
  PG_CHECK(src_in.shape() == index.shape(), "scatter_add: src shape ", shape_str(src_in.shape()),
           " must equal index shape ", shape_str(index.shape()));
  Tensor out = zeros(shape);
  if (index.numel() == 0)
    return out;
  const Tensor idx = contiguous(index), src = contiguous(src_in);
  const int64_t *pi = idx.data<int64_t>();
  const float *ps = src.data<float>();
  float *po = out.data<float>();
  if (shape.empty()) {
    po[0] += ps[0];
    return out;
  }
  // Serial: several index entries may hit the same output element.
  const Shape os = contiguous_strides(shape);
  const Shape ic = contiguous_strides(index.shape());
  Shape ows = os;
  ows[dim] = 0;
  const int64_t sd = os[dim];
  const int64_t nd = index.dim();
  std::vector<int64_t> ix(nd, 0);
  for (int64_t e = 0; e < index.numel(); ++e) {
    int64_t rem = e, off = 0;
    for (int64_t d = nd - 1; d >= 0; --d) {
      ix[d] = rem % index.shape()[d];
      rem /= index.shape()[d];
      off += ix[d] * ows[d];
    }
    po[off + pi[e] * sd] += ps[e];
  }
  return out;
}

Tensor index_select(const Tensor &a_in, int64_t dim_in, const Tensor &index) {
  check_float(a_in, "index_select");
  PG_CHECK(a_in.dim() >= 1, "index_select: needs at least a 1-d input");
  const int64_t dim = wrap_dim(dim_in, a_in.dim(), "index_select");
  PG_CHECK(index.dim() == 1, "index_select: index must be 1-d, got shape ",
           shape_str(index.shape()));
  check_index(index, a_in.shape()[dim], "index_select");
  const Tensor a = contiguous(a_in), idx = contiguous(index);
  Shape os = a.shape();
  os[dim] = idx.numel();
  Tensor out = Tensor::empty(os);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < a.dim(); ++d)
    (d < dim ? outer : d > dim ? inner : outer) *= d == dim ? 1 : a.shape()[d];
  const int64_t D = a.shape()[dim], n = idx.numel();
  const int64_t *pi = idx.data<int64_t>();
  const float *pa = a.data<float>();
  float *po = out.data<float>();
  parallel_range(outer * n, out.numel(), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o = r / n, j = r % n;
      std::memcpy(po + r * inner, pa + (o * D + pi[j]) * inner, inner * sizeof(float));
    }
  });
  return out;
}

Tensor index_add(const Shape &shape, int64_t dim_in, const Tensor &index, const Tensor &src_in) {
  const int64_t dim = wrap_dim(dim_in, (int64_t)shape.size(), "index_add");
  check_index(index, shape[dim], "index_add");
  const Tensor src = contiguous(src_in), idx = contiguous(index);
  Tensor out = zeros(shape);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < (int64_t)shape.size(); ++d)
    if (d != dim)
      (d < dim ? outer : inner) *= shape[d];
  const int64_t D = shape[dim], n = idx.numel();
  const int64_t *pi = idx.data<int64_t>();
  const float *ps = src.data<float>();
  float *po = out.data<float>();
  // Parallel over `outer` only: repeated indices touch the same rows.
  parallel_range(outer, src.numel(), [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o)
      for (int64_t j = 0; j < n; ++j) {
        float *dst = po + (o * D + pi[j]) * inner;
        const float *s = ps + (o * n + j) * inner;
        for (int64_t i = 0; i < inner; ++i)
          dst[i] += s[i];
      }
  });
  return out;
}

Tensor cat(const std::vector<Tensor> &ts, int64_t dim_in) {
  PG_CHECK(!ts.empty(), "cat: expected a non-empty list of tensors");
  const Tensor &f = ts[0];
  PG_CHECK(f.dim() >= 1, "cat: zero-dimensional tensors cannot be concatenated");
  const int64_t dim = wrap_dim(dim_in, f.dim(), "cat");
  Shape os = f.shape();
  os[dim] = 0;
  for (size_t k = 0; k < ts.size(); ++k) {
    check_float(ts[k], "cat");
    bool ok = ts[k].dim() == f.dim();
    for (int64_t d = 0; ok && d < f.dim(); ++d)
      ok = d == dim || ts[k].shape()[d] == f.shape()[d];
    PG_CHECK(ok, "cat: tensor ", k, " has shape ", shape_str(ts[k].shape()), ", incompatible with ",
             shape_str(f.shape()), " along dim ", dim);
    os[dim] += ts[k].shape()[dim];
  }
  Tensor out = Tensor::empty(os);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < f.dim(); ++d)
    if (d != dim)
      (d < dim ? outer : inner) *= os[d];
  float *po = out.data<float>();
  int64_t col = 0;
  for (const Tensor &t_in : ts) {
    const Tensor t = contiguous(t_in);
    const int64_t w = t.shape()[dim] * inner, W = os[dim] * inner;
    const float *pt = t.data<float>();
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(po + o * W + col, pt + o * w, w * sizeof(float));
    col += w;
  }
  return out;
}

} // namespace polygrad::kernel
