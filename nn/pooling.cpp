// nn::functional's pooling ops and the pooling modules (the math is in
// pooling.h): the argument checks, output sizes, and each op's forward and
// backward. The loops over the planes (and the AVX-512 2x2 max-pool row
// kernel) are in nn/kernels/max_pool.h and avg_pool.h.
#include <polygrad/nn/pooling.h>

#include <utility>

#include <polygrad/autograd/node.h>
#include <polygrad/core/kernels.h>
#include <polygrad/nn/kernels/avg_pool.h>
#include <polygrad/nn/kernels/max_pool.h>
#include <polygrad/nn/kernels/pool_geom.h>

namespace polygrad::nn {
namespace {

using detail::AvgOpts;
using detail::PoolGeom;

inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// PyTorch's pooling_output_shape.
int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  int64_t o = floor_div(in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0), s) + 1;
  if (ceil_mode && (o - 1) * s >= in + p) // the last window must start inside
    --o;
  return o;
}

void check_input(const char *op, const Tensor &x) {
  PG_CHECK(x.defined(), op, ": input is undefined");
  PG_CHECK(x.dtype() == DType::Float32, op, ": expected a float32 input, got ",
           dtype_name(x.dtype()), " of shape ", shape_str(x.shape()));
  PG_CHECK(x.dim() == 3 || x.dim() == 4, op,
           ": expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape ",
           shape_str(x.shape()));
}

PoolGeom make_geom(const char *op, const Shape &x, Size2 k, Size2 s, Size2 p, Size2 d,
                   bool ceil_mode) {
  PG_CHECK(k.h >= 1 && k.w >= 1, op, ": kernel_size must be >= 1, got ", k.str());
  PG_CHECK(s.h >= 1 && s.w >= 1, op, ": stride must be >= 1, got ", s.str());
  PG_CHECK(d.h >= 1 && d.w >= 1, op, ": dilation must be >= 1, got ", d.str());
  PG_CHECK(p.h >= 0 && p.w >= 0 && p.h <= k.h / 2 && p.w <= k.w / 2, op,
           ": padding must be >= 0 and at most half of the kernel size, got padding=", p.str(),
           " and kernel_size=", k.str());
  PoolGeom g{};
  g.P = x[0] * x[1], g.H = x[2], g.W = x[3];
  g.kh = k.h, g.kw = k.w, g.sh = s.h, g.sw = s.w, g.ph = p.h, g.pw = p.w, g.dh = d.h, g.dw = d.w;
  g.OH = pool_out(g.H, k.h, s.h, p.h, d.h, ceil_mode);
  g.OW = pool_out(g.W, k.w, s.w, p.w, d.w, ceil_mode);
  PG_CHECK(g.OH >= 1 && g.OW >= 1, op, ": input of shape ", shape_str(x),
           " is too small for kernel_size=", k.str(), ", stride=", s.str(), ", padding=", p.str(),
           ", dilation=", d.str(), " (calculated output size (", g.OH, ", ", g.OW, "))");
  PG_CHECK(g.H * g.W < (int64_t(1) << 31), op, ": planes of ", g.H, "x", g.W,
           " are too large (argmax indices are 32-bit)");
  return g;
}

Shape out_shape(const Tensor &x, int64_t OH, int64_t OW) { return {x.size(0), x.size(1), OH, OW}; }

// max_pool2d and relu_max_pool2d: one pass, one node.
// Forward: y = max over the window (relu: relu(max)), argmax saved.
// Backward: dx[argmax] += dy (relu: only where y > 0 or NaN; index -1).
Tensor max_pool(const char *op, bool relu, const Tensor &x, Size2 k, std::optional<Size2> stride,
                Size2 padding, Size2 dilation, bool ceil_mode) {
  check_input(op, x);
  if (x.dim() == 3)
    return max_pool(op, relu, x.unsqueeze(0), k, stride, padding, dilation, ceil_mode).squeeze(0);
  const PoolGeom g = make_geom(op, x.shape(), k, stride.value_or(k), padding, dilation, ceil_mode);
  const Tensor xc = kernel::contiguous(x);
  Tensor y = Tensor::empty(out_shape(x, g.OH, g.OW));
  // int32 argmax indices in a float32-sized buffer (same 4-byte elements);
  // they never leave nn/ (this file and the fused conv2d_relu_max_pool2d).
  // None when nothing will backpropagate.
  const bool grad = needs_grad({x});
  Tensor idx = grad ? Tensor::empty({y.numel()}) : Tensor();
  int32_t *pi = grad ? reinterpret_cast<int32_t *>(idx.storage()->data) : nullptr;
  detail::max_pool_forward(g, xc.data<float>(), y.data<float>(), pi, relu);
  if (grad) {
    auto max_pool2d_backward = [g, idx, xshape = x.shape()](const Tensor &gy) {
      const Tensor gc = kernel::contiguous(gy);
      Tensor dx = Tensor::empty(xshape);
      detail::max_pool_backward(g, gc.data<float>(),
                                reinterpret_cast<const int32_t *>(idx.storage()->data),
                                dx.data<float>());
      return grads{dx};
    };
    record(relu ? "ReluMaxPool2dBackward" : "MaxPool2dBackward", y, {x},
           std::move(max_pool2d_backward));
  }
  return y;
}

} // namespace

namespace detail {

PoolGeom pool_geom(const char *op, const Shape &x, Size2 k, Size2 s, Size2 p, Size2 d,
                   bool ceil_mode) {
  return make_geom(op, x, k, s, p, d, ceil_mode);
}

} // namespace detail

