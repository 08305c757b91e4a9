#include <polygrad/nn/batchnorm.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/autograd/node.h>
#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>

namespace polygrad::nn {
namespace {

// x viewed as (N, C, L): channel c is N contiguous runs of L values.
struct BNShape {
  int64_t N, C, L;
  int64_t M() const { return N * L; } // values per channel
};

template <class Fn> void for_channels(const BNShape &s, Fn &&fn) {
  kernel::parallel_range(s.C, s.N * s.C * s.L, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      fn(c);
  });
}

// Channel c's sum, float SIMD sums per run added in double.
inline double channel_sum(const BNShape &s, const float *x, int64_t c) {
  double acc = 0;
  for (int64_t n = 0; n < s.N; ++n) {
    const float *p = x + (n * s.C + c) * s.L;
    float r = 0.f;
#pragma omp simd reduction(+ : r)
    for (int64_t l = 0; l < s.L; ++l)
      r += p[l];
    acc += r;
  }
  return acc;
}

// Channel c's sum of squared deviations from `mean` (the second pass of the
// variance; it reads from cache right after channel_sum).
inline double channel_sqdev(const BNShape &s, const float *x, int64_t c, double mean) {
  const float mf = float(mean);
  double acc = 0;
  for (int64_t n = 0; n < s.N; ++n) {
    const float *p = x + (n * s.C + c) * s.L;
    float r = 0.f;
#pragma omp simd reduction(+ : r)
    for (int64_t l = 0; l < s.L; ++l) {
      const float d = p[l] - mf;
      r += d * d;
    }
    acc += r;
  }
  return acc;
}

// y = x * scale + shift on channel c; with Relu, relu of that (0 where
// <= 0, so a NaN passes, as polygrad::relu).
template <bool Relu>
inline void channel_affine(const BNShape &s, const float *x, float *y, int64_t c, float scale,
                           float shift) {
  for (int64_t n = 0; n < s.N; ++n) {
    const float *xr = x + (n * s.C + c) * s.L;
    float *yr = y + (n * s.C + c) * s.L;
#pragma omp simd
    for (int64_t l = 0; l < s.L; ++l) {
      const float z = xr[l] * scale + shift;
      yr[l] = Relu && z <= 0.f ? 0.f : z;
    }
  }
}

// The gradient reaching the normalisation: dy, or with Relu dy where the
// output y is > 0 or NaN (relu's backward) and 0 elsewhere.
template <bool Relu> inline float through_relu(float dy, float y) {
  return Relu && y <= 0.f ? 0.f : dy;
}

const float *opt_data(const Tensor &t) { return t.defined() ? t.data<float>() : nullptr; }

void check_vec(const char *op, const Tensor &t, int64_t C, const char *what, const Tensor &x) {
  PG_CHECK(
      !t.defined() || (t.dtype() == DType::Float32 && t.shape() == Shape{C} && t.is_contiguous()),
      op, ": ", what, " must be a contiguous float32 tensor of shape [", C, "] for input of shape ",
      shape_str(x.shape()), ", got ", t.defined() ? shape_str(t.shape()) : "");
}

} // namespace

