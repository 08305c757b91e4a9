// matmul, forward and backward: for C = A B,
//   dA = dC B^T,   dB = A^T dC
// (transposes are strided views that go to cblas_sgemm as transposes, no
// copies; broadcast batch dims are summed back by the engine).
#include <algorithm>

#include <polygrad/autograd/node.h>
#include <polygrad/core/kernels.h>

namespace polygrad {
namespace {
Tensor matmul_nd(const Tensor &a, const Tensor &b) {
  Tensor out = kernel::matmul(a, b);
  if (needs_grad({a, b})) {
    const bool ga = a.requires_grad(), gb = b.requires_grad();
    record("MatmulBackward", out, {a, b},
           [sa = SavedTensor(gb ? a : Tensor()),
            sb = SavedTensor(ga ? b : Tensor())](const Tensor &g) {
             Tensor da, db;
             if (sb.get().defined())
               da = kernel::matmul(g, sb.get().transpose(-1, -2));
             if (sa.get().defined())
               db = kernel::matmul(sa.get().transpose(-1, -2), g);
             return grads{da, db};
           });
  }
  return out;
}
} // namespace

Tensor matmul(const Tensor &a, const Tensor &b) {
  PG_CHECK(a.defined() && b.defined() && a.dim() >= 1 && b.dim() >= 1,
           "matmul: both arguments need at least 1 dim, got shapes ",
           a.defined() ? shape_str(a.shape()) : "undefined", " and ",
           b.defined() ? shape_str(b.shape()) : "undefined");
  // Checked here, on the caller's shapes, before 1-D operands are promoted.
  const int64_t ka = a.shape().back(), kb = b.shape()[b.dim() == 1 ? 0 : b.dim() - 2];
  PG_CHECK(ka == kb, "matmul: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
           " cannot be multiplied (", ka, " != ", kb, ")");
  if (a.dim() > 2 || b.dim() > 2) {
    const Shape ba(a.shape().begin(), a.shape().end() - std::min<int64_t>(a.dim(), 2));
    const Shape bb(b.shape().begin(), b.shape().end() - std::min<int64_t>(b.dim(), 2));
    for (size_t i = 1; i <= std::min(ba.size(), bb.size()); ++i) {
      const int64_t x = ba[ba.size() - i], y = bb[bb.size() - i];
      PG_CHECK(x == y || x == 1 || y == 1, "matmul: batch dims of shapes ", shape_str(a.shape()),
               " and ", shape_str(b.shape()), " cannot be broadcast (", x, " vs ", y, ")");
    }
  }
  if (a.dim() >= 2 && b.dim() >= 2)
    return matmul_nd(a, b);
  // Vectors are promoted to matrices and the added dim removed afterwards,
  // as in torch.matmul; the promotions are differentiable views.
  const Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
  const Tensor b2 = b.dim() == 1 ? b.unsqueeze(1) : b;
  Tensor out = matmul_nd(a2, b2);
  if (b.dim() == 1)
    out = out.squeeze(-1);
  if (a.dim() == 1)
    out = out.squeeze(out.dim() == 1 && b.dim() == 1 ? 0 : -2);
  return out;
}

} // namespace polygrad
