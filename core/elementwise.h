// Element-wise kernel templates: NumPy broadcasting over strided operands,
// a contiguous fast path, OpenMP above kParallelGrain elements. The functor
// is a template parameter, so the inner loop is inlined and vectorised: no
// per-element virtual call or allocation.
#pragma once

#include <array>
#include <omp.h>

#include <polygrad/core/parallel.h>
#include <polygrad/core/tensor.h>

namespace polygrad::kernel {

// Strides of `t` seen through the broadcast shape `out` (0 where broadcast).
inline Shape broadcast_strides(const Tensor &t, const Shape &out) {
  Shape st(out.size(), 0);
  const size_t off = out.size() - t.shape().size();
  for (size_t i = 0; i < t.shape().size(); ++i)
    st[i + off] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return st;
}

// Splits [0, n) into contiguous ranges, one per thread when n * work is
// large enough to pay for the fork; fn(begin, end).
template <class Fn> void parallel_range(int64_t n, int64_t work, Fn &&fn) {
  const int nt = get_num_threads();
  if (nt <= 1 || work < kParallelGrain || n < 2 || omp_in_parallel()) {
    fn(int64_t(0), n);
    return;
  }
  const int chunks = (int)std::min<int64_t>(nt, n);
  polygrad::detail::count_parallel_region();
#pragma omp parallel for num_threads(chunks) schedule(static)
  for (int c = 0; c < chunks; ++c)
    fn(n * c / chunks, n * (c + 1) / chunks);
}

// Sum of x[0 .. len): one float SIMD reduction (the order is fixed for a
// given build, so results are deterministic).
inline float row_sum(const float *x, int64_t len) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < len; ++j)
    s += x[j];
  return s;
}

// acc[r] += row_sum(x + r len, len) for r < rows: a bias gradient's
// per-channel sums over one image's planes.
inline void add_row_sums(const float *x, int64_t rows, int64_t len, float *acc) {
  for (int64_t r = 0; r < rows; ++r)
    acc[r] += row_sum(x + r * len, len);
}

// fn(worker, begin, end) on nw OpenMP threads, a static contiguous split of
// [0, n) (worker t gets [n t / nw, n (t + 1) / nw), possibly empty); nw == 1
// calls fn(0, 0, n) on this thread. For kernels with per-worker buffers.
template <class Fn> void run_workers(int nw, int64_t n, Fn &&fn) {
  if (nw <= 1) {
    fn(0, int64_t(0), n);
    return;
  }
  polygrad::detail::count_parallel_region();
#pragma omp parallel num_threads(nw)
  {
    const int t = omp_get_thread_num();
    fn(t, n * t / nw, n * (t + 1) / nw);
  }
}

// Calls fn(offsets, inner_len) for each innermost row of `shape`, where
// offsets[k] is operand k's element offset (from its own base) and operand k
// advances by strides[k].back() along the row.
template <size_t N, class Fn>
void for_each_row(const Shape &shape, const std::array<Shape, N> &strides, Fn &&fn) {
  const int64_t nd = (int64_t)shape.size();
  if (nd == 0) {
    fn(std::array<int64_t, N>{}, int64_t(1));
    return;
  }
  const int64_t inner = shape[nd - 1];
  const int64_t total = shape_numel(shape);
  if (total == 0)
    return;
  const int64_t rows = total / inner;
  parallel_range(rows, total, [&](int64_t r0, int64_t r1) {
    // Decompose r0 into a multi-index over dims [0, nd-1), then step it.
    std::vector<int64_t> idx(nd > 1 ? nd - 1 : 1, 0);
    std::array<int64_t, N> off{};
    int64_t rem = r0;
    for (int64_t d = nd - 2; d >= 0; --d) {
      idx[d] = rem % shape[d];
      rem /= shape[d];
      for (size_t k = 0; k < N; ++k)
        off[k] += idx[d] * strides[k][d];
    }
    for (int64_t r = r0; r < r1; ++r) {
      fn(off, inner);
      for (int64_t d = nd - 2; d >= 0; --d) {
        if (++idx[d] < shape[d]) {
          for (size_t k = 0; k < N; ++k)
            off[k] += strides[k][d];
          break;
        }
        for (size_t k = 0; k < N; ++k)
          off[k] -= (shape[d] - 1) * strides[k][d];
        idx[d] = 0;
      }
    }
  });
}

// Throws naming `op` unless `t` holds elements of type T.
template <class T = float> void check_dtype(const Tensor &t, const char *op) {
  PG_CHECK(t.dtype() == dtype_of<T>(), op, ": expected ",
           dtype_of<T>() == DType::Int64 ? "an " : "a ", dtype_name(dtype_of<T>()), " tensor, got ",
           dtype_name(t.dtype()), " of shape ", shape_str(t.shape()));
}
inline void check_float(const Tensor &t, const char *op) { check_dtype<float>(t, op); }

// out = f(a) element-wise; out is contiguous.
template <class F> Tensor map(const Tensor &a, const char *op, F f) {
  check_float(a, op);
  Tensor out = Tensor::empty(a.shape());
  float *o = out.data<float>();
  if (a.is_contiguous()) {
    const float *p = a.data<float>();
    parallel_range(a.numel(), a.numel(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        o[i] = f(p[i]);
    });
    return out;
  }
  const float *p = a.data<float>();
  const Shape cs = contiguous_strides(a.shape());
  for_each_row<2>(a.shape(), {cs, a.strides()}, [&](const std::array<int64_t, 2> &off, int64_t n) {
    const int64_t s = a.strides().back();
    for (int64_t i = 0; i < n; ++i)
      o[off[0] + i] = f(p[off[1] + i * s]);
  });
  return out;
}

