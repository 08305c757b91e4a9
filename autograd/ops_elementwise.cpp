// Element-wise ops with broadcasting: forward kernel and backward side by
// side. Gradients for broadcast inputs are summed back to the input's shape by
// the engine.
#include <cmath>
#include <functional>
#include <type_traits>

#include <polygrad/autograd/node.h>
#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/vec_math.h>

namespace polygrad {

using kernel::map;
using kernel::zip;
using kernel::zip3;

// ----- binary -----
Tensor add(const Tensor &a, const Tensor &b) {
  Tensor out = zip(a, b, "add", [](float x, float y) { return x + y; });
  if (needs_grad({a, b}))
    // d(a+b)/da = 1, d(a+b)/db = 1
    record("AddBackward", out, {a, b}, [](const Tensor &g) { return grads{g, g}; });
  return out;
}

Tensor sub(const Tensor &a, const Tensor &b) {
  Tensor out = zip(a, b, "sub", [](float x, float y) { return x - y; });
  if (needs_grad({a, b}))
    // d(a-b)/da = 1, d(a-b)/db = -1
    record("SubBackward", out, {a, b}, [](const Tensor &g) { return grads{g, neg(g)}; });
  return out;
}

Tensor mul(const Tensor &a, const Tensor &b) {
  Tensor out = zip(a, b, "mul", [](float x, float y) { return x * y; });
  if (needs_grad({a, b})) {
    const bool ga = a.requires_grad(), gb = b.requires_grad();
    // d(ab)/da = b, d(ab)/db = a
    record("MulBackward", out, {a, b},
           [sa = SavedTensor(gb ? a : Tensor()),
            sb = SavedTensor(ga ? b : Tensor())](const Tensor &g) {
             return grads{sb.get().defined() ? mul(g, sb.get()) : Tensor(),
                          sa.get().defined() ? mul(g, sa.get()) : Tensor()};
           });
  }
  return out;
}

Tensor div(const Tensor &a, const Tensor &b) {
  Tensor out = zip(a, b, "div", [](float x, float y) { return x / y; });
  if (needs_grad({a, b})) {
    const bool ga = a.requires_grad(), gb = b.requires_grad();
    // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -out/b (each only when needed:
    // x / 2.f is common)
    record("DivBackward", out, {a, b},
           [sb = SavedTensor(b), so = SavedTensor(gb ? out : Tensor()), ga](const Tensor &g) {
             const Tensor &b = sb.get();
             Tensor db;
             if (so.get().defined())
               db = zip3(g, so.get(), b, "div_backward",
                         [](float g, float o, float b) { return -g * o / b; });
             return grads{ga ? div(g, b) : Tensor(), db};
           });
  }
  return out;
}

namespace {
// max/min: the gradient goes to the selected input; ties split it evenly,
// as in PyTorch.
Tensor extreme(const Tensor &a, const Tensor &b, bool is_max) {
  const char *op = is_max ? "maximum" : "minimum";
  Tensor out = is_max
                   ? zip(a, b, op, [](float x, float y) { return std::isnan(x) || x > y ? x : y; })
                   : zip(a, b, op, [](float x, float y) { return std::isnan(x) || x < y ? x : y; });
  if (needs_grad({a, b}))
    record(is_max ? "MaximumBackward" : "MinimumBackward", out, {a, b},
           [sa = SavedTensor(a), sb = SavedTensor(b), is_max](const Tensor &g) {
             auto wa = [is_max](float x, float y) {
               return x == y ? 0.5f : ((x > y) == is_max ? 1.f : 0.f);
             };
             Tensor ma = zip(sa.get(), sb.get(), "maximum_backward", wa);
             return grads{mul(g, ma), mul(g, 1.f - ma)};
           });
  return out;
}
} // namespace
Tensor maximum(const Tensor &a, const Tensor &b) { return extreme(a, b, true); }
Tensor minimum(const Tensor &a, const Tensor &b) { return extreme(a, b, false); }

Tensor pow(const Tensor &a, const Tensor &b) {
  Tensor out = zip(a, b, "pow", [](float x, float y) { return std::pow(x, y); });
  if (needs_grad({a, b})) {
    const bool ga = a.requires_grad(), gb = b.requires_grad();
    // d(a^b)/da = b a^(b-1),  d(a^b)/db = a^b ln a  (each only if needed;
    // 0 where the factor b resp. a is 0, as in PyTorch)
    record("PowBackward", out, {a, b},
           [sa = SavedTensor(a), sb = SavedTensor(b), so = SavedTensor(gb ? out : Tensor()),
            ga](const Tensor &g) {
             Tensor da, db;
             if (ga)
               da = zip3(sa.get(), sb.get(), g, "pow_backward", [](float x, float y, float g) {
                 return y == 0.f ? 0.f : g * y * std::pow(x, y - 1.f);
               });
             if (so.get().defined())
               db = zip3(so.get(), sa.get(), g, "pow_backward", [](float o, float x, float g) {
                 return x == 0.f ? 0.f : g * o * std::log(x);
               });
             return grads{da, db};
           });
  }
  return out;
}

// ----- unary -----
Tensor neg(const Tensor &a) {
  Tensor out = map(a, "neg", [](float x) { return -x; });
  if (needs_grad({a}))
    record("NegBackward", out, {a}, [](const Tensor &g) { return grads{neg(g)}; });
  return out;
}

Tensor exp(const Tensor &a) {
  Tensor out = map(a, "exp", [](float x) { return vm::vexp(x); });
  if (needs_grad({a}))
    // d exp(x) = exp(x)
    record("ExpBackward", out, {a},
           [so = SavedTensor(out)](const Tensor &g) { return grads{mul(g, so.get())}; });
  return out;
}

Tensor log(const Tensor &a) {
  Tensor out = map(a, "log", [](float x) { return vm::vlog(x); });
  if (needs_grad({a}))
    // d log(x) = 1/x
    record("LogBackward", out, {a},
           [sa = SavedTensor(a)](const Tensor &g) { return grads{div(g, sa.get())}; });
  return out;
}

Tensor log1p(const Tensor &a) {
  Tensor out = map(a, "log1p", [](float x) { return vm::vlog1p(x); });
  if (needs_grad({a}))
    // d log(1+x) = 1/(1+x)
    record("Log1pBackward", out, {a}, [sa = SavedTensor(a)](const Tensor &g) {
      return grads{
          zip(g, sa.get(), "log1p_backward", [](float g, float x) { return g / (1.f + x); })};
    });
  return out;
}

Tensor expm1(const Tensor &a) {
  Tensor out = map(a, "expm1", [](float x) { return vm::vexpm1(x); });
  if (needs_grad({a}))
    // d (e^x - 1) = e^x = out + 1
    record("Expm1Backward", out, {a}, [so = SavedTensor(out)](const Tensor &g) {
      return grads{
          zip(g, so.get(), "expm1_backward", [](float g, float o) { return g * (o + 1.f); })};
    });
  return out;
}

Tensor sqrt(const Tensor &a) {
  Tensor out = map(a, "sqrt", [](float x) { return std::sqrt(x); });
  if (needs_grad({a}))
    // d sqrt(x) = 1 / (2 sqrt(x))
    record("SqrtBackward", out, {a}, [so = SavedTensor(out)](const Tensor &g) {
      return grads{
          zip(g, so.get(), "sqrt_backward", [](float g, float o) { return g / (2.f * o); })};
    });
  return out;
}

Tensor abs(const Tensor &a) {
  Tensor out = map(a, "abs", [](float x) { return std::fabs(x); });
  if (needs_grad({a}))
    // d|x| = sign(x) (0 at 0, as in PyTorch)
    record("AbsBackward", out, {a}, [sa = SavedTensor(a)](const Tensor &g) {
      return grads{zip(g, sa.get(), "abs_backward", [](float g, float x) {
        return x > 0.f ? g : x < 0.f ? -g : 0.f;
      })};
    });
  return out;
}

Tensor relu(const Tensor &a) {
  // As PyTorch: 0 where x <= 0, x elsewhere, so a NaN passes through.
  Tensor out = map(a, "relu", [](float x) { return x <= 0.f ? 0.f : x; });
  if (needs_grad({a}))
    // d relu(x) = [x > 0] (PyTorch lets g through at NaN too); read from the
    // output, which is all it needs
    record("ReluBackward", out, {a}, [so = SavedTensor(out)](const Tensor &g) {
      return grads{
          zip(g, so.get(), "relu_backward", [](float g, float o) { return o <= 0.f ? 0.f : g; })};
    });
  return out;
}

Tensor sigmoid(const Tensor &a) {
  // Stable in both tails: with e = e^-|x| (never overflows), 1/(1+e) for
  // x >= 0 and e/(1+e) below; branch-free so the loop vectorises.
  Tensor out = map(a, "sigmoid", [](float x) {
    const float e = vm::vexp(-std::fabs(x)), inv = 1.f / (1.f + e);
    return x >= 0.f ? inv : e * inv;
  });
  if (needs_grad({a}))
    // d sigmoid(x) = s (1 - s)
    record("SigmoidBackward", out, {a}, [so = SavedTensor(out)](const Tensor &g) {
      return grads{
          zip(g, so.get(), "sigmoid_backward", [](float g, float s) { return g * s * (1.f - s); })};
    });
  return out;
}

Tensor tanh(const Tensor &a) {
  Tensor out = map(a, "tanh", [](float x) { return std::tanh(x); });
  if (needs_grad({a}))
    // d tanh(x) = 1 - tanh(x)^2
    record("TanhBackward", out, {a}, [so = SavedTensor(out)](const Tensor &g) {
      return grads{
          zip(g, so.get(), "tanh_backward", [](float g, float t) { return g * (1.f - t * t); })};
    });
  return out;
}

Tensor pow(const Tensor &a, float p) {
  Tensor out = map(a, "pow", [p](float x) { return std::pow(x, p); });
  if (needs_grad({a}))
    // d x^p = p x^(p-1)
    record("PowBackward", out, {a}, [sa = SavedTensor(a), p](const Tensor &g) {
      return grads{zip(g, sa.get(), "pow_backward", [p](float g, float x) {
        return p == 0.f ? 0.f : g * p * std::pow(x, p - 1.f);
      })};
    });
  return out;
}

Tensor clamp(const Tensor &a, float lo, float hi) {
  PG_CHECK(!(lo > hi), "clamp: min ", lo, " is greater than max ", hi);
  Tensor out = map(a, "clamp", [lo, hi](float x) { return std::min(std::max(x, lo), hi); });
  if (needs_grad({a}))
    // gradient passes where lo <= x <= hi
    record("ClampBackward", out, {a}, [sa = SavedTensor(a), lo, hi](const Tensor &g) {
      return grads{zip(g, sa.get(), "clamp_backward",
                       [lo, hi](float g, float x) { return x >= lo && x <= hi ? g : 0.f; })};
    });
  return out;
}

Tensor where(const Tensor &mask, const Tensor &a, const Tensor &b) {
  Tensor out =
      zip3(mask, a, b, "where", [](float m, float x, float y) { return m != 0.f ? x : y; });
  if (needs_grad({a, b}))
    // gradient goes to a where mask, to b elsewhere
    record("WhereBackward", out, {a, b}, [sm = SavedTensor(mask)](const Tensor &g) {
      const Tensor &m = sm.get();
      return grads{
          zip(g, m, "where_backward", [](float g, float m) { return m != 0.f ? g : 0.f; }),
          zip(g, m, "where_backward", [](float g, float m) { return m != 0.f ? 0.f : g; })};
    });
  return out;
}

// ----- comparisons (masks; no gradient) -----
namespace {
// A float32 0/1 mask for every dtype pair: int64 with int64 compares exactly,
// int64 with float32 compares as float32 (PyTorch's promotion, so an int64
// past 2^24 rounds first, as in torch). IEEE rules: NaN is unequal to all.
template <class Cmp> Tensor compare(const Tensor &a, const Tensor &b, const char *op, Cmp cmp) {
  PG_CHECK(a.defined() && b.defined(), op, ": an operand is undefined");
  try {
    broadcast_shapes(a.shape(), b.shape(), op);
  } catch (const Error &e) {
    // the dtypes too: with int64 allowed, "which tensor is which" matters
    throw Error(detail::cat(e.what(), " (operands ", dtype_name(a.dtype()), " and ",
                            dtype_name(b.dtype()), ")"));
  }
  const auto mask = [cmp](auto x, auto y) {
    using T = std::common_type_t<decltype(x), decltype(y)>; // int64 with float: float
    return cmp(T(x), T(y)) ? 1.f : 0.f;
  };
  const bool ia = a.dtype() == DType::Int64, ib = b.dtype() == DType::Int64;
  if (ia && ib)
    return zip<int64_t, int64_t>(a, b, op, mask);
  if (ia)
    return zip<int64_t, float>(a, b, op, mask);
  if (ib)
    return zip<float, int64_t>(a, b, op, mask);
  return zip(a, b, op, mask);
}
} // namespace

Tensor eq(const Tensor &a, const Tensor &b) { return compare(a, b, "eq", std::equal_to<>()); }
Tensor ne(const Tensor &a, const Tensor &b) { return compare(a, b, "ne", std::not_equal_to<>()); }
Tensor lt(const Tensor &a, const Tensor &b) { return compare(a, b, "lt", std::less<>()); }
Tensor le(const Tensor &a, const Tensor &b) { return compare(a, b, "le", std::less_equal<>()); }
Tensor gt(const Tensor &a, const Tensor &b) { return compare(a, b, "gt", std::greater<>()); }
Tensor ge(const Tensor &a, const Tensor &b) { return compare(a, b, "ge", std::greater_equal<>()); }

// ----- members and operators -----
Tensor Tensor::exp() const { return polygrad::exp(*this); }
Tensor Tensor::log() const { return polygrad::log(*this); }
Tensor Tensor::log1p() const { return polygrad::log1p(*this); }
Tensor Tensor::expm1() const { return polygrad::expm1(*this); }
Tensor Tensor::sqrt() const { return polygrad::sqrt(*this); }
Tensor Tensor::abs() const { return polygrad::abs(*this); }
Tensor Tensor::relu() const { return polygrad::relu(*this); }
Tensor Tensor::sigmoid() const { return polygrad::sigmoid(*this); }
Tensor Tensor::tanh() const { return polygrad::tanh(*this); }
Tensor Tensor::pow(float e) const { return polygrad::pow(*this, e); }
Tensor Tensor::clamp(float lo, float hi) const { return polygrad::clamp(*this, lo, hi); }

Tensor operator+(const Tensor &a, const Tensor &b) { return add(a, b); }
Tensor operator-(const Tensor &a, const Tensor &b) { return sub(a, b); }
Tensor operator*(const Tensor &a, const Tensor &b) { return mul(a, b); }
Tensor operator/(const Tensor &a, const Tensor &b) { return div(a, b); }
Tensor operator-(const Tensor &a) { return neg(a); }
Tensor operator+(const Tensor &a, float b) { return add(a, scalar_tensor(b)); }
Tensor operator-(const Tensor &a, float b) { return sub(a, scalar_tensor(b)); }
Tensor operator*(const Tensor &a, float b) { return mul(a, scalar_tensor(b)); }
Tensor operator/(const Tensor &a, float b) { return div(a, scalar_tensor(b)); }
Tensor operator+(float a, const Tensor &b) { return add(scalar_tensor(a), b); }
Tensor operator-(float a, const Tensor &b) { return sub(scalar_tensor(a), b); }
Tensor operator*(float a, const Tensor &b) { return mul(scalar_tensor(a), b); }
Tensor operator/(float a, const Tensor &b) { return div(scalar_tensor(a), b); }

Tensor operator==(const Tensor &a, const Tensor &b) { return eq(a, b); }
Tensor operator!=(const Tensor &a, const Tensor &b) { return ne(a, b); }
Tensor operator<(const Tensor &a, const Tensor &b) { return lt(a, b); }
Tensor operator<=(const Tensor &a, const Tensor &b) { return le(a, b); }
Tensor operator>(const Tensor &a, const Tensor &b) { return gt(a, b); }
Tensor operator>=(const Tensor &a, const Tensor &b) { return ge(a, b); }
Tensor operator==(const Tensor &a, float b) { return eq(a, scalar_tensor(b)); }
Tensor operator!=(const Tensor &a, float b) { return ne(a, scalar_tensor(b)); }
Tensor operator<(const Tensor &a, float b) { return lt(a, scalar_tensor(b)); }
Tensor operator<=(const Tensor &a, float b) { return le(a, scalar_tensor(b)); }
Tensor operator>(const Tensor &a, float b) { return gt(a, scalar_tensor(b)); }
Tensor operator>=(const Tensor &a, float b) { return ge(a, scalar_tensor(b)); }
Tensor operator==(float a, const Tensor &b) { return eq(scalar_tensor(a), b); }
Tensor operator!=(float a, const Tensor &b) { return ne(scalar_tensor(a), b); }
Tensor operator<(float a, const Tensor &b) { return lt(scalar_tensor(a), b); }
Tensor operator<=(float a, const Tensor &b) { return le(scalar_tensor(a), b); }
Tensor operator>(float a, const Tensor &b) { return gt(scalar_tensor(a), b); }
Tensor operator>=(float a, const Tensor &b) { return ge(scalar_tensor(a), b); }

} // namespace polygrad
