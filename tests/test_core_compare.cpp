// [core] Comparisons (eq/ne/lt/le/gt/ge and their operators) on float32,
// int64 and mixed operands, against a naive reference that reads every
// element through its own strides; broadcasting, non-contiguous views, NaN;
// the int64 sum and item<int64_t>() that make accuracy a one-liner.
#include <cmath>
#include <functional>
#include <limits>

#include "test_core_util.h"

namespace pg = polygrad;
using Catch::Contains;
using pg::DType;
using pg::Shape;
using pg::Tensor;

namespace {

constexpr int64_t kBig = (int64_t(1) << 24) + 1; // the first int64 a float32 cannot hold

// Element at a broadcast multi-index `out_idx` of `t`, as a float32 or int64.
template <class T> T read(const Tensor &t, const std::vector<int64_t> &out_idx) {
  const size_t lead = out_idx.size() - t.shape().size();
  int64_t off = 0;
  for (size_t d = 0; d < t.shape().size(); ++d)
    off += (t.shape()[d] == 1 ? 0 : out_idx[lead + d]) * t.strides()[d];
  return t.data<T>()[off];
}

using Cmp = std::function<bool(double, double)>;
struct Op {
  const char *name;
  Tensor (*fn)(const Tensor &, const Tensor &);
  Tensor (*oper)(const Tensor &, const Tensor &);
  Cmp ref;
};
const std::vector<Op> &ops() {
  static const std::vector<Op> v = {
      {"eq", pg::eq, [](const Tensor &a, const Tensor &b) { return a == b; }, std::equal_to<>()},
      {"ne", pg::ne, [](const Tensor &a, const Tensor &b) { return a != b; },
       std::not_equal_to<>()},
      {"lt", pg::lt, [](const Tensor &a, const Tensor &b) { return a < b; }, std::less<>()},
      {"le", pg::le, [](const Tensor &a, const Tensor &b) { return a <= b; }, std::less_equal<>()},
      {"gt", pg::gt, [](const Tensor &a, const Tensor &b) { return a > b; }, std::greater<>()},
      {"ge", pg::ge, [](const Tensor &a, const Tensor &b) { return a >= b; },
       std::greater_equal<>()},
  };
  return v;
}

// The expected mask: int64 pairs compare exactly (as integers), any pair with
// a float32 compares the float32 values (an int64 rounded to float32 first).
std::vector<float> reference(const Tensor &a, const Tensor &b, const Cmp &cmp) {
  const Shape shape = pg::broadcast_shapes(a.shape(), b.shape(), "reference");
  const bool ints = a.dtype() == DType::Int64 && b.dtype() == DType::Int64;
  auto value = [&](const Tensor &t, const std::vector<int64_t> &idx) -> double {
    if (t.dtype() == DType::Float32)
      return read<float>(t, idx);
    const int64_t v = read<int64_t>(t, idx);
    return ints ? double(v) : double(float(v)); // |v| < 2^53: the double is exact
  };
  std::vector<float> out(pg::shape_numel(shape));
  for (int64_t i = 0; i < (int64_t)out.size(); ++i) {
    const auto idx = tu::unravel(i, shape);
    out[i] = cmp(value(a, idx), value(b, idx)) ? 1.f : 0.f;
  }
  return out;
}

void check_all_ops(const Tensor &a, const Tensor &b) {
  const Shape shape = pg::broadcast_shapes(a.shape(), b.shape(), "check_all_ops");
  for (const Op &op : ops()) {
    INFO(op.name << ": " << pg::dtype_name(a.dtype()) << " " << pg::shape_str(a.shape())
                 << (a.is_contiguous() ? "" : " (strided)") << " vs " << pg::dtype_name(b.dtype())
                 << " " << pg::shape_str(b.shape()) << (b.is_contiguous() ? "" : " (strided)"));
    const std::vector<float> want = reference(a, b, op.ref);
    for (const Tensor &got : {op.fn(a, b), op.oper(a, b)}) {
      REQUIRE(got.dtype() == DType::Float32);
      REQUIRE(got.shape() == shape);
      CHECK(got.to_vector() == want);
    }
  }
}

// Small integers with many ties, as float32 and int64, plus int64 values a
// float32 cannot hold (kBig) next to their float32 rounding (kBig - 1).
Tensor ints(const Shape &s, int64_t seed) {
  std::vector<int64_t> v(pg::shape_numel(s));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = (int64_t(i) * 7 + seed * 3) % 5 - 2;
  v[0] = kBig;
  if (v.size() > 2)
    v[2] = kBig - 1;
  return pg::from_labels(v, s);
}
Tensor floats(const Shape &s, int64_t seed) {
  std::vector<float> v(pg::shape_numel(s));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = float((int64_t(i) * 5 + seed) % 6 - 3) * 0.5f; // halves: -1.5 .. 1, ties with ints
  v[0] = float(kBig - 1);
  return pg::from_vector(v, s);
}
Tensor make(DType d, const Shape &s, int64_t seed) {
  return d == DType::Int64 ? ints(s, seed) : floats(s, seed);
}

} // namespace

