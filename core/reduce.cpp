// Reductions and the softmax family. Every reduction is brought to the form
// (outer, R, inner): the reduced dims, when they are adjacent in a contiguous
// tensor, need no copy; otherwise they are permuted to the end first.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/vec_math.h>

namespace polygrad::kernel {
namespace {

struct ORI {
  Tensor x; // contiguous
  int64_t outer = 1, R = 1, inner = 1;
  Shape kept;          // output shape with keepdim=false
  Shape keepdim_shape; // output shape with keepdim=true
};

ORI to_ori(const Tensor &a, const Shape &dims) {
  const int64_t nd = a.dim();
  ORI r;
  std::vector<bool> red(nd, false);
  for (int64_t d : dims)
    red[d] = true;
  for (int64_t d = 0; d < nd; ++d) {
    if (!red[d])
      r.kept.push_back(a.shape()[d]);
    r.keepdim_shape.push_back(red[d] ? 1 : a.shape()[d]);
  }
  const bool adjacent = dims.empty() || dims.back() - dims.front() + 1 == (int64_t)dims.size();
  if (adjacent) {
    r.x = contiguous(a);
    for (int64_t d = 0; d < nd; ++d) {
      if (dims.empty() || d < dims.front())
        r.outer *= a.shape()[d];
      else if (d <= dims.back())
        r.R *= a.shape()[d];
      else
        r.inner *= a.shape()[d];
    }
    return r;
  }
  Shape perm;
  for (int64_t d = 0; d < nd; ++d)
    if (!red[d])
      perm.push_back(d);
  for (int64_t d : dims)
    perm.push_back(d);
  Shape shp(nd), st(nd);
  for (int64_t i = 0; i < nd; ++i) {
    shp[i] = a.shape()[perm[i]];
    st[i] = a.strides()[perm[i]];
  }
  r.x = contiguous(as_strided(a, shp, st, a.offset()));
  r.outer = shape_numel(r.kept);
  for (int64_t d : dims)
    r.R *= a.shape()[d];
  return r;
}

Tensor with_shape(const Tensor &t, const Shape &s) {
  return as_strided(t, s, contiguous_strides(s), t.offset());
}

// Runs fn(o0, o1, i0, i1) over blocks of (outer, inner), in parallel over
// whichever of the two has room for the threads.
template <class Fn> void parallel_oi(const ORI &r, Fn &&fn) {
  const int64_t work = r.outer * r.R * r.inner;
  if (r.outer >= get_num_threads() || r.inner == 1)
    parallel_range(r.outer, work, [&](int64_t a, int64_t b) { fn(a, b, int64_t(0), r.inner); });
  else
    parallel_range(r.inner, work, [&](int64_t a, int64_t b) { fn(int64_t(0), r.outer, a, b); });
}

// Reduce with a binary combiner over (outer, R, inner): out[o, i].
template <class Init, class Step> void reduce_ori(const ORI &r, float *out, Init init, Step step) {
  const float *x = r.x.data<float>();
  if (r.outer == 1 && r.inner == 1) {
    out[0] = init();
    const int64_t n = r.R;
    // One partial per thread, combined in thread order: deterministic for a
    // given thread count.
    const int nt = n >= kParallelGrain ? get_num_threads() : 1;
    std::vector<float> part(nt, init());
    parallel_range(nt, n, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        float acc = init();
        for (int64_t j = n * t / nt; j < n * (t + 1) / nt; ++j)
          acc = step(acc, x[j]);
        part[t] = acc;
      }
    });
    for (float p : part)
      out[0] = step(out[0], p);
    return;
  }
  // Rows [j0, j1) of every outer block folded into acc (outer x inner).
  auto fold = [&](float *acc, int64_t o0, int64_t o1, int64_t i0, int64_t i1, int64_t j0,
                  int64_t j1) {
    for (int64_t o = o0; o < o1; ++o) {
      float *__restrict po = acc + o * r.inner;
      for (int64_t i = i0; i < i1; ++i)
        po[i] = init();
      for (int64_t j = j0; j < j1; ++j) {
        const float *__restrict px = x + (o * r.R + j) * r.inner;
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i)
          po[i] = step(po[i], px[i]);
      }
    }
  };
  const int nt = get_num_threads();
  const int64_t work = r.outer * r.R * r.inner;
  if (r.outer < nt && r.inner > 1 && r.R >= 2 * nt && !omp_in_parallel()) {
    // Below ~4 grains the fork, the partials and their combine cost more
    // than the second core saves (core_bench, 512x512 column sum: 0.85x of
    // serial); splitting the columns instead is worse still (0.4x).
    if (work < kColumnSumGrain) {
      fold(out, 0, r.outer, 0, r.inner, 0, r.R);
      return;
    }
    // Few outer blocks (e.g. a column sum over dim 0): split the reduced rows
    // instead of the columns, so each thread streams through contiguous
    // memory (splitting columns made 2 threads 2x SLOWER than one on a
    // 4096x1000 column sum); partials are combined in thread order, so the
    // result is deterministic for a given thread count.
    // Each thread's partial starts on its own cache line (64-byte aligned
    // storage, rows padded to 16 floats): when two partials shared a line,
    // every row's update bounced it between the cores and 2 threads ran at
    // the speed of one (4096x1000: 310 us, against 175 us padded).
    const int64_t m = r.outer * r.inner, ms = (m + 15) / 16 * 16;
    Tensor part_t = Tensor::empty({nt * ms});
    float *part = part_t.data<float>();
    parallel_range(nt, work, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t)
        fold(part + t * ms, 0, r.outer, 0, r.inner, r.R * t / nt, r.R * (t + 1) / nt);
    });
    std::copy(part, part + m, out);
    for (int t = 1; t < nt; ++t)
      for (int64_t k = 0; k < m; ++k)
        out[k] = step(out[k], part[t * ms + k]);
    return;
  }
  parallel_oi(r, [&](int64_t o0, int64_t o1, int64_t i0, int64_t i1) {
    fold(out, o0, o1, i0, i1, 0, r.R);
  });
}

