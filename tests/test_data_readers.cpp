// Readers of data/: MNIST IDX (plain and gzip'd), CIFAR-10 binary, image
// folders and `--data DIR` detection, on tiny files generated here, valid and
// corrupt in each way a reader must reject with a message naming the file and
// the problem. Also the 10,000 embedded digits.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>
#include <zlib.h>

#include <polygrad/data/cifar10.h>
#include <polygrad/data/dataset.h>
#include <polygrad/data/image_folder.h>
#include <polygrad/data/mnist.h>
#include <polygrad/data/source.h>

#include "test_data_util.h"

namespace pd = polygrad::data;
namespace fs = std::filesystem;
using Catch::Contains;
using namespace pg_test_data;

namespace {

void write_gz(const std::string &path, const Bytes &b) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, b.data(), (unsigned)b.size()) == (int)b.size());
  REQUIRE(gzclose(f) == Z_OK);
}

// An IDX image file: magic, count, rows, cols, then `pixels` as given.
Bytes idx_images(uint32_t count, uint32_t rows, uint32_t cols, const Bytes &pixels,
                 uint32_t magic = 0x803) {
  Bytes b;
  put_be32(b, magic);
  put_be32(b, count);
  put_be32(b, rows);
  put_be32(b, cols);
  b.insert(b.end(), pixels.begin(), pixels.end());
  return b;
}

Bytes idx_labels(uint32_t count, const Bytes &labels, uint32_t magic = 0x801) {
  Bytes b;
  put_be32(b, magic);
  put_be32(b, count);
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

// 3 images of 2x4 with pixel k of image i = 10*i + k, labels 7, 0, 9.
const Bytes kPixels = [] {
  Bytes p;
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 8; ++k)
      p.push_back(uint8_t(10 * i + k));
  return p;
}();
const Bytes kLabels = {7, 0, 9};

void check_tiny_mnist(const pd::ImageDataset &d) {
  REQUIRE(d.n == 3);
  REQUIRE(d.channels == 1);
  REQUIRE(d.height == 2);
  REQUIRE(d.width == 4);
  REQUIRE(d.pixels == kPixels);
  REQUIRE(d.labels == std::vector<int64_t>{7, 0, 9});
  REQUIRE(d.num_classes() == 10);
  REQUIRE(d.classes[7] == "7");
  REQUIRE_NOTHROW(d.check());
}

// A CIFAR record: label, then 3072 bytes where byte j = (seed + j) % 251.
Bytes cifar_record(uint8_t label, int seed) {
  Bytes r{label};
  for (int j = 0; j < 3072; ++j)
    r.push_back(uint8_t((seed + j) % 251));
  return r;
}

Bytes cat_bytes(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes &p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

} // namespace

// ---------------------------------------------------------------- MNIST IDX

TEST_CASE("data: MNIST IDX reads plain and gzip'd files alike", "[data]") {
  TempDir t;
  write_file(t / "img", idx_images(3, 2, 4, kPixels));
  write_file(t / "lab", idx_labels(3, kLabels));
  check_tiny_mnist(pd::load_mnist(t / "img", t / "lab"));
  write_gz(t / "img.gz", idx_images(3, 2, 4, kPixels));
  write_gz(t / "lab.gz", idx_labels(3, kLabels));
  REQUIRE(read_file(t / "img.gz")[0] == 0x1f); // really gzip'd
  check_tiny_mnist(pd::load_mnist(t / "img.gz", t / "lab.gz"));
  // Mixed: gzip'd images, plain labels.
  check_tiny_mnist(pd::load_mnist(t / "img.gz", t / "lab"));
}

TEST_CASE("data: MNIST folder uses the official file names, .gz or not", "[data]") {
  TempDir t;
  write_gz(t / "train-images-idx3-ubyte.gz", idx_images(3, 2, 4, kPixels));
  write_gz(t / "train-labels-idx1-ubyte.gz", idx_labels(3, kLabels));
  write_file(t / "t10k-images-idx3-ubyte", idx_images(1, 2, 4, Bytes(8, 5)));
  write_file(t / "t10k-labels-idx1-ubyte", idx_labels(1, {3}));
  REQUIRE(pd::is_mnist_dir(t.path.string()));
  check_tiny_mnist(pd::load_mnist_dir(t.path.string(), pd::Split::Train));
  pd::ImageDataset test = pd::load_mnist_dir(t.path.string(), pd::Split::Test);
  REQUIRE(test.n == 1);
  REQUIRE(test.labels == std::vector<int64_t>{3});
  REQUIRE(test.pixels == Bytes(8, 5));
  fs::remove(t / "t10k-labels-idx1-ubyte");
  REQUIRE_THROWS_WITH(pd::load_mnist_dir(t.path.string(), pd::Split::Test),
                      Contains("t10k-labels-idx1-ubyte") && Contains("no such file"));
}

