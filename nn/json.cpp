#include <polygrad/nn/json.h>

#include <polygrad/core/error.h>

#include <cstdio>

namespace polygrad::nn::json {

bool Value::as_uint64(uint64_t &out) const {
  if (kind != Kind::Number || text.empty())
    return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false; // sign, fraction or exponent
    const uint64_t d = uint64_t(c - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false; // overflow
    v = v * 10 + d;
  }
  out = v;
  return true;
}

const Value *Value::find(std::string_view key) const {
  for (const auto &[k, v] : object)
    if (k == key)
      return &v;
  return nullptr;
}

const char *kind_name(Value::Kind k) {
  switch (k) {
  case Value::Kind::Null:
    return "null";
  case Value::Kind::Bool:
    return "true/false";
  case Value::Kind::Number:
    return "number";
  case Value::Kind::String:
    return "string";
  case Value::Kind::Array:
    return "array";
  case Value::Kind::Object:
    return "object";
  }
  return "?";
}

namespace {

constexpr int kMaxDepth = 64;

class Parser {
public:
  explicit Parser(std::string_view s) : s_(s) {}

  Value document() {
    skip_ws();
    Value v = value(0);
    skip_ws();
    if (pos_ != s_.size())
      fail("unexpected content after the top-level value");
    return v;
  }

private:
  [[noreturn]] void fail(const std::string &what) const {
    throw Error("JSON: " + what + " at byte " + std::to_string(pos_));
  }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  void skip_ws() {
    while (!at_end() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  void expect_word(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w)
      fail("invalid literal (expected '" + std::string(w) + "')");
    pos_ += w.size();
  }

  Value value(int depth) {
    if (depth > kMaxDepth)
      fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    if (at_end())
      fail("unexpected end of input (expected a value)");
    Value v;
    const char c = peek();
    if (c == '{') {
      v.kind = Value::Kind::Object;
      ++pos_;
      skip_ws();
      if (peek() == '}') {
        ++pos_;
        return v;
      }
      for (;;) {
        skip_ws();
        if (peek() != '"')
          fail("expected a string key in object");
        std::string key = string();
        for (const auto &kv : v.object)
          if (kv.first == key)
            fail("duplicate key " + quote(key));
        skip_ws();
        if (peek() != ':')
          fail("expected ':' after object key");
        ++pos_;
        skip_ws();
        v.object.emplace_back(std::move(key), value(depth + 1));
        skip_ws();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        if (peek() == '}') {
          ++pos_;
          return v;
        }
        fail("expected ',' or '}' in object");
      }
    }
    if (c == '[') {
      v.kind = Value::Kind::Array;
      ++pos_;
      skip_ws();
      if (peek() == ']') {
        ++pos_;
        return v;
      }
      for (;;) {
        skip_ws();
        v.array.push_back(value(depth + 1));
        skip_ws();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        if (peek() == ']') {
          ++pos_;
          return v;
        }
        fail("expected ',' or ']' in array");
      }
    }
    if (c == '"') {
      v.kind = Value::Kind::String;
      v.text = string();
      return v;
    }
    if (c == 't' || c == 'f') {
      v.kind = Value::Kind::Bool;
      v.boolean = c == 't';
      expect_word(v.boolean ? "true" : "false");
      return v;
    }
    if (c == 'n') {
      expect_word("null");
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = Value::Kind::Number;
      v.text = number();
      return v;
    }
    fail(std::string("unexpected character '") + c + "'");
  }

  // number = [ "-" ] int [ frac ] [ exp ], RFC 8259.
  std::string number() {
    const size_t start = pos_;
    auto digits = [&] {
      const size_t d0 = pos_;
      while (!at_end() && s_[pos_] >= '0' && s_[pos_] <= '9')
        ++pos_;
      if (pos_ == d0)
        fail("malformed number");
    };
    if (peek() == '-')
      ++pos_;
    if (peek() == '0') {
      ++pos_;
      if (peek() >= '0' && peek() <= '9')
        fail("malformed number (leading zero)");
    } else {
      digits();
    }
    if (peek() == '.') {
      ++pos_;
      digits();
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-')
        ++pos_;
      digits();
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  unsigned hex4() {
    if (pos_ + 4 > s_.size())
      fail("truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9')
        v |= unsigned(h - '0');
      else if (h >= 'a' && h <= 'f')
        v |= unsigned(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        v |= unsigned(h - 'A' + 10);
      else
        fail("invalid hex digit in \\u escape");
    }
    return v;
  }

  static void put_utf8(std::string &out, unsigned cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  std::string string() {
    ++pos_; // opening quote
    std::string out;
    for (;;) {
      if (at_end())
        fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"')
        return out;
      if ((unsigned char)c < 0x20)
        fail("unescaped control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end())
        fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        unsigned cp = hex4();
        if (cp >= 0xD800 && cp <= 0xDBFF) { // high surrogate: a low one must follow
          if (s_.substr(pos_, 2) != "\\u")
            fail("unpaired surrogate in \\u escape");
          pos_ += 2;
          const unsigned lo = hex4();
          if (lo < 0xDC00 || lo > 0xDFFF)
            fail("invalid low surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          fail("unpaired surrogate in \\u escape");
        }
        put_utf8(out, cp);
        break;
      }
      default:
        fail(std::string("invalid escape '\\") + e + "'");
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

} // namespace

Value parse(std::string_view text) { return Parser(text).document(); }

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if ((unsigned char)c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", (unsigned)(unsigned char)c);
        out += buf;
      } else {
        out += c;
      }
    }
  }
  return out + "\"";
}

} // namespace polygrad::nn::json
