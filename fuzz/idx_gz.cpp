// Fuzz target: the MNIST IDX readers (data/mnist.h) on gzip'd files: the
// fuzzer mutates the compressed stream (headers, deflate blocks, the CRC and
// length trailer, several members), which the raw target never reaches.
#include "fuzz.h"

#include <polygrad/data/mnist.h>

namespace {

namespace fz = polygrad::fuzz;

std::vector<std::string> seeds() {
  const std::string images = fz::idx_bytes(0x803, {2, 3, 3}, std::string(18, '\x40'));
  const std::string labels = fz::idx_bytes(0x801, {4}, std::string("\x00\x09\x03\x05", 4));
  const std::string gz_images = fz::gzip(images), gz_labels = fz::gzip(labels);
  return {gz_images,
          gz_labels,
          fz::gzip(images.substr(0, 10)) + fz::gzip(images.substr(10)), // two members
          gz_images.substr(0, gz_images.size() - 4),                    // no length
          gz_labels + "trailing bytes",
          fz::gzip(fz::idx_bytes(0x803, {1, 28, 28}, std::string(784, '\0')))};
}

void run(const uint8_t *data, size_t size) {
  const std::string path = fz::write_scratch("input-idx1-ubyte.gz", data, size);
  fz::expect_error_only([&] { (void)polygrad::data::read_idx_images(path); });
  fz::expect_error_only([&] { (void)polygrad::data::read_idx_labels(path); });
}

} // namespace

PG_FUZZ_TARGET(idx_gz, run, seeds)
