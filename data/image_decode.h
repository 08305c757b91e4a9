// Decoding one image file with stb_image, with every bound checked by
// polygrad before stb's decoder runs, so that a crafted or damaged file can
// only produce a polygrad::Error (never a crash, an out-of-bounds write or a
// gigabyte allocation).
//
// stb_image (Debian's libstb, 2022-09) has known bugs on crafted input (see
// docs/data.md, "Decoding untrusted images"); what this file does about them:
//  * Formats are told by their magic bytes and only JPEG, PNG, GIF, BMP and
//    binary PNM (P5/P6) are handed to stb. HDR, PSD, PIC and TGA (which has
//    no magic: stb tries it on anything the other decoders refuse) are
//    rejected before stb sees them.
//  * JPEG: every Huffman table (DHT) is checked to hold at most 256 codes,
//    at every place stb could read one, before stb parses the file (stb's
//    stbi__build_huffman writes out of bounds past 256).
//  * PNG: the chunk structure is walked first (no chunk may claim more bytes
//    than the file holds: stb reallocs the claimed IDAT size, ~1 GB from a
//    77-byte file), and the compressed image data is inflated once with zlib
//    into a small sink to prove it holds no more bytes than the header's size
//    needs (a zlib bomb would make stb grow its buffer up to 4 GB).
//  * PNM: a header number of more than 9 digits is refused before stb parses
//    it (stb's int parsing overflows), and so are 16-bit files (maxval >
//    255: stb converts their channels with its 8-bit routine and reads out
//    of bounds).
//  * Width, height and pixels (from stbi_info_from_memory, which reads only
//    the header) are checked against ImageLimits before anything is
//    allocated; zero sizes are refused (an HDR of width 0 made
//    stb_image_resize convert NaN to int).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace polygrad::data {

// Bounds every image must keep, checked on the header before decoding.
struct ImageLimits {
  int64_t max_width = 16384;                 // pixels per row
  int64_t max_height = 16384;                // rows
  int64_t max_pixels = int64_t(1) << 24;     // width * height (16.7 M: 64 MB as RGBA)
  int64_t max_file_bytes = int64_t(1) << 28; // the file itself (256 MB)
};

// What the header says, after the checks above.
struct ImageInfo {
  const char *format = ""; // "jpeg", "png", "gif", "bmp", "pnm"
  int width = 0, height = 0;
  int channels = 0; // channels stored in the file (1..4)
};

struct StbImageFree {
  void operator()(uint8_t *p) const;
};
// Interleaved HWC bytes (row-major, `channels` per pixel), as stb returns them.
struct DecodedImage {
  ImageInfo info;
  int channels = 0; // channels of `pixels` (the requested count)
  std::unique_ptr<uint8_t, StbImageFree> pixels;
};

// The accepted format of these bytes by their magic ("jpeg", "png", ...), or
// the name of a refused one ("hdr", "psd", "pic"), or "" when unknown.
const char *image_format(const uint8_t *data, size_t size);

// Checks the bytes of the file `name` (used in messages only) as described
// above and returns its header. Throws polygrad::Error "NAME: <problem>".
ImageInfo check_image(const std::string &name, const uint8_t *data, size_t size,
                      const ImageLimits &limits = {});

// check_image, then decodes to `channels` (1..4; stb converts). Throws
// polygrad::Error "NAME: <problem>".
DecodedImage decode_image(const std::string &name, const uint8_t *data, size_t size, int channels,
                          const ImageLimits &limits = {});

} // namespace polygrad::data
