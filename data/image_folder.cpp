#include <polygrad/data/image_folder.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <omp.h>

#include <stb/stb_image_resize.h>

#include <polygrad/core/error.h>
#include <polygrad/core/parallel.h>

namespace polygrad::data {

namespace fs = std::filesystem;

bool is_image_file(const std::string &path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  static const char *kExt[] = {".jpg", ".jpeg", ".png", ".bmp", ".tga", ".gif",
                               ".psd", ".hdr",  ".pic", ".ppm", ".pgm", ".pnm"};
  for (const char *e : kExt)
    if (ext == e)
      return true;
  return false;
}

ImageFolderIndex scan_image_folder(const std::string &root) {
  std::error_code ec;
  PG_CHECK(fs::is_directory(root, ec), root, ": not a folder (expected <root>/<class>/<image>)");
  ImageFolderIndex idx;
  for (const fs::directory_entry &e : fs::directory_iterator(root, ec))
    if (e.is_directory(ec) && e.path().filename().string()[0] != '.')
      idx.classes.push_back(e.path().filename().string());
  PG_CHECK(!ec, root, ": cannot list: ", ec.message());
  PG_CHECK(!idx.classes.empty(), root,
           ": empty folder: no class sub-folders (expected <root>/<class>/<image>)");
  std::sort(idx.classes.begin(), idx.classes.end());
  for (size_t k = 0; k < idx.classes.size(); ++k) {
    const fs::path dir = fs::path(root) / idx.classes[k];
    // Sorted by (folder, file name): torchvision's sorted(os.walk(...)) order.
    std::vector<std::pair<std::string, std::string>> found;
    for (auto it = fs::recursive_directory_iterator(
             dir, fs::directory_options::follow_directory_symlink, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name[0] == '.') {
        if (it->is_directory(ec))
          it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ec) && is_image_file(name))
        found.emplace_back(it->path().parent_path().string(), name);
    }
    PG_CHECK(!ec, dir.string(), ": cannot list: ", ec.message());
    PG_CHECK(!found.empty(), dir.string(), ": empty class folder: no image files (",
             "extensions .jpg .jpeg .png .bmp .tga .gif .psd .hdr .pic .ppm .pgm .pnm)");
    std::sort(found.begin(), found.end());
    for (const auto &[parent, name] : found) {
      idx.files.push_back((fs::path(parent) / name).string());
      idx.labels.push_back((int64_t)k);
    }
  }
  return idx;
}

namespace {

// Per-thread scratch buffers, reused across images (no allocation per image
// once they have grown).
struct Scratch {
  std::vector<unsigned char> file, resized;
};

void read_file(const std::string &path, std::vector<unsigned char> &buf, int64_t max_bytes) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  PG_CHECK(f, path, ": cannot open: ", std::strerror(errno));
  std::unique_ptr<std::FILE, int (*)(std::FILE *)> guard(f, &std::fclose);
  // One read of the whole file (its size from the seek), then a check that
  // nothing more arrived (a file growing while read is read to its end).
  PG_CHECK(std::fseek(f, 0, SEEK_END) == 0, path, ": cannot seek: ", std::strerror(errno));
  const long size = std::ftell(f);
  PG_CHECK(size >= 0 && std::fseek(f, 0, SEEK_SET) == 0, path, ": cannot seek");
  auto check_size = [&](int64_t bytes) {
    PG_CHECK(bytes <= max_bytes, path, ": file too large: ", bytes, " bytes, the limit is ",
             max_bytes, " (ImageLimits::max_file_bytes)");
  };
  check_size(size);
  buf.resize(size_t(size));
  size_t got = std::fread(buf.data(), 1, buf.size(), f);
  unsigned char more[4096];
  size_t r;
  while ((r = std::fread(more, 1, sizeof more, f)) > 0) {
    check_size(int64_t(got + r));
    buf.insert(buf.end(), more, more + r);
    got += r;
  }
  PG_CHECK(!std::ferror(f), path, ": read error: ", std::strerror(errno));
  buf.resize(got);
  PG_CHECK(!buf.empty(), path, ": empty file, cannot decode an image");
}

// One image as planar C*H*W bytes, or why it failed.
struct Decoded {
  std::vector<uint8_t> chw;
  int width = 0, height = 0;
  std::string error; // non-empty: failed
};

// Decodes `path` (bounds checked first, data/image_decode.h) to `c` channels,
// resized to rh x rw when both are > 0, into its own buffer.
void decode_file(const std::string &path, int c, int rh, int rw, const ImageLimits &limits,
                 Scratch &s, Decoded &out) {
  read_file(path, s.file, limits.max_file_bytes);
  DecodedImage img = decode_image(path, s.file.data(), s.file.size(), c, limits);
  const int iw = img.info.width, ih = img.info.height;
  const unsigned char *src = img.pixels.get();
  out.width = iw;
  out.height = ih;
  if (rh > 0 && (iw != rw || ih != rh)) {
    // uint8 in, sizes >= 1 checked by decode_image: no float data from the
    // file reaches the resizer.
    s.resized.resize(size_t(rw) * rh * c);
    PG_CHECK(stbir_resize_uint8(src, iw, ih, 0, s.resized.data(), rw, rh, 0, c), path,
             ": cannot resize from ", iw, "x", ih, " to ", rw, "x", rh);
    src = s.resized.data();
    out.width = rw;
    out.height = rh;
  }
  // Interleaved HWC (stb) -> planar CHW (ImageDataset).
  const int64_t plane = int64_t(out.height) * out.width;
  out.chw.resize(size_t(plane) * c);
  for (int64_t p = 0; p < plane; ++p)
    for (int ch = 0; ch < c; ++ch)
      out.chw[ch * plane + p] = src[p * c + ch];
}

