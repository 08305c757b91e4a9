#include "common/flags.h"

#include <cstdio>
#include <cstdlib>

namespace polygrad::examples {

Flags::Flags(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {
  add_bool("help", "show this help and exit");
}

Flags &Flags::add(const std::string &name, const std::string &def, const std::string &help,
                  std::vector<std::string> choices, bool repeatable) {
  order_.push_back(name);
  specs_[name] = Spec{def, help, std::move(choices), repeatable, false};
  return *this;
}

Flags &Flags::add_bool(const std::string &name, const std::string &help) {
  order_.push_back(name);
  specs_[name] = Spec{"", help, {}, false, true};
  return *this;
}

std::string Flags::usage() const {
  std::string u = "usage: " + program_ + " [flags]\n" + summary_ + "\n\nflags:\n";
  for (const auto &n : order_) {
    const Spec &s = specs_.at(n);
    std::string left = "  --" + n + (s.is_bool ? "" : " VALUE");
    if (left.size() < 24)
      left.resize(24, ' ');
    else
      left += "\n" + std::string(24, ' ');
    u += left + s.help;
    if (!s.choices.empty()) {
      u += " (one of:";
      for (const auto &c : s.choices)
        u += " " + c;
      u += ")";
    }
    if (!s.is_bool && !s.def.empty())
      u += " [default: " + s.def + "]";
    if (s.repeatable)
      u += " (repeatable)";
    u += "\n";
  }
  return u;
}

void Flags::fail(const std::string &message) const {
  std::fprintf(stderr, "%s: %s\n\n%s", program_.c_str(), message.c_str(), usage().c_str());
  std::exit(2);
}

void Flags::parse(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0)
      fail("unexpected argument '" + a + "' (flags start with --)");
    a = a.substr(2);
    std::string value;
    bool has_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    auto it = specs_.find(a);
    if (it == specs_.end())
      fail("unknown flag --" + a);
    const Spec &s = it->second;
    if (s.is_bool) {
      if (has_value && value != "true" && value != "false")
        fail("--" + a + " takes no value (or =true/=false), got '" + value + "'");
      values_[a] = {has_value ? value : "true"};
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc)
        fail("--" + a + " needs a value");
      value = argv[++i];
    }
    if (!s.choices.empty()) {
      bool ok = false;
      for (const auto &c : s.choices)
        ok = ok || c == value;
      if (!ok)
        fail("invalid value '" + value + "' for --" + a);
    }
    if (s.repeatable)
      values_[a].push_back(value);
    else
      values_[a] = {value};
  }
  if (flag("help")) {
    std::printf("%s", usage().c_str());
    std::exit(0);
  }
}

bool Flags::has(const std::string &name) const { return values_.count(name) > 0; }

std::string Flags::str(const std::string &name) const {
  auto it = values_.find(name);
  return it != values_.end() ? it->second.back() : specs_.at(name).def;
}

std::vector<std::string> Flags::list(const std::string &name) const {
  auto it = values_.find(name);
  if (it != values_.end())
    return it->second;
  const std::string &d = specs_.at(name).def;
  return d.empty() ? std::vector<std::string>{} : std::vector<std::string>{d};
}

bool Flags::flag(const std::string &name) const {
  auto it = values_.find(name);
  return it != values_.end() && it->second.back() == "true";
}

namespace {
template <class T> bool read(const std::string &text, T &out) {
  try {
    text::parse(text, out);
    return true;
  } catch (const Error &) {
    return false;
  }
}
} // namespace

long Flags::integer(const std::string &name, long lo, long hi) const {
  int64_t x = 0;
  if (!read(str(name), x) || x < lo || x > hi)
    fail("--" + name + " must be an integer in [" + text::show(int64_t(lo)) + ", " +
         text::show(int64_t(hi)) + "], got '" + str(name) + "'");
  return (long)x;
}

double Flags::number(const std::string &name, double lo, double hi) const {
  double x = 0;
  if (!read(str(name), x) || !(x >= lo && x <= hi))
    fail("--" + name + " must be a number in [" + text::show(lo) + ", " + text::show(hi) +
         "], got '" + str(name) + "'");
  return x;
}

} // namespace polygrad::examples
