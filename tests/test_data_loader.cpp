// DataLoader and batch assembly: batch shapes and counts, drop_last, every
// sample exactly once per epoch, determinism for a seed (with and without the
// background thread), normalisation values, the crop/flip augmentation, the
// worker's exceptions reaching the consumer, and bad options.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <vector>

#include <polygrad/core/random.h>
#include <polygrad/data/batch.h>
#include <polygrad/data/dataloader.h>

namespace pg = polygrad;
namespace pd = polygrad::data;
using Catch::Contains;

namespace {

// n images of C x H x W; image i has every pixel = (i * 7 + c * 50) % 256 in
// channel c... except pixel q of channel c, which is (i + 3q + 11c) % 256 in
// `varied` mode (so crops/flips are visible). Label i % classes.
pd::ImageDataset make_data(int64_t n, int64_t C = 1, int64_t H = 2, int64_t W = 2,
                           int64_t classes = 10, bool varied = false) {
  pd::ImageDataset d;
  d.n = n;
  d.channels = C;
  d.height = H;
  d.width = W;
  for (int64_t k = 0; k < classes; ++k)
    d.classes.push_back(std::string("c").append(std::to_string(k)));
  d.source = "test data";
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < C; ++c)
      for (int64_t q = 0; q < H * W; ++q)
        d.pixels.push_back(varied ? uint8_t((i + 3 * q + 11 * c) % 256)
                                  : uint8_t((i * 7 + c * 50) % 256));
    d.labels.push_back(i % classes);
  }
  return d;
}

// The id of the sample a (non-varied, unnormalised, 1-channel) image row came
// from: pixel = (7 i) % 256, and 7 is invertible mod 256 (7 * 183 = 1281 = 5*256+1).
int64_t sample_id(const pg::Tensor &images, int64_t k) {
  const int64_t sz = images.numel() / images.size(0);
  const float v = images.data<float>()[k * sz] * 255.f;
  return (int64_t(std::lround(v)) * 183) % 256;
}

// All batches of one epoch, as (images, labels) value vectors.
struct Epoch {
  std::vector<std::vector<float>> images;
  std::vector<std::vector<int64_t>> labels;
  bool operator==(const Epoch &o) const { return images == o.images && labels == o.labels; }
};
Epoch run_epoch(pd::DataLoader &l) {
  Epoch e;
  for (auto &b : l) {
    e.images.push_back(b.images.to_vector<float>());
    e.labels.push_back(b.labels.to_vector<int64_t>());
  }
  return e;
}

} // namespace

TEST_CASE("data: loader batch shapes, size() and drop_last", "[data]") {
  for (int64_t prefetch : {0, 2}) {
    pd::DataLoaderOptions o;
    o.batch_size = 4;
    o.prefetch = prefetch;
    pd::DataLoader keep(make_data(10, 3, 5, 6), o);
    REQUIRE(keep.size() == 3);
    std::vector<int64_t> sizes;
    for (auto &b : keep) {
      REQUIRE(b.images.dtype() == pg::DType::Float32);
      REQUIRE(b.labels.dtype() == pg::DType::Int64);
      REQUIRE(b.images.shape() == pg::Shape{b.size(), 3, 5, 6});
      REQUIRE(b.labels.shape() == pg::Shape{b.size()});
      REQUIRE(b.index == (int64_t)sizes.size());
      sizes.push_back(b.size());
    }
    REQUIRE(sizes == std::vector<int64_t>{4, 4, 2});
    o.drop_last = true;
    pd::DataLoader drop(make_data(10, 3, 5, 6), o);
    REQUIRE(drop.size() == 2);
    sizes.clear();
    for (auto &b : drop)
      sizes.push_back(b.size());
    REQUIRE(sizes == std::vector<int64_t>{4, 4});
    REQUIRE(drop.stats().batches == 2);
  }
}

