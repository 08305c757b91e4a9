#include <polygrad/data/source.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include <polygrad/core/error.h>
#include <polygrad/data/cifar10.h>
#include <polygrad/data/mnist.h>

namespace polygrad::data {

namespace fs = std::filesystem;

const char *format_name(DataFormat f) {
  switch (f) {
  case DataFormat::Mnist:
    return "mnist";
  case DataFormat::Cifar10Binary:
    return "cifar10-binary";
  case DataFormat::ImageFolder:
    return "image-folder";
  }
  return "?";
}

namespace {
bool is_split_root(const fs::path &dir) {
  std::error_code ec;
  return fs::is_directory(dir / "train", ec) || fs::is_directory(dir / "test", ec);
}

// Sorted names of the sub-folders of `dir` (the classes of an image folder).
std::vector<std::string> subfolders(const fs::path &dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const fs::directory_entry &e : fs::directory_iterator(dir, ec))
    if (e.is_directory(ec) && e.path().filename().string()[0] != '.')
      out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string join(const std::vector<std::string> &v, size_t max_items) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < max_items; ++i)
    s += (i ? " " : "") + v[i];
  if (v.size() > max_items)
    s += " ...";
  return s.empty() ? "nothing" : s;
}
} // namespace

DataSource detect_data(const std::string &dir) {
  std::error_code ec;
  PG_CHECK(fs::is_directory(dir, ec), dir, ": no such data folder");
  const fs::path p(dir);
  if (is_mnist_dir(dir))
    return {DataFormat::Mnist, dir};
  if (is_cifar10_binary_dir(dir))
    return {DataFormat::Cifar10Binary, dir};
  if (is_cifar10_binary_dir((p / "cifar-10-batches-bin").string()))
    return {DataFormat::Cifar10Binary, (p / "cifar-10-batches-bin").string()};
  if (is_split_root(p))
    return {DataFormat::ImageFolder, dir};
  if (is_split_root(p / "cifar10-jpeg"))
    return {DataFormat::ImageFolder, (p / "cifar10-jpeg").string()};
  std::vector<std::string> names;
  for (const fs::directory_entry &e : fs::directory_iterator(p, ec))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  throw Error(detail::cat(
      dir,
      ": not a recognised data folder; expected MNIST IDX files (train-images-idx3-ubyte[.gz] ",
      "...), CIFAR-10 binary files (data_batch_1.bin ... test_batch.bin) or an image-folder root "
      "(train/<class>/, test/<class>/); it holds: ",
      join(names, 8)));
}

ImageDataset load_dataset(const DataSource &src, Split split, const ImageFolderOptions &options) {
  switch (src.format) {
  case DataFormat::Mnist:
    return load_mnist_dir(src.dir, split);
  case DataFormat::Cifar10Binary:
    return load_cifar10_binary(src.dir, split);
  case DataFormat::ImageFolder: {
    const fs::path root = fs::path(src.dir) / split_name(split);
    std::error_code ec;
    PG_CHECK(fs::is_directory(root, ec), root.string(), ": no such folder (the ", split_name(split),
             " split of the image-folder root ", src.dir, ")");
    ImageDataset d = load_image_folder(root.string(), options);
    if (split == Split::Test && fs::is_directory(fs::path(src.dir) / "train", ec)) {
      // Labels are positions in the sorted class list: both splits must list
      // the same classes or label k would mean different things.
      const std::vector<std::string> train = subfolders(fs::path(src.dir) / "train");
      PG_CHECK(train == d.classes, root.string(), ": class folders (", join(d.classes, 12),
               ") differ from those of ", (fs::path(src.dir) / "train").string(), " (",
               join(train, 12), ")");
    }
    return d;
  }
  }
  throw Error("load_dataset: unknown data format");
}

ImageDataset load_dataset(const std::string &dir, Split split, const ImageFolderOptions &options) {
  return load_dataset(detect_data(dir), split, options);
}

} // namespace polygrad::data
