#include <polygrad/core/text.h>

#include <charconv>
#include <cmath>

namespace polygrad::text {

std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos)
    return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

namespace {
// from_chars over the whole (trimmed) text: no leading '+', no trailing junk.
template <class T> bool read_number(std::string_view text, T &out) {
  std::string_view t = trim(text);
  if (!t.empty() && t.front() == '+') // "+2" is a number to a person
    t.remove_prefix(1);
  if (t.empty())
    return false;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  return ec == std::errc() && end == t.data() + t.size();
}

// Shortest text that reads back to exactly v (std::to_chars' guarantee).
template <class T> std::string shortest(T v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// "1;2;3", "[1, 2, 3]" or "1, 2, 3" -> the items.
std::vector<std::string_view> list_items(std::string_view text) {
  std::string_view t = trim(text);
  if (t.size() >= 2 && t.front() == '[' && t.back() == ']')
    t = t.substr(1, t.size() - 2);
  std::vector<std::string_view> items;
  if (trim(t).empty())
    return items;
  const char sep = t.find(';') != std::string_view::npos ? ';' : ',';
  size_t s = 0;
  while (true) {
    const size_t e = t.find(sep, s);
    items.push_back(t.substr(s, e == std::string_view::npos ? std::string_view::npos : e - s));
    if (e == std::string_view::npos)
      break;
    s = e + 1;
  }
  return items;
}

// "[]" is the empty list; an empty text is not a list.
template <class T> void parse_list(std::string_view text, std::vector<T> &out) {
  if (trim(text) == "[]") {
    out.clear();
    return;
  }
  std::vector<T> v;
  for (std::string_view item : list_items(text)) {
    T x;
    PG_CHECK(read_number(item, x) && std::isfinite(x), "expected numbers separated by ';', got '",
             text, "'");
    v.push_back(x);
  }
  PG_CHECK(!v.empty(), "expected numbers separated by ';', got '", text, "'");
  out = std::move(v);
}

template <class T> std::string show_list(const std::vector<T> &v) {
  std::string r = "[";
  for (size_t i = 0; i < v.size(); ++i)
    r.append(i ? ", " : "").append(show(v[i]));
  return r + "]";
}
} // namespace

void parse(std::string_view text, float &out) {
  float v;
  PG_CHECK(read_number(text, v) && std::isfinite(v), "expected a number, got '", text, "'");
  out = v;
}
void parse(std::string_view text, double &out) {
  double v;
  PG_CHECK(read_number(text, v) && std::isfinite(v), "expected a number, got '", text, "'");
  out = v;
}
void parse(std::string_view text, int64_t &out) {
  int64_t v;
  PG_CHECK(read_number(text, v), "expected an integer, got '", text, "'");
  out = v;
}
void parse(std::string_view text, int &out) {
  int v;
  PG_CHECK(read_number(text, v), "expected an integer, got '", text, "'");
  out = v;
}
void parse(std::string_view text, bool &out) {
  const std::string_view t = trim(text);
  PG_CHECK(t == "true" || t == "false" || t == "1" || t == "0",
           "expected true/false (or 1/0), got '", text, "'");
  out = t == "true" || t == "1";
}
void parse(std::string_view text, std::vector<float> &out) { parse_list(text, out); }
void parse(std::string_view text, std::vector<double> &out) { parse_list(text, out); }
void parse(std::string_view text, std::array<double, 2> &out) {
  std::vector<double> v;
  parse_list(text, v);
  PG_CHECK(v.size() == 2, "expected two numbers separated by ';', got '", text, "'");
  out = {v[0], v[1]};
}
void parse(std::string_view text, Tensor &out) {
  if (trim(text) == "none") {
    out = Tensor();
    return;
  }
  std::vector<float> v;
  PG_CHECK(!list_items(text).empty(), "expected numbers separated by ';', or none, got '", text,
           "'");
  parse_list(text, v);
  out = from_vector(v, {(int64_t)v.size()});
}

std::string show(float v) { return shortest(v); }
std::string show(double v) { return shortest(v); }
std::string show(int64_t v) { return std::to_string(v); }
std::string show(int v) { return std::to_string(v); }
std::string show(bool v) { return v ? "true" : "false"; }
std::string show(const std::vector<float> &v) { return show_list(v); }
std::string show(const std::vector<double> &v) { return show_list(v); }
std::string show(const std::array<double, 2> &v) { return show(std::vector<double>{v[0], v[1]}); }
std::string show(const Tensor &v) {
  if (!v.defined())
    return "none";
  return show(v.to_vector());
}

} // namespace polygrad::text
