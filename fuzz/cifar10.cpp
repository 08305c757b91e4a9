// Fuzz target: the CIFAR-10 binary batch reader (data/cifar10.h): records of
// one label byte and 3072 pixel bytes.
#include "fuzz.h"

#include <polygrad/data/cifar10.h>

namespace {

namespace fz = polygrad::fuzz;

std::string record(char label, char fill) {
  return std::string(1, label) + std::string(3072, fill);
}

std::vector<std::string> seeds() {
  return {record(3, 'a') + record(9, 'b'), record(0, 0), record(10, 1),
          record(1, 2).substr(0, 2000), fz::gzip(record(5, 'c'))};
}

void run(const uint8_t *data, size_t size) {
  const std::string path = fz::write_scratch("data_batch_1.bin", data, size);
  fz::expect_error_only([&] { (void)polygrad::data::read_cifar10_file(path); });
}

} // namespace

PG_FUZZ_TARGET(cifar10, run, seeds)
