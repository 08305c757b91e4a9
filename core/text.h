// Text forms of option values: the one layer behind the loss registry's specs
// ("poly1:epsilon=2,weight=1;2"), the optimizer and scheduler state-dict
// metadata and the example programs' flags.
//
//   parse(text, out)  reads a value; throws polygrad::Error("expected ..., got
//                     '<text>'"), the caller adds which key or flag it was.
//   show(value)       the canonical text; parse(show(v)) == v exactly (floats
//                     print the shortest digits that read back to the same
//                     value).
//   type_name<T>()    what the text must look like, for error messages and
//                     usage lines ("number", "true/false", "none/mean/sum").
//
// Types: float, double, int64_t, int, bool, lists of numbers (shown as
// "[1, 2, 0.5]", the form PyTorch prints; "1;2;0.5" and "1, 2, 0.5" are read
// too, so a list fits in a comma-separated spec without brackets), an
// optional 1-D tensor ("none" or a list), and any enum that specializes
// EnumNames:
//
//   template <> struct polygrad::text::EnumNames<Reduction> {
//     static constexpr std::pair<Reduction, const char *> values[] = {
//         {Reduction::None, "none"}, {Reduction::Mean, "mean"}, ...};
//   };
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <polygrad/core/error.h>
#include <polygrad/core/tensor.h>

namespace polygrad::text {

// Specialize with `static constexpr std::pair<E, const char *> values[]`.
template <class E> struct EnumNames;
template <class E>
concept Enumerated = std::is_enum_v<E> && requires {
  EnumNames<E>::values;
};

void parse(std::string_view text, float &out);
void parse(std::string_view text, double &out);
void parse(std::string_view text, int64_t &out);
void parse(std::string_view text, int &out);
void parse(std::string_view text, bool &out); // true/false/1/0
void parse(std::string_view text, std::vector<float> &out);
void parse(std::string_view text, std::vector<double> &out);
void parse(std::string_view text, std::array<double, 2> &out);
void parse(std::string_view text, Tensor &out); // "none" -> undefined; list -> 1-D

std::string show(float v);
std::string show(double v);
std::string show(int64_t v);
std::string show(int v);
std::string show(bool v);
std::string show(const std::vector<float> &v);
std::string show(const std::vector<double> &v);
std::string show(const std::array<double, 2> &v);
std::string show(const Tensor &v);

// Surrounding blanks removed.
std::string_view trim(std::string_view s);

template <class T> std::string type_name() {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
    return "number";
  else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, int>)
    return "integer";
  else if constexpr (std::is_same_v<T, bool>)
    return "true/false";
  else if constexpr (std::is_same_v<T, std::vector<float>> ||
                     std::is_same_v<T, std::vector<double>>)
    return "numbers separated by ';'";
  else if constexpr (std::is_same_v<T, std::array<double, 2>>)
    return "two numbers separated by ';'";
  else if constexpr (std::is_same_v<T, Tensor>)
    return "numbers separated by ';', or none";
  else if constexpr (Enumerated<T>) {
    std::string r;
    for (const auto &[v, name] : EnumNames<T>::values)
      r.append(r.empty() ? "" : "/").append(name);
    return r;
  } else
    static_assert(sizeof(T) == 0, "text::type_name: no text form for this type");
}

template <Enumerated E> void parse(std::string_view text, E &out) {
  const std::string_view t = trim(text);
  for (const auto &[v, name] : EnumNames<E>::values)
    if (t == name) {
      out = v;
      return;
    }
  throw Error("expected one of " + type_name<E>() + ", got '" + std::string(text) + "'");
}

template <Enumerated E> std::string show(E v) {
  for (const auto &[e, name] : EnumNames<E>::values)
    if (e == v)
      return name;
  return "?";
}

} // namespace polygrad::text