// The sum of an int64 tensor is int64, as in PyTorch, and wraps on overflow
// as torch's does (accumulated unsigned: signed overflow is undefined in C++).
Tensor sum_int64(const ORI &r) {
  Tensor out = Tensor::empty({r.outer * r.inner}, DType::Int64);
  const int64_t *x = r.x.data<int64_t>();
  int64_t *po = out.data<int64_t>();
  parallel_oi(r, [&](int64_t o0, int64_t o1, int64_t i0, int64_t i1) {
    for (int64_t o = o0; o < o1; ++o)
      for (int64_t i = i0; i < i1; ++i) {
        uint64_t acc = 0;
        for (int64_t j = 0; j < r.R; ++j)
          acc += (uint64_t)x[(o * r.R + j) * r.inner + i];
        po[o * r.inner + i] = (int64_t)acc;
      }
  });
  return out;
}

} // namespace

Shape normalize_dims(const Shape &dims, int64_t ndim, const char *op) {
  Shape d;
  for (int64_t x : dims)
    d.push_back(wrap_dim(x, ndim, op));
  std::sort(d.begin(), d.end());
  PG_CHECK(std::adjacent_find(d.begin(), d.end()) == d.end(), op, ": dim listed twice in ",
           shape_str(dims));
  if (ndim == 0)
    d.clear();
  return d;
}

Tensor sum(const Tensor &a, const Shape &dims_in, bool keepdim) {
  Shape dims = normalize_dims(dims_in, a.dim(), "sum");
  if (dims.empty()) {
    dims.resize(a.dim());
    std::iota(dims.begin(), dims.end(), 0);
  }
  ORI r = to_ori(a, dims);
  if (a.dtype() == DType::Int64)
    return with_shape(sum_int64(r), keepdim ? r.keepdim_shape : r.kept);
  check_float(a, "sum");
  Tensor out = Tensor::empty({r.outer * r.inner});
  float *po = out.data<float>();
  if (r.inner == 1 && r.outer == 1) {
    // A full reduction: per-thread partials in double (a float running sum
    // of 10^5 terms drifts by ~1e-4 relative), combined in thread order.
    const float *x = r.x.data<float>();
    const int64_t n = r.R;
    const int nt = n >= kParallelGrain ? get_num_threads() : 1;
    std::vector<double> part(nt, 0.0);
    parallel_range(nt, n, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        double acc = 0;
        for (int64_t j = n * t / nt; j < n * (t + 1) / nt; ++j)
          acc += x[j];
        part[t] = acc;
      }
    });
    double total = 0;
    for (double p : part)
      total += p;
    po[0] = (float)total;
  } else if (r.inner == 1 && r.outer > 1) {
    // Row sums: a vectorised horizontal add per row.
    const float *x = r.x.data<float>();
    parallel_range(r.outer, r.outer * r.R, [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        const float *px = x + o * r.R;
        float acc = 0.f;
#pragma omp simd reduction(+ : acc)
        for (int64_t j = 0; j < r.R; ++j)
          acc += px[j];
        po[o] = acc;
      }
    });
  } else {
    reduce_ori(
        r, po, [] { return 0.f; }, [](float acc, float v) { return acc + v; });
  }
  return with_shape(out, keepdim ? r.keepdim_shape : r.kept);
}