TEST_CASE("data: loader without shuffle keeps dataset order and pairs labels", "[data]") {
  pd::DataLoaderOptions o;
  o.batch_size = 3;
  pd::DataLoader l(make_data(8), o);
  int64_t next = 0;
  for (auto &b : l)
    for (int64_t k = 0; k < b.size(); ++k, ++next) {
      REQUIRE(sample_id(b.images, k) == next);
      REQUIRE(b.labels.data<int64_t>()[k] == next % 10);
    }
  REQUIRE(next == 8);
  REQUIRE(l.epoch_order(5) == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("data: shuffled epochs hold every sample exactly once", "[data]") {
  pg::manual_seed(3);
  pd::DataLoaderOptions o;
  o.batch_size = 16;
  o.shuffle = true;
  const int64_t n = 200;
  pd::DataLoader l(make_data(n), o);
  std::vector<std::vector<int64_t>> orders;
  for (int64_t epoch = 0; epoch < 4; ++epoch) {
    std::vector<int64_t> seen;
    for (auto &b : l) {
      REQUIRE(b.epoch == epoch);
      for (int64_t k = 0; k < b.size(); ++k) {
        const int64_t id = sample_id(b.images, k);
        REQUIRE(b.labels.data<int64_t>()[k] == id % 10); // image and label stay paired
        seen.push_back(id);
      }
    }
    REQUIRE(seen == l.epoch_order(epoch));
    std::vector<int64_t> sorted = seen;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < n; ++i)
      REQUIRE(sorted[i] == i);
    orders.push_back(seen);
  }
  // A new order each epoch, and not the identity.
  std::set<std::vector<int64_t>> distinct(orders.begin(), orders.end());
  REQUIRE(distinct.size() == 4);
  std::vector<int64_t> identity(n);
  for (int64_t i = 0; i < n; ++i)
    identity[i] = i;
  REQUIRE(distinct.count(identity) == 0);
}

TEST_CASE("data: drop_last drops different samples each epoch, never repeats one", "[data]") {
  pg::manual_seed(1);
  pd::DataLoaderOptions o;
  o.batch_size = 8;
  o.shuffle = true;
  o.drop_last = true;
  pd::DataLoader l(make_data(30), o);
  REQUIRE(l.size() == 3);
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::set<int64_t> seen;
    int64_t count = 0;
    for (auto &b : l)
      for (int64_t k = 0; k < b.size(); ++k, ++count)
        seen.insert(sample_id(b.images, k));
    REQUIRE(count == 24);
    REQUIRE(seen.size() == 24);
  }
}

TEST_CASE("data: loader determinism for a seed, thread or no thread", "[data]") {
  pd::DataLoaderOptions o;
  o.batch_size = 7;
  o.shuffle = true;
  o.random_crop_padding = 1;
  o.random_flip = true;
  o.mean = {0.5f, 0.4f};
  o.std = {0.2f, 0.3f};
  const pd::ImageDataset data = make_data(40, 2, 4, 4, 10, true);
  auto epochs = [&](uint64_t seed, int64_t prefetch) {
    pg::manual_seed(seed);
    pd::DataLoaderOptions oo = o;
    oo.prefetch = prefetch;
    pd::DataLoader l(data, oo);
    std::vector<Epoch> out;
    for (int e = 0; e < 3; ++e)
      out.push_back(run_epoch(l));
    return out;
  };
  const std::vector<Epoch> a = epochs(42, 2), b = epochs(42, 2), sync = epochs(42, 0),
                           deep = epochs(42, 5), other = epochs(43, 2);
  REQUIRE(a == b);
  REQUIRE(a == sync); // the background thread changes nothing
  REQUIRE(a == deep);
  REQUIRE(!(a[0] == other[0]));
  REQUIRE(!(a[0] == a[1])); // epochs differ
}

TEST_CASE("data: set_epoch replays an epoch exactly", "[data]") {
  pg::manual_seed(9);
  pd::DataLoaderOptions o;
  o.batch_size = 5;
  o.shuffle = true;
  o.random_crop_padding = 1;
  o.random_flip = true;
  pd::DataLoader l(make_data(23, 1, 4, 4, 10, true), o);
  const Epoch e0 = run_epoch(l), e1 = run_epoch(l);
  REQUIRE(l.epoch() == 2);
  l.set_epoch(1);
  REQUIRE(run_epoch(l) == e1);
  l.set_epoch(0);
  REQUIRE(run_epoch(l) == e0);
  // Break mid-epoch: the next pass is a fresh epoch, starting at batch 0.
  pd::Batch b;
  REQUIRE(l.next(b));
  REQUIRE(b.epoch == 1);
  REQUIRE(l.next(b));
  auto it = l.begin();
  REQUIRE(it->epoch == 2);
  REQUIRE(it->index == 0);
  // next() returns false exactly once at the end of an epoch.
  l.set_epoch(4);
  int64_t count = 0;
  while (l.next(b))
    ++count;
  REQUIRE(count == l.size());
  REQUIRE(l.next(b));
  REQUIRE(b.epoch == 5);
  REQUIRE_THROWS_WITH(l.set_epoch(-1), Contains("epoch must be >= 0, got -1"));
}