TEST_CASE("compare: every op, every dtype pair, broadcast and strided, against a reference",
          "[core]") {
  // (a shape, b shape): equal, scalar, row vs matrix, outer broadcast, 0-d.
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 3}, {2, 3}}, {{2, 3}, {1}}, {{4, 3}, {3}}, {{4, 1}, {1, 5}}, {{}, {3}}, {{3, 4}, {}}};
  for (DType da : {DType::Float32, DType::Int64})
    for (DType db : {DType::Float32, DType::Int64})
      for (const auto &[sa, sb] : shapes) {
        const Tensor a = make(da, sa, 1), b = make(db, sb, 2);
        check_all_ops(a, b);
        check_all_ops(b, a);
        // Transposed views of the same values: the strided kernel path.
        if (sa.size() == 2 && sb.size() == 2 && sa[0] > 1 && sa[1] > 1) {
          const Tensor at = make(da, {sa[1], sa[0]}, 3).t(), bt = make(db, {sb[1], sb[0]}, 4).t();
          REQUIRE_FALSE(at.is_contiguous());
          check_all_ops(at, bt);
          check_all_ops(at, b);
          check_all_ops(a, bt);
        }
      }
  // A strided slice along the last dim (stride 2).
  const Tensor wide = ints({3, 8}, 5).slice(1, 0, 8, 2), row = floats({4}, 6);
  REQUIRE_FALSE(wide.is_contiguous());
  check_all_ops(wide, row);
  check_all_ops(wide, ints({3, 4}, 7));
}

TEST_CASE("compare: int64 pairs are exact, int64 with float32 promotes like PyTorch", "[core]") {
  const Tensor big = pg::from_labels({kBig}), below = pg::from_labels({kBig - 1});
  // int64 vs int64: 2^24 + 1 != 2^24.
  CHECK((big == below).item() == 0.f);
  CHECK((big > below).item() == 1.f);
  // int64 vs float32: the int64 becomes float32 (2^24 + 1 rounds to 2^24), so
  // torch.tensor([2**24 + 1]) == torch.tensor([2.**24]) is True; so here.
  const Tensor fbelow = pg::from_vector({float(kBig - 1)}, {1});
  CHECK((big == fbelow).item() == 1.f);
  CHECK((fbelow < big).item() == 0.f);
  // A fraction is not truncated to an integer: 2 < 2.5 and 3 > 2.5.
  const Tensor two_three = pg::from_labels({2, 3}), half = pg::full({1}, 2.5f);
  CHECK((two_three < half).to_vector() == std::vector<float>{1, 0});
  CHECK((half < two_three).to_vector() == std::vector<float>{0, 1});
  CHECK((two_three == 2.f).to_vector() == std::vector<float>{1, 0});
  // Scalar operators on both sides: t > s is s < t.
  const Tensor t = pg::from_vector({-1.f, 0.f, 1.f}, {3});
  for (const auto &[got, want] :
       std::vector<std::pair<Tensor, std::vector<float>>>{{t > 0.f, {0, 0, 1}},
                                                          {0.f < t, {0, 0, 1}},
                                                          {t >= 0.f, {0, 1, 1}},
                                                          {0.f <= t, {0, 1, 1}},
                                                          {t < 0.f, {1, 0, 0}},
                                                          {0.f > t, {1, 0, 0}},
                                                          {t <= 0.f, {1, 1, 0}},
                                                          {0.f >= t, {1, 1, 0}},
                                                          {t == 0.f, {0, 1, 0}},
                                                          {0.f == t, {0, 1, 0}},
                                                          {t != 0.f, {1, 0, 1}},
                                                          {0.f != t, {1, 0, 1}}})
    CHECK(got.to_vector() == want);
}

TEST_CASE("compare: NaN compares false except under ne", "[core]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = pg::from_vector({nan, nan, 1.f}, {3});
  for (const Tensor &y :
       {pg::from_vector({nan, 1.f, nan}, {3}), pg::from_labels({1, 1, 1}), pg::full({1}, nan)}) {
    INFO("other operand " << y);
    for (const Op &op : ops()) {
      INFO(op.name);
      const std::vector<float> got = op.fn(x, y).to_vector(), rev = op.fn(y, x).to_vector();
      const float want = std::string(op.name) == "ne" ? 1.f : 0.f;
      // Every pair here holds a NaN except (1, 1) when y is {1, 1, 1}.
      for (int i = 0; i < 3; ++i) {
        if (y.dtype() == DType::Int64 && i == 2)
          continue;
        CHECK(got[i] == want);
        CHECK(rev[i] == want);
      }
    }
  }
}

