// DataLoader: batches of (images float32 [B, C, H, W], labels int64 [B]) from
// an in-memory ImageDataset, like torch.utils.data.DataLoader.
//
//   data::DataLoaderOptions o;
//   o.batch_size = 128; o.shuffle = true;
//   o.mean = data::kCifar10Mean; o.std = data::kCifar10Std;
//   o.random_crop_padding = 4; o.random_flip = true;   // CIFAR augmentation
//   data::DataLoader train(data::load_dataset(dir, data::Split::Train), o);
//   for (int64_t epoch = 0; epoch < epochs; ++epoch) {
//     train.set_epoch(epoch);
//     for (auto &batch : train) step(batch.images, batch.labels);
//   }
//
// Randomness: the constructor draws one 64-bit seed from the global generator
// (so manual_seed(s) before construction fixes everything). Epoch e's order is
// a Fisher-Yates shuffle driven by splitmix64(seed, e); augmentation draws
// depend only on (seed, e, sample index) (see batch.h). So the batches of an
// epoch are a pure function of (seed, epoch): same with or without the
// background thread, whatever the timing, and the same if epochs are replayed.
//
// Background thread: with prefetch > 0 a worker thread builds the next
// `prefetch` batches while the caller trains on the current one (the caller
// waits only if the worker is behind; stats() measures that). It keeps going
// into the next epoch, so the first batch of an epoch is usually ready too.
// An exception thrown while building a batch (also by `transform`) is
// re-thrown by next() for that batch. The destructor stops the worker.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <polygrad/data/batch.h>
#include <polygrad/data/dataset.h>

namespace polygrad::data {

struct DataLoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = false;   // a new random order every epoch
  bool drop_last = false; // drop the last batch if it is smaller than batch_size
  // Per-channel normalisation out = (pixel/255 - mean[c]) / std[c]; both empty:
  // pixels scaled to [0, 1] only.
  std::vector<float> mean{}, std{};
  int64_t random_crop_padding = 0; // > 0: random crop with this zero padding (CIFAR: 4)
  bool random_flip = false;        // random horizontal flip, p = 1/2
  // MNIST augmentation (torchvision RandomAffine(degrees, translate=(f, f)),
  // bilinear): rotation uniform in [-random_rotation, random_rotation]
  // degrees, shift uniform in +-random_translate of the width/height.
  float random_rotation = 0.f;
  float random_translate = 0.f;
  int64_t prefetch = 2; // batches built ahead by the worker; 0: no thread
  // Data parallel (torch's DistributedSampler, with a global batch): the
  // loader of rank `rank` of `num_replicas` processes. batch_size is then
  // the global batch B and must be a multiple of num_replicas N. Each epoch's
  // order is the one-process loader's (same seed: construct it after the
  // same manual_seed on every rank), padded to a multiple of N by repeating
  // its first samples, as DistributedSampler pads (without drop_last);
  // global batch k, the order's positions [kB, kB + B), is cut into N equal
  // contiguous slices and this loader yields slice `rank`. So the N ranks
  // together see exactly the global batches of a one-process run with batch
  // B (the last, shorter one padded to a multiple of N; with drop_last it
  // is dropped), with the same per-sample augmentation.
  int64_t num_replicas = 1;
  int64_t rank = 0;
  // Optional extra step run on each finished batch in the worker thread (e.g.
  // MNIST random shifts/rotations). `seed` is a deterministic function of the
  // loader seed, epoch and batch index: derive all randomness from it.
  std::function<void(Batch &batch, uint64_t seed)> transform{};
};

// How long the consumer waited on data. With a working prefetch, `wait_seconds`
// stays near zero while `prepare_seconds` is the work moved off the training
// thread.
struct DataLoaderStats {
  int64_t batches = 0;         // batches handed out by next()
  int64_t stalls = 0;          // of which next() found none ready and had to wait
  double wait_seconds = 0;     // total time next() blocked
  double max_wait_seconds = 0; // longest single wait
  double prepare_seconds = 0;  // time spent building batches (worker thread)
};

class DataLoader {
public:
  DataLoader(std::shared_ptr<const ImageDataset> data, DataLoaderOptions options);
  // Takes the dataset by value: pass an rvalue (load_dataset(...)) to move it in.
  DataLoader(ImageDataset data, DataLoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader &) = delete;
  DataLoader &operator=(const DataLoader &) = delete;

  int64_t size() const { return num_batches_; } // batches per epoch (global batches)
  int64_t num_samples() const { return data_->n; }
  const ImageDataset &dataset() const { return *data_; }
  const DataLoaderOptions &options() const { return opt_; }
  uint64_t seed() const { return seed_; }
  int64_t epoch() const; // the epoch next() is in (or starts next)

  // The next pass (iteration over all batches) is epoch e. Abandons a pass
  // in progress. Without set_epoch, passes are epochs 0, 1, 2, ...
  void set_epoch(int64_t e);
  // Fills `batch` with the next batch of the current epoch and returns true;
  // after the last batch returns false once, and the next call starts the
  // following epoch.
  bool next(Batch &batch);
  // The sample indices of epoch e in the order they are batched (with
  // num_replicas > 1: the padded global order every rank slices).
  std::vector<int64_t> epoch_order(int64_t e) const;

  DataLoaderStats stats() const;
  void reset_stats();

  // Range-for support: `for (auto &b : loader)` runs one epoch. begin()
  // starts a fresh pass (the next epoch if one was in progress).
  class iterator {
  public:
    iterator() = default;
    Batch &operator*() { return batch_; }
    Batch *operator->() { return &batch_; }
    iterator &operator++();
    bool operator==(const iterator &o) const { return loader_ == o.loader_; }
    bool operator!=(const iterator &o) const { return loader_ != o.loader_; }

  private:
    friend class DataLoader;
    explicit iterator(DataLoader *l) : loader_(l) {}
    DataLoader *loader_ = nullptr; // null: end
    Batch batch_;
  };
  iterator begin();
  iterator end() { return iterator(); }

private:
  struct Item {
    uint64_t generation;
    Batch batch;
    std::exception_ptr error;
  };
  Batch build(int64_t epoch, int64_t index, const std::vector<int64_t> &order) const;
  void worker_loop();
  void restart_locked(int64_t epoch); // drops queued work; next pass is `epoch`

  std::shared_ptr<const ImageDataset> data_;
  DataLoaderOptions opt_;
  BatchTransform transform_;
  uint64_t seed_ = 0;
  int64_t num_batches_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_; // both directions: items ready / room free / stop
  std::thread worker_;
  bool stop_ = false;
  uint64_t generation_ = 0;                 // bumped on restart: stale items are dropped
  int64_t prod_epoch_ = 0, prod_index_ = 0; // next batch the worker builds
  int64_t cons_epoch_ = 0, cons_index_ = 0; // next batch next() returns
  bool in_pass_ = false;                    // next() has returned a batch of cons_epoch_
  std::deque<Item> queue_;
  DataLoaderStats stats_;
  int64_t sync_epoch_ = -1; // prefetch == 0: the order cached by next()
  std::vector<int64_t> sync_order_;
};

} // namespace polygrad::data