TEST_CASE("data: normalisation gives (pixel/255 - mean[c]) / std[c]", "[data]") {
  pd::ImageDataset d = make_data(2, 3, 1, 3);
  d.pixels = {0,   255, 51,  /**/ 10, 20, 30, /**/ 128, 128, 1, //
              255, 255, 255, /**/ 0,  0,  0,  /**/ 77,  78,  79};
  const std::vector<float> mean{0.5f, 0.25f, 0.1f}, std{0.5f, 0.2f, 2.0f};
  pd::DataLoaderOptions o;
  o.batch_size = 2;
  o.mean = mean;
  o.std = std;
  pd::DataLoader l(d, o);
  pd::Batch b;
  REQUIRE(l.next(b));
  const std::vector<float> got = b.images.to_vector<float>();
  REQUIRE(got.size() == 18);
  for (int64_t i = 0; i < 18; ++i) {
    const int64_t c = (i / 3) % 3;
    const float expect = (float(d.pixels[i]) / 255.f - mean[c]) / std[c];
    REQUIRE(got[i] == Approx(expect).margin(1e-6));
  }
  REQUIRE(got[0] == Approx(-1.0f)); // (0 - 0.5) / 0.5
  REQUIRE(got[1] == Approx(1.0f));  // (1 - 0.5) / 0.5
  REQUIRE(got[2] == Approx(-0.6f)); // (0.2 - 0.5) / 0.5
  // Without mean/std: plain [0, 1] scaling.
  pd::DataLoader plain(d, pd::DataLoaderOptions{});
  REQUIRE(plain.next(b));
  REQUIRE(b.images.to_vector<float>()[1] == 1.0f);
  REQUIRE(b.images.to_vector<float>()[2] == Approx(0.2f));
}

TEST_CASE("data: crop with padding and flip are real shifted/mirrored views", "[data]") {
  const int64_t C = 2, H = 5, W = 6, p = 2, n = 64;
  const pd::ImageDataset d = make_data(n, C, H, W, 10, true);
  pg::manual_seed(5);
  pd::DataLoaderOptions o;
  o.batch_size = 16;
  o.random_crop_padding = p;
  o.random_flip = true;
  o.mean = {0.3f, 0.6f};
  o.std = {0.5f, 0.25f};
  pd::DataLoader l(d, o);
  // Reference: the torchvision pipeline written out naively for one (dy, dx, flip).
  auto reference = [&](int64_t i, int64_t dy, int64_t dx, bool flip) {
    std::vector<float> out(C * H * W);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
          // crop from the zero-padded image, then mirror the crop
          const int64_t cx = flip ? W - 1 - x : x;
          const int64_t sy = y + dy - p, sx = cx + dx - p;
          const float v = (sy >= 0 && sy < H && sx >= 0 && sx < W)
                              ? float(d.image(i)[c * H * W + sy * W + sx]) / 255.f
                              : 0.f;
          out[c * H * W + y * W + x] = (v - o.mean[c]) / o.std[c];
        }
    return out;
  };
  std::set<std::tuple<int64_t, int64_t, bool>> used;
  for (auto &b : l) {
    REQUIRE(b.images.shape() == pg::Shape{b.size(), C, H, W});
    const float *img = b.images.data<float>();
    for (int64_t k = 0; k < b.size(); ++k) {
      const int64_t i = b.index * 16 + k; // no shuffle
      const std::vector<float> got(img + k * C * H * W, img + (k + 1) * C * H * W);
      bool matched = false;
      for (int64_t dy = 0; dy <= 2 * p && !matched; ++dy)
        for (int64_t dx = 0; dx <= 2 * p && !matched; ++dx)
          for (bool flip : {false, true}) {
            const std::vector<float> ref = reference(i, dy, dx, flip);
            bool same = true;
            for (size_t q = 0; q < ref.size() && same; ++q)
              same = std::abs(ref[q] - got[q]) < 1e-5f;
            if (same) {
              matched = true;
              used.insert({dy, dx, flip});
              break;
            }
          }
      REQUIRE(matched);
    }
  }
  // 64 samples spread over many of the 50 (dy, dx, flip) choices, both flips.
  REQUIRE(used.size() >= 20);
  bool flipped = false, plain = false;
  for (const auto &u : used)
    (std::get<2>(u) ? flipped : plain) = true;
  REQUIRE(flipped);
  REQUIRE(plain);
  // Augmentation is redrawn each epoch (deterministically: see determinism test).
  const Epoch e1 = run_epoch(l), e2 = run_epoch(l);
  REQUIRE(!(e1 == e2));
}