namespace {

// batch_norm, and with Relu batch_norm_relu: one node either way.
template <bool Relu>
Tensor batch_norm_impl(const Tensor &x, const Tensor &running_mean, const Tensor &running_var,
                       const Tensor &weight, const Tensor &bias, bool training, double momentum,
                       double eps, const BatchNormReduce &reduce) {
  const char *op = Relu ? "batch_norm_relu" : "batch_norm";
  PG_CHECK(x.defined() && x.dtype() == DType::Float32, op, ": expected a float32 input tensor");
  PG_CHECK(x.dim() >= 2, op, ": expected an input with at least 2 dims (N, C, ...), got ", "shape ",
           shape_str(x.shape()));
  BNShape s{x.size(0), x.size(1), 1};
  for (int64_t d = 2; d < x.dim(); ++d)
    s.L *= x.size(d);
  check_vec(op, running_mean, s.C, "running_mean", x);
  check_vec(op, running_var, s.C, "running_var", x);
  check_vec(op, weight, s.C, "weight", x);
  check_vec(op, bias, s.C, "bias", x);
  PG_CHECK(running_mean.defined() == running_var.defined(), op,
           ": running_mean and running_var must both be given or both be undefined");
  PG_CHECK(training || running_mean.defined(), op,
           ": eval mode (training=false) needs running_mean and running_var");
  PG_CHECK(eps > 0, op, ": eps must be > 0, got ", eps);
  PG_CHECK(!training || reduce || s.M() > 1, op,
           ": expected more than 1 value per channel when training, got input of "
           "shape ",
           shape_str(x.shape()));

  const Tensor xc = kernel::contiguous(x);
  const float *px = xc.data<float>();
  Tensor y = Tensor::empty(x.shape());
  float *py = y.data<float>();
  const float *pw = opt_data(weight), *pb = opt_data(bias);
  // Per-channel mean and invstd as used for normalisation (kept for backward).
  Tensor mean_t = Tensor::empty({s.C}), invstd_t = Tensor::empty({s.C});
  float *pm = mean_t.data<float>(), *pis = invstd_t.data<float>();

  // The number of values per channel the statistics are over: this
  // process's, or with `reduce` every process's together.
  double M = double(s.M());
  if (training) {
    float *rm = running_mean.defined() ? running_mean.data<float>() : nullptr;
    float *rv = running_var.defined() ? running_var.data<float>() : nullptr;
    // Channel c from its mean and biased variance: output, saved statistics,
    // running statistics.
    auto finish = [&](int64_t c, double mu, double var) {
      const double is = 1.0 / std::sqrt(var + eps);
      pm[c] = float(mu);
      pis[c] = float(is);
      const double g = pw ? pw[c] : 1.0, b = pb ? pb[c] : 0.0;
      channel_affine<Relu>(s, px, py, c, float(g * is), float(b - mu * g * is));
      if (rm) {
        rm[c] = float((1.0 - momentum) * rm[c] + momentum * mu);
        rv[c] = float((1.0 - momentum) * rv[c] + momentum * var * (M / (M - 1)));
      }
    };
    if (!reduce) {
      for_channels(s, [&](int64_t c) { // two passes, the second from cache
        const double mu = channel_sum(s, px, c) / M;
        finish(c, mu, channel_sqdev(s, px, c, mu) / M);
      });
    } else {
      // Synchronised: the sums and the count over every process, then the
      // squared deviations from the common mean, then the output.
      std::vector<double> sums(size_t(s.C) + 1), sq(size_t(s.C));
      for_channels(s, [&](int64_t c) { sums[size_t(c)] = channel_sum(s, px, c); });
      sums[size_t(s.C)] = M;
      reduce(sums);
      M = sums[size_t(s.C)];
      PG_CHECK(M > 1, op,
               ": expected more than 1 value per channel over all processes "
               "when training, got ",
               M);
      for_channels(
          s, [&](int64_t c) { sq[size_t(c)] = channel_sqdev(s, px, c, sums[size_t(c)] / M); });
      reduce(sq);
      for_channels(s, [&](int64_t c) { finish(c, sums[size_t(c)] / M, sq[size_t(c)] / M); });
    }
    if (running_mean.defined()) {
      running_mean.bump_version();
      running_var.bump_version();
    }
  } else {
    const float *rm = running_mean.data<float>(), *rv = running_var.data<float>();
    for_channels(s, [&](int64_t c) {
      const double is = 1.0 / std::sqrt(double(rv[c]) + eps);
      pm[c] = rm[c];
      pis[c] = float(is);
      const double g = pw ? pw[c] : 1.0, b = pb ? pb[c] : 0.0;
      channel_affine<Relu>(s, px, py, c, float(g * is), float(b - double(rm[c]) * g * is));
    });
  }

  if (needs_grad({x, weight, bias})) {
    const bool gx = x.requires_grad(), gw = weight.defined() && weight.requires_grad(),
               gb = bias.defined() && bias.requires_grad();
    // With Relu the output too: its sign is relu's mask (saving y costs
    // nothing where the next layer keeps its input anyway).
    record(
        Relu ? "BatchNormReluBackward" : "BatchNormBackward", y, {x, weight, bias},
        [s, training, gx, gw, gb, sx = SavedTensor(xc), sw = SavedTensor(weight),
         sy = Relu ? SavedTensor(y) : SavedTensor(), mean_t, invstd_t, M,
         reduce](const Tensor &gy_in) {
          const Tensor gy = kernel::contiguous(gy_in);
          const float *pg = gy.data<float>(), *px = sx.get().data<float>();
          const float *py = Relu ? sy.get().data<float>() : nullptr;
          const float *pw = opt_data(sw.get());
          const float *pm = mean_t.data<float>(), *pis = invstd_t.data<float>();
          Tensor dx = gx ? Tensor::empty(gy.shape()) : Tensor();
          Tensor dw = gw ? Tensor::empty({s.C}) : Tensor();
          Tensor db = gb ? Tensor::empty({s.C}) : Tensor();
          float *pdx = gx ? dx.data<float>() : nullptr;
          // Pass 1 on channel c: sum dy and sum dy (x - mu) (then * invstd
          // = sum dy xhat); this process's are dgamma and dbeta.
          auto pass1 = [&](int64_t c, double &sdy, double &sdxhat) {
            const float mu = pm[c];
            double sdyx = 0;
            sdy = 0;
            for (int64_t n = 0; n < s.N; ++n) {
              // Row pointers: indexing the captured base pointers made
              // GCC emit gathers for this loop.
              const int64_t o = (n * s.C + c) * s.L;
              const float *gr = pg + o, *xr = px + o, *yr = Relu ? py + o : gr;
              float a = 0.f, b = 0.f;
#pragma omp simd reduction(+ : a, b)
              for (int64_t l = 0; l < s.L; ++l) {
                const float d = through_relu<Relu>(gr[l], yr[l]);
                a += d;
                b += d * (xr[l] - mu);
              }
              sdy += a;
              sdyx += b;
            }
            sdxhat = sdyx * pis[c];
            if (gw)
              dw.data<float>()[c] = float(sdxhat);
            if (gb)
              db.data<float>()[c] = float(sdy);
          };
          // Pass 2: dx = k1 dy + a x + b0 (the formula above, expanded so
          // the inner loop is two FMAs), with the sums over every value
          // the statistics were taken over.
          auto pass2 = [&](int64_t c, double sdy, double sdxhat) {
            const double is = pis[c], g = pw ? pw[c] : 1.0, mu = pm[c];
            const double k1 = g * is;
            double a = 0, b0 = 0;
            if (training) {
              a = -k1 * is * sdxhat / M;
              b0 = -k1 * sdy / M - a * mu;
            }
            const float fk = float(k1), fa = float(a), fb = float(b0);
            for (int64_t n = 0; n < s.N; ++n) {
              const int64_t o = (n * s.C + c) * s.L;
              const float *gr = pg + o, *xr = px + o, *yr = Relu ? py + o : gr;
              float *dr = pdx + o;
#pragma omp simd
              for (int64_t l = 0; l < s.L; ++l)
                dr[l] = fk * through_relu<Relu>(gr[l], yr[l]) + fa * xr[l] + fb;
            }
          };
          if (!reduce || !training) {
            for_channels(s, [&](int64_t c) { // pass 2 reads from cache
              double sdy, sdxhat;
              pass1(c, sdy, sdxhat);
              if (gx)
                pass2(c, sdy, sdxhat);
            });
          } else {
            // Synchronised: dx needs both sums over every process (each
            // process's loss depends on every x through the statistics).
            std::vector<double> sums(2 * size_t(s.C));
            for_channels(s, [&](int64_t c) { pass1(c, sums[size_t(c)], sums[size_t(s.C + c)]); });
            if (gx) {
              reduce(sums);
              for_channels(s, [&](int64_t c) { pass2(c, sums[size_t(c)], sums[size_t(s.C + c)]); });
            }
          }
          return grads{dx, dw, db};
        });
  }
  return y;
}

} // namespace

