// nn::functional::conv2d, its fusion with relu + max-pool, and the Conv2d
// module (the math is in conv2d.h). This file holds the algorithm switch,
// the argument checks and each op's forward and backward; the kernels they
// call are in nn/kernels/: conv_gemm.h (im2col + GEMM per image, the thread
// split), winograd.h, and conv_pool.h (the fused op's per-image pooling).
#include <polygrad/nn/conv2d.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <polygrad/autograd/node.h>
#include <polygrad/core/kernels.h>
#include <polygrad/nn/init.h>
#include <polygrad/nn/kernels/conv_gemm.h>
#include <polygrad/nn/kernels/conv_pool.h>

namespace polygrad::nn {

namespace {
constexpr std::pair<const char *, ConvAlgorithm> kAlgorithmNames[] = {
    {"auto", ConvAlgorithm::Auto},
    {"im2col", ConvAlgorithm::Im2col},
    {"winograd", ConvAlgorithm::Winograd},
    {"winograd4x4", ConvAlgorithm::Winograd4x4}};

// The initial choice: POLYGRAD_CONV if set (read once), else Auto.
ConvAlgorithm algorithm_from_env() {
  const char *env = std::getenv("POLYGRAD_CONV");
  if (!env || !*env)
    return ConvAlgorithm::Auto;
  for (const auto &[name, a] : kAlgorithmNames)
    if (std::strcmp(env, name) == 0)
      return a;
  throw Error(polygrad::detail::cat("POLYGRAD_CONV: unknown conv algorithm '", env,
                                    "'; valid: auto, im2col, winograd, winograd4x4"));
}

std::atomic<ConvAlgorithm> &algorithm() {
  static std::atomic<ConvAlgorithm> a{algorithm_from_env()};
  return a;
}
} // namespace

void set_conv_algorithm(ConvAlgorithm algorithm_) { algorithm() = algorithm_; }
ConvAlgorithm conv_algorithm() { return algorithm(); }

namespace {

using detail::ConvGeom;
using detail::ConvGrads;

// Where conv_algorithm() sends this conv: Winograd F(m x m, 3x3) (m = 2 or
// 4), or im2col (0).
int winograd_tile(const ConvGeom &g) {
  if (!g.winograd_fits())
    return 0;
  switch (conv_algorithm()) {
  case ConvAlgorithm::Im2col:
    return 0;
  case ConvAlgorithm::Winograd:
    return 2;
  case ConvAlgorithm::Winograd4x4:
    return 4;
  case ConvAlgorithm::Auto:
    break;
  }
  return g.C >= 16 && g.O >= 16 ? 2 : 0;
}

void check_conv_input(const Tensor &x, const Tensor &w) {
  PG_CHECK(x.defined() && w.defined(), "conv2d: input and weight must be defined");
  PG_CHECK(x.dim() == 3 || x.dim() == 4,
           "conv2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape ",
           shape_str(x.shape()));
}

// Validates conv2d's arguments (x 4-D) and computes the geometry.
ConvGeom conv_geom(const Tensor &x, const Tensor &w, const Tensor &b, Size2 stride, Size2 padding,
                   Size2 dilation, int64_t groups) {
  PG_CHECK(x.defined() && w.defined(), "conv2d: input and weight must be defined");
  PG_CHECK(x.dtype() == DType::Float32 && w.dtype() == DType::Float32,
           "conv2d: expected float32 input and weight, got ", dtype_name(x.dtype()), " and ",
           dtype_name(w.dtype()));
  PG_CHECK(w.dim() == 4, "conv2d: weight must be 4-D (C_out, C_in / groups, kh, kw), got shape ",
           shape_str(w.shape()));
  PG_CHECK(groups >= 1, "conv2d: groups must be >= 1, got ", groups);
  PG_CHECK(stride.h >= 1 && stride.w >= 1, "conv2d: stride must be >= 1, got ", stride.str());
  PG_CHECK(dilation.h >= 1 && dilation.w >= 1, "conv2d: dilation must be >= 1, got ",
           dilation.str());
  PG_CHECK(padding.h >= 0 && padding.w >= 0, "conv2d: padding must be >= 0, got ", padding.str());
  ConvGeom g{};
  g.N = x.size(0), g.C = x.size(1), g.H = x.size(2), g.W = x.size(3);
  g.O = w.size(0), g.kh = w.size(2), g.kw = w.size(3);
  g.sh = stride.h, g.sw = stride.w, g.ph = padding.h, g.pw = padding.w;
  g.dh = dilation.h, g.dw = dilation.w, g.G = groups;
  PG_CHECK(g.O % groups == 0, "conv2d: weight of shape ", shape_str(w.shape()), " has ", g.O,
           " output channels, not divisible by groups=", groups);
  PG_CHECK(g.C == w.size(1) * groups, "conv2d: input of shape ", shape_str(x.shape()), " has ", g.C,
           " channels, but weight of shape ", shape_str(w.shape()), " with groups=", groups,
           " expects ", w.size(1) * groups, " channels");
  PG_CHECK(g.kh >= 1 && g.kw >= 1, "conv2d: weight of shape ", shape_str(w.shape()),
           " has an empty kernel");
  const int64_t eh = g.dh * (g.kh - 1) + 1, ew = g.dw * (g.kw - 1) + 1; // effective kernel
  PG_CHECK(g.H + 2 * g.ph >= eh && g.W + 2 * g.pw >= ew, "conv2d: input of shape ",
           shape_str(x.shape()), " padded by ", padding.str(), " is smaller than the (dilated) ",
           "kernel (", eh, ", ", ew, ") of weight of shape ", shape_str(w.shape()));
  g.OH = (g.H + 2 * g.ph - eh) / g.sh + 1;
  g.OW = (g.W + 2 * g.pw - ew) / g.sw + 1;
  PG_CHECK(!b.defined() || (b.dtype() == DType::Float32 && b.shape() == Shape{g.O}),
           "conv2d: bias must be a float32 tensor of shape [", g.O, "], got ",
           b.defined() ? shape_str(b.shape()) : "");

  return g;
}

} // namespace

namespace functional {

// Forward, per image n and group g: y_n,g = W_g col_g + b, col = im2col(x_n).
// Backward: dW_g += dy_n,g col_g^T, dx_n = col2im(W_g^T dy_n,g), db[o] = sum
// of dy[:, o]; each only when its input requires grad (conv2d.h; Winograd
// computes the same by other means).
Tensor conv2d(const Tensor &x, const Tensor &w, const Tensor &b, Size2 stride, Size2 padding,
              Size2 dilation, int64_t groups) {
  check_conv_input(x, w);
  if (x.dim() == 3) // unbatched: run as a batch of one
    return conv2d(x.unsqueeze(0), w, b, stride, padding, dilation, groups).squeeze(0);
  const ConvGeom g = conv_geom(x, w, b, stride, padding, dilation, groups);
  const Tensor xc = kernel::contiguous(x), wc = kernel::contiguous(w);
  const Tensor bc = b.defined() ? kernel::contiguous(b) : Tensor();
  const int wino = winograd_tile(g);
  Tensor y = detail::conv_forward(g, wino, xc, wc, bc);
  if (needs_grad({x, w, b})) {
    const bool gx = x.requires_grad(), gw = w.requires_grad(),
               gb = b.defined() && b.requires_grad();
    auto conv2d_backward = [g, wino, gx, gw, gb, sx = SavedTensor(gw ? xc : Tensor()),
                            sw = SavedTensor(gx ? wc : Tensor())](const Tensor &gy) {
      const Tensor gc = kernel::contiguous(gy);
      const ConvGrads r = detail::conv_backward(g, wino, gc, sx.get(), sw.get(), gx, gw, gb);
      return grads{r.dx, r.dw, r.db};
    };
    record("Conv2dBackward", y, {x, w, b}, std::move(conv2d_backward));
  }
  return y;
}

// Forward: y = max_pool2d(relu(conv2d(x))), each image's conv output pooled
// from the conv's buffer (conv_pool.h). Backward: conv2d's, on
// dconv = dy at each window's argmax where y > 0 (relu_max_pool2d's
// backward, pooling.h), rebuilt per image.
Tensor conv2d_relu_max_pool2d(const Tensor &x, const Tensor &w, const Tensor &b, Size2 stride,
                              Size2 padding, Size2 dilation, int64_t groups, Size2 pool_kernel,
                              std::optional<Size2> pool_stride, Size2 pool_padding,
                              Size2 pool_dilation, bool ceil_mode) {
  check_conv_input(x, w);
  if (x.dim() == 3)
    return conv2d_relu_max_pool2d(x.unsqueeze(0), w, b, stride, padding, dilation, groups,
                                  pool_kernel, pool_stride, pool_padding, pool_dilation, ceil_mode)
        .squeeze(0);
  const ConvGeom g = conv_geom(x, w, b, stride, padding, dilation, groups);
  const int wino = winograd_tile(g);
  // The pooling of one image's O planes.
  detail::PoolGeom pg =
      detail::pool_geom("conv2d_relu_max_pool2d", {g.N, g.O, g.OH, g.OW}, pool_kernel,
                        pool_stride.value_or(pool_kernel), pool_padding, pool_dilation, ceil_mode);
  pg.P = g.O;
  Tensor y = Tensor::empty({g.N, g.O, pg.OH, pg.OW});
  // int32 argmax indices in a float32-sized buffer, as max_pool2d's; none
  // when nothing will backpropagate.
  const bool grad = needs_grad({x, w, b});
  Tensor idx = grad ? Tensor::empty({y.numel()}) : Tensor();
  int32_t *pi = grad ? reinterpret_cast<int32_t *>(idx.storage()->data) : nullptr;
  const Tensor xc = kernel::contiguous(x), wc = kernel::contiguous(w);
  const Tensor bc = b.defined() ? kernel::contiguous(b) : Tensor();
  detail::conv_forward(g, wino, xc, wc, bc, detail::relu_max_pool_sink(pg, y.data<float>(), pi));
  if (grad) {
    const bool gx = x.requires_grad(), gw = w.requires_grad(),
               gb = b.defined() && b.requires_grad();
    auto conv2d_relu_max_pool2d_backward =
        [g, wino, pg, idx, gx, gw, gb, sx = SavedTensor(gw ? xc : Tensor()),
         sw = SavedTensor(gx ? wc : Tensor())](const Tensor &gy) {
          const Tensor gc = kernel::contiguous(gy);
          const int32_t *pidx = reinterpret_cast<const int32_t *>(idx.storage()->data);
          const ConvGrads r =
              detail::conv_backward(g, wino, Tensor(), sx.get(), sw.get(), gx, gw, gb,
                                    detail::max_pool_grad_source(pg, gc.data<float>(), pidx));
          return grads{r.dx, r.dw, r.db};
        };
    record("Conv2dReluMaxPool2dBackward", y, {x, w, b}, std::move(conv2d_relu_max_pool2d_backward));
  }
  return y;
}

} // namespace functional

Conv2d::Conv2d(int64_t in, int64_t out, Size2 k, Conv2dOptions opt)
    : in_channels(in), out_channels(out), kernel_size(k), options(opt) {
  PG_CHECK(in >= 1 && out >= 1, "Conv2d: in_channels and out_channels must be >= 1, got ", in,
           " and ", out);
  PG_CHECK(k.h >= 1 && k.w >= 1, "Conv2d: kernel_size must be >= 1, got ", k.str());
  PG_CHECK(opt.groups >= 1, "Conv2d: groups must be >= 1, got ", opt.groups);
  PG_CHECK(in % opt.groups == 0, "Conv2d: in_channels (", in, ") must be divisible by groups (",
           opt.groups, ")");
  PG_CHECK(out % opt.groups == 0, "Conv2d: out_channels (", out, ") must be divisible by groups (",
           opt.groups, ")");
  PG_CHECK(opt.stride.h >= 1 && opt.stride.w >= 1, "Conv2d: stride must be >= 1, got ",
           opt.stride.str());
  PG_CHECK(opt.dilation.h >= 1 && opt.dilation.w >= 1, "Conv2d: dilation must be >= 1, got ",
           opt.dilation.str());
  PG_CHECK(opt.padding.h >= 0 && opt.padding.w >= 0, "Conv2d: padding must be >= 0, got ",
           opt.padding.str());
  weight = register_parameter("weight", Tensor::empty({out, in / opt.groups, k.h, k.w}));
  if (opt.bias)
    bias = register_parameter("bias", Tensor::empty({out}));
  reset_parameters();
}

void Conv2d::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double fan_in = double(in_channels / options.groups * kernel_size.h * kernel_size.w);
    const double bound = 1.0 / std::sqrt(fan_in);
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Conv2d::forward(const Tensor &x) {
  check_input(x);
  return functional::conv2d(x, weight, bias, options.stride, options.padding, options.dilation,
                            options.groups);
}

void Conv2d::check_input(const Tensor &x) const {
  PG_CHECK(x.defined() && (x.dim() == 3 || x.dim() == 4), name(), "(", extra_repr(),
           "): expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got ",
           x.defined() ? "shape " + shape_str(x.shape()) : std::string("an undefined tensor"));
  const int64_t c = x.size(x.dim() - 3);
  PG_CHECK(c == in_channels, name(), "(", extra_repr(), "): expected input with ", in_channels,
           " channels, got input of shape ", shape_str(x.shape()), " (", c,
           " channels); weight has shape ", shape_str(weight.shape()));
}

std::string Conv2d::extra_repr() const {
  std::string s = std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                  ", kernel_size=" + kernel_size.str() + ", stride=" + options.stride.str();
  if (!(options.padding == Size2(0)))
    s += ", padding=" + options.padding.str();
  if (!(options.dilation == Size2(1)))
    s += ", dilation=" + options.dilation.str();
  if (options.groups != 1)
    s += ", groups=" + std::to_string(options.groups);
  if (!bias.defined())
    s += ", bias=false";
  return s;
}

} // namespace polygrad::nn
