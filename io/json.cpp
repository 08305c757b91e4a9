// The strict rules of io/detail/json.h on top of nlohmann's parser: its parse
// callback sees every key and value in order, which is where duplicates,
// depth and "-0" are handled.
#include <polygrad/io/detail/json.h>

#include <polygrad/core/error.h>

#include <iterator>
#include <set>
#include <vector>

namespace polygrad::io {

namespace {

constexpr int kMaxDepth = 64;

// A char iterator that records how far nlohmann's lexer has read. nlohmann
// reports a position only for its syntax errors; with this, our errors
// (duplicate key, depth) and its number overflow name one too.
class TrackedInput {
public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char *;
  using reference = const char &;

  TrackedInput(const char *p, size_t *read) : p_(p), read_(read) {}
  reference operator*() const { return *p_; }
  TrackedInput &operator++() {
    ++p_;
    ++*read_;
    return *this;
  }
  bool operator==(const TrackedInput &o) const { return p_ == o.p_; }

private:
  const char *p_;
  size_t *read_;
};

[[noreturn]] void fail(const std::string &what, size_t byte) {
  throw Error("JSON: " + what + " at byte " + std::to_string(byte));
}

// nlohmann's what() without its "[json.exception.<kind>.<id>] " tag and, for
// a syntax error, the "parse error at line L, column C: " that our byte
// offset replaces.
std::string problem(const nlohmann::json::exception &e) {
  std::string w = e.what();
  if (const size_t p = w.find("] "); p != std::string::npos)
    w.erase(0, p + 2);
  if (w.rfind("parse error", 0) == 0)
    if (const size_t p = w.find(": "); p != std::string::npos)
      w.erase(0, p + 2);
  return w;
}

} // namespace

nlohmann::json parse_json(std::string_view text) {
  using nlohmann::json;
  if (text.substr(0, 3) == "\xEF\xBB\xBF")
    fail("byte order mark before the value", 0);
  size_t read = 0; // bytes the lexer has consumed
  // The last byte read: after a key, its closing quote; after a number, the
  // byte that ended it.
  auto last = [&] { return read > 0 ? read - 1 : 0; };
  std::vector<std::set<std::string>> keys; // of each open object
  const auto check = [&](int depth, json::parse_event_t event, json &parsed) {
    using E = json::parse_event_t;
    // depth: the number of enclosing objects and arrays.
    if ((event == E::object_start || event == E::array_start) && depth >= kMaxDepth)
      fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels", last());
    if (event == E::object_start)
      keys.emplace_back();
    else if (event == E::object_end)
      keys.pop_back();
    else if (event == E::key && !keys.back().insert(parsed.get<std::string>()).second)
      fail("duplicate key " + parsed.dump(), last());
    // nlohmann reads "-0" as the integer 0; a signed (not unsigned) integer
    // zero can only be written "-0".
    else if (event == E::value && parsed.is_number_integer() && !parsed.is_number_unsigned() &&
             parsed.get<int64_t>() == 0)
      parsed = -0.0;
    return true;
  };
  try {
    return json::parse(TrackedInput(text.data(), &read),
                       TrackedInput(text.data() + text.size(), &read), check);
  } catch (const json::parse_error &e) {
    // e.byte counts from 1 and points at the byte that failed.
    fail(problem(e), e.byte > 0 ? e.byte - 1 : 0);
  } catch (const json::exception &e) {
    fail(problem(e), last()); // number overflow: nlohmann gives no position
  }
}

std::string quote_json(std::string_view s) {
  try {
    return nlohmann::json(std::string(s)).dump();
  } catch (const nlohmann::json::exception &e) {
    // "invalid UTF-8 byte at index 1: 0xFF"
    throw Error("JSON: string is not valid UTF-8: " + problem(e));
  }
}

} // namespace polygrad::io