TEST_CASE("data: MNIST IDX corrupt files name the file and the problem", "[data]") {
  TempDir t;
  const std::string img = t / "images-idx3-ubyte", lab = t / "labels-idx1-ubyte";
  write_file(lab, idx_labels(3, kLabels));

  SECTION("bad magic") {
    write_file(img, idx_images(3, 2, 4, kPixels, 0x802));
    REQUIRE_THROWS_WITH(pd::read_idx_images(img),
                        Contains(img) && Contains("bad magic 0x00000802, expected 0x00000803"));
  }
  SECTION("a label file given as images") {
    REQUIRE_THROWS_WITH(pd::read_idx_images(lab), Contains(lab) &&
                                                      Contains("bad magic 0x00000801") &&
                                                      Contains("this is an IDX label file"));
  }
  SECTION("an image file given as labels") {
    write_file(img, idx_images(3, 2, 4, kPixels));
    REQUIRE_THROWS_WITH(pd::read_idx_labels(img),
                        Contains(img) && Contains("this is an IDX image file"));
  }
  SECTION("short pixel data") {
    Bytes short_pixels(kPixels.begin(), kPixels.end() - 5);
    write_file(img, idx_images(3, 2, 4, short_pixels));
    REQUIRE_THROWS_WITH(pd::read_idx_images(img), Contains(img) &&
                                                      Contains("truncated: expected 24 bytes") &&
                                                      Contains("got 19"));
  }
  SECTION("short header") {
    write_file(img, Bytes{0, 0, 8, 3, 0, 0});
    REQUIRE_THROWS_WITH(pd::read_idx_images(img),
                        Contains(img) && Contains("truncated: expected 12 bytes of the header") &&
                            Contains("got 2"));
  }
  SECTION("empty file") {
    write_file(img, Bytes{});
    REQUIRE_THROWS_WITH(pd::read_idx_images(img),
                        Contains(img) && Contains("truncated") && Contains("magic"));
  }
  SECTION("count too small for the data") {
    write_file(img, idx_images(2, 2, 4, kPixels));
    REQUIRE_THROWS_WITH(pd::read_idx_images(img),
                        Contains(img) && Contains("wrong count: 8 bytes follow the 2 images"));
  }
  SECTION("count zero") {
    write_file(img, idx_images(0, 2, 4, {}));
    REQUIRE_THROWS_WITH(pd::read_idx_images(img), Contains(img) && Contains("declares 0 images"));
  }
  SECTION("absurd count: truncated, not an allocation failure") {
    write_file(img, idx_images(0x7fffffff, 28, 28, kPixels));
    REQUIRE_THROWS_WITH(pd::read_idx_images(img), Contains(img) && Contains("truncated"));
  }
  SECTION("zero image size") {
    write_file(img, idx_images(3, 0, 4, {}));
    REQUIRE_THROWS_WITH(pd::read_idx_images(img), Contains(img) && Contains("bad image size 0x4"));
  }
  SECTION("label out of range") {
    write_file(lab, idx_labels(3, {1, 10, 2}));
    REQUIRE_THROWS_WITH(pd::read_idx_labels(lab),
                        Contains(lab) &&
                            Contains("label 10 at index 1 is out of range, valid labels are 0..9"));
  }
  SECTION("short labels") {
    write_file(lab, idx_labels(3, {1, 2}));
    REQUIRE_THROWS_WITH(pd::read_idx_labels(lab), Contains(lab) &&
                                                      Contains("truncated: expected 3 bytes") &&
                                                      Contains("got 2"));
  }
  SECTION("images and labels disagree on the count") {
    write_file(img, idx_images(3, 2, 4, kPixels));
    write_file(lab, idx_labels(2, {1, 2}));
    REQUIRE_THROWS_WITH(pd::load_mnist(img, lab), Contains(lab) && Contains(img) &&
                                                      Contains("count mismatch: 2 labels but") &&
                                                      Contains("3 images"));
  }
  SECTION("missing file, folder instead of file") {
    REQUIRE_THROWS_WITH(pd::read_idx_images(t / "nope"),
                        Contains(t / "nope") && Contains("cannot open: no such file"));
    REQUIRE_THROWS_WITH(pd::read_idx_images(t.path.string()),
                        Contains(t.path.string()) && Contains("is a directory"));
  }
}

