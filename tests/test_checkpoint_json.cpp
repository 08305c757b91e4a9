// The strict JSON reader behind safetensors headers (nn/json.h).
#include <catch2/catch.hpp>

#include <polygrad/core/error.h>
#include <polygrad/nn/json.h>

namespace json = polygrad::nn::json;
using K = json::Value::Kind;

TEST_CASE("json: parses the RFC 8259 grammar", "[checkpoint][json]") {
  const auto v = json::parse(" {\"a\": [1, -2.5e3, 0, true, false, null], \"s\": "
                             "\"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\","
                             " \"o\": {}, \"e\": []} \n");
  REQUIRE(v.kind == K::Object);
  REQUIRE(v.object.size() == 4);
  const auto *a = v.find("a");
  REQUIRE((a && a->kind == K::Array && a->array.size() == 6));
  CHECK(a->array[0].text == "1");
  CHECK(a->array[1].text == "-2.5e3");
  CHECK(a->array[3].kind == K::Bool);
  CHECK(a->array[3].boolean);
  CHECK(!a->array[4].boolean);
  CHECK(a->array[5].kind == K::Null);
  CHECK(v.find("s")->text == "q\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(v.find("o")->kind == K::Object);
  CHECK(v.find("e")->array.empty());
  CHECK(v.find("missing") == nullptr);
}

TEST_CASE("json: integers read exactly as uint64", "[checkpoint][json]") {
  uint64_t u = 0;
  CHECK(json::parse("18446744073709551615").as_uint64(u));
  CHECK(u == UINT64_MAX);
  CHECK(!json::parse("18446744073709551616").as_uint64(u)); // overflow
  CHECK(!json::parse("-1").as_uint64(u));
  CHECK(!json::parse("1.0").as_uint64(u));
  CHECK(!json::parse("1e3").as_uint64(u));
  CHECK(!json::parse("\"7\"").as_uint64(u));
  CHECK(json::parse("0").as_uint64(u));
  CHECK(u == 0);
}

TEST_CASE("json: malformed input is an error with its position", "[checkpoint][json]") {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "unexpected end of input"},
      {"{", "expected a string key"},
      {"{\"a\" 1}", "expected ':'"},
      {"{\"a\":1,}", "expected a string key"},
      {"[1,]", "unexpected character ']'"},
      {"[1 2]", "expected ',' or ']'"},
      {"{\"a\":1 \"b\":2}", "expected ',' or '}'"},
      {"{\"a\":1,\"a\":2}", "duplicate key \"a\""},
      {"01", "leading zero"},
      {"1.", "malformed number"},
      {"-", "malformed number"},
      {"1e", "malformed number"},
      {"+1", "unexpected character '+'"},
      {"NaN", "unexpected character 'N'"},
      {"tru", "invalid literal"},
      {"\"abc", "unterminated string"},
      {"\"a\nb\"", "unescaped control character"},
      {"\"\\x\"", "invalid escape"},
      {"\"\\u12g4\"", "invalid hex digit"},
      {"\"\\ud800\"", "unpaired surrogate"},
      {"\"\\udc00\"", "unpaired surrogate"},
      {"1 2", "unexpected content after the top-level value"},
      {"{} {}", "unexpected content after the top-level value"},
      {std::string(100, '['), "nesting deeper than 64 levels"},
  };
  for (const auto &[text, what] : bad) {
    INFO("input: " << text);
    CHECK_THROWS_WITH(json::parse(text), Catch::Contains(what) && Catch::Contains("at byte"));
  }
}

TEST_CASE("json: quote escapes what JSON requires and round-trips", "[checkpoint][json]") {
  const std::string s = "a\"b\\c\n\t\x01 \xc3\xa9";
  const std::string q = json::quote(s);
  CHECK(q == "\"a\\\"b\\\\c\\n\\t\\u0001 \xc3\xa9\"");
  CHECK(json::parse(q).text == s);
}
