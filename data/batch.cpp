#include <polygrad/data/batch.h>

#include <array>

#include <polygrad/core/error.h>

namespace polygrad::data {

void BatchTransform::check(int64_t channels, const char *op) const {
  PG_CHECK(mean.size() == std.size(), op, ": mean has ", mean.size(), " entries but std has ",
           std.size());
  PG_CHECK(mean.empty() || (int64_t)mean.size() == channels, op, ": mean/std have ", mean.size(),
           " entries, expected one per channel (", channels, ") or none");
  for (size_t c = 0; c < std.size(); ++c)
    PG_CHECK(std[c] > 0.f, op, ": std[", c, "] = ", std[c], " must be > 0");
  PG_CHECK(crop_padding >= 0, op, ": crop padding must be >= 0, got ", crop_padding);
}

uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t sample) {
  // Two rounds of mixing so nearby (epoch, sample) pairs give unrelated streams.
  uint64_t s = seed ^ (uint64_t(epoch) * 0xd1b54a32d192ed03ULL);
  s = splitmix64(s) ^ uint64_t(sample);
  return splitmix64(s);
}

namespace {
// Unbiased-enough uniform integer in [0, n): the top 32 bits times n, >> 32
// (bias < n / 2^32, invisible for paddings of a few pixels).
int64_t uniform_int(uint64_t &state, int64_t n) {
  return int64_t(((splitmix64(state) >> 32) * uint64_t(n)) >> 32);
}
} // namespace

Batch make_batch(const ImageDataset &d, const int64_t *indices, int64_t count,
                 const BatchTransform &t, uint64_t seed, int64_t epoch) {
  const int64_t C = d.channels, H = d.height, W = d.width, plane = H * W;
  // lut[c][v] = (v / 255 - mean[c]) / std[c]: one table lookup per pixel.
  // A padded pixel is a zero pixel, so it becomes lut[c][0].
  std::vector<std::array<float, 256>> lut(C);
  for (int64_t c = 0; c < C; ++c) {
    const float m = t.mean.empty() ? 0.f : t.mean[c], s = t.std.empty() ? 1.f : t.std[c];
    for (int v = 0; v < 256; ++v)
      lut[c][v] = (float(v) / 255.f - m) / s;
  }
  Batch b;
  b.epoch = epoch;
  b.images = Tensor::empty({count, C, H, W});
  b.labels = Tensor::empty({count}, DType::Int64);
  float *out = b.images.data<float>();
  int64_t *lab = b.labels.data<int64_t>();
  const int64_t p = t.crop_padding;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t i = indices[k];
    PG_CHECK(i >= 0 && i < d.n, "make_batch: index ", i, " out of range for ", d.n, " images");
    lab[k] = d.labels[i];
    const uint8_t *src = d.image(i);
    float *dst = out + k * C * plane;
    int64_t dy = p, dx = p; // offsets into the padded image; p = centred
    bool flip = false;
    if (p > 0 || t.horizontal_flip) {
      uint64_t state = sample_seed(seed, epoch, i);
      if (p > 0) {
        dy = uniform_int(state, 2 * p + 1);
        dx = uniform_int(state, 2 * p + 1);
      }
      if (t.horizontal_flip)
        flip = (splitmix64(state) >> 63) != 0;
    }
    if (dy == p && dx == p && !flip) { // plain copy
      for (int64_t c = 0; c < C; ++c) {
        const float *l = lut[c].data();
        for (int64_t q = 0; q < plane; ++q)
          dst[c * plane + q] = l[src[c * plane + q]];
      }
      continue;
    }
    for (int64_t c = 0; c < C; ++c) {
      const float *l = lut[c].data();
      const uint8_t *sp = src + c * plane;
      float *dp = dst + c * plane;
      for (int64_t y = 0; y < H; ++y) {
        const int64_t sy = y + dy - p; // source row
        float *row = dp + y * W;
        if (sy < 0 || sy >= H) {
          for (int64_t x = 0; x < W; ++x)
            row[x] = l[0];
          continue;
        }
        const uint8_t *srow = sp + sy * W;
        for (int64_t x = 0; x < W; ++x) {
          const int64_t sx = (flip ? W - 1 - x : x) + dx - p; // source column
          row[x] = (sx >= 0 && sx < W) ? l[srow[sx]] : l[0];
        }
      }
    }
  }
  return b;
}

} // namespace polygrad::data