TEST_CASE("data: MNIST gzip damage is reported, never read as data", "[data]") {
  TempDir t;
  // Enough varied pixels that the compressed stream is long.
  Bytes pixels(200 * 28 * 28);
  for (size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = uint8_t((i * 2654435761u) >> 13);
  const std::string good = t / "good.gz";
  write_gz(good, idx_images(200, 28, 28, pixels));
  REQUIRE(pd::read_idx_images(good).pixels == pixels);
  const Bytes gz = read_file(good);
  REQUIRE(gz.size() > 1000);

  SECTION("gzip file cut in half") {
    const std::string p = t / "cut.gz";
    write_file(p, Bytes(gz.begin(), gz.begin() + gz.size() / 2));
    REQUIRE_THROWS_WITH(pd::read_idx_images(p),
                        Contains(p) && (Contains("truncated") || Contains("corrupt")));
  }
  SECTION("gzip stream with flipped bytes") {
    const std::string p = t / "flipped.gz";
    Bytes bad = gz;
    for (size_t i = gz.size() / 2; i < gz.size() / 2 + 16; ++i)
      bad[i] ^= 0x5a;
    write_file(p, bad);
    REQUIRE_THROWS_WITH(pd::read_idx_images(p),
                        Contains(p) && (Contains("corrupt") || Contains("truncated")));
  }
  SECTION("gzip trailer (CRC) damaged") {
    const std::string p = t / "crc.gz";
    Bytes bad = gz;
    bad[bad.size() - 6] ^= 0xff; // inside the CRC-32 of the trailer
    write_file(p, bad);
    REQUIRE_THROWS_WITH(pd::read_idx_images(p),
                        Contains(p) &&
                            Contains("corrupt or unreadable gzip stream: incorrect data check"));
  }
}

TEST_CASE("data: the embedded MNIST digits load (7,996 train / 2,004 test)", "[data]") {
  const std::string dir = std::string(PG_SOURCE_DIR) + "/data/mnist-10k";
  REQUIRE(fs::equivalent(pd::embedded_mnist_dir(), dir));
  REQUIRE(pd::detect_data(dir).format == pd::DataFormat::Mnist);
  pd::ImageDataset train = pd::load_mnist_dir(dir, pd::Split::Train);
  pd::ImageDataset test = pd::load_dataset(dir, pd::Split::Test);
  REQUIRE(train.n == 7996);
  REQUIRE(test.n == 2004);
  for (const pd::ImageDataset *d : {&train, &test}) {
    REQUIRE(d->channels == 1);
    REQUIRE(d->height == 28);
    REQUIRE(d->width == 28);
    REQUIRE_NOTHROW(d->check());
    // Every digit is present, in roughly MNIST's proportions (~10% each).
    const std::vector<int64_t> counts = pd::class_counts(*d);
    REQUIRE(counts.size() == 10);
    for (int64_t c : counts) {
      CHECK(c > d->n / 20);
      CHECK(c < d->n / 5);
    }
    // Real digits: mostly background, mean intensity near MNIST's 0.1307*255.
    double sum = 0;
    for (uint8_t p : d->pixels)
      sum += p;
    const double mean = sum / double(d->pixels.size());
    CHECK(mean > 25.0);
    CHECK(mean < 42.0);
  }
}

// ---------------------------------------------------------------- CIFAR-10

TEST_CASE("data: CIFAR-10 binary round trip on a 3-record file", "[data]") {
  TempDir t;
  const std::string p = t / "data_batch_1.bin";
  write_file(p, cat_bytes({cifar_record(0, 0), cifar_record(9, 100), cifar_record(4, 7)}));
  pd::ImageDataset d = pd::read_cifar10_file(p);
  REQUIRE(d.n == 3);
  REQUIRE(d.channels == 3);
  REQUIRE(d.height == 32);
  REQUIRE(d.width == 32);
  REQUIRE(d.labels == std::vector<int64_t>{0, 9, 4});
  REQUIRE(d.classes == pd::cifar10_classes());
  REQUIRE(d.classes[9] == "truck");
  // Record bytes 1..3072 are the R plane, G plane, B plane: NCHW as stored.
  const int seeds[3] = {0, 100, 7};
  for (int i = 0; i < 3; ++i) {
    const Bytes rec = cifar_record(0, seeds[i]);
    REQUIRE(Bytes(d.image(i), d.image(i) + 3072) == Bytes(rec.begin() + 1, rec.end()));
  }
  // Pixel (c=1, y=2, x=5) of image 1 is record byte 1 + 1024 + 2*32 + 5.
  REQUIRE(d.image(1)[1024 + 2 * 32 + 5] == uint8_t((100 + 1024 + 69) % 251));
  // gzip'd the same.
  write_gz(t / "b.bin.gz", read_file(p));
  REQUIRE(pd::read_cifar10_file(t / "b.bin.gz").pixels == d.pixels);
}

TEST_CASE("data: CIFAR-10 binary folder joins the five train batches in order", "[data]") {
  TempDir t;
  for (int k = 1; k <= 5; ++k)
    write_file(t / ("data_batch_" + std::to_string(k) + ".bin"),
               cat_bytes({cifar_record(uint8_t(k), k), cifar_record(uint8_t(k - 1), 50 + k)}));
  write_file(t / "test_batch.bin", cifar_record(3, 0));
  REQUIRE(pd::is_cifar10_binary_dir(t.path.string()));
  pd::ImageDataset train = pd::load_cifar10_binary(t.path.string(), pd::Split::Train);
  REQUIRE(train.n == 10);
  REQUIRE(train.labels == std::vector<int64_t>{1, 0, 2, 1, 3, 2, 4, 3, 5, 4});
  REQUIRE(train.image(4)[0] == 3); // first record of batch 3, seed 3
  pd::ImageDataset test = pd::load_cifar10_binary(t.path.string(), pd::Split::Test);
  REQUIRE(test.n == 1);
  REQUIRE(test.labels == std::vector<int64_t>{3});
  fs::remove(t / "data_batch_3.bin");
  REQUIRE_THROWS_WITH(pd::load_cifar10_binary(t.path.string(), pd::Split::Train),
                      Contains("data_batch_3.bin") && Contains("no such file"));
}

TEST_CASE("data: CIFAR-10 corrupt files name the file and the problem", "[data]") {
  TempDir t;
  const std::string p = t / "test_batch.bin";
  SECTION("truncated record") {
    Bytes b = cat_bytes({cifar_record(1, 0), cifar_record(2, 0), cifar_record(3, 0)});
    b.resize(b.size() - 100);
    write_file(p, b);
    REQUIRE_THROWS_WITH(pd::read_cifar10_file(p),
                        Contains(p) &&
                            Contains("9119 bytes is not a whole number of 3073-byte "
                                     "records") &&
                            Contains("2 full records and 2973 bytes left over"));
  }
  SECTION("empty file") {
    write_file(p, {});
    REQUIRE_THROWS_WITH(pd::read_cifar10_file(p), Contains(p) && Contains("empty file"));
  }
  SECTION("label out of range") {
    write_file(p, cat_bytes({cifar_record(1, 0), cifar_record(10, 0)}));
    REQUIRE_THROWS_WITH(
        pd::read_cifar10_file(p),
        Contains(p) && Contains("label 10 in record 1 is out of range, valid labels are 0..9"));
  }
}

// ---------------------------------------------------------------- image folder

TEST_CASE("data: image folder reads PNGs like torchvision's ImageFolder", "[data]") {
  TempDir t;
  const std::string root = t / "root";
  // Classes created out of order: labels follow the sorted names.
  write_png(root + "/dog/b.png", 4, 3, rgb_pattern(4, 3, 100));
  write_png(root + "/dog/a.png", 4, 3, rgb_pattern(4, 3, 50));
  write_png(root + "/cat/z.png", 4, 3, rgb_pattern(4, 3, 0));
  write_png(root + "/cat/sub/y.png", 4, 3, rgb_pattern(4, 3, 10)); // nested: after cat/*
  write_file(root + "/cat/notes.txt", {'h', 'i'});                 // not an image: skipped
  write_file(root + "/cat/.hidden.png", {1, 2, 3});                // hidden: skipped
  write_png(root + "/ant/q.PNG", 4, 3, rgb_pattern(4, 3, 20));     // extension case-insensitive

  const pd::ImageFolderIndex idx = pd::scan_image_folder(root);
  REQUIRE(idx.classes == std::vector<std::string>{"ant", "cat", "dog"});
  REQUIRE(idx.labels == std::vector<int64_t>{0, 1, 1, 2, 2});
  REQUIRE(fs::path(idx.files[1]).filename() == "z.png");
  REQUIRE(fs::path(idx.files[2]).filename() == "y.png");
  REQUIRE(fs::path(idx.files[3]).filename() == "a.png");

  pd::ImageDataset d = pd::load_image_folder(root);
  REQUIRE(d.n == 5);
  REQUIRE(d.channels == 3);
  REQUIRE(d.height == 3);
  REQUIRE(d.width == 4);
  REQUIRE(d.labels == idx.labels);
  REQUIRE(d.classes == idx.classes);
  // PNG is lossless: CHW bytes equal the HWC pattern written.
  const int bases[5] = {20, 0, 10, 50, 100};
  for (int i = 0; i < 5; ++i)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 4; ++x)
          REQUIRE(d.image(i)[c * 12 + y * 4 + x] == uint8_t(bases[i] + 16 * y + 4 * x + c));

  // Grey conversion gives one channel.
  pd::ImageFolderOptions grey;
  grey.channels = 1;
  pd::ImageDataset g = pd::load_image_folder(root, grey);
  REQUIRE(g.channels == 1);
  REQUIRE(g.pixels.size() == 5 * 12);
}

