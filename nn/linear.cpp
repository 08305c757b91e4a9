#include <polygrad/nn/linear.h>

#include <cmath>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/autograd/node.h>
#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/sgemm.h>
#include <polygrad/nn/init.h>

namespace polygrad::nn {
namespace functional {

namespace {
// y = act(x W^T + b), act = ReLU (relu) or the identity: one GEMM whose
// epilogue adds the bias and applies the ReLU tile by tile while C is in L1
// (kernel::SgemmEpilogue): no pass over y for the bias, none for the ReLU.
// The backward masks dY by y > 0 first (the ReLU's backward, read from the
// output as polygrad::relu's), then runs Linear's three products.
Tensor linear_impl(const Tensor &x, const Tensor &w, const Tensor &b, bool relu, const char *op) {
  PG_CHECK(x.defined() && w.defined(), op, ": input and weight must be defined");
  PG_CHECK(x.dtype() == DType::Float32 && w.dtype() == DType::Float32, op,
           ": expected float32 input and weight, got ", dtype_name(x.dtype()), " and ",
           dtype_name(w.dtype()));
  PG_CHECK(w.dim() == 2, op, ": weight must be 2-D (out_features, in_features), got shape ",
           shape_str(w.shape()));
  PG_CHECK(x.dim() >= 1 && x.size(-1) == w.size(1), op, ": input of shape ", shape_str(x.shape()),
           " does not match weight of shape ", shape_str(w.shape()),
           " (input's last dim must be in_features = ", w.size(1), ")");
  const int64_t in = w.size(1), out = w.size(0);
  PG_CHECK(!b.defined() || (b.dtype() == DType::Float32 && b.shape() == Shape{out}), op,
           ": bias must be a float32 tensor of shape [", out, "], got ",
           b.defined() ? shape_str(b.shape()) : "");
  const Tensor xc = kernel::contiguous(x), wc = kernel::contiguous(w);
  const Tensor bc = b.defined() ? kernel::contiguous(b) : Tensor();
  const int64_t rows =
      in ? xc.numel() / in : shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  Shape yshape = x.shape();
  yshape.back() = out;
  Tensor y = Tensor::empty(yshape);
  // y = act(x W^T + b): GEMM NT (rows x in)(in x out); with in == 0 the empty
  // sum is 0 and y = act(b).
  kernel::sgemm(false, true, rows, out, in, 1.f, xc.data<float>(), std::max<int64_t>(in, 1),
                wc.data<float>(), std::max<int64_t>(in, 1), 0.f, y.data<float>(),
                std::max<int64_t>(out, 1),
                kernel::SgemmEpilogue{bc.defined() ? bc.data<float>() : nullptr, relu});

  if (needs_grad({x, w, b})) {
    const bool gx = x.requires_grad(), gw = w.requires_grad(),
               gb = b.defined() && b.requires_grad();
    record(
        relu ? "LinearReluBackward" : "LinearBackward", y, {x, w, b},
        [sx = SavedTensor(gw ? xc : Tensor()), sw = SavedTensor(gx ? wc : Tensor()),
         sy = SavedTensor(relu ? y : Tensor()), gx, gw, gb, xshape = x.shape(), rows, in,
         out](const Tensor &g_in) {
          // d relu(z) = [z > 0], read from the output (z <= 0 <=> y == 0;
          // a NaN lets the gradient through, as PyTorch)
          const Tensor g = sy.get().defined()
                               ? kernel::zip(g_in, sy.get(), "relu_backward",
                                             [](float g, float o) { return o <= 0.f ? 0.f : g; })
                               : kernel::contiguous(g_in);
          const float *pg = g.data<float>();
          Tensor dx, dw, db;
          if (gx) { // dX = dY W: (rows x out)(out x in)
            dx = Tensor::empty(xshape);
            if (out > 0)
              kernel::sgemm(false, false, rows, in, out, 1.f, pg, out, sw.get().data<float>(),
                            std::max<int64_t>(in, 1), 0.f, dx.data<float>(),
                            std::max<int64_t>(in, 1));
            else
              dx.zero_();
          }
          if (gw) { // dW = dY^T X: (out x rows)(rows x in)
            dw = Tensor::empty({out, in});
            if (rows > 0)
              kernel::sgemm(true, false, out, in, rows, 1.f, pg, std::max<int64_t>(out, 1),
                            sx.get().data<float>(), std::max<int64_t>(in, 1), 0.f, dw.data<float>(),
                            std::max<int64_t>(in, 1));
            else
              dw.zero_();
          }
          if (gb) // db = sum over rows of dY
            db = kernel::sum(kernel::as_strided(g, {rows, out}, {out, 1}, g.offset()), {0}, false);
          return grads{dx, dw, db};
        });
  }
  return y;
}
} // namespace

Tensor linear(const Tensor &x, const Tensor &w, const Tensor &b) {
  return linear_impl(x, w, b, false, "linear");
}

Tensor linear_relu(const Tensor &x, const Tensor &w, const Tensor &b) {
  return linear_impl(x, w, b, true, "linear_relu");
}

} // namespace functional

Linear::Linear(int64_t in, int64_t out, bool has_bias) : in_features(in), out_features(out) {
  PG_CHECK(in >= 0 && out >= 0, "Linear: in_features and out_features must be >= 0, got ", in,
           " and ", out);
  weight = register_parameter("weight", Tensor::empty({out, in}));
  if (has_bias)
    bias = register_parameter("bias", Tensor::empty({out}));
  reset_parameters();
}

void Linear::reset_parameters() {
  // PyTorch: kaiming_uniform_(W, a=sqrt(5)) -> bound sqrt(6/((1+5) fan_in)) =
  // 1/sqrt(fan_in); bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = in_features > 0 ? 1.0 / std::sqrt(double(in_features)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

void Linear::check_input(const Tensor &x) const {
  PG_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) == in_features,
           "Linear(in_features=", in_features, ", out_features=", out_features,
           "): input of shape ", x.defined() ? shape_str(x.shape()) : "undefined",
           " does not match weight of shape ", shape_str(weight.shape()), " (the last dim must be ",
           in_features, ")");
}

Tensor Linear::forward(const Tensor &x) {
  check_input(x);
  return functional::linear(x, weight, bias);
}

Tensor Linear::forward_relu(const Tensor &x) const {
  check_input(x);
  return functional::linear_relu(x, weight, bias);
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features) +
         ", out_features=" + std::to_string(out_features) +
         ", bias=" + (bias.defined() ? "true" : "false");
}

} // namespace polygrad::nn
