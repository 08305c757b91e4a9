#include <polygrad/data/batch.h>

#include <array>
#include <cmath>
#include <utility>

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
  PG_CHECK(rotate_degrees >= 0.f && rotate_degrees <= 180.f, op,
           ": rotation must be in [0, 180] degrees, got ", rotate_degrees);
  PG_CHECK(translate >= 0.f && translate < 1.f, op,
           ": translate must be a fraction in [0, 1), got ", translate);
  PG_CHECK(!((rotate_degrees > 0.f || translate > 0.f) && (crop_padding > 0 || horizontal_flip)),
           op, ": the affine augmentation (rotation/translate) cannot be combined with crop/flip");
}

void affine_image(const uint8_t *src, int64_t C, int64_t H, int64_t W, float degrees, float tx,
                  float ty, float *dst) {
  // Inverse map: output pixel (x, y) reads the source at
  //   s = c + R(-a) (x - c - t),  R(-a) (u, v) = (u cos a - v sin a, u sin a + v cos a)
  // (y points down, so this turns the picture counter-clockwise by a).
  const double a = degrees * 3.14159265358979323846 / 180.0;
  const float ca = (float)std::cos(a), sa = (float)std::sin(a);
  const float cx = 0.5f * float(W - 1), cy = 0.5f * float(H - 1);
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      const float u = float(x) - cx - tx, v = float(y) - cy - ty;
      const float sx = cx + u * ca - v * sa, sy = cy + u * sa + v * ca;
      const float fx = std::floor(sx), fy = std::floor(sy);
      const int64_t x0 = (int64_t)fx, y0 = (int64_t)fy;
      const float wx = sx - fx, wy = sy - fy;
      // Weights of the 4 neighbours; a neighbour outside the image reads 0.
      const float w[4] = {(1 - wx) * (1 - wy), wx * (1 - wy), (1 - wx) * wy, wx * wy};
      const int64_t xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
      for (int64_t c = 0; c < C; ++c) {
        const uint8_t *plane = src + c * H * W;
        float acc = 0.f;
        for (int k = 0; k < 4; ++k)
          if (xs[k] >= 0 && xs[k] < W && ys[k] >= 0 && ys[k] < H && w[k] != 0.f)
            acc += w[k] * float(plane[ys[k] * W + xs[k]]);
        dst[(c * H + y) * W + x] = acc;
      }
    }
}

uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void shuffle(std::vector<int64_t> &v, uint64_t state) {
  // Fisher-Yates: swap position i with a uniform j in [0, i]. j is the high
  // half of a 64x64-bit product (bias < n / 2^64).
  for (int64_t i = (int64_t)v.size() - 1; i > 0; --i) {
    const auto j = int64_t((unsigned __int128)splitmix64(state) * uint64_t(i + 1) >> 64);
    std::swap(v[i], v[j]);
  }
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
// Uniform float in [-r, r] from the top 24 bits.
float uniform_sym(uint64_t &state, float r) {
  return r * (float(splitmix64(state) >> 40) * (2.f / 16777216.f) - 1.f);
}
} // namespace

Batch make_batch(const ImageDataset &d, const int64_t *indices, int64_t count,
                 const BatchTransform &t, uint64_t seed, int64_t epoch) {
  const int64_t C = d.channels, H = d.height, W = d.width, plane = H * W;
  // lut[c][v] = (v / 255 - mean[c]) / std[c]: one table lookup per pixel.
  // A padded pixel is a zero pixel, so it becomes lut[c][0].
  // The affine path samples between pixels, so it normalises arithmetically:
  // out = v * gain[c] - bias[c] (the same map as the table).
  std::vector<std::array<float, 256>> lut(C);
  std::vector<float> gain(C), bias(C);
  for (int64_t c = 0; c < C; ++c) {
    const float m = t.mean.empty() ? 0.f : t.mean[c], s = t.std.empty() ? 1.f : t.std[c];
    for (int v = 0; v < 256; ++v)
      lut[c][v] = (float(v) / 255.f - m) / s;
    gain[c] = 1.f / (255.f * s);
    bias[c] = m / s;
  }
  Batch b;
  b.epoch = epoch;
  b.images = Tensor::empty({count, C, H, W});
  b.labels = Tensor::empty({count}, DType::Int64);
  float *out = b.images.data<float>();
  int64_t *lab = b.labels.data<int64_t>();
  const int64_t p = t.crop_padding;
  const bool affine = t.rotate_degrees > 0.f || t.translate > 0.f;
  std::vector<float> warped(affine ? C * plane : 0);
  for (int64_t k = 0; k < count; ++k) {
    const int64_t i = indices[k];
    PG_CHECK(i >= 0 && i < d.n, "make_batch: index ", i, " out of range for ", d.n, " images");
    lab[k] = d.labels[i];
    const uint8_t *src = d.image(i);
    float *dst = out + k * C * plane;
    int64_t dy = p, dx = p; // offsets into the padded image; p = centred
    bool flip = false;
    float angle = 0.f, tx = 0.f, ty = 0.f;
    if (p > 0 || t.horizontal_flip || affine) {
      uint64_t state = sample_seed(seed, epoch, i);
      if (p > 0) {
        dy = uniform_int(state, 2 * p + 1);
        dx = uniform_int(state, 2 * p + 1);
      }
      if (t.horizontal_flip)
        flip = (splitmix64(state) >> 63) != 0;
      if (t.rotate_degrees > 0.f)
        angle = uniform_sym(state, t.rotate_degrees);
      if (t.translate > 0.f) {
        tx = uniform_sym(state, t.translate * float(W));
        ty = uniform_sym(state, t.translate * float(H));
      }
    }
    if (affine) {
      affine_image(src, C, H, W, angle, tx, ty, warped.data());
      for (int64_t c = 0; c < C; ++c)
        for (int64_t q = 0; q < plane; ++q)
          dst[c * plane + q] = warped[c * plane + q] * gain[c] - bias[c];
      continue;
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
