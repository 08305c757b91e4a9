#include <polygrad/data/image_folder.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <omp.h>

#include <stb/stb_image.h>
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

struct StbFree {
  void operator()(unsigned char *p) const { stbi_image_free(p); }
};

// Per-thread scratch buffers, reused across images (no allocation per image
// once they have grown).
struct Scratch {
  std::vector<unsigned char> file, resized;
};

void read_file(const std::string &path, std::vector<unsigned char> &buf) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  PG_CHECK(f, path, ": cannot open: ", std::strerror(errno));
  std::unique_ptr<std::FILE, int (*)(std::FILE *)> guard(f, &std::fclose);
  // One read of the whole file (its size from the seek), then a check that
  // nothing more arrived (a file growing while read is read to its end).
  PG_CHECK(std::fseek(f, 0, SEEK_END) == 0, path, ": cannot seek: ", std::strerror(errno));
  const long size = std::ftell(f);
  PG_CHECK(size >= 0 && std::fseek(f, 0, SEEK_SET) == 0, path, ": cannot seek");
  buf.resize(size_t(size));
  size_t got = std::fread(buf.data(), 1, buf.size(), f);
  unsigned char more[4096];
  size_t r;
  while ((r = std::fread(more, 1, sizeof more, f)) > 0) {
    buf.insert(buf.end(), more, more + r);
    got += r;
  }
  PG_CHECK(!std::ferror(f), path, ": read error: ", std::strerror(errno));
  buf.resize(got);
  PG_CHECK(!buf.empty(), path, ": empty file, cannot decode an image");
}

// Decodes `path` to `c` channels and writes it as C*H*W bytes to `out`.
// With `resize` the image is scaled to h x w; otherwise it must be h x w
// already (the size of `first`, the first image).
void decode_into(const std::string &path, int c, int h, int w, bool resize,
                 const std::string &first, Scratch &s, uint8_t *out) {
  read_file(path, s.file);
  int iw = 0, ih = 0, comp = 0;
  std::unique_ptr<unsigned char, StbFree> img(
      stbi_load_from_memory(s.file.data(), (int)s.file.size(), &iw, &ih, &comp, c));
  PG_CHECK(img, path, ": cannot decode image: ", stbi_failure_reason());
  const unsigned char *src = img.get();
  if (iw != w || ih != h) {
    PG_CHECK(resize, path, ": wrong size: image is ", iw, "x", ih, " (width x height), expected ",
             w, "x", h, " like ", first, "; set resize_height/resize_width to resize");
    s.resized.resize(size_t(w) * h * c);
    PG_CHECK(stbir_resize_uint8(src, iw, ih, 0, s.resized.data(), w, h, 0, c), path,
             ": cannot resize from ", iw, "x", ih, " to ", w, "x", h);
    src = s.resized.data();
  }
  // Interleaved HWC (stb) -> planar CHW (ImageDataset).
  const int64_t plane = int64_t(h) * w;
  for (int64_t p = 0; p < plane; ++p)
    for (int ch = 0; ch < c; ++ch)
      out[ch * plane + p] = src[p * c + ch];
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
  const bool resize = opt.resize_height > 0;
  const int c = (int)opt.channels;
  const int64_t n = (int64_t)idx.files.size();

  // The first image's header fixes the size (unless resizing) and catches a
  // folder of non-images before any parallel work.
  int h0 = 0, w0 = 0;
  {
    Scratch probe;
    read_file(idx.files[0], probe.file);
    PG_CHECK(stbi_info_from_memory(probe.file.data(), (int)probe.file.size(), &w0, &h0, nullptr),
             idx.files[0], ": cannot decode image: ", stbi_failure_reason());
    if (resize) {
      h0 = (int)opt.resize_height;
      w0 = (int)opt.resize_width;
    }
  }

  ImageDataset d;
  d.n = n;
  d.channels = c;
  d.height = h0;
  d.width = w0;
  d.classes = std::move(idx.classes);
  d.labels = std::move(idx.labels);
  d.source = root;
  const size_t total = size_t(n) * c * h0 * w0;
  try {
    d.pixels.resize(total);
  } catch (const std::exception &) {
    throw Error(detail::cat(root, ": cannot allocate ", total, " bytes for ", n, " images of ", c,
                            "x", h0, "x", w0, " (size of ", idx.files[0],
                            "); set resize_height/resize_width"));
  }
  const int64_t sz = d.image_numel();

  // Never throw inside the OpenMP region: each image records its own error
  // and the first one (in file order, so the message is deterministic) is
  // thrown afterwards.
  std::vector<std::string> errors(n);
  std::vector<char> failed(n, 0);
  if (get_num_threads() > 1)
    detail::count_parallel_region();
#pragma omp parallel num_threads(get_num_threads())
  {
    Scratch s;
#pragma omp for schedule(dynamic, 32)
    for (int64_t i = 0; i < n; ++i) {
      try {
        decode_into(idx.files[i], c, h0, w0, resize, idx.files[0], s, d.pixels.data() + i * sz);
      } catch (const std::exception &e) {
        failed[i] = 1;
        try { // copying the message allocates: not even that may escape the region
          errors[i] = e.what();
        } catch (...) {
        }
      } catch (...) {
        failed[i] = 1;
      }
    }
  }
  int64_t bad = 0, first_bad = -1;
  for (int64_t i = 0; i < n; ++i)
    if (failed[i] && bad++ == 0)
      first_bad = i;
  if (bad && errors[first_bad].empty())
    errors[first_bad] = idx.files[first_bad] + ": unknown error while decoding";
  if (bad)
    throw Error(bad == 1 ? errors[first_bad]
                         : detail::cat(errors[first_bad], " (and ", bad - 1,
                                       " more bad image files under ", root, ")"));
  return d;
}

} // namespace polygrad::data
