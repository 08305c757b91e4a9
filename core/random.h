// One global, seeded generator. Same seed and thread count, same numbers:
// every random factory draws serially from it (the draws are cheap next to
// what is done with them), so results do not depend on OpenMP scheduling.
#pragma once

#include <cstdint>
#include <random>

#include <polygrad/core/tensor.h>

namespace polygrad {

void manual_seed(uint64_t seed);
// The generator behind rand/randn, dropout masks, shuffling and init.
std::mt19937_64 &generator();
// Draws from the global generator (seeded by manual_seed).
float uniform(float lo = 0.f, float hi = 1.f);
float normal(float mean = 0.f, float std = 1.f);

// The global generator's whole state, like torch.get_rng_state(): a 1-D
// int64 tensor, the words of the mt19937_64's text form (its 312 state words
// and, with libstdc++, its position; each word's bits as int64).
// set_rng_state() restores it, after which the draws repeat exactly; a state
// of another dtype or shape is an Error. A checkpoint needs both to resume
// Dropout bitwise (optim::save_training_state keeps it).
Tensor get_rng_state();
void set_rng_state(const Tensor &state);

} // namespace polygrad
