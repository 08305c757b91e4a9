// Branch-free float math (exp, expm1, log, log1p) that GCC inlines into the
// element-wise, softmax and loss kernels' loops and vectorises: glibc's
// expf/logf are calls, which keep a loop scalar (~2.5 ns per element here,
// against ~0.1-0.2 ns vectorised). Each function is a range reduction plus a
// short polynomial, accurate to about 2 ulp over the whole float range, and
// handles the ends the way the kernels need them:
//   vexp(-inf) = 0, vexp(x > 88.72) = +inf, denormal results are produced;
//   vexpm1(x) keeps full relative precision near 0 (no 1 - e^x cancellation);
//   vlog(0) = -inf, vlog(+inf) = +inf, vlog(x < 0) = NaN, denormal inputs ok;
//   vlog1p(u) keeps full relative precision for tiny u.
// NaN inputs propagate.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace polygrad::vm {

constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693145751953125f; // ln 2 split so n * kLn2Hi is exact
constexpr float kLn2Lo = 1.42860682030941723212e-6f;

// min(max(x, lo), hi) as selects (std::fmin/fmax keep GCC from vectorising).
inline float clampf(float x, float lo, float hi) {
  x = x < lo ? lo : x;
  return x > hi ? hi : x;
}
inline float minf(float a, float b) { return a < b ? a : b; }

// 2^n for integer-valued float n in [-126, 127], built from the bits without
// a float->int conversion (a conversion "could trap", which stops GCC from
// if-converting and vectorising the loop): adding 1.5 * 2^23 puts n in the
// low mantissa bits.
inline float pow2i(float n) {
  const int32_t k = std::bit_cast<int32_t>(n + 12582912.f) - 0x4B400000;
  return std::bit_cast<float>((k + 127) << 23);
}

// expm1(r) for |r| <= ln2/2 = 0.347: Taylor to r^8 (truncation < 2e-9
// relative), Horner form.
inline float expm1_reduced(float r) {
  const float p =
      1.f / 2 +
      r * (1.f / 6 + r * (1.f / 24 + r * (1.f / 120 +
                                          r * (1.f / 720 + r * (1.f / 5040 + r * (1.f / 40320))))));
  return r + r * r * p;
}

// x = n ln2 + r with n = round(x / ln2), |r| <= ln2/2.
inline void reduce_ln2(float x, float &n, float &r) {
  n = std::nearbyint(x * kLog2e);
  r = (x - n * kLn2Hi) - n * kLn2Lo;
}

// e^x. The scale 2^n is applied as two factors so results down to the
// denormal range (x >= -103.9) come out right.
inline float vexp(float x) {
  const float xc = clampf(x, -104.f, 88.7228f);
  float n, r;
  reduce_ln2(xc, n, r);
  const float n1 = std::nearbyint(n * 0.5f), n2 = n - n1;
  float y = (1.f + expm1_reduced(r)) * pow2i(n1) * pow2i(n2);
  y = x > 88.7228f ? INFINITY : y;
  y = x < -103.9f ? 0.f : y;
  return x != x ? x : y;
}

// e^x - 1 = 2^n (expm1(r) + 1) - 1 = 2^n expm1(r) + (2^n - 1): for |x| <=
// ln2/2, n = 0 and this is exactly expm1_reduced(x) (full relative accuracy).
inline float vexpm1(float x) {
  const float xc = clampf(x, -30.f, 88.7228f);
  float n, r;
  reduce_ln2(xc, n, r);
  const float n1 = std::nearbyint(n * 0.5f), n2 = n - n1;
  const float s = pow2i(n1) * pow2i(n2);
  float y = s * expm1_reduced(r) + (s - 1.f);
  y = x > 88.7228f ? INFINITY : y;
  y = x < -30.f ? -1.f : y; // e^-30 = 9e-14 is below half an ulp of 1
  return x != x ? x : y;
}

// ----- lean versions for the arguments the loss kernels actually have -----
// Every exp in the losses has a non-positive argument (z - max, log Pt,
// -|x|, gamma log q). For x <= 0 the clamp to the top, the overflow select
// and the second scale factor are not needed, and results below 2^-126 may
// flush to 0 (they only ever add to sums >= 1 or multiply probabilities):
// about half the instructions of vexp. NaN and -inf behave as in vexp.