// Decodes files[begin, end) on the OpenMP threads into out[0, end - begin).
// Never throws inside the parallel region: each image records its error.
void decode_chunk(const std::vector<std::string> &files, int64_t begin, int64_t end, int c, int rh,
                  int rw, const ImageLimits &limits, std::vector<Decoded> &out) {
  out.assign(size_t(end - begin), Decoded{});
  if (get_num_threads() > 1)
    detail::count_parallel_region();
#pragma omp parallel num_threads(get_num_threads())
  {
    Scratch s;
#pragma omp for schedule(dynamic, 8)
    for (int64_t i = begin; i < end; ++i) {
      Decoded &d = out[size_t(i - begin)];
      try {
        decode_file(files[i], c, rh, rw, limits, s, d);
      } catch (const std::exception &e) {
        try { // copying the message allocates: not even that may escape the region
          d.error = e.what();
        } catch (...) {
        }
        if (d.error.empty())
          d.error = "?";
        d.chw = {};
      } catch (...) {
        d.error = files[i] + ": unknown error while decoding";
        d.chw = {};
      }
    }
  }
}

} // namespace

ImageDataset load_image_folder(const std::string &root, const ImageFolderOptions &opt) {
  PG_CHECK(opt.channels >= 1 && opt.channels <= 4, "load_image_folder: channels must be 1..4, got ",
           opt.channels);
  PG_CHECK((opt.resize_height > 0) == (opt.resize_width > 0) && opt.resize_height >= 0 &&
               opt.resize_width >= 0,
           "load_image_folder: resize_height and resize_width must both be > 0 (resize) or both 0 "
           "(no resize), got ",
           opt.resize_height, " and ", opt.resize_width);
  PG_CHECK(opt.resize_height <= 65536 && opt.resize_width <= 65536,
           "load_image_folder: resize sizes must be <= 65536, got ", opt.resize_height, "x",
           opt.resize_width);
  ImageFolderIndex idx = scan_image_folder(root);
  const int c = (int)opt.channels;
  const int rh = (int)opt.resize_height, rw = (int)opt.resize_width;
  const int64_t n = (int64_t)idx.files.size();

  ImageDataset d;
  d.channels = c;
  d.height = rh; // 0 without resize: set by the first image that decodes
  d.width = rw;
  d.classes = std::move(idx.classes);
  d.source = root;
  // Each image is decoded into its own buffer and appended in file order, so
  // memory grows with what was really decoded: nothing is sized from a
  // header before its image has passed the limits and decoded. Chunks keep
  // the decoded-but-not-appended images to about 64 MB.
  const int64_t threads = get_num_threads();
  std::string first_file, first_error;
  int64_t bad = 0;
  std::vector<Decoded> chunk;
  for (int64_t begin = 0, size = 4 * threads; begin < n; begin += size) {
    if (d.height > 0)
      size = std::clamp<int64_t>((int64_t(64) << 20) / d.image_numel(), threads, 1024);
    const int64_t end = std::min(n, begin + size);
    decode_chunk(idx.files, begin, end, c, rh, rw, opt.limits, chunk);
    for (int64_t i = begin; i < end; ++i) {
      Decoded &img = chunk[size_t(i - begin)];
      if (img.error.empty() && d.height == 0) {
        d.height = img.height;
        d.width = img.width;
        first_file = idx.files[i];
        try { // address space only: pages are touched as images arrive
          d.pixels.reserve(size_t(n) * size_t(d.image_numel()));
        } catch (const std::exception &) {
        }
      }
      if (img.error.empty() && (img.height != d.height || img.width != d.width))
        img.error = detail::cat(idx.files[i], ": wrong size: image is ", img.width, "x", img.height,
                                " (width x height), expected ", d.width, "x", d.height, " like ",
                                first_file, "; set resize_height/resize_width to resize");
      if (!img.error.empty()) {
        if (opt.skip_bad_images) {
          std::fprintf(stderr, "warning: skipped %s\n", img.error.c_str());
          ++d.skipped;
        } else if (bad++ == 0) {
          first_error = img.error;
        }
      } else if (bad == 0) {
        try {
          d.pixels.insert(d.pixels.end(), img.chw.begin(), img.chw.end());
        } catch (const std::bad_alloc &) {
          throw Error(detail::cat(root, ": out of memory after ", d.n, " images of ", c, "x",
                                  d.height, "x", d.width, " (", d.pixels.size(),
                                  " bytes); set resize_height/resize_width"));
        }
        d.labels.push_back(idx.labels[i]);
        ++d.n;
      }
      img.chw = {};
    }
  }
  if (bad)
    throw Error(bad == 1 ? first_error
                         : detail::cat(first_error, " (and ", bad - 1,
                                       " more bad image files under ", root, ")"));
  if (d.skipped)
    std::fprintf(stderr, "warning: skipped %lld of %lld image files under %s (skip_bad_images)\n",
                 (long long)d.skipped, (long long)n, root.c_str());
  PG_CHECK(d.n > 0, root, ": no usable images: all ", n, " image files were skipped");
  return d;
}

} // namespace polygrad::data
