#include <polygrad/data/gzfile.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <zlib.h>

#include <polygrad/core/error.h>

namespace polygrad::data {

namespace {
gzFile as_gz(void *p) { return static_cast<gzFile>(p); }
} // namespace

GzFile::GzFile(const std::string &path) : path_(path) {
  std::error_code ec;
  PG_CHECK(std::filesystem::exists(path, ec), path, ": cannot open: no such file");
  PG_CHECK(!std::filesystem::is_directory(path, ec), path,
           ": cannot open: is a directory, expected a file");
  errno = 0;
  gz_ = gzopen(path.c_str(), "rb");
  PG_CHECK(gz_ != nullptr, path, ": cannot open: ", errno ? std::strerror(errno) : "gzopen failed");
  gzbuffer(as_gz(gz_), 1 << 17); // fewer syscalls than the 8 KiB default
}

GzFile::~GzFile() {
  if (gz_)
    gzclose(as_gz(gz_));
}

size_t GzFile::read(void *dst, size_t n) {
  size_t got = 0;
  char *out = static_cast<char *>(dst);
  while (got < n) {
    // gzread takes an unsigned count and returns an int: read in 1 GiB steps.
    const unsigned step = (unsigned)std::min<size_t>(n - got, size_t(1) << 30);
    const int r = gzread(as_gz(gz_), out + got, step);
    if (r < 0) {
      int code = 0;
      std::string msg = gzerror(as_gz(gz_), &code);
      if (code == Z_ERRNO)
        msg = std::strerror(errno);
      else if (msg.rfind(path_ + ": ", 0) == 0) // zlib prefixes the path itself
        msg = msg.substr(path_.size() + 2);
      throw Error(detail::cat(path_, ": corrupt or unreadable gzip stream: ", msg));
    }
    if (r == 0)
      break;
    got += (size_t)r;
  }
  return got;
}

void GzFile::read_exact(void *dst, size_t n, const char *what) {
  const size_t got = read(dst, n);
  PG_CHECK(got == n, path_, ": truncated: expected ", n, " bytes of ", what, ", got ", got);
}

// Both read through a 64 kB piece appended to the vector: memory follows the
// bytes that really arrive (a header announcing terabytes costs nothing) and
// nothing is zeroed ahead of the data (a 1 MB zeroed first chunk made every
// small file cost a millisecond of page faults).
namespace {
constexpr size_t kPiece = size_t(64) << 10;
} // namespace

std::vector<uint8_t> GzFile::read_bytes(size_t n, const char *what) {
  std::vector<uint8_t> out;
  uint8_t piece[kPiece];
  while (out.size() < n) {
    const size_t step = std::min(n - out.size(), kPiece);
    const size_t r = read(piece, step);
    out.insert(out.end(), piece, piece + r);
    PG_CHECK(r == step, path_, ": truncated: expected ", n, " bytes of ", what, ", got ",
             out.size());
  }
  return out;
}

std::vector<uint8_t> GzFile::read_all() {
  std::vector<uint8_t> out;
  uint8_t piece[kPiece];
  for (;;) {
    const size_t r = read(piece, kPiece);
    out.insert(out.end(), piece, piece + r);
    if (r < kPiece)
      return out;
  }
}

uint64_t GzFile::remaining() {
  uint64_t total = 0;
  char buf[1 << 14];
  for (;;) {
    const size_t r = read(buf, sizeof buf);
    if (r == 0)
      return total;
    total += r;
  }
}

} // namespace polygrad::data
