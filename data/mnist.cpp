#include <polygrad/data/mnist.h>

#include <cstdio>
#include <filesystem>

#include <polygrad/core/error.h>
#include <polygrad/data/gzfile.h>

namespace polygrad::data {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kImagesMagic = 0x00000803; // type 0x08 = unsigned byte, 3 dims
constexpr uint32_t kLabelsMagic = 0x00000801; // type 0x08 = unsigned byte, 1 dim

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// Names the other IDX kind when a file is passed in the wrong slot.
std::string magic_hint(uint32_t magic) {
  if (magic == kLabelsMagic)
    return " (this is an IDX label file)";
  if (magic == kImagesMagic)
    return " (this is an IDX image file)";
  if ((magic >> 16) == 0x1f8b)
    return " (gzip header but the stream did not decode)";
  return "";
}

uint32_t read_magic(GzFile &f, uint32_t expected, const char *kind) {
  uint8_t b[4];
  f.read_exact(b, 4, "the IDX magic number");
  const uint32_t magic = read_be32(b);
  PG_CHECK(magic == expected, f.path(), ": bad magic ", hex32(magic), ", expected ",
           hex32(expected), " (IDX ", kind, ")", magic_hint(magic));
  return magic;
}

void check_no_trailing(GzFile &f, int64_t n, const char *what) {
  const uint64_t extra = f.remaining();
  PG_CHECK(extra == 0, f.path(), ": wrong count: ", extra, " bytes follow the ", n, " ", what,
           " the header declares");
}

} // namespace

IdxImages read_idx_images(const std::string &path) {
  GzFile f(path);
  read_magic(f, kImagesMagic, "unsigned-byte images, 3 dims");
  uint8_t h[12];
  f.read_exact(h, 12, "the header (count, rows, cols)");
  IdxImages out;
  out.n = read_be32(h);
  out.rows = read_be32(h + 4);
  out.cols = read_be32(h + 8);
  PG_CHECK(out.n > 0, path, ": wrong count: the header declares 0 images");
  PG_CHECK(out.rows > 0 && out.cols > 0 && out.rows <= 65536 && out.cols <= 65536, path,
           ": bad image size ", out.rows, "x", out.cols, " in the header");
  const std::string what = detail::cat("pixels (", out.n, " images of ", out.rows, "x", out.cols,
                                       " as the header declares)");
  // size_t products: count < 2^32 and rows, cols <= 2^16 cannot overflow 64 bits.
  out.pixels = f.read_bytes(size_t(out.n) * size_t(out.rows) * size_t(out.cols), what.c_str());
  check_no_trailing(f, out.n, "images");
  return out;
}

std::vector<int64_t> read_idx_labels(const std::string &path, int64_t num_classes) {
  PG_CHECK(num_classes >= 1 && num_classes <= 256,
           "read_idx_labels: num_classes must be in "
           "1..256, got ",
           num_classes);
  GzFile f(path);
  read_magic(f, kLabelsMagic, "unsigned-byte labels, 1 dim");
  uint8_t h[4];
  f.read_exact(h, 4, "the header (count)");
  const int64_t n = read_be32(h);
  PG_CHECK(n > 0, path, ": wrong count: the header declares 0 labels");
  const std::string what = detail::cat("labels (", n, " as the header declares)");
  const std::vector<uint8_t> bytes = f.read_bytes(size_t(n), what.c_str());
  check_no_trailing(f, n, "labels");
  std::vector<int64_t> labels(n);
  for (int64_t i = 0; i < n; ++i) {
    PG_CHECK(bytes[i] < num_classes, path, ": label ", int(bytes[i]), " at index ", i,
             " is out of range, valid labels are 0..", num_classes - 1);
    labels[i] = bytes[i];
  }
  return labels;
}

ImageDataset load_mnist(const std::string &images_path, const std::string &labels_path,
                        int64_t num_classes) {
  IdxImages im = read_idx_images(images_path);
  std::vector<int64_t> labels = read_idx_labels(labels_path, num_classes);
  PG_CHECK((int64_t)labels.size() == im.n, labels_path, ": count mismatch: ", labels.size(),
           " labels but ", images_path, " holds ", im.n, " images");
  ImageDataset d;
  d.n = im.n;
  d.channels = 1;
  d.height = im.rows;
  d.width = im.cols;
  d.pixels = std::move(im.pixels);
  d.labels = std::move(labels);
  for (int64_t k = 0; k < num_classes; ++k)
    d.classes.push_back(std::to_string(k));
  d.source = images_path;
  return d;
}

namespace {
// The first of <prefix>-<kind>-ubyte[.gz] / <prefix>-<kind with '.'>... that exists.
std::string find_idx(const fs::path &dir, const std::string &prefix, const std::string &kind,
                     bool *found) {
  std::error_code ec;
  for (const char *sep : {"-", "."})
    for (const char *ext : {"", ".gz"}) {
      const fs::path p = dir / (prefix + sep + kind + "-ubyte" + ext);
      if (fs::is_regular_file(p, ec)) {
        *found = true;
        return p.string();
      }
    }
  *found = false;
  return (dir / (prefix + "-" + kind + "-ubyte[.gz]")).string();
}
} // namespace

ImageDataset load_mnist_dir(const std::string &dir, Split split) {
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  bool fi = false, fl = false;
  const std::string images = find_idx(dir, prefix + "-images", "idx3", &fi);
  const std::string labels = find_idx(dir, prefix + "-labels", "idx1", &fl);
  PG_CHECK(fi, images, ": cannot open: no such file (MNIST ", split_name(split),
           " images expected in ", dir, ")");
  PG_CHECK(fl, labels, ": cannot open: no such file (MNIST ", split_name(split),
           " labels expected in ", dir, ")");
  return load_mnist(images, labels);
}

bool is_mnist_dir(const std::string &dir) {
  bool a = false, b = false;
  find_idx(dir, "train-images", "idx3", &a);
  find_idx(dir, "t10k-images", "idx3", &b);
  return a || b;
}

std::string embedded_mnist_dir() {
  std::vector<fs::path> tried;
  // 1. Next to this source file: the checkout the library was built from.
  tried.push_back(fs::path(__FILE__).parent_path() / "mnist-10k");
  // 2. Upwards from the running program (build trees sit inside the checkout).
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec)
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
      tried.push_back(p / "data" / "mnist-10k");
  for (const fs::path &p : tried)
    if (is_mnist_dir(p.string()))
      return p.string();
  std::string list;
  for (const fs::path &p : tried)
    list += "\n  " + p.string();
  throw Error("embedded MNIST digits not found; looked in:" + list +
              "\npass --data DIR with the MNIST IDX files (scripts/get_data.sh mnist DIR)");
}

} // namespace polygrad::data
