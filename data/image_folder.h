// Image folder reader, like torchvision.datasets.ImageFolder:
//   root/<class>/<...>/<image>   e.g. cifar10-jpeg/train/cat/0001.jpg
// Classes are the sub-folders of root in sorted (byte) order, so label k is
// the k-th name; images are found recursively inside each class folder and
// taken in sorted order (by folder, then file name). A file counts as an image
// by its extension (case-insensitive): .jpg .jpeg .png .bmp .tga .gif .psd
// .hdr .pic .ppm .pgm .pnm, the formats stb_image decodes; other files and
// names starting with '.' are skipped.
//
// Every image is converted to `channels` (3 = RGB, 1 = grey) and, without a
// resize, must have the size of the first image. Decoding runs in parallel
// over OpenMP threads, each file bounded before stb_image decodes it
// (data/image_decode.h: only JPEG, PNG, GIF, BMP and PNM P5/P6 are decoded;
// sizes are checked against `limits` on the header). Memory grows with the
// images decoded, never from a header. Throws polygrad::Error naming the file
// for: an undecodable, refused, too large or empty image, an image of the
// wrong size (unless `skip_bad_images`), a class folder without image files,
// a root without class folders.
#pragma once

#include <string>
#include <vector>

#include <polygrad/data/dataset.h>
#include <polygrad/data/image_decode.h>

namespace polygrad::data {

struct ImageFolderOptions {
  int64_t channels = 3; // 1..4: grey, grey+alpha, RGB, RGBA (stb converts)
  // Both > 0: every image is resized to resize_height x resize_width with
  // stb_image_resize (Mitchell filter when shrinking, Catmull-Rom when
  // enlarging). Both 0: sizes must all match the first image.
  int64_t resize_height = 0, resize_width = 0;
  // Bounds on each file and each image's header (default: 16384 per side,
  // 2^24 pixels, 256 MB per file); a file beyond them is a bad image.
  ImageLimits limits{};
  // false: the first bad image file (undecodable, refused format, beyond
  // `limits`, wrong size) throws, naming it and counting the others.
  // true: each is left out with "warning: skipped FILE: why" on stderr, then
  // one line with the count; ImageDataset::skipped holds it. A folder with
  // no usable image at all still throws.
  bool skip_bad_images = false;
};

// The listing alone (no decoding): class names, files and their labels.
struct ImageFolderIndex {
  std::vector<std::string> classes;
  std::vector<std::string> files;
  std::vector<int64_t> labels;
};
ImageFolderIndex scan_image_folder(const std::string &root);
// Whether `path` has one of the extensions above.
bool is_image_file(const std::string &path);

ImageDataset load_image_folder(const std::string &root, const ImageFolderOptions &options = {});

} // namespace polygrad::data
