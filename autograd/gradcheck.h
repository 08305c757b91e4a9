// Finite-difference gradient checking.
//
// gradcheck(fn, inputs) compares the analytic gradient of s = <v, fn(inputs)>
// with finite differences for every element j of every input that requires
// grad. v is a fixed random tensor whose entries have magnitudes in
// [0.5, 1.5] and random signs, so every output element is weighted (none is
// effectively left out by a near-zero weight). s is accumulated in double.
//
// The derivative is the fourth-order central difference
//   s'(x) ~ [8 (s(x+h) - s(x-h)) - (s(x+2h) - s(x-2h))] / 12h,
// truncation error h^4 s^(5)(x) / 30, so a step large enough to swamp float32
// rounding (h ~ 1e-2) is still exact to ~1e-9 on smooth functions; the
// second-order form (order = 2: (s(x+h) - s(x-h)) / 2h, error h^2 s'''/6) is
// there for functions with kinks closer than 2h. An element passes when
// |analytic - numeric| <= atol + rtol * |numeric|.
//
// Two guards make a pass mean something: gradcheck fails when it checked no
// element at all (no input requires grad, or all are empty), and it reports
// whether the check is `sensitive`: whether the analytic gradient scaled by
// 1 + detect or 1 - detect (a `detect` = 1 % error in a backward) would have
// failed the same tolerances. Tests require both ok and sensitive.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <polygrad/core/tensor.h>

namespace polygrad {

struct GradcheckOptions {
  float eps = 1e-2f; // finite-difference step h (float32 needs a large one)
  float atol = 1e-4f;
  float rtol = 2e-3f;
  int order = 4;        // 4: fourth-order stencil (x +- h, x +- 2h); 2: x +- h only
  double detect = 0.01; // the relative backward error the check must be able to see
  uint64_t seed = 1234; // for the projection v
};

struct GradcheckResult {
  bool ok = true;
  bool sensitive = false; // a (1 +- detect) scaled gradient would have failed
  int64_t checked = 0;    // elements compared
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
