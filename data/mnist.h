// MNIST readers: the IDX format of the official files (also Fashion-MNIST,
// KMNIST and the embedded 10k digits in data/mnist-10k/).
//
// IDX layout (all integers big-endian):
//   images (idx3-ubyte): magic 0x00000803, int32 count, int32 rows, int32 cols,
//                        then count*rows*cols pixel bytes, row-major, 0 = background
//   labels (idx1-ubyte): magic 0x00000801, int32 count, then count label bytes
// Files may be gzip'd or not (read through zlib). A file that does not follow
// this layout exactly (bad magic, a count that does not match the bytes present,
// a label outside 0..num_classes-1) throws polygrad::Error naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <polygrad/data/dataset.h>

namespace polygrad::data {

struct IdxImages {
  int64_t n = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels; // n * rows * cols
};

IdxImages read_idx_images(const std::string &path);
std::vector<int64_t> read_idx_labels(const std::string &path, int64_t num_classes = 10);

// Images + labels as a 1-channel ImageDataset with classes "0".."9"; throws if
// the two files disagree on the count.
ImageDataset load_mnist(const std::string &images_path, const std::string &labels_path,
                        int64_t num_classes = 10);

// The split from a folder holding the official file names:
//   train-images-idx3-ubyte, train-labels-idx1-ubyte (Split::Train)
//   t10k-images-idx3-ubyte,  t10k-labels-idx1-ubyte  (Split::Test)
// each optionally ending in .gz ("-idx3" may also be spelled ".idx3").
ImageDataset load_mnist_dir(const std::string &dir, Split split);
// Whether `dir` holds MNIST training or test images under those names.
bool is_mnist_dir(const std::string &dir);

// Folder of the 10,000 embedded MNIST digits (7,996 train / 2,004 test) that
// ship with polygrad: <source>/data/mnist-10k, or the installed copy.
std::string embedded_mnist_dir();

} // namespace polygrad::data