namespace functional {

Tensor batch_norm(const Tensor &x, const Tensor &running_mean, const Tensor &running_var,
                  const Tensor &weight, const Tensor &bias, bool training, double momentum,
                  double eps, const BatchNormReduce &reduce) {
  return batch_norm_impl<false>(x, running_mean, running_var, weight, bias, training, momentum, eps,
                                reduce);
}

Tensor batch_norm_relu(const Tensor &x, const Tensor &running_mean, const Tensor &running_var,
                       const Tensor &weight, const Tensor &bias, bool training, double momentum,
                       double eps, const BatchNormReduce &reduce) {
  return batch_norm_impl<true>(x, running_mean, running_var, weight, bias, training, momentum, eps,
                               reduce);
}

} // namespace functional

BatchNormBase::BatchNormBase(int64_t nf, BatchNormOptions opt) : num_features(nf), options(opt) {
  PG_CHECK(nf >= 1, "BatchNorm: num_features must be >= 1, got ", nf);
  PG_CHECK(opt.eps > 0, "BatchNorm: eps must be > 0, got ", opt.eps);
  if (opt.affine) {
    weight = register_parameter("weight", Tensor::empty({nf}));
    bias = register_parameter("bias", Tensor::empty({nf}));
  }
  if (opt.track_running_stats) {
    running_mean = register_buffer("running_mean", Tensor::empty({nf}));
    running_var = register_buffer("running_var", Tensor::empty({nf}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, DType::Int64));
  }
  reset_parameters();
}