TEST_CASE("data: image folder decodes JPEG and resizes on request", "[data]") {
  TempDir t;
  const std::string root = t / "root";
  // A flat colour survives JPEG and resizing almost exactly.
  Bytes big, small;
  for (int i = 0; i < 16 * 12; ++i)
    big.insert(big.end(), {200, 100, 30});
  for (int i = 0; i < 8 * 6; ++i)
    small.insert(small.end(), {200, 100, 30});
  fs::create_directories(root + "/a");
  fs::create_directories(root + "/b");
  REQUIRE(stbi_write_jpg((root + "/a/big.jpg").c_str(), 16, 12, 3, big.data(), 95));
  REQUIRE(stbi_write_png((root + "/b/small.png").c_str(), 8, 6, 3, small.data(), 8 * 3));

  REQUIRE_THROWS_WITH(pd::load_image_folder(root),
                      Contains("small.png") &&
                          Contains("wrong size: image is 8x6 (width x height), expected 16x12") &&
                          Contains("big.jpg"));
  pd::ImageFolderOptions o;
  o.resize_height = 4;
  o.resize_width = 5;
  pd::ImageDataset d = pd::load_image_folder(root, o);
  REQUIRE(d.n == 2);
  REQUIRE(d.height == 4);
  REQUIRE(d.width == 5);
  const int colour[3] = {200, 100, 30};
  for (int i = 0; i < 2; ++i)
    for (int c = 0; c < 3; ++c)
      for (int q = 0; q < 20; ++q)
        REQUIRE(std::abs(int(d.image(i)[c * 20 + q]) - colour[c]) <= 3);

  o.resize_width = 0;
  REQUIRE_THROWS_WITH(pd::load_image_folder(root, o),
                      Contains("must both be > 0") && Contains("got 4 and 0"));
  o = {};
  o.channels = 5;
  REQUIRE_THROWS_WITH(pd::load_image_folder(root, o), Contains("channels must be 1..4, got 5"));
}

