#include "lab/sweep.h"

#include <cctype>

#include <polygrad/core/error.h>

namespace polygrad::examples::lab {

namespace {

struct Item {
  std::string text;
  size_t pos; // 0-based offset of its first character in the whole text
};

[[noreturn]] void fail(const std::string &text, size_t pos, const std::string &what) {
  throw Error("--losses: " + what + " at position " + std::to_string(pos + 1) + " in '" + text +
              "'");
}

std::string trim(const std::string &s, size_t &offset) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace((unsigned char)s[a]))
    ++a;
  while (b > a && std::isspace((unsigned char)s[b - 1]))
    --b;
  offset += a;
  return s.substr(a, b - a);
}

// Splits at the commas outside braces and brackets.
std::vector<Item> split_top(const std::string &text) {
  std::vector<Item> items;
  int brace = 0, bracket = 0;
  size_t start = 0, open_brace = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : ',';
    if (i == text.size()) {
      if (brace)
        fail(text, open_brace, "unclosed '{'");
      if (bracket)
        fail(text, i - 1, "unclosed '['");
    }
    if (c == '{') {
      if (brace)
        fail(text, i, "nested '{'");
      brace = 1, open_brace = i;
    } else if (c == '}') {
      if (!brace)
        fail(text, i, "'}' without '{'");
      brace = 0;
    } else if (c == '[') {
      ++bracket;
    } else if (c == ']') {
      if (!bracket)
        fail(text, i, "']' without '['");
      --bracket;
    } else if (c == ',' && !brace && !bracket) {
      size_t off = start;
      std::string t = trim(text.substr(start, i - start), off);
      if (t.empty())
        fail(text, start, "empty item");
      items.push_back({t, off});
      start = i + 1;
    }
  }
  return items;
}

// "epsilon={-1,0,1}" -> {"epsilon=-1", "epsilon=0", "epsilon=1"}; "gamma=2" -> itself.
std::vector<std::string> values_of(const std::string &text, const Item &item, size_t eq) {
  const std::string key = item.text.substr(0, eq);
  const std::string value = item.text.substr(eq + 1);
  const size_t lb = value.find('{');
  if (lb == std::string::npos) {
    if (value.empty())
      fail(text, item.pos + eq, "empty value for '" + key + "'");
    return {item.text};
  }
  const size_t rb = value.find('}');
  if (lb != 0 || rb != value.size() - 1)
    fail(text, item.pos + eq + 1 + lb, "a set must be the whole value of '" + key + "'");
  std::vector<std::string> out;
  size_t start = 1;
  int bracket = 0;
  for (size_t i = 1; i < value.size(); ++i) {
    const char c = value[i];
    bracket += c == '[' ? 1 : c == ']' ? -1 : 0;
    if ((c == ',' && !bracket) || i == value.size() - 1) {
      size_t off = item.pos + eq + 1 + start;
      const std::string v = trim(value.substr(start, i - start), off);
      if (v.empty())
        fail(text, off, "empty value in the set of '" + key + "'");
      out.push_back(key + "=" + v);
      start = i + 1;
    }
  }
  return out;
}

} // namespace

std::vector<std::string> expand_sweep(const std::string &text) {
  struct Spec {
    std::string name;
    std::vector<std::vector<std::string>> params; // each: the alternatives "key=value"
  };
  std::vector<Spec> specs;
  for (const Item &item : split_top(text)) {
    const size_t colon = item.text.find(':'), eq = item.text.find('=');
    if (eq == std::string::npos || (colon != std::string::npos && colon < eq)) {
      // a new spec: "name" or "name:key=value"
      Spec s;
      s.name = item.text.substr(0, colon);
      size_t off = item.pos;
      s.name = trim(s.name, off);
      if (s.name.empty())
        fail(text, item.pos, "missing loss name");
      if (s.name.find_first_of("{}") != std::string::npos)
        fail(text, item.pos, "a set needs 'key={...}'");
      if (colon != std::string::npos) {
        Item rest{item.text.substr(colon + 1), item.pos + colon + 1};
        size_t o = rest.pos;
        rest.text = trim(rest.text, o);
        rest.pos = o;
        const size_t e = rest.text.find('=');
        if (rest.text.empty() || e == std::string::npos || e == 0)
          fail(text, rest.pos, "expected key=value after '" + s.name + ":'");
        s.params.push_back(values_of(text, rest, e));
      }
      specs.push_back(std::move(s));
    } else {
      if (specs.empty())
        fail(text, item.pos, "parameter '" + item.text + "' before any loss name");
      if (eq == 0)
        fail(text, item.pos, "missing parameter name");
      specs.back().params.push_back(values_of(text, item, eq));
    }
  }
  if (specs.empty())
    throw Error("--losses: no loss given");
  std::vector<std::string> out;
  for (const Spec &s : specs) {
    // Cartesian product, last parameter fastest
    std::vector<std::string> acc{s.name};
    for (size_t p = 0; p < s.params.size(); ++p) {
      std::vector<std::string> next;
      for (const std::string &head : acc)
        for (const std::string &kv : s.params[p])
          next.push_back(head + (p == 0 ? ":" : ",") + kv);
      acc = std::move(next);
    }
    out.insert(out.end(), acc.begin(), acc.end());
  }
  return out;
}

} // namespace polygrad::examples::lab
