// Command-line flags for the example programs: `--name value` or
// `--name=value`. Every flag is declared with its help text and default;
// an unknown flag, a bad value or a missing value prints the usage (all valid
// flags and values) and exits with status 2 — never a stack trace.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <polygrad/core/text.h>

namespace polygrad::examples {

class Flags {
public:
  Flags(std::string program, std::string summary);
  // choices: allowed values ("" = any). repeatable flags collect every use.
  Flags &add(const std::string &name, const std::string &def, const std::string &help,
             std::vector<std::string> choices = {}, bool repeatable = false);
  Flags &add_bool(const std::string &name, const std::string &help);
  void parse(int argc, char **argv);

  std::string str(const std::string &name) const;
  std::vector<std::string> list(const std::string &name) const;
  bool has(const std::string &name) const; // given on the command line
  bool flag(const std::string &name) const;
  // Numbers, validated against [lo, hi]; a bad one is a usage error.
  long integer(const std::string &name, long lo, long hi) const;
  double number(const std::string &name, double lo, double hi) const;
  // Any value with a text form (core/text.h: numbers, lists, enums with
  // EnumNames): --reduction mean -> value<losses::Reduction>("reduction").
  template <class T> T value(const std::string &name) const {
    T out{};
    try {
      text::parse(str(name), out);
    } catch (const Error &e) {
      fail("--" + name + ": " + e.what());
    }
    return out;
  }

  [[noreturn]] void fail(const std::string &message) const;
  std::string usage() const;

private:
  struct Spec {
    std::string def, help;
    std::vector<std::string> choices;
    bool repeatable = false, is_bool = false;
  };
  std::string program_, summary_;
  std::vector<std::string> order_;
  std::map<std::string, Spec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
};

} // namespace polygrad::examples
