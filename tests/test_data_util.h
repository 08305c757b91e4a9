// Helpers shared by the [data] tests: a temporary folder, writing and
// reading files, big-endian integers, PNG test images.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>
#include <stb/stb_image_write.h>

namespace pg_test_data {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

// A fresh folder under /tmp, removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("polygrad_test_data_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string &name) const { return (path / name).string(); }
};

inline void write_file(const std::string &path, const Bytes &b) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char *>(b.data()), (std::streamsize)b.size());
  REQUIRE(f.good());
}

inline Bytes read_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

inline void put_be32(Bytes &b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8)
    b.push_back(uint8_t(v >> s));
}

// An RGB image (HWC) of w x h whose pixel (x, y, c) = base + 16*y + 4*x + c.
inline Bytes rgb_pattern(int w, int h, int base) {
  Bytes b;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        b.push_back(uint8_t(base + 16 * y + 4 * x + c));
  return b;
}

inline void write_png(const std::string &path, int w, int h, const Bytes &rgb) {
  fs::create_directories(fs::path(path).parent_path());
  REQUIRE(stbi_write_png(path.c_str(), w, h, 3, rgb.data(), w * 3) != 0);
}

} // namespace pg_test_data