// out = f(a, b) with broadcasting; out is float32 and contiguous. The
// operands hold Ta and Tb elements (float by default; the comparisons also
// read int64).
template <class Ta = float, class Tb = float, class F>
Tensor zip(const Tensor &a, const Tensor &b, const char *op, F f) {
  check_dtype<Ta>(a, op);
  check_dtype<Tb>(b, op);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = Tensor::empty(shape);
  float *o = out.data<float>();
  const Ta *pa = a.data<Ta>();
  const Tb *pb = b.data<Tb>();
  const int64_t n = out.numel();
  if (a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous()) {
    parallel_range(n, n, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i)
        o[i] = f(pa[i], pb[i]);
    });
    return out;
  }
  if (b.numel() == 1 && a.shape() == shape && a.is_contiguous()) {
    const Tb vb = *pb;
    parallel_range(n, n, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i)
        o[i] = f(pa[i], vb);
    });
    return out;
  }
  const Shape sa = broadcast_strides(a, shape), sb = broadcast_strides(b, shape);
  const Shape so = contiguous_strides(shape);
  const int64_t ia = sa.empty() ? 0 : sa.back(), ib = sb.empty() ? 0 : sb.back();
  for_each_row<3>(shape, {so, sa, sb}, [&](const std::array<int64_t, 3> &off, int64_t len) {
    float *po = o + off[0];
    const Ta *qa = pa + off[1];
    const Tb *qb = pb + off[2];
    if (ia == 1 && ib == 1)
      for (int64_t i = 0; i < len; ++i)
        po[i] = f(qa[i], qb[i]);
    else if (ia == 1 && ib == 0)
      for (int64_t i = 0; i < len; ++i)
        po[i] = f(qa[i], qb[0]);
    else if (ia == 0 && ib == 1)
      for (int64_t i = 0; i < len; ++i)
        po[i] = f(qa[0], qb[i]);
    else
      for (int64_t i = 0; i < len; ++i)
        po[i] = f(qa[i * ia], qb[i * ib]);
  });
  return out;
}

// out = f(a, b, c) with broadcasting of all three; out is contiguous.
template <class F>
Tensor zip3(const Tensor &a, const Tensor &b, const Tensor &c, const char *op, F f) {
  check_float(a, op);
  check_float(b, op);
  check_float(c, op);
  const Shape shape = broadcast_shapes(broadcast_shapes(a.shape(), b.shape(), op), c.shape(), op);
  Tensor out = Tensor::empty(shape);
  float *o = out.data<float>();
  const float *pa = a.data<float>(), *pb = b.data<float>(), *pc = c.data<float>();
  const int64_t n = out.numel();
  if (a.shape() == shape && b.shape() == shape && c.shape() == shape && a.is_contiguous() &&
      b.is_contiguous() && c.is_contiguous()) {
    parallel_range(n, n, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i)
        o[i] = f(pa[i], pb[i], pc[i]);
    });
    return out;
  }
  const Shape sa = broadcast_strides(a, shape), sb = broadcast_strides(b, shape),
              sc = broadcast_strides(c, shape), so = contiguous_strides(shape);
  const int64_t ia = sa.empty() ? 0 : sa.back(), ib = sb.empty() ? 0 : sb.back(),
                ic = sc.empty() ? 0 : sc.back();
  for_each_row<4>(shape, {so, sa, sb, sc}, [&](const std::array<int64_t, 4> &off, int64_t len) {
    for (int64_t i = 0; i < len; ++i)
      o[off[0] + i] = f(pa[off[1] + i * ia], pb[off[2] + i * ib], pc[off[3] + i * ic]);
  });
  return out;
}

// dst = f(dst, src) in place, src broadcast to dst's shape (may be undefined:
// then f gets 0 for it). dst may be any strided view. Both hold T elements
// (float by default; copy_ also moves int64).
template <class T = float, class F> void apply_inplace(const Tensor &dst, const Tensor &src, F f) {
  check_dtype<T>(dst, "in-place op");
  T *pd = dst.data<T>();
  if (!src.defined()) {
    if (dst.is_contiguous()) {
      parallel_range(dst.numel(), dst.numel(), [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i)
          pd[i] = f(pd[i], T(0));
      });
      return;
    }
    for_each_row<1>(dst.shape(), {dst.strides()},
                    [&](const std::array<int64_t, 1> &off, int64_t len) {
                      const int64_t s = dst.strides().back();
                      for (int64_t i = 0; i < len; ++i)
                        pd[off[0] + i * s] = f(pd[off[0] + i * s], T(0));
                    });
    return;
  }
  check_dtype<T>(src, "in-place op");
  const Shape bs = broadcast_shapes(dst.shape(), src.shape(), "in-place op");
  PG_CHECK(bs == dst.shape(), "in-place op: source of shape ", shape_str(src.shape()),
           " does not broadcast to destination shape ", shape_str(dst.shape()));
  const T *ps = src.data<T>();
  if (dst.is_contiguous() && src.is_contiguous() && src.shape() == dst.shape()) {
    parallel_range(dst.numel(), dst.numel(), [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i)
        pd[i] = f(pd[i], ps[i]);
    });
    return;
  }
  const Shape ss = broadcast_strides(src, dst.shape());
  const int64_t id = dst.dim() ? dst.strides().back() : 0, is = ss.empty() ? 0 : ss.back();
  for_each_row<2>(dst.shape(), {dst.strides(), ss},
                  [&](const std::array<int64_t, 2> &off, int64_t len) {
                    for (int64_t i = 0; i < len; ++i)
                      pd[off[0] + i * id] = f(pd[off[0] + i * id], ps[off[1] + i * is]);
                  });
}

} // namespace polygrad::kernel
