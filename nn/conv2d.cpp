#include <polygrad/nn/conv2d.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <omp.h>

#include <polygrad/autograd/node.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/parallel.h>
#include <polygrad/nn/init.h>

namespace polygrad::nn {
namespace {

struct Geom {
  int64_t N, C, H, W; // input
  int64_t O, kh, kw;  // output channels, kernel
  int64_t sh, sw, ph, pw, dh, dw, G;
  int64_t OH, OW;
  int64_t Cg() const { return C / G; }          // input channels per group
  int64_t Og() const { return O / G; }          // output channels per group
  int64_t Kg() const { return Cg() * kh * kw; } // GEMM K per group
  int64_t L() const { return OH * OW; }         // output pixels per image
  int64_t K() const { return C * kh * kw; }     // rows of col
  // 1x1, stride 1, no padding: col = x_n, no im2col needed.
  bool direct() const { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
};

// Valid output columns [lo, hi) for kernel column kj: 0 <= ow sw + off < W.
inline void col_range(const Geom &g, int64_t off, int64_t &lo, int64_t &hi) {
  lo = off >= 0 ? 0 : (-off + g.sw - 1) / g.sw;
  hi = (g.W - 1 - off) >= 0 ? (g.W - 1 - off) / g.sw + 1 : 0;
  lo = std::min(lo, g.OW);
  hi = std::max(lo, std::min(hi, g.OW));
}

// col[(c kh + p) kw + q, i OW + j] = x[c, i sh - ph + p dh, j sw - pw + q dw]
// (0 outside the image). Row-contiguous copies for stride 1.
void im2col(const Geom &g, const float *x, float *col) {
  const int64_t L = g.L();
  for (int64_t c = 0; c < g.C; ++c) {
    const float *xc = x + c * g.H * g.W;
    for (int64_t p = 0; p < g.kh; ++p)
      for (int64_t q = 0; q < g.kw; ++q) {
        float *row = col + ((c * g.kh + p) * g.kw + q) * L;
        const int64_t off = q * g.dw - g.pw;
        int64_t lo, hi;
        col_range(g, off, lo, hi);
        for (int64_t i = 0; i < g.OH; ++i) {
          float *dst = row + i * g.OW;
          const int64_t ih = i * g.sh - g.ph + p * g.dh;
          if (ih < 0 || ih >= g.H) {
            std::memset(dst, 0, sizeof(float) * g.OW);
            continue;
          }
          const float *src = xc + ih * g.W;
          for (int64_t j = 0; j < lo; ++j)
            dst[j] = 0.f;
          if (g.sw == 1)
            std::memcpy(dst + lo, src + lo + off, sizeof(float) * (hi - lo));
          else
            for (int64_t j = lo; j < hi; ++j)
              dst[j] = src[j * g.sw + off];
          for (int64_t j = hi; j < g.OW; ++j)
            dst[j] = 0.f;
        }
      }
  }
}

// The adjoint of im2col: dx[c, ih, iw] = sum of the col entries that were
// copied from (c, ih, iw). dx is overwritten.
void col2im(const Geom &g, const float *col, float *dx) {
  const int64_t L = g.L();
  std::memset(dx, 0, sizeof(float) * g.C * g.H * g.W);
  for (int64_t c = 0; c < g.C; ++c) {
    float *xc = dx + c * g.H * g.W;
    for (int64_t p = 0; p < g.kh; ++p)
      for (int64_t q = 0; q < g.kw; ++q) {
        const float *row = col + ((c * g.kh + p) * g.kw + q) * L;
        const int64_t off = q * g.dw - g.pw;
        int64_t lo, hi;
        col_range(g, off, lo, hi);
        for (int64_t i = 0; i < g.OH; ++i) {
          const int64_t ih = i * g.sh - g.ph + p * g.dh;
          if (ih < 0 || ih >= g.H)
            continue;
          const float *src = row + i * g.OW;
          float *dst = xc + ih * g.W + off;
          if (g.sw == 1) {
#pragma omp simd
            for (int64_t j = lo; j < hi; ++j)
              dst[j] += src[j];
          } else {
            for (int64_t j = lo; j < hi; ++j)
              dst[j * g.sw] += src[j];
          }
        }
      }
  }
}

// Image-parallel driver: fn(worker, n0, n1) over a static split of the batch
// when every thread gets at least one image and the work pays for the fork;
// otherwise one worker runs the whole batch (and kernel::gemm splits each
// GEMM across the threads itself). Returns the number of workers used.
int workers_for(const Geom &g) {
  const int nt = get_num_threads();
  const double macs = double(g.N) * g.O * g.L() * g.Kg();
  if (nt <= 1 || omp_in_parallel() || g.N < nt || macs < 2e5)
    return 1;
  return nt;
}

template <class Fn> void run_workers(int nw, int64_t N, Fn &&fn) {
  if (nw == 1) {
    fn(0, int64_t(0), N);
    return;
  }
#pragma omp parallel num_threads(nw)
  {
    const int t = omp_get_thread_num();
    fn(t, N * t / nw, N * (t + 1) / nw);
  }
}

Tensor conv_forward(const Geom &g, const Tensor &x, const Tensor &w, const Tensor &b) {
  Tensor y = Tensor::empty({g.N, g.O, g.OH, g.OW});
  const int64_t L = g.L(), Og = g.Og(), Kg = g.Kg();
  const int nw = workers_for(g);
  const bool direct = g.direct();
  Tensor colbuf = direct ? Tensor() : Tensor::empty({nw, g.K() * L});
  const float *px = x.data<float>(), *pw = w.data<float>();
  const float *pb = b.defined() ? b.data<float>() : nullptr;
  float *py = y.data<float>();
  run_workers(nw, g.N, [&](int t, int64_t n0, int64_t n1) {
    float *col = direct ? nullptr : colbuf.data<float>() + t * g.K() * L;
    for (int64_t n = n0; n < n1; ++n) {
      const float *xn = px + n * g.C * g.H * g.W;
      const float *cn = xn;
      if (!direct) {
        im2col(g, xn, col);
        cn = col;
      }
      float *yn = py + n * g.O * L;
      // y_n,g = W_g col_g: (Og x Kg)(Kg x L)
      for (int64_t grp = 0; grp < g.G; ++grp)
        kernel::gemm(false, false, Og, L, Kg, 1.f, pw + grp * Og * Kg, Kg, cn + grp * Kg * L, L,
                     0.f, yn + grp * Og * L, L);
      if (pb)
        for (int64_t o = 0; o < g.O; ++o) {
          float *r = yn + o * L;
          const float bo = pb[o];
#pragma omp simd
          for (int64_t j = 0; j < L; ++j)
            r[j] += bo;
        }
    }
  });
  return y;
}

struct ConvGrads {
  Tensor dx, dw, db;
};

ConvGrads conv_backward(const Geom &g, const Tensor &gy, const Tensor &x, const Tensor &w, bool gx,
                        bool gw, bool gb) {
  ConvGrads r;
  const int64_t L = g.L(), Og = g.Og(), Kg = g.Kg(), wsize = g.O * Kg;
  const int nw = workers_for(g);
  const bool direct = g.direct();
  // Per worker: a col buffer (im2col of x_n, for dW), a dcol buffer (for dx),
  // and partial dW / db sums, reduced in worker order (deterministic).
  Tensor colbuf = (gw && !direct) ? Tensor::empty({nw, g.K() * L}) : Tensor();
  Tensor dcolbuf = (gx && !direct) ? Tensor::empty({nw, g.K() * L}) : Tensor();
  if (gx)
    r.dx = Tensor::empty({g.N, g.C, g.H, g.W});
  if (gw)
    r.dw = Tensor::empty({g.O, g.Cg(), g.kh, g.kw});
  if (gb)
    r.db = Tensor::empty({g.O});
  Tensor dw_part = (gw && nw > 1) ? Tensor::empty({nw, wsize}) : Tensor();
  Tensor db_part = gb ? Tensor::empty({nw, g.O}) : Tensor();
  const float *pg = gy.data<float>();
  const float *px = gw ? x.data<float>() : nullptr;
  const float *pw = gx ? w.data<float>() : nullptr;
  run_workers(nw, g.N, [&](int t, int64_t n0, int64_t n1) {
    float *col = colbuf.defined() ? colbuf.data<float>() + t * g.K() * L : nullptr;
    float *dcol = dcolbuf.defined() ? dcolbuf.data<float>() + t * g.K() * L : nullptr;
    float *dwt = !gw ? nullptr : nw > 1 ? dw_part.data<float>() + t * wsize : r.dw.data<float>();
    float *dbt = gb ? db_part.data<float>() + t * g.O : nullptr;
    if (gb)
      std::fill_n(dbt, g.O, 0.f);
    for (int64_t n = n0; n < n1; ++n) {
      const float *gn = pg + n * g.O * L;
      if (gw) {
        const float *xn = px + n * g.C * g.H * g.W;
        const float *cn = xn;
        if (!direct) {
          im2col(g, xn, col);
          cn = col;
        }
        // dW_g += dy_n,g col_g^T: (Og x L)(L x Kg)
        const float beta = n == n0 ? 0.f : 1.f;
        for (int64_t grp = 0; grp < g.G; ++grp)
          kernel::gemm(false, true, Og, Kg, L, 1.f, gn + grp * Og * L, L, cn + grp * Kg * L, L,
                       beta, dwt + grp * Og * Kg, Kg);
      }
      if (gx) {
        float *dxn = r.dx.data<float>() + n * g.C * g.H * g.W;
        float *target = direct ? dxn : dcol;
        // dcol_g = W_g^T dy_n,g: (Kg x Og)(Og x L)
        for (int64_t grp = 0; grp < g.G; ++grp)
          kernel::gemm(true, false, Kg, L, Og, 1.f, pw + grp * Og * Kg, Kg, gn + grp * Og * L, L,
                       0.f, target + grp * Kg * L, L);
        if (!direct)
          col2im(g, dcol, dxn);
      }
      if (gb)
        for (int64_t o = 0; o < g.O; ++o) {
          const float *row = gn + o * L;
          float s = 0.f;
#pragma omp simd reduction(+ : s)
          for (int64_t j = 0; j < L; ++j)
            s += row[j];
          dbt[o] += s;
        }
    }
    if (gw && n1 == n0 && nw == 1)
      std::fill_n(dwt, wsize, 0.f); // empty batch: dW = 0
  });
  if (gw && nw > 1) {
    const float *pp = dw_part.data<float>();
    float *pd = r.dw.data<float>();
    for (int64_t i = 0; i < wsize; ++i) {
      float s = pp[i];
      for (int t = 1; t < nw; ++t)
        s += pp[t * wsize + i];
      pd[i] = s;
    }
  }
  if (gb) {
    const float *pp = db_part.data<float>();
    float *pd = r.db.data<float>();
    for (int64_t o = 0; o < g.O; ++o) {
      float s = pp[o];
      for (int t = 1; t < nw; ++t)
        s += pp[t * g.O + o];
      pd[o] = s;
    }
  }
  return r;
}

} // namespace

namespace functional {

Tensor conv2d(const Tensor &x, const Tensor &w, const Tensor &b, Size2 stride, Size2 padding,
              Size2 dilation, int64_t groups) {
  PG_CHECK(x.defined() && w.defined(), "conv2d: input and weight must be defined");
  PG_CHECK(x.dtype() == DType::Float32 && w.dtype() == DType::Float32,
           "conv2d: expected float32 input and weight, got ", dtype_name(x.dtype()), " and ",
           dtype_name(w.dtype()));
  PG_CHECK(x.dim() == 3 || x.dim() == 4,
           "conv2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape ",
           shape_str(x.shape()));
  if (x.dim() == 3) // unbatched: run as a batch of one
    return conv2d(x.unsqueeze(0), w, b, stride, padding, dilation, groups).squeeze(0);
  PG_CHECK(w.dim() == 4, "conv2d: weight must be 4-D (C_out, C_in / groups, kh, kw), got shape ",
           shape_str(w.shape()));
  PG_CHECK(groups >= 1, "conv2d: groups must be >= 1, got ", groups);
  PG_CHECK(stride.h >= 1 && stride.w >= 1, "conv2d: stride must be >= 1, got ", stride.str());
  PG_CHECK(dilation.h >= 1 && dilation.w >= 1, "conv2d: dilation must be >= 1, got ",
           dilation.str());
  PG_CHECK(padding.h >= 0 && padding.w >= 0, "conv2d: padding must be >= 0, got ", padding.str());
  Geom g{};
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

  const Tensor xc = kernel::contiguous(x), wc = kernel::contiguous(w);
  const Tensor bc = b.defined() ? kernel::contiguous(b) : Tensor();
  Tensor y = conv_forward(g, xc, wc, bc);
  if (needs_grad({x, w, b})) {
    const bool gx = x.requires_grad(), gw = w.requires_grad(),
               gb = b.defined() && b.requires_grad();
    record("Conv2dBackward", y, {x, w, b},
           [g, gx, gw, gb, sx = SavedTensor(gw ? xc : Tensor()),
            sw = SavedTensor(gx ? wc : Tensor())](const Tensor &gy) {
             ConvGrads r = conv_backward(g, kernel::contiguous(gy), sx.get(), sw.get(), gx, gw, gb);
             return grads{r.dx, r.dw, r.db};
           });
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
  PG_CHECK(x.defined() && (x.dim() == 3 || x.dim() == 4), name(), "(", extra_repr(),
           "): expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got ",
           x.defined() ? "shape " + shape_str(x.shape()) : std::string("an undefined tensor"));
  const int64_t c = x.size(x.dim() - 3);
  PG_CHECK(c == in_channels, name(), "(", extra_repr(), "): expected input with ", in_channels,
           " channels, got input of shape ", shape_str(x.shape()), " (", c,
           " channels); weight has shape ", shape_str(weight.shape()));
  return functional::conv2d(x, weight, bias, options.stride, options.padding, options.dilation,
                            options.groups);
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
