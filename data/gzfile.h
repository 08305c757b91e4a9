// GzFile: reads a file through zlib, so the readers accept both the official
// gzip'd files (train-images-idx3-ubyte.gz) and unpacked ones: gzread passes
// a file without the gzip magic through unchanged.
//
// Every failure throws polygrad::Error naming the file and the problem: cannot
// open, corrupt gzip stream (zlib's message), or a short read ("truncated").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace polygrad::data {

class GzFile {
public:
  explicit GzFile(const std::string &path);
  ~GzFile();
  GzFile(const GzFile &) = delete;
  GzFile &operator=(const GzFile &) = delete;

  const std::string &path() const { return path_; }
  // Reads up to n bytes and returns how many were read (< n only at the end).
  size_t read(void *dst, size_t n);
  // Reads exactly n bytes of `what` (e.g. "the header") or throws
  // "<file>: truncated: expected N bytes of <what>, got M".
  void read_exact(void *dst, size_t n, const char *what);
  // Same, into a new vector. Grows as the data arrives, so a corrupt header
  // that announces terabytes gives "truncated", not an allocation failure.
  std::vector<uint8_t> read_bytes(size_t n, const char *what);
  // Everything from here to the end of the (decompressed) file.
  std::vector<uint8_t> read_all();
  // Reads to the end and returns how many bytes were left (0 at the end).
  // Also makes zlib verify the gzip trailer (CRC and length).
  uint64_t remaining();

private:
  std::string path_;
  void *gz_ = nullptr; // gzFile
};

// Big-endian 32-bit integer at p (IDX headers are big-endian).
inline uint32_t read_be32(const uint8_t *p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

} // namespace polygrad::data
