// matmul, forward and backward: for C = A B,
//   dA = dC B^T,   dB = A^T dC
// (transposes are strided views that go to cblas_sgemm as transposes, no
// copies; broadcast batch dims are summed back by the engine).
#include <polygrad/autograd/node.h>
#include <polygrad/core/kernels.h>

namespace polygrad {
namespace {
Tensor matmul_nd(const Tensor &a, const Tensor &b) {
  Tensor out = kernel::matmul(a, b);
  if (needs_grad({a, b})) {
    const bool ga = a.requires_grad(), gb = b.requires_grad();
    record("MatmulBackward", out, {a, b},
           [sa = SavedTensor(gb ? a : Tensor()), sb = SavedTensor(ga ? b : Tensor())](
               const Tensor &g) {
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
