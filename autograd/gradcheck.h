// Finite-difference gradient checking.
//
// gradcheck(fn, inputs) compares the analytic gradient of s = <v, fn(inputs)>
// (v a fixed random tensor, so every output element is weighted) with central
// differences (s(x + h e_j) - s(x - h e_j)) / 2h for every element j of every
// input that requires grad. s is accumulated in double. An element passes when
// |analytic - numeric| <= atol + rtol * |numeric|.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <polygrad/core/tensor.h>

namespace polygrad {

struct GradcheckOptions {
  float eps = 1e-2f; // finite-difference step h (float32 needs a large one)
  float atol = 1e-3f;
  float rtol = 1e-2f;
  uint64_t seed = 1234; // for the projection v
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_err = 0, max_rel_err = 0;
  // The worst element: which input, which flat index, and both values.
  int input = -1;
  int64_t index = -1;
  double analytic = 0, numeric = 0;
  std::string message; // human-readable summary of the worst element
};

using GradFn = std::function<Tensor(const std::vector<Tensor> &)>;

GradcheckResult gradcheck(const GradFn &fn, const std::vector<Tensor> &inputs,
                          const GradcheckOptions &options = {});

} // namespace polygrad
