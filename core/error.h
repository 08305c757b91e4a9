// polygrad::Error and the PG_CHECK macro: every misuse (bad shape, bad dim,
// dtype misuse, out-of-range index, corrupt file) throws an Error whose message
// names the op and the values involved. Never an abort.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace polygrad {

class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args> std::string cat(const Args &...args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
} // namespace detail

} // namespace polygrad

// PG_CHECK(cond, "op: ", a, " vs ", b) throws polygrad::Error with the pieces
// streamed together when cond is false.
#define PG_CHECK(cond, ...)                                                                        \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      throw ::polygrad::Error(::polygrad::detail::cat(__VA_ARGS__));                               \
  } while (0)