TEST_CASE("data: image folder errors name the file and the problem", "[data]") {
  TempDir t;
  const std::string root = t / "root";
  write_png(root + "/a/0.png", 4, 3, rgb_pattern(4, 3, 0));
  write_png(root + "/b/0.png", 4, 3, rgb_pattern(4, 3, 0));

  SECTION("undecodable image") {
    write_file(root + "/b/1.png", {'n', 'o', 't', ' ', 'a', ' ', 'p', 'n', 'g'});
    REQUIRE_THROWS_WITH(pd::load_image_folder(root),
                        Contains(root + "/b/1.png") && Contains("cannot decode image"));
  }
  SECTION("truncated image") {
    const Bytes png = read_file(root + "/a/0.png");
    write_file(root + "/a/1.png", Bytes(png.begin(), png.begin() + (long)png.size() / 2));
    REQUIRE_THROWS_WITH(pd::load_image_folder(root),
                        Contains(root + "/a/1.png") && Contains("cannot decode image"));
  }
  SECTION("empty image file") {
    write_file(root + "/b/1.png", {});
    REQUIRE_THROWS_WITH(pd::load_image_folder(root),
                        Contains(root + "/b/1.png") && Contains("empty file"));
  }
  SECTION("several bad files: the first in file order, and how many more") {
    write_file(root + "/b/2.png", {1, 2, 3});
    write_file(root + "/a/1.png", {1, 2, 3});
    write_file(root + "/b/1.png", {1, 2, 3});
    REQUIRE_THROWS_WITH(pd::load_image_folder(root),
                        Contains(root + "/a/1.png") && Contains("and 2 more bad image files"));
  }
  SECTION("empty class folder") {
    fs::create_directories(root + "/c");
    write_file(root + "/c/readme.txt", {'x'});
    REQUIRE_THROWS_WITH(pd::load_image_folder(root),
                        Contains(root + "/c") && Contains("empty class folder: no image files"));
  }
  SECTION("no class folders") {
    fs::create_directories(t / "flat");
    write_png(t / "flat/0.png", 4, 3, rgb_pattern(4, 3, 0));
    REQUIRE_THROWS_WITH(pd::load_image_folder(t / "flat"),
                        Contains(t / "flat") && Contains("no class sub-folders"));
  }
  SECTION("missing root") {
    REQUIRE_THROWS_WITH(pd::load_image_folder(t / "nope"),
                        Contains(t / "nope") && Contains("not a folder"));
  }
}

