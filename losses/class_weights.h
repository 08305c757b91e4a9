// Per-class weights for imbalanced data, for any loss with a `weight` (or
// focal's `alpha`) parameter. n_c is class c's number of training examples.
//
//   inverse frequency:   w_c proportional to 1 / n_c
//   class-balanced       w_c proportional to (1 - beta) / (1 - beta^n_c)
//   (Cui et al. 2019, "effective number of samples" E_n = (1 - beta^n) / (1 - beta);
//   beta = 0 gives equal weights, beta -> 1 inverse frequency; 0.999 and
//   0.9999 are the paper's usual choices)
//
// Both are normalised to mean 1 over the classes that have examples, so the
// loss keeps its scale; a class with n_c = 0 gets weight 0 (it has nothing to
// weight). Returned as a float32 (C) tensor.
//
// In a registry spec the weight can be given by scheme when make() is told the
// class counts:   losses::make("focal:gamma=2,alpha=cb:0.999", {.class_counts = counts})
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <polygrad/core/tensor.h>

namespace polygrad::losses {

Tensor inverse_frequency_weights(const std::vector<int64_t> &counts);
// beta in [0, 1).
Tensor class_balanced_weights(const std::vector<int64_t> &counts, double beta);

// By name: "none" (an undefined tensor: no weights), "inverse", or "cb:BETA"
// (e.g. "cb:0.999"); anything else throws polygrad::Error listing these.
Tensor class_weights(const std::string &scheme, const std::vector<int64_t> &counts);
// Whether `text` names a scheme ("inverse" or "cb:..."), not a list of numbers.
bool is_class_weight_scheme(const std::string &text);

} // namespace polygrad::losses
