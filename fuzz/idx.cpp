// Fuzz target: the MNIST IDX readers (data/mnist.h) on an uncompressed file
// (zlib's transparent mode: the same GzFile path as a .gz). Both readers run
// on each input, so either magic leads somewhere.
#include "fuzz.h"

#include <polygrad/data/mnist.h>

namespace {

namespace fz = polygrad::fuzz;

std::vector<std::string> seeds() {
  return {fz::idx_bytes(0x803, {2, 3, 3}, std::string(18, '\x7f')),
          fz::idx_bytes(0x801, {4}, std::string("\x00\x09\x03\x05", 4)),
          fz::idx_bytes(0x803, {0, 28, 28}, ""),
          fz::idx_bytes(0x803, {1, 28, 28}, std::string(100, '\x01')), // truncated
          fz::idx_bytes(0x801, {2}, std::string("\x00\x0a", 2)),       // label 10
          fz::idx_bytes(0x803, {0x7fffffff, 0x7fffffff, 0x7fffffff}, "x"),
          fz::gzip(fz::idx_bytes(0x801, {3}, std::string("\x01\x02\x03", 3)))};
}

void run(const uint8_t *data, size_t size) {
  const std::string path = fz::write_scratch("input-idx3-ubyte", data, size);
  fz::expect_error_only([&] { (void)polygrad::data::read_idx_images(path); });
  fz::expect_error_only([&] { (void)polygrad::data::read_idx_labels(path); });
}

} // namespace

PG_FUZZ_TARGET(idx, run, seeds)
