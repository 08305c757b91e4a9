#include <polygrad/data/dataloader.h>

#include <algorithm>
#include <chrono>

#include <polygrad/core/error.h>
#include <polygrad/core/random.h>

namespace polygrad::data {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
// Distinct streams for the shuffle and for the user transform (the samples'
// augmentation uses sample_seed(seed, epoch, i) directly).
constexpr uint64_t kShuffleSalt = 0x53485546464c4531ULL;
constexpr uint64_t kTransformSalt = 0x5452414e53464f52ULL;
} // namespace

DataLoader::DataLoader(ImageDataset data, DataLoaderOptions options)
    : DataLoader(std::make_shared<const ImageDataset>(std::move(data)), std::move(options)) {}

DataLoader::DataLoader(std::shared_ptr<const ImageDataset> data, DataLoaderOptions options)
    : data_(std::move(data)), opt_(std::move(options)) {
  PG_CHECK(data_ != nullptr, "DataLoader: null dataset");
  data_->check();
  PG_CHECK(data_->n > 0, "DataLoader: ", data_->source, " holds no images");
  PG_CHECK(opt_.batch_size >= 1, "DataLoader: batch_size must be >= 1, got ", opt_.batch_size);
  PG_CHECK(opt_.prefetch >= 0, "DataLoader: prefetch must be >= 0, got ", opt_.prefetch);
  PG_CHECK(opt_.num_replicas >= 1 && opt_.rank >= 0 && opt_.rank < opt_.num_replicas,
           "DataLoader: rank ", opt_.rank, " of num_replicas ", opt_.num_replicas,
           " is not a rank (0 <= rank < num_replicas)");
  PG_CHECK(opt_.batch_size % opt_.num_replicas == 0, "DataLoader: the global batch_size ",
           opt_.batch_size, " must be a multiple of num_replicas ", opt_.num_replicas,
           " (each rank takes an equal slice)");
  transform_.mean = opt_.mean;
  transform_.std = opt_.std;
  transform_.crop_padding = opt_.random_crop_padding;
  transform_.horizontal_flip = opt_.random_flip;
  transform_.rotate_degrees = opt_.random_rotation;
  transform_.translate = opt_.random_translate;
  transform_.check(data_->channels, "DataLoader");
  // Without drop_last the order is padded to a multiple of num_replicas, which
  // adds no batch: ceil(n / bs) batches hold it (bs is a multiple too).
  const int64_t n = data_->n, bs = opt_.batch_size;
  num_batches_ = opt_.drop_last ? n / bs : (n + bs - 1) / bs;
  PG_CHECK(num_batches_ > 0, "DataLoader: drop_last with batch_size ", bs, " > the ", n,
           " images of ", data_->source, " leaves no batch");
  // One draw from the global generator: manual_seed(s) before constructing
  // the loader fixes every epoch's order and augmentation.
  seed_ = generator()();
}

DataLoader::~DataLoader() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable())
    worker_.join();
}

std::vector<int64_t> DataLoader::epoch_order(int64_t e) const {
  const int64_t n = data_->n;
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i)
    order[i] = i;
  if (opt_.shuffle)
    shuffle(order, sample_seed(seed_ ^ kShuffleSalt, e, 0));
  // DistributedSampler's padding: the first samples again, up to a multiple
  // of num_replicas (cycling if there are fewer samples than replicas).
  const int64_t reps = opt_.num_replicas;
  for (int64_t i = 0; !opt_.drop_last && (int64_t)order.size() % reps != 0; ++i)
    order.push_back(order[i % n]);
  return order;
}

Batch DataLoader::build(int64_t epoch, int64_t index, const std::vector<int64_t> &order) const {
  // Global batch `index`, then this rank's slice of it (all of it for one replica).
  const int64_t start = index * opt_.batch_size;
  const int64_t global = std::min(opt_.batch_size, (int64_t)order.size() - start);
  const int64_t count = global / opt_.num_replicas;
  const int64_t first = start + opt_.rank * count;
  Batch b = make_batch(*data_, order.data() + first, count, transform_, seed_, epoch);
  b.index = index;
  // Positions past n are the padding (it is appended at the order's end).
  b.padding = std::clamp<int64_t>(first + count - data_->n, 0, count);
  if (opt_.transform)
    opt_.transform(
        b, sample_seed(seed_ ^ kTransformSalt, epoch, index * opt_.num_replicas + opt_.rank));
  return b;
}