// e^x for x <= 0 (x > 0 is not supported); 0 below -87.33.
inline float vexp_le0(float x) {
  const float xc = x < -87.33f ? -87.33f : x;
  float n, r;
  reduce_ln2(xc, n, r);
  // Cephes expf's minimax polynomial on |r| <= ln2/2 (~1 ulp)
  const float p =
      ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) *
           r +
       1.6666665459e-1f) *
          r +
      5.0000001201e-1f;
  const float y = (1.f + r + r * r * p) * pow2i(n);
  return x < -87.33f ? 0.f : y;
}

// e^x - 1 for x <= 0: 2^n expm1(r) + (2^n - 1), exact expm1_reduced(x) for
// x >= -ln2/2; -1 below -30 (e^-30 is under half an ulp of 1).
inline float vexpm1_le0(float x) {
  const float xc = x < -30.f ? -30.f : x;
  float n, r;
  reduce_ln2(xc, n, r);
  const float s = pow2i(n);
  const float y = s * expm1_reduced(r) + (s - 1.f);
  return x < -30.f ? -1.f : y;
}

// log(1 + f) for 1 + f in [sqrt(1/2), sqrt(2)): s = f / (2 + f),
// log(1 + f) = 2 atanh(s) = 2 s (1 + s^2/3 + s^4/5 + ...), |s| <= 0.1716 so
// the series to s^10 is below 1e-9 relative. Written as
// 2 atanh(s) = f - f^2/2 + s (f^2/2 + 2p) (because 2s = f - s f): the leading
// f is exact, which keeps the precision for arguments near 1.
inline float log_reduced(float f) {
  const float s = f / (2.f + f), s2 = s * s;
  const float p =
      s2 * (1.f / 3 + s2 * (1.f / 5 + s2 * (1.f / 7 + s2 * (1.f / 9 + s2 * (1.f / 11)))));
  const float hf = 0.5f * f * f;
  return f - (hf - s * (hf + 2.f * p));
}

// log(m) for m in [1, 2] (no zero / negative / denormal / inf cases).
inline float vlog_1to2(float m) {
  const uint32_t t = std::bit_cast<uint32_t>(m) - 0x3f3504f3u;
  const uint32_t e = t >> 23; // 0 or 1
  const float f = std::bit_cast<float>((t & 0x007fffffu) + 0x3f3504f3u) - 1.f;
  const float ef = e ? 1.f : 0.f;
  return ef * kLn2Hi + (log_reduced(f) + ef * kLn2Lo);
}

// log(1 + u) for u in [0, 1], with the rounding of 1 + u corrected (as vlog1p).
inline float vlog1p_unit(float u) {
  const float m = 1.f + u;
  return vlog_1to2(m) + (u - (m - 1.f)) / m;
}

// log(x): x = 2^e m with m in [sqrt(1/2), sqrt(2)), log x = e ln2 + log_reduced(m - 1).
inline float vlog(float x) {
  const bool denorm = x < 1.17549435e-38f;
  const float xs = denorm ? x * 8388608.f : x; // 2^23
  // Shift the mantissa range to [sqrt(1/2), sqrt(2)): 0x3f3504f3 = sqrt(1/2).
  // Unsigned arithmetic: negative inputs (sign bit set) would overflow int32
  // (their result is replaced by NaN below); the conversion back to int32 is
  // modular and >> is arithmetic in C++20, so e is the signed exponent.
  const uint32_t t = std::bit_cast<uint32_t>(xs) - 0x3f3504f3u;
  const int32_t e = static_cast<int32_t>(t) >> 23;
  const float m = std::bit_cast<float>((t & 0x007fffffu) + 0x3f3504f3u);
  const float logm = log_reduced(m - 1.f);
  // (float)e without a conversion instruction (see pow2i)
  const float ef = std::bit_cast<float>(e + 0x4B400000) - 12582912.f - (denorm ? 23.f : 0.f);
  float y = ef * kLn2Hi + (logm + ef * kLn2Lo);
  y = x == 0.f ? -INFINITY : y;
  y = x < 0.f ? NAN : y;
  y = x == INFINITY ? INFINITY : y;
  return x != x ? x : y;
}

// log(1 + u) for u > -1: log(1 + u) computed on m = 1 + u, plus the rounding
// error of forming m, (u - (m - 1)) / m, so tiny u keep their precision.
inline float vlog1p(float u) {
  const float m = 1.f + u;
  const float c = (u - (m - 1.f)) / m;
  const float y = vlog(m) + c;
  return u == INFINITY ? INFINITY : y;
}

// log(sigmoid(x)) = min(x, 0) - log1p(e^-|x|), finite for every finite x.
inline float vlog_sigmoid(float x) { return minf(x, 0.f) - vlog1p(vexp(-std::fabs(x))); }

} // namespace polygrad::vm
