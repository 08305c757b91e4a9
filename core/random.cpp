#include <polygrad/core/random.h>

namespace polygrad {

std::mt19937_64 &generator() {
  static std::mt19937_64 gen(0x5eed);
  return gen;
}

void manual_seed(uint64_t seed) { generator().seed(seed); }

float uniform(float lo, float hi) {
  // 24 random bits -> [0, 1) exactly representable in float32.
  const float u = float(generator()() >> 40) * (1.0f / 16777216.0f);
  return lo + (hi - lo) * u;
}

float normal(float mean, float std) {
  // Box-Muller on two uniforms; std::normal_distribution's output is
  // implementation-defined, this is not.
  float u1 = uniform();
  while (u1 <= 0.f)
    u1 = uniform();
  const float u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log((double)u1));
  return mean + std * float(r * std::cos(6.283185307179586 * u2));
}

} // namespace polygrad
