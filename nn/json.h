// A minimal, strict JSON reader and writer helpers, for the safetensors
// header of checkpoints (nn/checkpoint.h). No dependency, no extensions:
// RFC 8259 grammar only (no comments, no trailing commas, no NaN), duplicate
// object keys rejected, nesting limited to 64 levels, the whole input must be
// one value (surrounding whitespace allowed). Numbers keep their source text
// so integers up to 2^64 - 1 (byte offsets) are read exactly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace polygrad::nn::json {

struct Value {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  std::string text; // a String's decoded UTF-8, or a Number's source text
  std::vector<Value> array;
  std::vector<std::pair<std::string, Value>> object; // in source order

  // The number as a non-negative integer if it is written as one ("12", not
  // "12.0", "-1" or "1e3") and fits; false otherwise.
  bool as_uint64(uint64_t &out) const;
  // Member lookup in an Object; nullptr when absent.
  const Value *find(std::string_view key) const;
};

// "object", "array", "string", "number", "true/false", "null".
const char *kind_name(Value::Kind k);

// Parses `text`; throws polygrad::Error("JSON: <problem> at byte <offset>").
Value parse(std::string_view text);

// `s` as a JSON string literal, quotes included, with ", \ and control
// characters escaped (other bytes, UTF-8 included, are copied).
std::string quote(std::string_view s);

} // namespace polygrad::nn::json
