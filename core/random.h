// One global, seeded generator. Same seed and thread count, same numbers:
// every random factory draws serially from it (the draws are cheap next to
// what is done with them), so results do not depend on OpenMP scheduling.
#pragma once

#include <cstdint>
#include <random>

namespace polygrad {

void manual_seed(uint64_t seed);
// The generator behind rand/randn, dropout masks, shuffling and init.
std::mt19937_64 &generator();
// Draws from the global generator (seeded by manual_seed).
float uniform(float lo = 0.f, float hi = 1.f);
float normal(float mean = 0.f, float std = 1.f);

} // namespace polygrad
