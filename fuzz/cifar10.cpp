// Fuzz target: the CIFAR-10 binary batch reader (data/cifar10.h): records of
// one label byte and 3072 pixel bytes. Inputs with the gzip magic are left
// out: the reader reads through the same GzFile as the IDX readers, whose
// gzip layer idx_gz fuzzes, and a few kB of mutated deflate stream inflating
// to megabytes made this target 20x slower without reaching new code here.
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
  if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b)
    return;
  const std::string path = fz::write_scratch("data_batch_1.bin", data, size);
  fz::expect_error_only([&] { (void)polygrad::data::read_cifar10_file(path); });
}

} // namespace

PG_FUZZ_TARGET(cifar10, run, seeds)
