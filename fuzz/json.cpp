// Fuzz target: io/detail/json.h, the strict JSON parser behind every
// safetensors header and the optimizers' list-valued metadata.
// Besides "only polygrad::Error", two round trips must hold:
//   parse_json(text) = v       =>  parse_json(v.dump()) == v
//   quote_json(s) succeeds     =>  parse_json(quote_json(s)) == s
#include "fuzz.h"

#include <stdexcept>
#include <string_view>

#include <polygrad/io/detail/json.h>

namespace {

std::vector<std::string> seeds() {
  return {
      "{}",
      "[]",
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})",
      "[0.9, 0.999]",
      R"({"a":[1,-2,3.5e-3,true,false,null,"x\u00e9\ud83d\ude00\n"]})",
      "-0",
      "18446744073709551615",
      R"({"k":1,"k":2})",
      "[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]",
      "1e400",
      "\xEF\xBB\xBF{}",
      "\"\xC3\x28\""};
}

void run(const uint8_t *data, size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  polygrad::fuzz::expect_error_only([&] {
    const nlohmann::json v = polygrad::io::parse_json(text);
    if (polygrad::io::parse_json(v.dump()) != v)
      throw std::logic_error("parse(dump(v)) != v");
  });
  polygrad::fuzz::expect_error_only([&] {
    const std::string quoted = polygrad::io::quote_json(text);
    const nlohmann::json s = polygrad::io::parse_json(quoted);
    if (!s.is_string() || s.get<std::string>() != text)
      throw std::logic_error("parse(quote(s)) != s");
  });
}

} // namespace

PG_FUZZ_TARGET(json, run, seeds)