namespace functional {

Tensor max_pool2d(const Tensor &x, Size2 k, std::optional<Size2> stride, Size2 padding,
                  Size2 dilation, bool ceil_mode) {
  return max_pool("max_pool2d", false, x, k, stride, padding, dilation, ceil_mode);
}

Tensor relu_max_pool2d(const Tensor &x, Size2 k, std::optional<Size2> stride, Size2 padding,
                       Size2 dilation, bool ceil_mode) {
  return max_pool("relu_max_pool2d", true, x, k, stride, padding, dilation, ceil_mode);
}

// Forward: y = sum(window inside the input) / divisor.
// Backward: dx[window] += dy / divisor.
Tensor avg_pool2d(const Tensor &x, Size2 k, std::optional<Size2> stride, Size2 padding,
                  bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
  check_input("avg_pool2d", x);
  if (x.dim() == 3)
    return avg_pool2d(x.unsqueeze(0), k, stride, padding, ceil_mode, count_include_pad,
                      divisor_override)
        .squeeze(0);
  PG_CHECK(!divisor_override || *divisor_override != 0,
           "avg_pool2d: divisor_override must be non-zero");
  const PoolGeom g =
      make_geom("avg_pool2d", x.shape(), k, stride.value_or(k), padding, 1, ceil_mode);
  const AvgOpts a{count_include_pad, divisor_override.value_or(0)};
  const Tensor xc = kernel::contiguous(x);
  Tensor y = Tensor::empty(out_shape(x, g.OH, g.OW));
  detail::avg_pool_forward(g, a, xc.data<float>(), y.data<float>());
  if (needs_grad({x})) {
    auto avg_pool2d_backward = [g, a, xshape = x.shape()](const Tensor &gy) {
      const Tensor gc = kernel::contiguous(gy);
      Tensor dx = Tensor::empty(xshape);
      detail::avg_pool_backward(g, a, gc.data<float>(), dx.data<float>());
      return grads{dx};
    };
    record("AvgPool2dBackward", y, {x}, std::move(avg_pool2d_backward));
  }
  return y;
}

// Forward: cell (i, j) averages rows [floor(i H / OH), ceil((i + 1) H / OH))
// and the matching columns. Backward: dx[cell's window] += dy / area.
Tensor adaptive_avg_pool2d(const Tensor &x, Size2 output_size) {
  check_input("adaptive_avg_pool2d", x);
  if (x.dim() == 3)
    return adaptive_avg_pool2d(x.unsqueeze(0), output_size).squeeze(0);
  PG_CHECK(output_size.h >= 1 && output_size.w >= 1,
           "adaptive_avg_pool2d: output_size must be >= 1, got ", output_size.str());
  PG_CHECK(x.size(2) >= 1 && x.size(3) >= 1, "adaptive_avg_pool2d: input of shape ",
           shape_str(x.shape()), " has an empty plane");
  PoolGeom g{};
  g.P = x.size(0) * x.size(1), g.H = x.size(2), g.W = x.size(3);
  g.OH = output_size.h, g.OW = output_size.w;
  const Tensor xc = kernel::contiguous(x);
  Tensor y = Tensor::empty(out_shape(x, g.OH, g.OW));
  detail::adaptive_avg_pool_forward(g, xc.data<float>(), y.data<float>());
  if (needs_grad({x})) {
    auto adaptive_avg_pool2d_backward = [g, xshape = x.shape()](const Tensor &gy) {
      const Tensor gc = kernel::contiguous(gy);
      Tensor dx = Tensor::empty(xshape);
      detail::adaptive_avg_pool_backward(g, gc.data<float>(), dx.data<float>());
      return grads{dx};
    };
    record("AdaptiveAvgPool2dBackward", y, {x}, std::move(adaptive_avg_pool2d_backward));
  }
  return y;
}

} // namespace functional

namespace {
std::string bool_str(bool b) { return b ? "true" : "false"; }
} // namespace

MaxPool2d::MaxPool2d(Size2 k, std::optional<Size2> s, Size2 p, Size2 d, bool ceil)
    : kernel_size(k), stride(s.value_or(k)), padding(p), dilation(d), ceil_mode(ceil) {}

Tensor MaxPool2d::forward(const Tensor &x) {
  return functional::max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode);
}

std::string MaxPool2d::extra_repr() const {
  return "kernel_size=" + kernel_size.short_str() + ", stride=" + stride.short_str() +
         ", padding=" + padding.short_str() + ", dilation=" + dilation.short_str() +
         ", ceil_mode=" + bool_str(ceil_mode);
}

AvgPool2d::AvgPool2d(Size2 k, std::optional<Size2> s, Size2 p, bool ceil, bool include_pad,
                     std::optional<int64_t> div)
    : kernel_size(k), stride(s.value_or(k)), padding(p), ceil_mode(ceil),
      count_include_pad(include_pad), divisor_override(div) {}

Tensor AvgPool2d::forward(const Tensor &x) {
  return functional::avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                divisor_override);
}

std::string AvgPool2d::extra_repr() const {
  return "kernel_size=" + kernel_size.short_str() + ", stride=" + stride.short_str() +
         ", padding=" + padding.short_str();
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Size2 out) : output_size(out) {}

Tensor AdaptiveAvgPool2d::forward(const Tensor &x) {
  return functional::adaptive_avg_pool2d(x, output_size);
}

std::string AdaptiveAvgPool2d::extra_repr() const {
  return "output_size=" + output_size.short_str();
}

} // namespace polygrad::nn