TEST_CASE("data: image folder decodes many files in parallel, in file order", "[data]") {
  TempDir t;
  const std::string root = t / "root";
  // 300 images of 2 classes; image j of class k is a flat grey of value 3*j+k.
  for (int k = 0; k < 2; ++k)
    for (int j = 0; j < 150; ++j) {
      char name[32];
      std::snprintf(name, sizeof name, "/c%d/%04d.png", k, j);
      write_png(root + name, 2, 2, Bytes(12, uint8_t(j + 100 * k)));
    }
  pd::ImageDataset d = pd::load_image_folder(root);
  REQUIRE(d.n == 300);
  for (int64_t i = 0; i < 300; ++i) {
    REQUIRE(d.labels[i] == i / 150);
    REQUIRE(d.image(i)[0] == uint8_t(i % 150 + 100 * (i / 150)));
    REQUIRE(d.image(i)[11] == d.image(i)[0]);
  }
}

// ---------------------------------------------------------------- --data DIR

TEST_CASE("data: --data DIR detection and loading", "[data]") {
  TempDir t;
  // MNIST
  write_file(t / "mnist/train-images-idx3-ubyte", idx_images(3, 2, 4, kPixels));
  write_file(t / "mnist/train-labels-idx1-ubyte", idx_labels(3, kLabels));
  REQUIRE(pd::detect_data(t / "mnist").format == pd::DataFormat::Mnist);
  check_tiny_mnist(pd::load_dataset(t / "mnist", pd::Split::Train));
  // CIFAR binary, given directly or as the folder it was unpacked into.
  write_file(t / "dl/cifar-10-batches-bin/test_batch.bin", cifar_record(2, 0));
  pd::DataSource s = pd::detect_data(t / "dl/cifar-10-batches-bin");
  REQUIRE(s.format == pd::DataFormat::Cifar10Binary);
  s = pd::detect_data(t / "dl");
  REQUIRE(s.format == pd::DataFormat::Cifar10Binary);
  REQUIRE(fs::path(s.dir).filename() == "cifar-10-batches-bin");
  REQUIRE(pd::load_dataset(t / "dl", pd::Split::Test).labels == std::vector<int64_t>{2});
  // Image-folder root with train/ and test/ (or the folder holding cifar10-jpeg/).
  const std::string jr = t / "x/cifar10-jpeg";
  for (const char *split : {"train", "test"})
    for (const char *cls : {"cat", "dog"})
      write_png(jr + "/" + split + "/" + cls + "/0.png", 4, 3, rgb_pattern(4, 3, 0));
  REQUIRE(pd::detect_data(jr).format == pd::DataFormat::ImageFolder);
  s = pd::detect_data(t / "x");
  REQUIRE(s.format == pd::DataFormat::ImageFolder);
  REQUIRE(fs::path(s.dir).filename() == "cifar10-jpeg");
  pd::ImageDataset train = pd::load_dataset(t / "x", pd::Split::Train);
  REQUIRE(train.n == 2);
  REQUIRE(train.classes == std::vector<std::string>{"cat", "dog"});
  REQUIRE(pd::load_dataset(s, pd::Split::Test).labels == std::vector<int64_t>{0, 1});
  // Test classes must match the train classes (labels are positions).
  write_png(jr + "/test/eel/0.png", 4, 3, rgb_pattern(4, 3, 0));
  REQUIRE_THROWS_WITH(pd::load_dataset(jr, pd::Split::Test),
                      Contains(jr + "/test") && Contains("class folders (cat dog eel) differ") &&
                          Contains("(cat dog)"));
  // Unknown and missing folders.
  fs::create_directories(t / "junk/stuff");
  write_file(t / "junk/readme.md", {'x'});
  REQUIRE_THROWS_WITH(pd::detect_data(t / "junk"), Contains(t / "junk") &&
                                                       Contains("not a recognised data folder") &&
                                                       Contains("it holds: readme.md stuff"));
  REQUIRE_THROWS_WITH(pd::detect_data(t / "missing"),
                      Contains(t / "missing") && Contains("no such data folder"));
  REQUIRE(std::string(pd::format_name(pd::DataFormat::Cifar10Binary)) == "cifar10-binary");
}