void DataLoader::worker_loop() {
  int64_t cached_epoch = -1;
  std::vector<int64_t> order;
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stop_ || (int64_t)queue_.size() < opt_.prefetch; });
    if (stop_)
      return;
    // Claim the next batch of the stream (epoch after epoch), build it
    // without the lock, then queue it unless a restart made it stale.
    const uint64_t gen = generation_;
    const int64_t e = prod_epoch_, b = prod_index_;
    if (++prod_index_ == num_batches_) {
      prod_index_ = 0;
      ++prod_epoch_;
    }
    lk.unlock();
    Item item{gen, Batch{}, nullptr};
    const auto t0 = Clock::now();
    try {
      if (e != cached_epoch) {
        order = epoch_order(e);
        cached_epoch = e;
      }
      item.batch = build(e, b, order);
    } catch (...) {
      item.error = std::current_exception(); // re-thrown by next()
    }
    item.batch.epoch = e;
    item.batch.index = b;
    const double dt = seconds_since(t0);
    lk.lock();
    stats_.prepare_seconds += dt;
    if (gen == generation_) {
      queue_.push_back(std::move(item));
      cv_.notify_all();
    } else {
      lk.unlock();
      item = Item{}; // free a stale batch outside the lock
      lk.lock();
    }
  }
}

void DataLoader::restart_locked(int64_t epoch) {
  ++generation_;
  queue_.clear();
  prod_epoch_ = cons_epoch_ = epoch;
  prod_index_ = cons_index_ = 0;
  in_pass_ = false;
  cv_.notify_all();
}

int64_t DataLoader::epoch() const {
  std::lock_guard<std::mutex> lk(mu_);
  return cons_epoch_;
}

void DataLoader::set_epoch(int64_t e) {
  PG_CHECK(e >= 0, "DataLoader::set_epoch: epoch must be >= 0, got ", e);
  std::lock_guard<std::mutex> lk(mu_);
  if (!in_pass_ && cons_index_ == 0 && cons_epoch_ == e)
    return; // already positioned there: keep the prefetched batches
  restart_locked(e);
}

bool DataLoader::next(Batch &out) {
  std::unique_lock<std::mutex> lk(mu_);
  if (in_pass_ && cons_index_ == num_batches_) { // end of the epoch
    in_pass_ = false;
    ++cons_epoch_;
    cons_index_ = 0;
    return false;
  }
  in_pass_ = true;
  const int64_t e = cons_epoch_, b = cons_index_;
  Item item;
  if (opt_.prefetch == 0) {
    // Synchronous: the caller builds the batch itself, all of it is waiting.
    lk.unlock();
    const auto t0 = Clock::now();
    try {
      if (e != sync_epoch_) {
        sync_order_ = epoch_order(e);
        sync_epoch_ = e;
      }
      item.batch = build(e, b, sync_order_);
    } catch (...) {
      item.error = std::current_exception();
    }
    const double dt = seconds_since(t0);
    lk.lock();
    stats_.prepare_seconds += dt;
    stats_.wait_seconds += dt;
    stats_.max_wait_seconds = std::max(stats_.max_wait_seconds, dt);
    ++stats_.stalls;
  } else {
    if (!worker_.joinable())
      worker_ = std::thread([this] { worker_loop(); });
    if (queue_.empty()) {
      const auto t0 = Clock::now();
      cv_.wait(lk, [&] { return !queue_.empty(); });
      const double dt = seconds_since(t0);
      stats_.wait_seconds += dt;
      stats_.max_wait_seconds = std::max(stats_.max_wait_seconds, dt);
      ++stats_.stalls;
    }
    item = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all(); // room for the worker
    PG_CHECK(item.batch.epoch == e && item.batch.index == b,
             "DataLoader: internal error: got batch ", item.batch.index, " of epoch ",
             item.batch.epoch, ", expected batch ", b, " of epoch ", e);
  }
  ++cons_index_;
  ++stats_.batches;
  lk.unlock();
  if (item.error)
    std::rethrow_exception(item.error);
  out = std::move(item.batch);
  return true;
}

DataLoaderStats DataLoader::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  return stats_;
}

void DataLoader::reset_stats() {
  std::lock_guard<std::mutex> lk(mu_);
  stats_ = DataLoaderStats{};
}

DataLoader::iterator DataLoader::begin() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (in_pass_) {
      if (cons_index_ == num_batches_) { // finished but not yet told: just move on
        in_pass_ = false;
        ++cons_epoch_;
        cons_index_ = 0;
      } else {
        restart_locked(cons_epoch_ + 1); // abandoned mid-epoch
      }
    }
  }
  iterator it(this);
  if (!next(it.batch_))
    it.loader_ = nullptr;
  return it;
}

DataLoader::iterator &DataLoader::iterator::operator++() {
  if (!loader_->next(batch_))
    loader_ = nullptr;
  return *this;
}

} // namespace polygrad::data
