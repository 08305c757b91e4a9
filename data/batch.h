// Building one batch from uint8 images: the per-sample pipeline of
// torchvision's RandomCrop(H, padding=p) -> RandomHorizontalFlip() ->
// ToTensor() -> Normalize(mean, std), fused into one pass per image:
//
//   x = pixel / 255                                  (ToTensor, in [0, 1])
//   crop: out[c][y][x] = padded[c][y + dy][x + dx],  dy, dx uniform in 0..2p,
//         where padded is the image with p zero pixels on every side
//   flip: with probability 1/2, out[c][y][x] <- out[c][y][W-1-x]
//   affine (MNIST): out(x, y) = bilinear sample of the image at
//         c + R(-angle) (x - c - t), angle uniform in [-deg, deg]
//         (counter-clockwise as displayed), t uniform in [-f W, f W] x
//         [-f H, f H], c the image centre, zero outside the image
//         (torchvision's RandomAffine(deg, translate=(f, f)), bilinear)
//   out = (x - mean[c]) / std[c]                     (Normalize)
//
// Randomness: sample i of epoch e draws dy, dx, flip, angle, tx, ty (the
// enabled ones, in that order) from
// splitmix64 seeded with sample_seed(seed, e, i). The draws depend only on
// (seed, epoch, sample index), never on which batch the sample lands in, on
// thread timing or on the OpenMP thread count.
#pragma once

#include <cstdint>
#include <vector>

#include <polygrad/core/tensor.h>
#include <polygrad/data/dataset.h>

namespace polygrad::data {

// One batch: images float32 [B, C, H, W], labels int64 [B]; `epoch` and
// `index` (0-based batch number in the epoch) say where it came from.
struct Batch {
  Tensor images, labels;
  int64_t epoch = 0, index = 0;
  // How many of the last rows repeat earlier samples: the padding a loader
  // with num_replicas > 1 adds to the epoch's last global batch
  // (data/dataloader.h); exact metrics leave them out.
  int64_t padding = 0;
  int64_t size() const { return labels.defined() ? labels.numel() : 0; }
};

struct BatchTransform {
  std::vector<float> mean, std; // per channel; both empty: no normalisation
  int64_t crop_padding = 0;     // > 0: random crop with this zero padding
  bool horizontal_flip = false; // random left-right flip, p = 1/2
  float rotate_degrees = 0.f;   // random rotation in [-deg, deg], 0: none
  float translate = 0.f;        // random shift up to this fraction of W and H, 0: none
  // Throws naming `op` unless mean/std have `channels` entries (or none),
  // std > 0, crop_padding >= 0, 0 <= rotate_degrees <= 180, 0 <= translate < 1.
  void check(int64_t channels, const char *op) const;
};

// Usual normalisation constants (of the training sets, on [0, 1] pixels).
inline const std::vector<float> kMnistMean{0.1307f}, kMnistStd{0.3081f};
inline const std::vector<float> kCifar10Mean{0.4914f, 0.4822f, 0.4465f},
    kCifar10Std{0.2470f, 0.2435f, 0.2616f};

// Seed of the random stream of sample `sample` in epoch `epoch`.
uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t sample);
// splitmix64: advances `state` and returns the next 64 random bits.
uint64_t splitmix64(uint64_t &state);
// Shuffles v in place (Fisher-Yates driven by splitmix64 from `state`): the
// same state gives the same order on every platform (std::shuffle's does not).
void shuffle(std::vector<int64_t> &v, uint64_t state);

// Rotates the C x H x W image `src` by `degrees` (counter-clockwise as
// displayed) about its centre and then shifts it by (tx, ty) pixels (right,
// down), sampling bilinearly; dst gets pixel values in [0, 255] as floats,
// 0 where the source point lies outside the image.
void affine_image(const uint8_t *src, int64_t C, int64_t H, int64_t W, float degrees, float tx,
                  float ty, float *dst);

// The batch of images d[indices[0..count)] with transform `t` applied.
Batch make_batch(const ImageDataset &d, const int64_t *indices, int64_t count,
                 const BatchTransform &t, uint64_t seed, int64_t epoch);

} // namespace polygrad::data
