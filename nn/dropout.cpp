#include <polygrad/nn/dropout.h>

#include <cstdio>

#include <polygrad/autograd/node.h>
#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/random.h>

namespace polygrad::nn {
namespace functional {

Tensor dropout(const Tensor &x, double p, bool training) {
  PG_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability has to be between 0 and 1, but got ", p);
  PG_CHECK(x.defined() && x.dtype() == DType::Float32, "dropout: expected a float32 tensor");
  if (!training || p == 0.0)
    return x;
  // mask = keep / (1 - p) with keep = (u >= p), u uniform on 32 bits: two
  // elements per 64-bit draw. p = 1 drops everything (mask 0, no 1/0).
  Tensor mask = Tensor::empty(x.shape());
  float *pm = mask.data<float>();
  const int64_t n = mask.numel();
  const float scale = p < 1.0 ? float(1.0 / (1.0 - p)) : 0.f;
  const uint64_t thr = uint64_t(p * 4294967296.0); // u >= p  <=>  bits >= thr
  std::mt19937_64 &gen = generator();
  int64_t i = 0;
  for (; i + 1 < n; i += 2) {
    const uint64_t r = gen();
    pm[i] = (r & 0xffffffffu) >= thr ? scale : 0.f;
    pm[i + 1] = (r >> 32) >= thr ? scale : 0.f;
  }
  if (i < n)
    pm[i] = (gen() & 0xffffffffu) >= thr ? scale : 0.f;
  Tensor y = kernel::zip(x, mask, "dropout", [](float a, float m) { return a * m; });
  if (needs_grad({x}))
    record("DropoutBackward", y, {x}, [mask](const Tensor &g) {
      // dx = dy * mask
      return grads{
          kernel::zip(g, mask, "dropout_backward", [](float a, float m) { return a * m; })};
    });
  return y;
}

} // namespace functional

Dropout::Dropout(double p_) : p(p_) {
  PG_CHECK(p >= 0.0 && p <= 1.0, "Dropout: probability has to be between 0 and 1, but got ", p);
}

Tensor Dropout::forward(const Tensor &x) { return functional::dropout(x, p, is_training()); }

std::string Dropout::extra_repr() const {
  char buf[64];
  std::snprintf(buf, sizeof buf, "p=%g, inplace=false", p);
  return buf;
}

} // namespace polygrad::nn
