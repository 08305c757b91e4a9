// Bounded image decoding (data/image_decode.h, issue 15): the crafted files
// fuzzing found in stb_image (tests/fixtures/reliability/, see its README)
// and one synthetic file per check must end in a polygrad::Error naming the
// file and the problem (or a skip under skip_bad_images), never in a crash,
// an out-of-bounds write or a large allocation. Run under the sanitizer
// build too (POLYGRAD_SANITIZE).
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>
#include <zlib.h>

#include <polygrad/core/error.h>
#include <polygrad/data/image_decode.h>
#include <polygrad/data/image_folder.h>

#include "test_data_util.h"

namespace pd = polygrad::data;
using Catch::Contains;
using namespace pg_test_data;

namespace {

const std::string kFixtures = PG_FIXTURE_DIR "/reliability/";

void put_chunk(Bytes &png, const char *type, const Bytes &data) {
  put_be32(png, uint32_t(data.size()));
  const size_t at = png.size();
  png.insert(png.end(), type, type + 4);
  png.insert(png.end(), data.begin(), data.end());
  put_be32(png, uint32_t(crc32(0, png.data() + at, uInt(png.size() - at))));
}

// A PNG written by hand (stb_image_write makes neither interlaced nor 16-bit
// files): IHDR, one IDAT holding `scanlines` (filter bytes included) deflated,
// IEND.
Bytes make_png(uint32_t w, uint32_t h, uint8_t depth, uint8_t colour, bool interlace,
               const Bytes &scanlines) {
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}, ihdr;
  put_be32(ihdr, w);
  put_be32(ihdr, h);
  ihdr.insert(ihdr.end(), {depth, colour, 0, 0, uint8_t(interlace)});
  put_chunk(png, "IHDR", ihdr);
  uLongf n = compressBound(uLong(scanlines.size()));
  Bytes z(n);
  REQUIRE(compress2(z.data(), &n, scanlines.data(), uLong(scanlines.size()), 9) == Z_OK);
  z.resize(n);
  put_chunk(png, "IDAT", z);
  put_chunk(png, "IEND", {});
  return png;
}

pd::ImageInfo check(const Bytes &b, const pd::ImageLimits &lim = {}) {
  return pd::check_image("mem.img", b.data(), b.size(), lim);
}

} // namespace

TEST_CASE("data: the crafted images fuzzing found in stb end in a clean error", "[data]") {
  struct Case {
    const char *file, *problem;
  };
  const Case cases[] = {
      // 128-byte GIF claiming 65282x65535: was 12.5 GB of zeroed dataset buffer.
      {"huge_header.gif", "image too large: the gif header declares 65282x65535"},
      // Out-of-bounds write in stbi__build_huffman (under ASan).
      {"stb_jpeg_huffman_oob.jpg", "Huffman table at byte"},
      // 77-byte PNG whose IDAT claims 1,080,033,280 bytes: stb reallocs ~1 GB.
      {"stb_png_idat_1gb_alloc.png", "chunk 'IDAT' at byte 33 declares 1080033280 bytes"},
      // HDR of width 0: NaN converted to int in stb_image_resize.
      {"stb_resize_nan.hdr", "hdr images are not accepted"},
      // 16-bit PGM decoded to fewer channels: stb's 8-bit channel conversion
      // of 16-bit samples, then an out-of-bounds read (fuzz/image_folder).
      {"stb_pnm16_convert_oob.pgm", "16-bit PNM (maxval > 255) is not accepted"},
      // A PPM whose height has 88 digits: signed overflow in stb's
      // stbi__pnm_getinteger (fuzz/image_folder).
      {"stb_pnm_int_overflow.ppm", "PNM header: the height has more than 9 digits"},
  };
  for (const Case &c : cases) {
    INFO(c.file);
    const Bytes bytes = read_file(kFixtures + c.file);
    REQUIRE(!bytes.empty());
    REQUIRE_THROWS_WITH(pd::check_image(c.file, bytes.data(), bytes.size()),
                        Contains(c.file) && Contains(c.problem));
    // Through the loader: a folder with a good image and the crafted one,
    // decoded to its size and resized (the harness's modes).
    TempDir t;
    const std::string root = t / "root";
    write_png(root + "/a/good.png", 4, 3, rgb_pattern(4, 3, 0));
    write_file(root + "/b/" + c.file, bytes);
    for (int64_t resize : {0, 8}) {
      pd::ImageFolderOptions o;
      o.resize_height = o.resize_width = resize;
      REQUIRE_THROWS_WITH(pd::load_image_folder(root, o),
                          Contains(root + "/b/" + c.file) && Contains(c.problem));
      o.skip_bad_images = true;
      const pd::ImageDataset d = pd::load_image_folder(root, o);
      CHECK(d.n == 1);
      CHECK(d.skipped == 1);
      CHECK(d.labels == std::vector<int64_t>{0});
    }
  }
}

