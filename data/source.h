// `--data DIR`: recognises which kind of data folder DIR is and loads a split
// from it, so every program accepts any of
//   MNIST       DIR/train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
//               t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]
//   CIFAR-10    DIR/data_batch_1.bin .. data_batch_5.bin, test_batch.bin
//   (binary)    (or DIR/cifar-10-batches-bin/, where the official tarball unpacks)
//   image       DIR/train/<class>/<image>, DIR/test/<class>/<image>
//   folders     (or DIR/cifar10-jpeg/, where the shared JPEG tarball unpacks)
// checked in that order.
#pragma once

#include <string>

#include <polygrad/data/dataset.h>
#include <polygrad/data/image_folder.h>

namespace polygrad::data {

enum class DataFormat { Mnist, Cifar10Binary, ImageFolder };
const char *format_name(DataFormat f); // "mnist", "cifar10-binary", "image-folder"

struct DataSource {
  DataFormat format = DataFormat::Mnist;
  std::string dir; // the folder that holds the files (may be a sub-folder of the one given)
};

// Throws polygrad::Error naming `dir`, what was expected and what it holds
// when it is none of the above.
DataSource detect_data(const std::string &dir);

// Loads one split. For image folders, `options` sets channels and resizing and
// the test classes must equal the train classes (same labels in both splits).
ImageDataset load_dataset(const DataSource &src, Split split,
                          const ImageFolderOptions &options = {});
ImageDataset load_dataset(const std::string &dir, Split split,
                          const ImageFolderOptions &options = {});

} // namespace polygrad::data
