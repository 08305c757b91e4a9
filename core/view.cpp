// Strided views and copies: the machinery behind reshape/view/transpose/...
#include <cstring>

#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>

namespace polygrad::kernel {

Tensor as_strided(const Tensor &t, const Shape &shape, const Shape &strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.storage();
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = t.dtype();
  return Tensor(std::move(impl));
}

Tensor contiguous(const Tensor &t) {
  if (t.is_contiguous())
    return t;
  Tensor out = Tensor::empty(t.shape(), t.dtype());
  const Shape cs = contiguous_strides(t.shape());
  const int64_t s = t.strides().back();
  if (t.dtype() == DType::Float32) {
    const float *p = t.data<float>();
    float *o = out.data<float>();
    for_each_row<2>(t.shape(), {cs, t.strides()},
                    [&](const std::array<int64_t, 2> &off, int64_t n) {
                      for (int64_t i = 0; i < n; ++i)
                        o[off[0] + i] = p[off[1] + i * s];
                    });
  } else {
    const int64_t *p = t.data<int64_t>();
    int64_t *o = out.data<int64_t>();
    for_each_row<2>(t.shape(), {cs, t.strides()},
                    [&](const std::array<int64_t, 2> &off, int64_t n) {
                      for (int64_t i = 0; i < n; ++i)
                        o[off[0] + i] = p[off[1] + i * s];
                    });
  }
  return out;
}

Shape infer_shape(const Shape &shape, int64_t numel, const char *op) {
  Shape out = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      PG_CHECK(infer < 0, op, ": only one dim can be -1 in ", shape_str(shape));
      infer = (int64_t)i;
    } else {
      PG_CHECK(shape[i] >= 0, op, ": invalid size ", shape[i], " in ", shape_str(shape));
      PG_CHECK(!__builtin_mul_overflow(known, shape[i], &known), op, ": shape ", shape_str(shape),
               " has more than 2^63 - 1 elements");
    }
  }
  if (infer >= 0) {
    PG_CHECK(known > 0 && numel % known == 0, op, ": shape ", shape_str(shape),
             " is invalid for input of size ", numel);
    out[infer] = numel / known;
  } else {
    PG_CHECK(known == numel, op, ": shape ", shape_str(shape), " is invalid for input of size ",
             numel);
  }
  return out;
}

// Viewing without a copy works when every group of old dims that merges or
// splits into new dims is itself contiguous (PyTorch's computeStride).
bool view_strides(const Tensor &t, const Shape &shape, Shape &out) {
  const Shape &os = t.shape(), &ost = t.strides();
  out.assign(shape.size(), 0);
  if (t.numel() == 0 || os.empty()) {
    out = contiguous_strides(shape);
    return true;
  }
  int64_t view_d = (int64_t)shape.size() - 1;
  int64_t chunk_base_stride = ost.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = (int64_t)os.size() - 1; d >= 0; --d) {
    tensor_numel *= os[d];
    if (d == 0 || (os[d - 1] != 1 && ost[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel)
        return false;
      if (d > 0) {
        chunk_base_stride = ost[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

} // namespace polygrad::kernel