Tensor sum_to(const Tensor &g, const Shape &shape) {
  if (g.shape() == shape)
    return g;
  const int64_t lead = g.dim() - (int64_t)shape.size();
  PG_CHECK(lead >= 0, "sum_to: gradient of shape ", shape_str(g.shape()), " cannot be reduced to ",
           shape_str(shape));
  Shape dims;
  for (int64_t d = 0; d < g.dim(); ++d) {
    PG_CHECK(d < lead || shape[d - lead] == 1 || shape[d - lead] == g.shape()[d],
             "sum_to: gradient of shape ", shape_str(g.shape()), " cannot be reduced to ",
             shape_str(shape));
    if (d < lead || (shape[d - lead] == 1 && g.shape()[d] != 1))
      dims.push_back(d);
  }
  if (dims.empty())
    return with_shape(contiguous(g), shape);
  Tensor s = kernel::sum(g, dims, true);
  return with_shape(s, shape);
}

namespace {
Tensor extreme_dim(const Tensor &a, int64_t dim_in, bool keepdim, Tensor *indices, bool is_max,
                   const char *op) {
  check_float(a, op);
  const int64_t dim = wrap_dim(dim_in, a.dim(), op);
  PG_CHECK(a.dim() == 0 || a.shape()[dim] > 0, op, ": cannot reduce an empty dim ", dim,
           " of shape ", shape_str(a.shape()));
  ORI r = to_ori(a, a.dim() ? Shape{dim} : Shape{});
  Tensor out = Tensor::empty({r.outer * r.inner});
  Tensor idx = Tensor::empty({r.outer * r.inner}, DType::Int64);
  float *po = out.data<float>();
  int64_t *pi = idx.data<int64_t>();
  const float *x = r.x.data<float>();
  parallel_oi(r, [&](int64_t o0, int64_t o1, int64_t i0, int64_t i1) {
    for (int64_t o = o0; o < o1; ++o)
      for (int64_t i = i0; i < i1; ++i) {
        const float *px = x + o * r.R * r.inner + i;
        float best = px[0];
        int64_t bi = 0;
        for (int64_t j = 1; j < r.R && !std::isnan(best); ++j) {
          const float v = px[j * r.inner];
          // NaN wins, as in PyTorch; ties keep the first index.
          if (is_max ? (v > best || std::isnan(v)) : (v < best || std::isnan(v))) {
            best = v;
            bi = j;
          }
        }
        po[o * r.inner + i] = best;
        pi[o * r.inner + i] = bi;
      }
  });
  const Shape &s = keepdim ? r.keepdim_shape : r.kept;
  if (indices)
    *indices = with_shape(idx, s);
  return with_shape(out, s);
}
} // namespace

Tensor max_dim(const Tensor &a, int64_t dim, bool keepdim, Tensor *indices) {
  return extreme_dim(a, dim, keepdim, indices, true, "max");
}
Tensor min_dim(const Tensor &a, int64_t dim, bool keepdim, Tensor *indices) {
  return extreme_dim(a, dim, keepdim, indices, false, "min");
}

Tensor logsumexp(const Tensor &a, int64_t dim_in, bool keepdim) {
  check_float(a, "logsumexp");
  const int64_t dim = wrap_dim(dim_in, a.dim(), "logsumexp");
  ORI r = to_ori(a, a.dim() ? Shape{dim} : Shape{});
  Tensor out = Tensor::empty({r.outer * r.inner});
  float *po = out.data<float>();
  const float *x = r.x.data<float>();
  parallel_oi(r, [&](int64_t o0, int64_t o1, int64_t i0, int64_t i1) {
    for (int64_t o = o0; o < o1; ++o)
      for (int64_t i = i0; i < i1; ++i) {
        const float *px = x + o * r.R * r.inner + i;
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j < r.R; ++j)
          m = std::max(m, px[j * r.inner]);
        // An infinite max (all -inf, or a +inf) would give inf - inf = NaN.
        const float shift = std::isinf(m) ? 0.f : m;
        double s = 0;
        for (int64_t j = 0; j < r.R; ++j)
          s += vm::vexp(px[j * r.inner] - shift);
        po[o * r.inner + i] = float(std::log(s)) + shift;
      }
  });
  return with_shape(out, keepdim ? r.keepdim_shape : r.kept);
}

// ----- softmax family -----
namespace {
// fn(x_row_ptr, y_row_ptr, stride, R) for each (outer, inner) lane of dim.
template <class Fn> Tensor over_lanes(const Tensor &a, int64_t dim_in, const char *op, Fn fn) {
  check_float(a, op);
  if (a.dim() == 0) {
    Tensor x = as_strided(a, {1}, {1}, a.offset());
    return with_shape(over_lanes(x, 0, op, fn), {});
  }
  const int64_t dim = wrap_dim(dim_in, a.dim(), op);
  ORI r = to_ori(a, {dim});
  Tensor out = Tensor::empty(a.shape());
  const float *x = r.x.data<float>();
  float *y = out.data<float>();
  parallel_oi(r, [&](int64_t o0, int64_t o1, int64_t i0, int64_t i1) {
    for (int64_t o = o0; o < o1; ++o)
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t base = o * r.R * r.inner + i;
        fn(x + base, y + base, r.inner, r.R);
      }
  });
  return out;
}
} // namespace

