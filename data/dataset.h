// ImageDataset: a whole labelled image set held in memory as uint8, the form
// every reader in data/ produces (MNIST IDX, CIFAR-10 binary, image folders).
//
// Why uint8 and not float: 50,000 CIFAR images are 150 MB as bytes and 600 MB
// as float32. The DataLoader converts one batch at a time to float32 NCHW
// (scaling by 1/255 and normalising), so memory stays at the byte size.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace polygrad::data {

// Which half of a data set: the training images or the held-out test images.
enum class Split { Train, Test };
inline const char *split_name(Split s) { return s == Split::Train ? "train" : "test"; }

struct ImageDataset {
  int64_t n = 0, channels = 0, height = 0, width = 0;
  std::vector<uint8_t> pixels;      // n * channels * height * width, NCHW, 0..255
  std::vector<int64_t> labels;      // n labels in [0, classes.size())
  std::vector<std::string> classes; // class names; label k is classes[k]
  std::string source;               // where it was read from (for messages)
  int64_t skipped = 0; // files the reader left out (ImageFolderOptions::skip_bad_images)

  int64_t num_classes() const { return (int64_t)classes.size(); }
  int64_t image_numel() const { return channels * height * width; } // C*H*W
  // Pointer to image i's C*H*W bytes (channel planes, rows top to bottom).
  const uint8_t *image(int64_t i) const { return pixels.data() + i * image_numel(); }

  // Throws polygrad::Error (naming `source`) unless sizes agree and every
  // label is in [0, num_classes).
  void check() const;
};

// The images at `indices` (in that order; repeats allowed), with their labels
// and the same classes. Throws if an index is out of [0, n).
ImageDataset subset(const ImageDataset &d, const std::vector<int64_t> &indices);
// The first `count` images (all of them if count >= n).
ImageDataset head(const ImageDataset &d, int64_t count);
// A class-balanced "first count images", in d's order: the first count / C
// images of each of the C classes, one more for the first count % C classes
// (all of a class that has fewer; the others do not make up for it). For
// data sets stored class by class (image folders), where head() would keep
// only the first classes. Throws unless count >= 0.
ImageDataset balanced_head(const ImageDataset &d, int64_t count);
// Number of images per class: counts[k] = #{i : labels[i] == k}.
std::vector<int64_t> class_counts(const ImageDataset &d);

} // namespace polygrad::data
