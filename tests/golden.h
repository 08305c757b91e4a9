// Golden fixtures from PyTorch (tools/gen_golden.py writes them; the tests
// never need torch). A fixture file is text:
//   # comments
//   tensor <name> <float32|int64> <ndim> <d0> ... <dn-1>
//   <numel values, whitespace separated>
// repeated. Float values are printed with 9 significant digits (exact for
// float32). Large fixtures use the binary form (load_binary below).
#pragma once

#include <bit>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <polygrad/core/tensor.h>

namespace golden {

using Fixture = std::map<std::string, polygrad::Tensor>;

inline Fixture load(const std::string &name) {
  const std::string path = std::string(PG_FIXTURE_DIR) + "/" + name;
  std::ifstream in(path);
  if (!in)
    throw polygrad::Error("golden: cannot open fixture " + path);
  Fixture f;
  std::string word;
  while (in >> word) {
    if (word[0] == '#') {
      std::getline(in, word);
      continue;
    }
    if (word != "tensor")
      throw polygrad::Error("golden: " + path + ": expected 'tensor', got '" + word + "'");
    std::string tname, dtype;
    int ndim;
    in >> tname >> dtype >> ndim;
    polygrad::Shape shape(ndim);
    for (auto &d : shape)
      in >> d;
    const int64_t n = polygrad::shape_numel(shape);
    if (dtype == "int64") {
      std::vector<int64_t> v(n);
      for (auto &x : v)
        in >> x;
      f[tname] = polygrad::from_labels(v, shape);
    } else {
      std::vector<float> v(n);
      for (auto &x : v) {
        std::string s;
        in >> s;
        x = std::strtof(s.c_str(), nullptr); // handles nan/inf
      }
      f[tname] = polygrad::from_vector(v, shape);
    }
    if (!in)
      throw polygrad::Error("golden: " + path + ": truncated at tensor " + tname);
  }
  return f;
}

// The binary form (tools/golden_io.py write_binary_fixture), for fixtures
// whose text would be megabytes:
//   polygrad-golden-binary 1
//   # comments
//   tensor <name> <float32|int64> <ndim> <d0> ... <dn-1>
//   <numel raw little-endian float32 / int64 values>
// repeated.
inline Fixture load_binary(const std::string &name) {
  static_assert(std::endian::native == std::endian::little,
                "binary fixtures are little-endian; add a byte swap for this host");
  const std::string path = std::string(PG_FIXTURE_DIR) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw polygrad::Error("golden: cannot open fixture " + path);
  std::string line;
  if (!std::getline(in, line) || line != "polygrad-golden-binary 1")
    throw polygrad::Error("golden: " + path + ": not a binary fixture (first line '" + line + "')");
  Fixture f;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    std::istringstream hs(line);
    std::string word, tname, dtype;
    int ndim = -1;
    hs >> word >> tname >> dtype >> ndim;
    if (word != "tensor" || ndim < 0 || (dtype != "float32" && dtype != "int64"))
      throw polygrad::Error("golden: " + path + ": bad tensor header '" + line + "'");
    polygrad::Shape shape(ndim);
    for (auto &d : shape)
      hs >> d;
    if (!hs)
      throw polygrad::Error("golden: " + path + ": bad tensor header '" + line + "'");
    const int64_t n = polygrad::shape_numel(shape);
    if (dtype == "int64") {
      std::vector<int64_t> v(n);
      in.read(reinterpret_cast<char *>(v.data()), n * (std::streamsize)sizeof(int64_t));
      f[tname] = polygrad::from_labels(v, shape);
    } else {
      std::vector<float> v(n);
      in.read(reinterpret_cast<char *>(v.data()), n * (std::streamsize)sizeof(float));
      f[tname] = polygrad::from_vector(v, shape);
    }
    if (!in)
      throw polygrad::Error("golden: " + path + ": truncated at tensor " + tname);
  }
  return f;
}

inline const polygrad::Tensor &get(const Fixture &f, const std::string &key) {
  auto it = f.find(key);
  if (it == f.end())
    throw polygrad::Error("golden: fixture has no tensor '" + key + "'");
  return it->second;
}

// Element-wise |a - e| <= atol + rtol |e|; NaN must match NaN and an
// infinity the same infinity (the tolerance formula is NaN there and would
// let any value pass). Returns "" or a description of the worst mismatch.
inline std::string mismatch(const polygrad::Tensor &actual, const polygrad::Tensor &expected,
                            double rtol, double atol) {
  if (!actual.defined())
    return "actual is undefined";
  if (actual.shape() != expected.shape())
    return "shape " + polygrad::shape_str(actual.shape()) + ", expected " +
           polygrad::shape_str(expected.shape());
  const auto a = actual.to_vector(), e = expected.to_vector();
  double worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(e[i]) || !std::isfinite(a[i])) {
      const bool same = std::isnan(e[i]) ? std::isnan(a[i]) : a[i] == e[i];
      if (!same) {
        std::ostringstream os;
        os << "element " << i << ": actual " << a[i] << " expected " << e[i];
        return os.str();
      }
      continue;
    }
    const double excess = std::fabs(double(a[i]) - e[i]) - (atol + rtol * std::fabs(e[i]));
    if (excess > worst)
      worst = excess, wi = i;
  }
  if (worst <= 0)
    return "";
  std::ostringstream os;
  os << "worst element " << wi << ": actual " << a[wi] << " expected " << e[wi];
  return os.str();
}

inline void require_close(const polygrad::Tensor &actual, const polygrad::Tensor &expected,
                          double rtol = 1e-5, double atol = 1e-6, const std::string &what = "") {
  const std::string m = mismatch(actual, expected, rtol, atol);
  INFO(what << ": " << m);
  REQUIRE(m.empty());
}

// As require_close, but the test case goes on (to report every failing case).
inline void check_close(const polygrad::Tensor &actual, const polygrad::Tensor &expected,
                        double rtol = 1e-5, double atol = 1e-6, const std::string &what = "") {
  const std::string m = mismatch(actual, expected, rtol, atol);
  INFO(what << ": " << m);
  CHECK(m.empty());
}

} // namespace golden