void BatchNormBase::reset_running_stats() {
  if (!options.track_running_stats)
    return;
  NoGradGuard ng;
  running_mean.fill_(0.f);
  running_var.fill_(1.f);
  num_batches_tracked.data<int64_t>()[0] = 0;
  num_batches_tracked.bump_version();
}

void BatchNormBase::reset_parameters() {
  reset_running_stats();
  if (options.affine) {
    NoGradGuard ng;
    weight.fill_(1.f);
    bias.fill_(0.f);
  }
}

Tensor BatchNormBase::forward(const Tensor &x) { return run(x, false); }

Tensor BatchNormBase::forward_relu(const Tensor &x) { return run(x, true); }

Tensor BatchNormBase::run(const Tensor &x, bool relu) {
  PG_CHECK(x.defined(), name(), ": input is undefined");
  check_input_dim(x);
  PG_CHECK(x.size(1) == num_features, name(), "(", extra_repr(), "): expected input with ",
           num_features, " channels (dim 1), got input of shape ", shape_str(x.shape()));
  if (is_training() && !stats_reduce()) { // checked before num_batches_tracked moves
    int64_t per_channel = x.size(0);
    for (int64_t d = 2; d < x.dim(); ++d)
      per_channel *= x.size(d);
    PG_CHECK(per_channel > 1, name(), "(", extra_repr(),
             "): expected more than 1 value per channel when training, got input of shape ",
             shape_str(x.shape()));
  }
  // PyTorch's _BatchNorm.forward: the update factor, and batch statistics
  // also in eval mode when no running statistics are tracked.
  double factor = options.momentum.value_or(0.0);
  if (is_training() && options.track_running_stats) {
    int64_t &nbt = num_batches_tracked.data<int64_t>()[0];
    ++nbt;
    num_batches_tracked.bump_version();
    if (!options.momentum)
      factor = 1.0 / double(nbt);
  }
  const bool use_batch_stats = is_training() || !options.track_running_stats;
  const bool update = is_training() && options.track_running_stats;
  return (relu ? functional::batch_norm_relu : functional::batch_norm)(
      x, update || !use_batch_stats ? running_mean : Tensor(),
      update || !use_batch_stats ? running_var : Tensor(), weight, bias, use_batch_stats, factor,
      options.eps, use_batch_stats ? stats_reduce() : BatchNormReduce());
}

std::string BatchNormBase::extra_repr() const {
  char eps[32], mom[32];
  std::snprintf(eps, sizeof eps, "%g", options.eps);
  if (options.momentum)
    std::snprintf(mom, sizeof mom, "%g", *options.momentum);
  else
    std::snprintf(mom, sizeof mom, "None");
  return std::to_string(num_features) + ", eps=" + eps + ", momentum=" + mom +
         ", affine=" + (options.affine ? "true" : "false") +
         ", track_running_stats=" + (options.track_running_stats ? "true" : "false");
}

void BatchNorm1d::check_input_dim(const Tensor &x) const {
  PG_CHECK(x.dim() == 2 || x.dim() == 3, name(), "(", extra_repr(),
           "): expected a 2-D (N, C) or 3-D (N, C, L) input, got shape ", shape_str(x.shape()));
}

void BatchNorm2d::check_input_dim(const Tensor &x) const {
  PG_CHECK(x.dim() == 4, name(), "(", extra_repr(),
           "): expected a 4-D (N, C, H, W) input, got shape ", shape_str(x.shape()));
}

} // namespace polygrad::nn