TEST_CASE("data: skip_bad_images leaves out every bad file and keeps labels aligned", "[data]") {
  TempDir t;
  const std::string root = t / "root";
  write_png(root + "/a/0.png", 4, 3, rgb_pattern(4, 3, 0));
  write_file(root + "/a/1.gif", read_file(kFixtures + "huge_header.gif"));
  write_png(root + "/b/0.png", 2, 2, rgb_pattern(2, 2, 0)); // wrong size
  write_png(root + "/b/1.png", 4, 3, rgb_pattern(4, 3, 7));
  write_file(root + "/c/0.jpg", read_file(kFixtures + "stb_jpeg_huffman_oob.jpg"));
  write_png(root + "/c/1.png", 4, 3, rgb_pattern(4, 3, 9));

  REQUIRE_THROWS_WITH(pd::load_image_folder(root),
                      Contains(root + "/a/1.gif") && Contains("and 2 more bad image files"));
  pd::ImageFolderOptions o;
  o.skip_bad_images = true;
  const pd::ImageDataset d = pd::load_image_folder(root, o);
  REQUIRE(d.n == 3);
  REQUIRE(d.skipped == 3);
  REQUIRE(d.labels == std::vector<int64_t>{0, 1, 2});
  REQUIRE_NOTHROW(d.check());
  REQUIRE(d.image(1)[0] == 7); // b/1.png's first red pixel
  REQUIRE(d.image(2)[0] == 9);

  // Nothing usable at all is still an error.
  TempDir t2;
  write_file(t2 / "r/a/0.gif", read_file(kFixtures + "huge_header.gif"));
  REQUIRE_THROWS_WITH(pd::load_image_folder(t2 / "r", o),
                      Contains("no usable images: all 1 image files were skipped"));
}

TEST_CASE("data: image limits are checked on the header and configurable", "[data]") {
  TempDir t;
  write_png(t / "r/a/0.png", 4, 3, rgb_pattern(4, 3, 0));
  const Bytes png = read_file(t / "r/a/0.png");
  CHECK(check(png).width == 4);
  CHECK(check(png).height == 3);
  CHECK(std::string(check(png).format) == "png");

  pd::ImageLimits lim;
  lim.max_width = 3;
  CHECK_THROWS_WITH(check(png, lim), Contains("mem.img: image too large") && Contains("4x3") &&
                                         Contains("limits are 3x16384"));
  lim = {};
  lim.max_height = 2;
  CHECK_THROWS_WITH(check(png, lim), Contains("image too large"));
  lim = {};
  lim.max_pixels = 11;
  CHECK_THROWS_WITH(check(png, lim), Contains("and 11 pixels"));
  lim = {};
  lim.max_file_bytes = 10;
  CHECK_THROWS_WITH(check(png, lim), Contains("file too large"));
  lim.max_file_bytes = 0;
  CHECK_THROWS_WITH(check(png, lim), Contains("bad ImageLimits"));

  pd::ImageFolderOptions o;
  o.limits.max_pixels = 11;
  CHECK_THROWS_WITH(pd::load_image_folder(t / "r", o),
                    Contains(t / "r/a/0.png") && Contains("image too large"));
  o.limits.max_file_bytes = 10;
  CHECK_THROWS_WITH(pd::load_image_folder(t / "r", o),
                    Contains(t / "r/a/0.png") && Contains("file too large"));
  o.limits = {};
  CHECK(pd::load_image_folder(t / "r", o).n == 1);
}