// Row kernels of softmax / log_softmax over a lane of R values at stride s:
//   softmax_j = e^(x_j - m) / sum_k e^(x_k - m),  m = max_k x_k
//   log_softmax_j = x_j - (m + log sum_k e^(x_k - m))
// Unit = (s == 1), the last dim: with the stride a compile-time 1 the loops
// (vexp included) vectorise.
namespace {
template <bool Log, bool Unit>
void softmax_lane_impl(const float *x, float *y, int64_t stride, int64_t R) {
  const int64_t s = Unit ? 1 : stride;
  float m = -std::numeric_limits<float>::infinity(), z = 0.f;
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < R; ++j)
    m = x[j * s] > m ? x[j * s] : m;
  if (std::isinf(m) && m < 0)
    m = 0.f;
  if constexpr (Log) {
#pragma omp simd reduction(+ : z)
    for (int64_t j = 0; j < R; ++j)
      z += vm::vexp(x[j * s] - m);
    const float lz = m + vm::vlog(z);
    for (int64_t j = 0; j < R; ++j)
      y[j * s] = x[j * s] - lz;
  } else {
#pragma omp simd reduction(+ : z)
    for (int64_t j = 0; j < R; ++j) {
      y[j * s] = vm::vexp(x[j * s] - m);
      z += y[j * s];
    }
    const float inv = 1.f / z;
    for (int64_t j = 0; j < R; ++j)
      y[j * s] *= inv;
  }
}
template <bool Log> void softmax_lane(const float *x, float *y, int64_t s, int64_t R) {
  s == 1 ? softmax_lane_impl<Log, true>(x, y, s, R) : softmax_lane_impl<Log, false>(x, y, s, R);
}
} // namespace

Tensor softmax(const Tensor &a, int64_t dim) {
  return over_lanes(a, dim, "softmax", softmax_lane<false>);
}

Tensor log_softmax(const Tensor &a, int64_t dim) {
  return over_lanes(a, dim, "log_softmax", softmax_lane<true>);
}

namespace {
// Lane-wise combine of two same-shape tensors (y, g) -> dx along dim.
template <class Fn>
Tensor backward_lanes(const Tensor &y_in, const Tensor &g_in, int64_t dim_in, const char *op,
                      Fn fn) {
  const Tensor y = contiguous(y_in), g = contiguous(g_in);
  PG_CHECK(y.shape() == g.shape(), op, ": gradient shape ", shape_str(g.shape()),
           " does not match output shape ", shape_str(y.shape()));
  const int64_t nd = std::max<int64_t>(y.dim(), 1);
  const int64_t dim = wrap_dim(dim_in, nd, op);
  int64_t outer = 1, R = 1, inner = 1;
  for (int64_t d = 0; d < y.dim(); ++d)
    (d < dim ? outer : d == dim ? R : inner) *= y.shape()[d];
  Tensor dx = Tensor::empty(y.shape());
  const float *py = y.data<float>(), *pg = g.data<float>();
  float *pd = dx.data<float>();
  parallel_range(outer * inner, y.numel(), [&](int64_t l0, int64_t l1) {
    for (int64_t l = l0; l < l1; ++l) {
      const int64_t o = l / inner, i = l % inner;
      const int64_t base = o * R * inner + i;
      fn(py + base, pg + base, pd + base, inner, R);
    }
  });
  return dx;
}
} // namespace

Tensor softmax_backward(const Tensor &y, const Tensor &g, int64_t dim) {
  return backward_lanes(y, g, dim, "softmax_backward",
                        [](const float *y, const float *g, float *d, int64_t s, int64_t R) {
                          float dot = 0.f;
                          for (int64_t j = 0; j < R; ++j)
                            dot += g[j * s] * y[j * s];
                          for (int64_t j = 0; j < R; ++j)
                            d[j * s] = y[j * s] * (g[j * s] - dot);
                        });
}

Tensor log_softmax_backward(const Tensor &y, const Tensor &g, int64_t dim) {
  return backward_lanes(y, g, dim, "log_softmax_backward",
                        [](const float *y, const float *g, float *d, int64_t s, int64_t R) {
                          float gs = 0.f;
                          for (int64_t j = 0; j < R; ++j)
                            gs += g[j * s];
                          for (int64_t j = 0; j < R; ++j)
                            d[j * s] = g[j * s] - vm::vexp(y[j * s]) * gs;
                        });
}

} // namespace polygrad::kernel
