// Strict JSON for polygrad's files, on Debian's nlohmann-json3-dev. Used for
// the safetensors header (io/safetensors.h) and the optimizer's and
// schedulers' list-valued metadata ("[0.9, 0.999]").
//
// Internal: io/detail/ is not installed, so the installed headers need no
// nlohmann and no public function takes or returns a JSON value.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace polygrad::io {

// Parses `text`: one RFC 8259 value, surrounding JSON whitespace allowed.
// Stricter than nlohmann's defaults, so a corrupt or hand-edited file is
// refused rather than read differently than other readers would:
// - duplicate object keys are an error (nlohmann would keep the last one);
// - no byte order mark (nlohmann skips one; RFC 8259 forbids writing it);
// - at most 64 nested objects and arrays;
// - a number beyond double's range is an error (nlohmann's own rule).
// A non-negative integer written without fraction or exponent is exactly a
// number_unsigned up to 2^64 - 1 (byte offsets); a larger one, or one with a
// fraction or exponent, is a number_float, so "is a non-negative integer"
// is is_number_unsigned(). "-0" is the float -0.0, keeping its sign.
// Errors: polygrad::Error("JSON: <problem> at byte <offset>"), the offset
// 0-based in `text`.
nlohmann::json parse_json(std::string_view text);

// `s` as a JSON string literal, quotes included. Throws polygrad::Error if
// `s` is not valid UTF-8 (JSON text must be; other readers refuse it).
std::string quote_json(std::string_view s);

} // namespace polygrad::io