TEST_CASE("data: make_batch draws depend on (seed, epoch, sample), not the batch", "[data]") {
  const pd::ImageDataset d = make_data(10, 1, 6, 6, 10, true);
  pd::BatchTransform t;
  t.crop_padding = 3;
  t.horizontal_flip = true;
  const int64_t all[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  const int64_t some[3] = {7, 2, 5};
  const pd::Batch full = pd::make_batch(d, all, 10, t, 1234, 3);
  const pd::Batch part = pd::make_batch(d, some, 3, t, 1234, 3);
  const float *f = full.images.data<float>(), *s = part.images.data<float>();
  for (int k = 0; k < 3; ++k)
    for (int q = 0; q < 36; ++q)
      REQUIRE(s[k * 36 + q] == f[some[k] * 36 + q]);
  REQUIRE(part.labels.to_vector<int64_t>() == std::vector<int64_t>{7, 2, 5});
  REQUIRE(pd::sample_seed(1234, 3, 7) != pd::sample_seed(1234, 4, 7));
  REQUIRE(pd::sample_seed(1234, 3, 7) != pd::sample_seed(1235, 3, 7));
}

TEST_CASE("data: an exception in the worker reaches the consumer", "[data]") {
  for (int64_t prefetch : {0, 1, 3}) {
    pg::manual_seed(0);
    pd::DataLoaderOptions o;
    o.batch_size = 2;
    o.prefetch = prefetch;
    o.transform = [](pd::Batch &b, uint64_t) {
      if (b.index == 1)
        throw std::runtime_error("augmentation failed on batch 1");
      b.images.mul_(2.f);
    };
    pd::DataLoader l(make_data(6), o);
    pd::Batch b;
    REQUIRE(l.next(b));
    REQUIRE(b.index == 0);
    REQUIRE(b.images.data<float>()[4] * 255.f == Approx(14.f)); // sample 1 (pixel 7), doubled
    REQUIRE_THROWS_WITH(l.next(b), Contains("augmentation failed on batch 1"));
    REQUIRE(l.next(b)); // the loader carries on with the next batch
    REQUIRE(b.index == 2);
    REQUIRE(!l.next(b));
  }
}

TEST_CASE("data: transform seeds are deterministic per (seed, epoch, batch)", "[data]") {
  auto collect = [](uint64_t global_seed) {
    pg::manual_seed(global_seed);
    std::vector<uint64_t> seeds;
    pd::DataLoaderOptions o;
    o.batch_size = 3;
    o.prefetch = 0; // the transform runs on this thread, so `seeds` is safe
    o.transform = [&seeds](pd::Batch &, uint64_t s) { seeds.push_back(s); };
    pd::DataLoader l(make_data(9), o);
    run_epoch(l);
    run_epoch(l);
    return seeds;
  };
  const std::vector<uint64_t> a = collect(11), b = collect(11), c = collect(12);
  REQUIRE(a.size() == 6);
  REQUIRE(a == b);
  REQUIRE(a != c);
  REQUIRE(std::set<uint64_t>(a.begin(), a.end()).size() == 6);
}

TEST_CASE("data: loader stats count batches and waits; shutdown mid-epoch", "[data]") {
  pd::DataLoaderOptions o;
  o.batch_size = 4;
  o.prefetch = 0;
  pd::DataLoader sync(make_data(20), o);
  run_epoch(sync);
  pd::DataLoaderStats s = sync.stats();
  REQUIRE(s.batches == 5);
  REQUIRE(s.stalls == 5); // without a worker every batch is waited for
  REQUIRE(s.wait_seconds >= 0.0);
  REQUIRE(s.max_wait_seconds <= s.wait_seconds);
  sync.reset_stats();
  REQUIRE(sync.stats().batches == 0);

  o.prefetch = 2;
  pd::DataLoader async(make_data(20), o);
  run_epoch(async);
  s = async.stats();
  REQUIRE(s.batches == 5);
  REQUIRE(s.stalls <= 5);
  REQUIRE(s.prepare_seconds > 0.0);
  {
    // Destroyed with the worker running ahead: must join, not hang or crash.
    pd::DataLoader early(make_data(1000, 3, 8, 8), o);
    pd::Batch b;
    REQUIRE(early.next(b));
  }
  {
    pd::DataLoader never(make_data(10), o); // never iterated: no thread started
  }
}

TEST_CASE("data: loader rejects bad options with what is valid", "[data]") {
  const pd::ImageDataset d = make_data(10, 3, 2, 2);
  pd::DataLoaderOptions o;
  o.batch_size = 0;
  REQUIRE_THROWS_WITH(pd::DataLoader(d, o), Contains("batch_size must be >= 1, got 0"));
  o = {};
  o.mean = {0.5f};
  o.std = {0.5f};
  REQUIRE_THROWS_WITH(pd::DataLoader(d, o),
                      Contains("mean/std have 1 entries, expected one per channel (3)"));
  o.mean = {0.5f, 0.5f, 0.5f};
  o.std = {0.5f, 0.f, 0.5f};
  REQUIRE_THROWS_WITH(pd::DataLoader(d, o), Contains("std[1] = 0 must be > 0"));
  o.std = {0.5f, 0.5f};
  REQUIRE_THROWS_WITH(pd::DataLoader(d, o), Contains("mean has 3 entries but std has 2"));
  o = {};
  o.random_crop_padding = -1;
  REQUIRE_THROWS_WITH(pd::DataLoader(d, o), Contains("crop padding must be >= 0, got -1"));
  o = {};
  o.random_rotation = 200.f;
  REQUIRE_THROWS_WITH(pd::DataLoader(d, o), Contains("rotation must be in [0, 180] degrees"));
  o = {};
  o.random_translate = 1.5f;
  REQUIRE_THROWS_WITH(pd::DataLoader(d, o), Contains("translate must be a fraction in [0, 1)"));
  o.random_translate = 0.1f;
  o.random_flip = true;
  REQUIRE_THROWS_WITH(pd::DataLoader(d, o), Contains("cannot be combined with crop/flip"));
  o = {};
  o.batch_size = 11;
  o.drop_last = true;
  REQUIRE_THROWS_WITH(pd::DataLoader(d, o),
                      Contains("drop_last with batch_size 11 > the 10 images") &&
                          Contains("leaves no batch"));
  o = {};
  o.prefetch = -1;
  REQUIRE_THROWS_WITH(pd::DataLoader(d, o), Contains("prefetch must be >= 0, got -1"));
  pd::ImageDataset empty = make_data(0, 3, 2, 2);
  REQUIRE_THROWS_WITH(pd::DataLoader(empty, pd::DataLoaderOptions{}),
                      Contains("test data holds no images"));
  pd::ImageDataset bad = d;
  bad.labels[4] = 10;
  REQUIRE_THROWS_WITH(pd::DataLoader(bad, pd::DataLoaderOptions{}),
                      Contains("label 10 of image 4 is out of range, valid labels are 0..9"));
}

TEST_CASE("data: affine_image rotates counter-clockwise, shifts, samples bilinearly", "[data]") {
  // 4x4 image, pixel (y, x) = 10 y + x + 1.
  std::vector<uint8_t> img(16);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x)
      img[y * 4 + x] = uint8_t(10 * y + x + 1);
  std::vector<float> out(16);
  pd::affine_image(img.data(), 1, 4, 4, 0.f, 0.f, 0.f, out.data());
  for (int q = 0; q < 16; ++q)
    REQUIRE(out[q] == Approx(img[q]).margin(1e-4)); // identity
  // 90 degrees counter-clockwise (as displayed): out(y, x) = in(x, 3 - y); the
  // top-right pixel (0, 3) ends up top-left.
  pd::affine_image(img.data(), 1, 4, 4, 90.f, 0.f, 0.f, out.data());
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x)
      REQUIRE(out[y * 4 + x] == Approx(img[x * 4 + (3 - y)]).margin(1e-3));
  REQUIRE(out[0] == Approx(img[3]).margin(1e-3));
  // A shift of one pixel right and down: out(y, x) = in(y - 1, x - 1), 0 outside.
  pd::affine_image(img.data(), 1, 4, 4, 0.f, 1.f, 1.f, out.data());
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x)
      REQUIRE(out[y * 4 + x] ==
              Approx(y == 0 || x == 0 ? 0.f : float(img[(y - 1) * 4 + x - 1])).margin(1e-4));
  // Half a pixel right: the mean of horizontal neighbours (bilinear).
  pd::affine_image(img.data(), 1, 4, 4, 0.f, 0.5f, 0.f, out.data());
  REQUIRE(out[1 * 4 + 2] == Approx(0.5f * (img[1 * 4 + 1] + img[1 * 4 + 2])));
  REQUIRE(out[1 * 4 + 0] == Approx(0.5f * img[1 * 4 + 0])); // half outside: reads 0
}

