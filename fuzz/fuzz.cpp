#include "fuzz.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <unistd.h>
#include <zlib.h>

namespace polygrad::fuzz {

namespace fs = std::filesystem;

bool verbose = false;

namespace {

struct ScratchDir {
  std::string path;
  ScratchDir() {
    const fs::path base =
        fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    path = (base / ("polygrad_fuzz_" + std::to_string(::getpid()))).string();
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

} // namespace

const std::string &scratch_dir() {
  static ScratchDir dir;
  return dir.path;
}

std::string write_scratch(const std::string &name, const uint8_t *data, size_t size) {
  const fs::path p = fs::path(scratch_dir()) / name;
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
  if (!f.flush())
    throw std::runtime_error("fuzz: cannot write " + p.string());
  return p.string();
}

std::string write_scratch(const std::string &name, const std::string &bytes) {
  return write_scratch(name, reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
}

std::string read_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    throw std::runtime_error("fuzz: cannot read " + path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::string idx_bytes(uint32_t magic, const std::vector<uint32_t> &dims,
                      const std::string &payload) {
  std::string s;
  auto be32 = [&](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
      s.push_back(static_cast<char>((v >> shift) & 0xff));
  };
  be32(magic);
  for (uint32_t d : dims)
    be32(d);
  return s + payload;
}

std::string gzip(const std::string &bytes) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer around the deflate stream.
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("fuzz: deflateInit2 failed");
  std::string out(deflateBound(&z, bytes.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef *>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END)
    throw std::runtime_error("fuzz: deflate failed");
  return out;
}

namespace {
std::vector<Target> &table() {
  static std::vector<Target> t;
  return t;
}
} // namespace

bool register_target(const char *name, RunFn run, SeedsFn seeds) {
  table().push_back({name, run, seeds});
  return true;
}

const std::vector<Target> &targets() { return table(); }

} // namespace polygrad::fuzz
