// Fuzz target: the image-folder reader (data/image_folder.h) and, through
// it, the bounded decoding of data/image_decode.h in front of stb_image and
// stb_image_resize. Input: one options byte, then the bytes of an image
// file, which becomes root/a/img.<ext>; root/b/ref.png is a fixed 2x2 image,
// so the "same size as the first image" rule and the resize run too.
//   options bits 0-1: channels - 1; bit 2: resize to 5x7; bit 3:
//   skip_bad_images; bits 4-5: extension png, jpg, gif, bmp (the reader
//   picks files by extension, the decoder formats by their magic).
// The limits are small (256 x 256 pixels) to keep an execution fast.
#include "fuzz.h"

#include <filesystem>

#include <stb/stb_image_write.h>

#include <polygrad/data/image_folder.h>

namespace {

namespace fz = polygrad::fuzz;
namespace fs = std::filesystem;

void append(void *ctx, void *data, int size) {
  static_cast<std::string *>(ctx)->append(static_cast<const char *>(data),
                                          static_cast<size_t>(size));
}

// A w x h image with c channels, a gradient, encoded as "png", "jpg" or "bmp".
std::string encode(const char *format, int w, int h, int c) {
  std::vector<unsigned char> px(static_cast<size_t>(w * h * c));
  for (size_t i = 0; i < px.size(); ++i)
    px[i] = static_cast<unsigned char>(i * 37);
  std::string out;
  const std::string f = format;
  if (f == "png")
    stbi_write_png_to_func(append, &out, w, h, c, px.data(), w * c);
  else if (f == "jpg")
    stbi_write_jpg_to_func(append, &out, w, h, c, px.data(), 90);
  else
    stbi_write_bmp_to_func(append, &out, w, h, c, px.data());
  return out;
}

std::vector<std::string> seeds() {
  // A 1x1 GIF89a (global palette of 2, one LZW-coded pixel).
  const std::string gif("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
                        "\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b",
                        35);
  return {std::string(1, '\x02') + encode("png", 2, 2, 3),  // RGB, same size as ref
          std::string(1, '\x06') + encode("png", 9, 4, 4),  // resized
          std::string(1, '\x00') + encode("png", 3, 3, 1),  // wrong size
          std::string(1, '\x1a') + encode("jpg", 16, 8, 3), // skip_bad, .jpg
          std::string(1, '\x16') + encode("jpg", 2, 2, 1),  // grey JPEG, resized
          std::string(1, '\x36') + encode("bmp", 3, 5, 3),  // .bmp
          std::string(1, '\x26') + gif,                     // .gif
          std::string(1, '\x02') + "P6\n2 2\n255\n" + std::string(12, '\x80'),
          std::string(1, '\x01') + "P5 2 2 255 " + std::string(4, '\x10'),
          std::string(1, '\x02') + "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 0 +X 1\n"};
}

void run(const uint8_t *data, size_t size) {
  if (size == 0)
    return;
  static const std::string root = fz::scratch_dir() + "/folder";
  static const bool ref = [] {
    fz::write_scratch("folder/b/ref.png", encode("png", 2, 2, 3));
    return true;
  }();
  (void)ref;
  const uint8_t opt = data[0];
  static const char *const ext[] = {"png", "jpg", "gif", "bmp"};
  fs::remove_all(root + "/a");
  fz::write_scratch(std::string("folder/a/img.") + ext[(opt >> 4) & 3], data + 1, size - 1);

  polygrad::data::ImageFolderOptions o;
  o.channels = 1 + (opt & 3);
  if (opt & 4)
    o.resize_height = 5, o.resize_width = 7;
  o.skip_bad_images = (opt & 8) != 0;
  o.limits = {
      .max_width = 4096, .max_height = 4096, .max_pixels = 1 << 16, .max_file_bytes = 1 << 20};
  fz::expect_error_only([&] { (void)polygrad::data::load_image_folder(root, o); });
}

} // namespace

PG_FUZZ_TARGET(image_folder, run, seeds)