TEST_CASE("compare: results are masks outside the graph; errors name op, shapes, dtypes",
          "[core]") {
  const Tensor a = pg::ones({2, 3}).requires_grad_();
  const Tensor m = a > 0.5f;
  CHECK_FALSE(m.requires_grad());
  CHECK(m.grad_fn_name().empty());
  // A mask is a float32 tensor: arithmetic and where() take it as it is.
  CHECK((a * m).sum().item() == 6.f);
  CHECK(pg::where(m, a, pg::zeros({1})).sum().item() == 6.f);

  CHECK_THROWS_WITH(pg::eq(pg::ones({2, 3}), pg::from_labels({1, 2})),
                    Contains("eq") && Contains("[2, 3]") && Contains("[2]") &&
                        Contains("float32") && Contains("int64"));
  CHECK_THROWS_WITH(pg::from_labels({1, 2, 3}) >= pg::ones({4}),
                    Contains("ge") && Contains("[3]") && Contains("[4]") && Contains("int64") &&
                        Contains("float32"));
  CHECK_THROWS_WITH(pg::lt(Tensor(), pg::ones({1})), Contains("lt") && Contains("undefined"));
}

TEST_CASE("int64 sum is int64 and exact; item<int64_t>() reads it exactly", "[core]") {
  // Values past 2^24: a float32 sum would round them.
  const Tensor l = pg::from_labels({kBig, kBig, 1, -3, 4, 0}, {2, 3});
  const Tensor s = l.sum();
  REQUIRE(s.dtype() == DType::Int64);
  REQUIRE(s.dim() == 0);
  CHECK(s.item<int64_t>() == 2 * kBig + 2);
  CHECK(l.sum({0}).to_vector<int64_t>() == std::vector<int64_t>{kBig - 3, kBig + 4, 1});
  CHECK(l.sum({1}, true).shape() == Shape{2, 1});
  CHECK(l.sum({1}, true).to_vector<int64_t>() == std::vector<int64_t>{2 * kBig + 1, 1});
  // Non-contiguous input: the transpose's row sums are l's column sums.
  CHECK(l.t().sum({1}).to_vector<int64_t>() == std::vector<int64_t>{kBig - 3, kBig + 4, 1});
  // Overflow wraps as in torch: tensor([2**62, 2**62]).sum() == -2**63.
  const int64_t h = int64_t(1) << 62;
  CHECK(pg::from_labels({h, h}).sum().item<int64_t>() == std::numeric_limits<int64_t>::min());
  CHECK(pg::from_labels({}).sum().item<int64_t>() == 0);

  // item<int64_t>() of a float32 only for whole numbers in range.
  CHECK(pg::scalar_tensor(-7.f).item<int64_t>() == -7);
  CHECK_THROWS_WITH(pg::scalar_tensor(2.5f).item<int64_t>(), Contains("item") && Contains("2.5"));
  CHECK_THROWS_WITH(pg::scalar_tensor(NAN).item<int64_t>(), Contains("item"));
  CHECK_THROWS_WITH(pg::scalar_tensor(0x1p63f).item<int64_t>(), Contains("range"));
  CHECK(pg::scalar_tensor(-0x1p63f).item<int64_t>() == std::numeric_limits<int64_t>::min());
  CHECK(pg::from_labels({kBig}).item() == float(kBig)); // item() stays a float
}

TEST_CASE("accuracy is one line: (logits.argmax(1) == labels).sum()", "[core]") {
  // 6 samples, 4 classes; by hand: rows 0, 2, 3 and 5 predict their label.
  const Tensor logits = pg::from_vector({0.9f, 0.1f, 0.0f, 0.0f,  // -> 0, label 0: right
                                         0.2f, 0.7f, 0.1f, 0.0f,  // -> 1, label 2: wrong
                                         0.0f, 0.0f, 0.1f, 0.8f,  // -> 3, label 3: right
                                         0.1f, 0.0f, 0.6f, 0.3f,  // -> 2, label 2: right
                                         0.5f, 0.1f, 0.2f, 0.2f,  // -> 0, label 1: wrong
                                         0.0f, 0.3f, 0.1f, 0.6f}, // -> 3, label 3: right
                                        {6, 4});
  const Tensor labels = pg::from_labels({0, 2, 3, 2, 1, 3});
  CHECK((logits.argmax(1) == labels).sum().item() == 4.f);
  CHECK((logits.argmax(1) == labels).mean().item() == Approx(4.0 / 6.0));
  // The count of an int64 comparison mask matches a hand loop over the values.
  const std::vector<int64_t> p = logits.argmax(1).to_vector<int64_t>();
  const std::vector<int64_t> y = labels.to_vector<int64_t>();
  int64_t hand = 0;
  for (size_t i = 0; i < y.size(); ++i)
    hand += p[i] == y[i];
  CHECK(hand == 4);
  CHECK((int64_t)(labels == logits.argmax(1)).sum().item() == hand);
  // A transposed batch (columns are samples) gives the same count.
  CHECK((logits.t().contiguous().t().argmax(1) == labels).sum().item() == 4.f);
}