TEST_CASE("data: PNG chunks and image data are bounded before stb decodes", "[data]") {
  // Interlaced 5x3 RGB (Adam7: passes of 1x1, 1x1, none, 1x1, 3x1, 2x2, 5x1
  // pixels; one filter byte per row): decodes, so the size bound is exact
  // enough for real files.
  Bytes lines;
  const int pass_w[7] = {1, 1, 2, 1, 3, 2, 5}, pass_h[7] = {1, 1, 0, 1, 1, 2, 1};
  for (int p = 0; p < 7; ++p)
    for (int y = 0; y < pass_h[p]; ++y) {
      lines.push_back(0);
      for (int x = 0; x < pass_w[p] * 3; ++x)
        lines.push_back(uint8_t(40 + p));
    }
  const Bytes interlaced = make_png(5, 3, 8, 2, true, lines);
  pd::DecodedImage img = pd::decode_image("i.png", interlaced.data(), interlaced.size(), 3);
  CHECK(img.info.width == 5);
  CHECK(img.pixels.get()[0] == 40);

  // 16-bit grey 2x2: 1 + 4 bytes per row.
  const Bytes deep = make_png(2, 2, 16, 0, false, {0, 255, 255, 0, 0, 0, 0, 0, 0, 0});
  img = pd::decode_image("d.png", deep.data(), deep.size(), 1);
  CHECK(img.pixels.get()[0] == 255);
  CHECK(img.pixels.get()[1] == 0);

  // A 1x1 image whose data inflates to 4 MB (a zlib bomb, 4 kB deflated).
  const Bytes bomb = make_png(1, 1, 8, 0, false, Bytes(4 << 20, 0));
  REQUIRE(bomb.size() < 8192);
  CHECK_THROWS_WITH(check(bomb), Contains("mem.img: cannot decode image: corrupt PNG: the image "
                                          "data inflates to more than"));
  // Too little data, as stb itself says.
  const Bytes few = make_png(4, 4, 8, 0, false, Bytes(3, 0));
  CHECK_THROWS_WITH(pd::decode_image("f.png", few.data(), few.size(), 1),
                    Contains("f.png: cannot decode image"));

  Bytes cut = make_png(2, 2, 8, 0, false, Bytes(6, 0));
  cut.resize(cut.size() - 12); // no IEND
  CHECK_THROWS_WITH(check(cut), Contains("truncated PNG: no IEND chunk"));
  cut.resize(cut.size() - 3); // IDAT's CRC cut
  CHECK_THROWS_WITH(check(cut), Contains("truncated or corrupt PNG: chunk 'IDAT'"));
  Bytes damaged = make_png(2, 2, 8, 0, false, Bytes(6, 0));
  damaged[41 + 4] ^= 0xFF; // inside the deflate stream (after the zlib header)
  CHECK_THROWS_WITH(check(damaged), Contains("cannot decode image"));
  const Bytes bad_depth = make_png(2, 2, 7, 0, false, Bytes(6, 0));
  CHECK_THROWS_WITH(check(bad_depth), Contains("corrupt PNG: bit depth 7 with colour type 0"));
  const Bytes empty = make_png(0, 2, 8, 0, false, Bytes(2, 0));
  CHECK_THROWS_WITH(check(empty), Contains("PNG header declares an empty image of 0x2"));
}

TEST_CASE("data: JPEG Huffman tables, refused and unknown formats", "[data]") {
  // SOI, then a DHT segment whose one table declares 16 * 17 = 272 codes.
  Bytes jpeg = {0xFF, 0xD8, 0xFF, 0xC4, 0x01, 0x23, 0x00};
  for (int i = 0; i < 16; ++i)
    jpeg.push_back(17);
  jpeg.resize(jpeg.size() + 272, 0);
  CHECK_THROWS_WITH(check(jpeg),
                    Contains("corrupt JPEG: Huffman table at byte 2 declares 272 codes"));
  // The same bytes anywhere in the file (stb resynchronises on any FF).
  Bytes later = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00};
  later.insert(later.end(), jpeg.begin() + 2, jpeg.end());
  CHECK_THROWS_WITH(check(later), Contains("Huffman table at byte 8 declares 272 codes"));

  // Formats stb decodes but polygrad refuses, by their magic bytes whatever
  // the extension.
  CHECK_THROWS_WITH(check(Bytes{'8', 'B', 'P', 'S', 0, 1, 0, 0}),
                    Contains("psd images are not accepted"));
  CHECK_THROWS_WITH(check(Bytes{'#', '?', 'R', 'G', 'B', 'E', '\n'}),
                    Contains("hdr images are not accepted"));
  CHECK_THROWS_WITH(check(Bytes{0x53, 0x80, 0xF6, 0x34, 0}),
                    Contains("pic images are not accepted"));
  // A TGA header (no magic): unknown, never handed to stb's TGA decoder.
  CHECK_THROWS_WITH(check(Bytes{0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 24, 0, 1, 2, 3}),
                    Contains("unknown format (first bytes 00 00 02 00 00 00 00 00)"));
  CHECK(std::string(pd::image_format(jpeg.data(), jpeg.size())) == "jpeg");
  CHECK(std::string(pd::image_format(nullptr, 0)).empty());
  CHECK_THROWS_WITH(check(Bytes{}), Contains("empty file"));
}