TEST_CASE("data: subset, head, balanced_head and class counts", "[data]") {
  TempDir t;
  write_file(t / "i", idx_images(3, 2, 4, kPixels));
  write_file(t / "l", idx_labels(3, kLabels));
  const pd::ImageDataset d = pd::load_mnist(t / "i", t / "l");
  const pd::ImageDataset s = pd::subset(d, {2, 0, 2});
  REQUIRE(s.n == 3);
  REQUIRE(s.labels == std::vector<int64_t>{9, 7, 9});
  REQUIRE(Bytes(s.image(0), s.image(0) + 8) == Bytes(d.image(2), d.image(2) + 8));
  REQUIRE(Bytes(s.image(1), s.image(1) + 8) == Bytes(d.image(0), d.image(0) + 8));
  REQUIRE(pd::head(d, 2).labels == std::vector<int64_t>{7, 0});
  REQUIRE(pd::head(d, 10).n == 3);
  REQUIRE(pd::class_counts(d) == std::vector<int64_t>{1, 0, 0, 0, 0, 0, 0, 1, 0, 1});
  // balanced_head: the first count / C of each class (one more for the first
  // count % C classes), in order. On a set stored class by class (as image
  // folders are) head() keeps only the first classes; balanced_head keeps
  // every class.
  pd::ImageDataset sorted = pd::subset(d, {1, 1, 1, 0, 0, 2, 2, 2});
  REQUIRE(sorted.labels == std::vector<int64_t>{0, 0, 0, 7, 7, 9, 9, 9});
  REQUIRE(pd::head(sorted, 3).labels == std::vector<int64_t>{0, 0, 0});
  REQUIRE(pd::balanced_head(sorted, 20).labels == std::vector<int64_t>{0, 0, 7, 7, 9, 9});
  REQUIRE(pd::balanced_head(sorted, 30).labels == sorted.labels);          // 3 each: all
  REQUIRE(pd::balanced_head(sorted, 1).labels == std::vector<int64_t>{0}); // class 0's extra one
  REQUIRE(pd::balanced_head(sorted, 28).labels == std::vector<int64_t>{0, 0, 0, 7, 7, 9, 9});
  REQUIRE(pd::balanced_head(sorted, 18).labels == std::vector<int64_t>{0, 0, 7, 7, 9}); // 9: 1
  REQUIRE(pd::balanced_head(sorted, 0).n == 0);
  REQUIRE(pd::class_counts(pd::balanced_head(sorted, 20)) ==
          std::vector<int64_t>{2, 0, 0, 0, 0, 0, 0, 2, 0, 2});
  REQUIRE_THROWS_WITH(pd::balanced_head(sorted, -1), Contains("count must be >= 0"));
  REQUIRE_THROWS_WITH(pd::subset(d, {0, 3}),
                      Contains("index 3 (position 1) is out of range for a dataset of 3"));
  pd::ImageDataset bad = d;
  bad.labels[1] = 12;
  REQUIRE_THROWS_WITH(bad.check(), Contains("label 12 of image 1 is out of range"));
}
