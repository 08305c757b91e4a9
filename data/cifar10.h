// CIFAR-10 binary version (cifar-10-binary.tar.gz -> cifar-10-batches-bin/):
//   data_batch_1.bin .. data_batch_5.bin (train), test_batch.bin (test),
// each a sequence of 3073-byte records (10,000 in the official files):
//   1 label byte (0..9), then 3072 pixel bytes: the 32x32 red plane, then green,
//   then blue, each row-major. That is already the NCHW layout of ImageDataset.
// Files may be gzip'd or not (read through zlib). A file whose size is not a
// whole number of records, an empty file or a label > 9 throws polygrad::Error
// naming the file.
#pragma once

#include <string>
#include <vector>

#include <polygrad/data/dataset.h>

namespace polygrad::data {

constexpr int64_t kCifarImageBytes = 3 * 32 * 32;           // 3072
constexpr int64_t kCifarRecordBytes = 1 + kCifarImageBytes; // 3073

// airplane automobile bird cat deer dog frog horse ship truck (label order).
const std::vector<std::string> &cifar10_classes();

// One batch file as a 3x32x32 ImageDataset.
ImageDataset read_cifar10_file(const std::string &path);
// The split from the official folder: the five data_batch_*.bin in order for
// Split::Train (50,000 images), test_batch.bin for Split::Test (10,000).
ImageDataset load_cifar10_binary(const std::string &dir, Split split);
// Whether `dir` holds data_batch_1.bin or test_batch.bin.
bool is_cifar10_binary_dir(const std::string &dir);

} // namespace polygrad::data
