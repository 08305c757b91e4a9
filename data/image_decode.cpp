#include <polygrad/data/image_decode.h>

#include <climits>
#include <cstring>
#include <utility>
#include <vector>

#include <stb/stb_image.h>
#include <zlib.h>

#include <polygrad/core/error.h>

namespace polygrad::data {

void StbImageFree::operator()(uint8_t *p) const { stbi_image_free(p); }

namespace {

bool starts_with(const uint8_t *d, size_t n, const char *magic, size_t m) {
  return n >= m && std::memcmp(d, magic, m) == 0;
}

uint32_t be32(const uint8_t *p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

std::string hex_head(const uint8_t *d, size_t n) {
  static const char *digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n && i < 8; ++i)
    s.append(i ? " " : "").append({digits[d[i] >> 4], digits[d[i] & 15]});
  return s;
}

[[noreturn]] void corrupt(const std::string &name, const std::string &what) {
  throw Error(name + ": cannot decode image: " + what);
}

void check_limits(const std::string &name, const char *format, int64_t w, int64_t h,
                  const ImageLimits &lim) {
  if (w < 1 || h < 1)
    corrupt(name, detail::cat(format, " header declares an empty image of ", w, "x", h,
                              " (width x height)"));
  PG_CHECK(w <= lim.max_width && h <= lim.max_height && w * h <= lim.max_pixels, name,
           ": image too large: the ", format, " header declares ", w, "x", h,
           " (width x height), the limits are ", lim.max_width, "x", lim.max_height, " and ",
           lim.max_pixels, " pixels (ImageLimits, e.g. ImageFolderOptions::limits)");
}

// stb reads a PNM header's width, height and maxval as `value = value * 10
// + digit` in int, with no bound: ten digits overflow (UB; found by
// fuzz/image_folder). The header is read here exactly as stb reads it
// (whitespace and '#' comments skipped, a byte past the end reads as 0 and
// stops a number) and a number of more than 9 digits, which no valid
// image needs, is an error before stb parses it.
void check_pnm_header(const std::string &name, const uint8_t *d, size_t n) {
  size_t pos = 2; // past "P5" / "P6"
  auto eof = [&] { return pos >= n; };
  auto get = [&]() -> char { return pos < n ? char(d[pos++]) : 0; };
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
  };
  char c = get();
  for (const char *what : {"width", "height", "maxval"}) {
    for (;;) { // stbi__pnm_skip_whitespace
      while (!eof() && space(c))
        c = get();
      if (eof() || c != '#')
        break;
      while (!eof() && c != '\n' && c != '\r')
        c = get();
    }
    int digits = 0; // stbi__pnm_getinteger
    while (!eof() && c >= '0' && c <= '9') {
      if (++digits > 9)
        corrupt(name, detail::cat("PNM header: the ", what, " has more than 9 digits"));
      c = get();
    }
  }
}

// stb's marker parser reads a DHT segment wherever the bytes FF C4 appear
// (after a scan it resynchronises on any FF), and builds each table of it
// before checking the code counts: more than 256 codes write past the end
// of its stbi__huffman arrays. So every FF C4 in the file is read as a DHT
// segment exactly as stb would (bytes past the end read as 0, a bad table
// header stops the segment) and no table may declare more than 256 codes,
// which no valid JPEG does.
void check_jpeg_huffman(const std::string &name, const uint8_t *d, size_t n) {
  auto get8 = [&](size_t i) -> int { return i < n ? d[i] : 0; };
  for (size_t p = 0; p + 1 < n; ++p) {
    if (d[p] != 0xFF || d[p + 1] != 0xC4)
      continue;
    size_t q = p + 2;
    long left = (get8(q) << 8 | get8(q + 1)) - 2;
    q += 2;
    while (left > 0) {
      const int tc_th = get8(q++);
      if ((tc_th >> 4) > 1 || (tc_th & 15) > 3)
        break; // stb refuses the segment here ("bad DHT header")
      long codes = 0;
      for (int i = 0; i < 16; ++i)
        codes += get8(q++);
      if (codes > 256)
        corrupt(name, detail::cat("corrupt JPEG: Huffman table at byte ", p, " declares ", codes,
                                  " codes, at most 256 are valid"));
      q += size_t(codes);
      left -= 17 + codes;
    }
  }
}

// Walks the PNG chunks (each must fit in the file; IHDR first, IEND last),
// checks the IHDR size against the limits, then inflates the IDAT stream
// into a small sink to prove it is no longer than the image needs.
void check_png(const std::string &name, const uint8_t *d, size_t n, const ImageLimits &lim) {
  size_t pos = 8;
  int64_t w = 0, h = 0, bits_per_pixel = 0;
  bool interlaced = false, raw_deflate = false, ended = false;
  std::vector<std::pair<size_t, size_t>> idat; // (offset, length) of each IDAT's data
  while (!ended) {
    if (n - pos < 8)
      corrupt(name, detail::cat("truncated PNG: ", pos == n ? "no IEND chunk" : "chunk header",
                                " at byte ", pos, " of ", n));
    const uint32_t len = be32(d + pos);
    const std::string type(reinterpret_cast<const char *>(d + pos + 4), 4);
    if (len > 0x7fffffffu || len > n - pos - 8 || n - pos - 8 - len < 4)
      corrupt(name, detail::cat("truncated or corrupt PNG: chunk '", type, "' at byte ", pos,
                                " declares ", len, " bytes of data, the file has ", n - pos - 8,
                                " left (with its 4-byte CRC)"));
    const uint8_t *data = d + pos + 8;
    if (pos == 8) {
      if (type != "IHDR" || len != 13)
        corrupt(name, "corrupt PNG: the first chunk is not a 13-byte IHDR");
      w = be32(data);
      h = be32(data + 4);
      const int depth = data[8], colour = data[9];
      const int samples = colour == 0   ? 1
                          : colour == 2 ? 3
                          : colour == 3 ? 1
                          : colour == 4 ? 2
                          : colour == 6 ? 4
                                        : 0;
      const bool depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
      if (!samples || !depth_ok)
        corrupt(name, detail::cat("corrupt PNG: bit depth ", depth, " with colour type ", colour));
      bits_per_pixel = int64_t(depth) * samples;
      interlaced = data[12] != 0;
      check_limits(name, "PNG", w, h, lim);
    } else if (type == "CgBI") {
      raw_deflate = true; // Apple's PNGs: deflate without the zlib header (stb reads them)
    } else if (type == "IDAT") {
      idat.emplace_back(pos + 8, len);
    } else if (type == "IEND") {
      ended = true;
    }
    pos += 12 + size_t(len);
  }
  if (idat.empty())
    corrupt(name, "corrupt PNG: no IDAT chunk (no image data)");

  // Bytes the filtered scanlines take: one filter byte per row, per pass
  // of Adam7 when interlaced.
  auto scanlines = [&](int64_t pw, int64_t ph) {
    return pw > 0 && ph > 0 ? ph * (1 + (pw * bits_per_pixel + 7) / 8) : 0;
  };
  int64_t need = 0;
  if (!interlaced) {
    need = scanlines(w, h);
  } else {
    static const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1},
                     dx[7] = {8, 8, 4, 4, 2, 2, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
    for (int p = 0; p < 7; ++p)
      need += scanlines((w - x0[p] + dx[p] - 1) / dx[p], (h - y0[p] + dy[p] - 1) / dy[p]);
  }
  // Some slack for encoders that pad the stream; far below what a zlib bomb
  // would make stb allocate.
  const int64_t bound = need + need / 8 + 65536;

  z_stream z{};
  PG_CHECK(inflateInit2(&z, raw_deflate ? -15 : 15) == Z_OK, name, ": zlib: cannot start inflate");
  std::unique_ptr<z_stream, int (*)(z_stream *)> guard(&z, &inflateEnd);
  unsigned char sink[16384];
  int64_t produced = 0;
  int rc = Z_OK;
  for (size_t c = 0; c < idat.size() && rc != Z_STREAM_END; ++c) {
    if (idat[c].second == 0)
      continue;
    z.next_in = const_cast<Bytef *>(d + idat[c].first);
    z.avail_in = uInt(idat[c].second);
    // Until this chunk's input is used up and zlib holds no pending output
    // (a full sink means there may be more).
    do {
      z.next_out = sink;
      z.avail_out = sizeof sink;
      rc = inflate(&z, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
        corrupt(name, detail::cat("corrupt PNG image data: ", z.msg ? z.msg : "zlib error"));
      produced += int64_t(sizeof sink - z.avail_out);
      if (produced > bound)
        corrupt(name, detail::cat("corrupt PNG: the image data inflates to more than ", bound,
                                  " bytes, a ", w, "x", h, " image of ", bits_per_pixel,
                                  " bits per pixel needs ", need));
    } while (rc == Z_OK && (z.avail_in > 0 || z.avail_out == 0));
  }
  if (rc != Z_STREAM_END)
    corrupt(name, "truncated PNG: the compressed image data ends early");
}

} // namespace

const char *image_format(const uint8_t *d, size_t n) {
  if (starts_with(d, n, "\xFF\xD8\xFF", 3))
    return "jpeg";
  if (starts_with(d, n, "\x89PNG\r\n\x1A\n", 8))
    return "png";
  if (starts_with(d, n, "GIF87a", 6) || starts_with(d, n, "GIF89a", 6))
    return "gif";
  if (starts_with(d, n, "BM", 2))
    return "bmp";
  if (n >= 3 && d[0] == 'P' && (d[1] == '5' || d[1] == '6') &&
      (d[2] == ' ' || d[2] == '\n' || d[2] == '\r' || d[2] == '\t'))
    return "pnm";
  if (starts_with(d, n, "#?RADIANCE", 10) || starts_with(d, n, "#?RGBE", 6))
    return "hdr";
  if (starts_with(d, n, "8BPS", 4))
    return "psd";
  if (starts_with(d, n, "\x53\x80\xF6\x34", 4))
    return "pic";
  return "";
}

ImageInfo check_image(const std::string &name, const uint8_t *d, size_t n, const ImageLimits &lim) {
  PG_CHECK(lim.max_width >= 1 && lim.max_height >= 1 && lim.max_pixels >= 1 &&
               lim.max_file_bytes >= 1 && lim.max_file_bytes <= INT_MAX,
           name, ": bad ImageLimits: sizes must be >= 1 and max_file_bytes <= ", INT_MAX);
  PG_CHECK(n > 0, name, ": empty file, cannot decode an image");
  PG_CHECK(int64_t(n) <= lim.max_file_bytes, name, ": file too large: ", n, " bytes, the limit is ",
           lim.max_file_bytes, " (ImageLimits::max_file_bytes)");
  ImageInfo info;
  info.format = image_format(d, n);
  const std::string f = info.format;
  if (f == "hdr" || f == "psd" || f == "pic")
    corrupt(name, detail::cat(f, " images are not accepted (stb_image's decoders for them are not "
                                 "safe on untrusted files); accepted: JPEG, PNG, GIF, BMP, PNM "
                                 "(P5/P6)"));
  if (f.empty())
    corrupt(name, detail::cat("unknown format (first bytes ", hex_head(d, n),
                              "); accepted: JPEG, PNG, GIF, BMP, PNM (P5/P6)"));
  // stb 2.27 decodes a 16-bit PNM (maxval > 255) to 16-bit samples, then
  // converts its channels with the 8-bit routine, sizing the result for
  // bytes, and reads past it converting to 8 bits (found by fuzz/image_folder).
  if (f == "pnm")
    check_pnm_header(name, d, n);
  if (f == "pnm" && stbi_is_16_bit_from_memory(d, (int)n))
    corrupt(name, "16-bit PNM (maxval > 255) is not accepted: stb_image's conversion of it reads "
                  "out of bounds; convert it to 8 bits");
  if (f == "jpeg")
    check_jpeg_huffman(name, d, n);
  else if (f == "png")
    check_png(name, d, n, lim);
  // Only the header is read here; the decoder that runs is the one of the
  // magic above (every other stb decoder, TGA's included, refuses these
  // first bytes).
  int comp = 0;
  if (!stbi_info_from_memory(d, (int)n, &info.width, &info.height, &comp))
    corrupt(name, stbi_failure_reason());
  check_limits(name, info.format, info.width, info.height, lim);
  if (comp < 1 || comp > 4)
    corrupt(name, detail::cat(f, " header declares ", comp, " channels, expected 1..4"));
  info.channels = comp;
  return info;
}

DecodedImage decode_image(const std::string &name, const uint8_t *d, size_t n, int channels,
                          const ImageLimits &lim) {
  PG_CHECK(channels >= 1 && channels <= 4, name, ": channels must be 1..4, got ", channels);
  DecodedImage out;
  out.info = check_image(name, d, n, lim);
  out.channels = channels;
  int w = 0, h = 0, comp = 0;
  out.pixels.reset(stbi_load_from_memory(d, (int)n, &w, &h, &comp, channels));
  if (!out.pixels)
    corrupt(name, stbi_failure_reason());
  // The decoder must agree with the header it was checked on.
  if (w != out.info.width || h != out.info.height)
    corrupt(name, detail::cat("decoded size ", w, "x", h, " differs from the header's ",
                              out.info.width, "x", out.info.height));
  return out;
}

} // namespace polygrad::data
