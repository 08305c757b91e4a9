// A long-tailed view of any labelled data set, the protocol of CIFAR-10-LT
// (Cao et al. 2019, "LDAM"; Cui et al. 2019, "Class-balanced loss"): class c
// of C (0-based, in label order, so class 0 is the head) keeps
//
//   exp profile:   n_c = floor(n_max * rho^(-c / (C - 1)))
//   step profile:  n_c = n_max for the first floor(C / 2) classes,
//                  floor(n_max / rho) for the rest (Cao et al.'s mu = 0.5)
//
// images (at least 1), so the imbalance ratio n_0 / n_{C-1} is rho (1 =
// balanced, 10, 100). n_max defaults to the smallest class's size in the
// source, so every class can supply its n_c; the images of class c are the
// first n_c of a shuffle of that class's images seeded by `seed` (one
// deterministic choice for a given seed, on every platform). Only the
// training set is made long-tailed: evaluate on the balanced test set.
//
//   auto lt = data::long_tail(train, {.imbalance = 100});   // MNIST-LT, rho = 100
//   data::class_counts(lt)  ->  {700, 419, 251, ..., 7}
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <polygrad/core/text.h>
#include <polygrad/data/dataset.h>

namespace polygrad::data {

enum class ImbalanceProfile { Exp, Step };

struct LongTailOptions {
  double imbalance = 1; // rho = n_0 / n_{C-1} >= 1
  ImbalanceProfile profile = ImbalanceProfile::Exp;
  uint64_t seed = 0; // which images of each class are kept
  int64_t n_max = 0; // images of class 0; 0 = the smallest class's size
};

// n_c for classes whose source sizes are `available` (throws polygrad::Error
// if rho < 1, n_max exceeds a class's size, or a class is empty).
std::vector<int64_t> long_tail_counts(const std::vector<int64_t> &available,
                                      const LongTailOptions &options);
// The indices of the kept images, in the source's order.
std::vector<int64_t> long_tail_indices(const ImageDataset &d, const LongTailOptions &options);
// subset(d, long_tail_indices(d, options)).
ImageDataset long_tail(const ImageDataset &d, const LongTailOptions &options);

} // namespace polygrad::data

template <> struct polygrad::text::EnumNames<polygrad::data::ImbalanceProfile> {
  using P = polygrad::data::ImbalanceProfile;
  static constexpr std::pair<P, const char *> values[] = {{P::Exp, "exp"}, {P::Step, "step"}};
};
