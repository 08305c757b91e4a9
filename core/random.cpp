#include <polygrad/core/random.h>

#include <sstream>

#include <polygrad/core/error.h>

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

namespace {
// The generator's text form (operator<<): the standard's n = 312 words, and
// with libstdc++ its position in them too. Either reads back to an equal
// engine (operator>>).
std::vector<uint64_t> state_words(const std::mt19937_64 &gen) {
  std::stringstream ss;
  ss << gen;
  std::vector<uint64_t> words;
  for (uint64_t w; ss >> w;)
    words.push_back(w);
  return words;
}
} // namespace

Tensor get_rng_state() {
  const std::vector<uint64_t> words = state_words(generator());
  return from_labels(std::vector<int64_t>(words.begin(), words.end()), {(int64_t)words.size()});
}

void set_rng_state(const Tensor &state) {
  static const int64_t n = (int64_t)state_words(std::mt19937_64()).size();
  PG_CHECK(state.defined() && state.dtype() == DType::Int64 && state.shape() == Shape{n},
           "set_rng_state: expected an int64 tensor of shape [", n, "] (get_rng_state()), got ",
           state.defined() ? std::string(dtype_name(state.dtype())) + " " + shape_str(state.shape())
                           : std::string("an undefined tensor"));
  std::stringstream ss;
  for (int64_t w : state.contiguous().to_vector<int64_t>())
    ss << (uint64_t)w << ' ';
  std::mt19937_64 gen;
  ss >> gen;
  PG_CHECK(!ss.fail(), "set_rng_state: the state does not parse as an mt19937_64");
  generator() = gen;
}

} // namespace polygrad
