// nn::Size2: a (height, width) pair for kernel sizes, strides, paddings and
// dilations, like PyTorch's int-or-tuple arguments: `3` means (3, 3) and
// `{3, 1}` means (3, 1).
#pragma once

#include <cstdint>
#include <string>

namespace polygrad::nn {

struct Size2 {
  int64_t h = 0, w = 0;
  Size2() = default;
  Size2(int64_t v) : h(v), w(v) {} // NOLINT: implicit on purpose (3 -> (3, 3))
  Size2(int64_t h_, int64_t w_) : h(h_), w(w_) {}
  bool operator==(const Size2 &o) const { return h == o.h && w == o.w; }
  // "(3, 3)", as PyTorch prints tuples.
  std::string str() const {
    // Appended piecewise: `"(" + std::to_string(h)` trips GCC 12's bogus
    // -Wrestrict warning (GCC bug 105329).
    std::string s = "(";
    s += std::to_string(h);
    s += ", ";
    s += std::to_string(w);
    s += ")";
    return s;
  }
  // "3" when both are equal, else "(3, 1)" (how pooling layers print).
  std::string short_str() const { return h == w ? std::to_string(h) : str(); }
};

} // namespace polygrad::nn
