#include <polygrad/data/cifar10.h>

#include <cstring>
#include <filesystem>

#include <polygrad/core/error.h>
#include <polygrad/data/gzfile.h>

namespace polygrad::data {

namespace fs = std::filesystem;

const std::vector<std::string> &cifar10_classes() {
  static const std::vector<std::string> names = {
      "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  return names;
}

namespace {
// Appends the records of one file to `d` (whose shape is already 3x32x32).
void append_cifar10_file(const std::string &path, ImageDataset &d) {
  GzFile f(path);
  const std::vector<uint8_t> bytes = f.read_all();
  const int64_t size = (int64_t)bytes.size();
  PG_CHECK(size > 0, path, ": empty file, expected 3073-byte records (1 label + 3072 pixels)");
  PG_CHECK(size % kCifarRecordBytes == 0, path, ": truncated or corrupt: ", size,
           " bytes is not a whole number of 3073-byte records (1 label + 3072 pixels); ",
           size / kCifarRecordBytes, " full records and ", size % kCifarRecordBytes,
           " bytes left over");
  const int64_t n = size / kCifarRecordBytes;
  const int64_t base = d.n;
  d.pixels.resize((base + n) * kCifarImageBytes);
  d.labels.resize(base + n);
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t *rec = bytes.data() + i * kCifarRecordBytes;
    PG_CHECK(rec[0] < 10, path, ": label ", int(rec[0]), " in record ", i,
             " is out of range, valid labels are 0..9");
    d.labels[base + i] = rec[0];
    std::memcpy(d.pixels.data() + (base + i) * kCifarImageBytes, rec + 1, kCifarImageBytes);
  }
  d.n = base + n;
}

ImageDataset empty_cifar(const std::string &source) {
  ImageDataset d;
  d.channels = 3;
  d.height = d.width = 32;
  d.classes = cifar10_classes();
  d.source = source;
  return d;
}
} // namespace

ImageDataset read_cifar10_file(const std::string &path) {
  ImageDataset d = empty_cifar(path);
  append_cifar10_file(path, d);
  return d;
}

ImageDataset load_cifar10_binary(const std::string &dir, Split split) {
  ImageDataset d = empty_cifar(dir);
  std::vector<std::string> files;
  if (split == Split::Train)
    for (int k = 1; k <= 5; ++k)
      files.push_back((fs::path(dir) / ("data_batch_" + std::to_string(k) + ".bin")).string());
  else
    files.push_back((fs::path(dir) / "test_batch.bin").string());
  for (const std::string &f : files)
    append_cifar10_file(f, d);
  return d;
}

bool is_cifar10_binary_dir(const std::string &dir) {
  std::error_code ec;
  return fs::is_regular_file(fs::path(dir) / "data_batch_1.bin", ec) ||
         fs::is_regular_file(fs::path(dir) / "test_batch.bin", ec);
}

} // namespace polygrad::data