TEST_CASE("data: loader affine augmentation is seeded, bounded and normalised", "[data]") {
  pd::ImageDataset d;
  d.n = 50;
  d.channels = 1;
  d.height = d.width = 28;
  d.classes = {"a", "b"};
  d.source = "digits";
  // A filled 8x8 square in the middle of each image.
  for (int64_t i = 0; i < d.n; ++i) {
    for (int64_t y = 0; y < 28; ++y)
      for (int64_t x = 0; x < 28; ++x)
        d.pixels.push_back(y >= 10 && y < 18 && x >= 10 && x < 18 ? 255 : 0);
    d.labels.push_back(i % 2);
  }
  pd::DataLoaderOptions o;
  o.batch_size = 50;
  o.shuffle = false;
  o.random_rotation = 10.f;
  o.random_translate = 0.08f;
  o.mean = {0.1307f};
  o.std = {0.3081f};
  auto once = [&](uint64_t seed) {
    pg::manual_seed(seed);
    pd::DataLoader l(d, o);
    pd::Batch b;
    REQUIRE(l.next(b));
    return b.images.to_vector();
  };
  const std::vector<float> a = once(5), b = once(5), c = once(6);
  REQUIRE(a == b);
  REQUIRE(a != c);
  const float lo = (0.f - 0.1307f) / 0.3081f, hi = (1.f - 0.1307f) / 0.3081f;
  int64_t distinct = 0;
  for (int64_t i = 0; i < 50; ++i) {
    double mass = 0, cy = 0, cx = 0;
    for (int64_t q = 0; q < 28 * 28; ++q) {
      const float v = a[i * 784 + q];
      REQUIRE(v >= lo - 1e-4f);
      REQUIRE(v <= hi + 1e-4f);
      const double m = (v - lo) / (hi - lo);
      mass += m;
      cy += m * (q / 28);
      cx += m * (q % 28);
    }
    // The square stays whole (rotation/shift keep its area, bilinear keeps
    // mass up to edge effects) and its centre moves by at most 0.08 * 28.
    REQUIRE(mass == Approx(64.0).epsilon(0.03));
    REQUIRE(std::abs(cy / mass - 13.5) <= 0.08 * 28 + 0.05);
    REQUIRE(std::abs(cx / mass - 13.5) <= 0.08 * 28 + 0.05);
    if (std::abs(cx / mass - 13.5) > 0.3)
      ++distinct;
  }
  REQUIRE(distinct > 20); // the shifts really vary
}
