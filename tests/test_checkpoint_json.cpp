// The strict JSON reader behind safetensors headers (io/detail/json.h):
// nlohmann's parser plus polygrad's rules (duplicate keys, depth, no BOM,
// "-0"), and errors as polygrad::Error naming the problem and the byte.
#include <catch2/catch.hpp>

#include <cmath>

#include <polygrad/core/error.h>
#include <polygrad/io/detail/json.h>

namespace io = polygrad::io;
using nlohmann::json;

TEST_CASE("json: parses the RFC 8259 grammar", "[checkpoint][json]") {
  const json v = io::parse_json(" {\"a\": [1, -2.5e3, 0, true, false, null], \"s\": "
                                "\"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\","
                                " \"o\": {}, \"e\": []} \n");
  REQUIRE(v.is_object());
  REQUIRE(v.size() == 4);
  const json &a = v.at("a");
  REQUIRE((a.is_array() && a.size() == 6));
  CHECK(a[0] == 1);
  CHECK(a[1].get<double>() == -2500.0);
  CHECK(a[3] == true);
  CHECK(a[4] == false);
  CHECK(a[5].is_null());
  CHECK(v.at("s") == "q\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
  CHECK((v.at("o").is_object() && v.at("o").empty()));
  CHECK((v.at("e").is_array() && v.at("e").empty()));
  CHECK(!v.contains("missing"));
  // The same key in different objects is not a duplicate.
  CHECK(io::parse_json(R"({"a": {"a": 1}, "b": {"a": 2}})").at("b").at("a") == 2);
  // 64 nested arrays are allowed (the limit is tested below).
  CHECK_NOTHROW(io::parse_json(std::string(64, '[') + std::string(64, ']')));
}

TEST_CASE("json: integers read exactly as uint64", "[checkpoint][json]") {
  // "A non-negative integer" is is_number_unsigned(): exact up to 2^64 - 1.
  const json max = io::parse_json("18446744073709551615");
  REQUIRE(max.is_number_unsigned());
  CHECK(max.get<uint64_t>() == UINT64_MAX);
  CHECK(io::parse_json("0").is_number_unsigned());
  CHECK(io::parse_json("0").get<uint64_t>() == 0);
  CHECK(!io::parse_json("18446744073709551616").is_number_unsigned()); // out of range
  CHECK(!io::parse_json("-1").is_number_unsigned());
  CHECK(!io::parse_json("1.0").is_number_unsigned());
  CHECK(!io::parse_json("1e3").is_number_unsigned());
  CHECK(!io::parse_json("\"7\"").is_number_unsigned());
  // "-0" keeps its sign (nlohmann alone reads it as the integer 0).
  const json neg0 = io::parse_json("-0");
  CHECK(!neg0.is_number_unsigned());
  CHECK(neg0.get<double>() == 0.0);
  CHECK(std::signbit(neg0.get<double>()));
}

TEST_CASE("json: malformed input is an error naming the problem and its position",
          "[checkpoint][json]") {
  struct Bad {
    std::string text, what;
  };
  const std::vector<Bad> bad = {
      {"", "unexpected end of input"},
      {"{", "parsing object key - unexpected end of input; expected string literal"},
      {"{\"a\" 1}", "expected ':'"},
      {"{\"a\":1,}", "parsing object key - unexpected '}'"},
      {"[1,]", "unexpected ']'"},
      {"[1 2]", "parsing array - unexpected number literal; expected ']'"},
      {"{\"a\":1 \"b\":2}", "unexpected string literal; expected '}'"},
      {"{\"a\":1,\"a\":2}", "duplicate key \"a\""},
      {"{\"o\":{\"k\":1,\"k\":2}}", "duplicate key \"k\""},
      {"01", "unexpected number literal; expected end of input"}, // leading zero
      {"1.", "expected digit after '.'"},
      {"-", "expected digit after '-'"},
      {"1e", "expected '+', '-', or digit after exponent"},
      {"1e400", "number overflow parsing '1e400'"},
      {"+1", "invalid literal; last read: '+'"},
      {"NaN", "invalid literal; last read: 'N'"},
      {"tru", "invalid literal; last read: 'tru'"},
      {"/* c */ 1", "invalid literal; last read: '/'"}, // no comments
      {"\"abc", "missing closing quote"},
      {"\"a\nb\"", "control character U+000A (LF) must be escaped"},
      {"\"\\x\"", "forbidden character after backslash"},
      {"\"\\u12g4\"", "'\\u' must be followed by 4 hex digits"},
      {"\"\\ud800\"", "surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF"},
      {"\"\\udc00\"", "surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF"},
      {"\"\xff\"", "ill-formed UTF-8"},
      {"\xEF\xBB\xBF{}", "byte order mark"},
      {"1 2", "expected end of input"},
      {"{} {}", "unexpected '{'; expected end of input"},
      {std::string(65, '['), "nesting deeper than 64 levels"},
  };
  for (const auto &[text, what] : bad) {
    INFO("input: " << text);
    CHECK_THROWS_AS(io::parse_json(text), polygrad::Error);
    CHECK_THROWS_WITH(io::parse_json(text), Catch::StartsWith("JSON: ") && Catch::Contains(what) &&
                                                Catch::Contains(" at byte "));
  }
  // The byte is the 0-based offset of the byte that failed.
  const std::vector<std::pair<std::string, int>> at = {
      {"", 0},
      {"01", 1},
      {"[1,]", 3},
      {"{\"a\":1,\"a\":2}", 9}, // the duplicate key's closing quote
      {std::string(65, '['), 64},
  };
  for (const auto &[text, byte] : at) {
    INFO("input: " << text);
    CHECK_THROWS_WITH(io::parse_json(text), Catch::EndsWith(" at byte " + std::to_string(byte)));
  }
}

TEST_CASE("json: quote escapes what JSON requires and round-trips", "[checkpoint][json]") {
  const std::string s = "a\"b\\c\n\t\x01 \xc3\xa9";
  const std::string q = io::quote_json(s);
  CHECK(q == "\"a\\\"b\\\\c\\n\\t\\u0001 \xc3\xa9\"");
  CHECK(io::parse_json(q) == s);
  CHECK_THROWS_WITH(io::quote_json("a\xff"), Catch::Contains("not valid UTF-8"));
}
