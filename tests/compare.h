// The one value comparison of the test suite (tests/golden.h's require_close
// and tests/test_core_util.h's require_values both use it):
//   |a - e| <= atol + rtol |e| element-wise, in double;
//   NaN matches NaN only, +-inf match the same infinity only (a tolerance
//   formula would let anything pass against inf: inf - inf = NaN).
// Returns "" when everything matches, else the first special-value mismatch
// or the worst element, with index and both values.
#pragma once

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

namespace pgtest {

inline std::string mismatch(const std::vector<float> &a, const std::vector<float> &e, double rtol,
                            double atol) {
  if (a.size() != e.size())
    return std::to_string(a.size()) + " values, expected " + std::to_string(e.size());
  double worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(e[i]) || !std::isfinite(a[i])) {
      const bool same = std::isnan(e[i]) ? std::isnan(a[i]) : a[i] == e[i];
      if (!same) {
        std::ostringstream os;
        os << "element " << i << ": actual " << a[i] << " expected " << e[i];
        return os.str();
      }
      continue;
    }
    const double excess = std::fabs(double(a[i]) - e[i]) - (atol + rtol * std::fabs(e[i]));
    if (excess > worst)
      worst = excess, wi = i;
  }
  if (worst <= 0)
    return "";
  std::ostringstream os;
  os << "worst element " << wi << ": actual " << a[wi] << " expected " << e[wi] << " (rtol " << rtol
     << ", atol " << atol << ")";
  return os.str();
}

} // namespace pgtest
