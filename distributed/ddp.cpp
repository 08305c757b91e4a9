#include <polygrad/distributed/ddp.h>

#include <polygrad/distributed/detail/mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/autograd/hooks.h>
#include <polygrad/distributed/process_group.h>

namespace polygrad::distributed {

namespace {

using Clock = std::chrono::steady_clock;
double seconds(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// Rank root's tensors to every rank, in one broadcast per dtype (the tensors
// copied into one flat buffer and back).
void broadcast_coalesced(const std::vector<Tensor> &tensors, MPI_Comm comm, int root) {
  NoGradGuard no_grad;
  for (DType d : {DType::Float32, DType::Int64}) {
    int64_t total = 0;
    for (const Tensor &t : tensors)
      if (t.dtype() == d)
        total += t.numel();
    if (total == 0)
      continue;
    Tensor flat = Tensor::empty({total}, d);
    int64_t off = 0;
    for (const Tensor &t : tensors)
      if (t.dtype() == d) {
        flat.narrow(0, off, t.numel()).copy_(t.reshape({t.numel()}));
        off += t.numel();
      }
    const MPI_Datatype type = d == DType::Float32 ? MPI_FLOAT : MPI_INT64_T;
    detail::in_pieces(flat, [&](void *p, int k) {
      detail::check(MPI_Bcast(p, k, type, root, comm), "DistributedDataParallel: broadcast");
    });
    off = 0;
    for (const Tensor &t : tensors)
      if (t.dtype() == d) {
        Tensor dst = t;
        dst.copy_(flat.narrow(0, off, t.numel()).reshape(t.shape()));
        off += t.numel();
      }
  }
}

// Rank 0's string to every rank.
std::string broadcast_string(std::string s, MPI_Comm comm, int root) {
  int64_t n = int64_t(s.size());
  detail::check(MPI_Bcast(&n, 1, MPI_INT64_T, root, comm), "DistributedDataParallel: broadcast");
  s.resize(size_t(n));
  detail::check(MPI_Bcast(s.data(), int(n), MPI_CHAR, root, comm),
                "DistributedDataParallel: broadcast");
  return s;
}

std::vector<std::string> lines(const std::string &s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    const size_t end = s.find('\n', start);
    out.push_back(s.substr(start, end - start));
    start = end == std::string::npos ? s.size() : end + 1;
  }
  return out;
}

// Every rank must hold rank 0's architecture: each compares its parameter and
// buffer list with rank 0's; the first difference (lowest entry, then lowest
// rank) becomes the same Error on every rank.
void verify_same_architecture(const nn::Module &m, MPI_Comm comm, int rank, int size) {
  std::string mine;
  auto add = [&](const char *kind, const NamedTensors &ts) {
    for (const auto &[name, t] : ts) {
      mine += kind;
      mine += " '" + name + "' " + shape_str(t.shape()) + " " + dtype_name(t.dtype()) + "\n";
    }
  };
  add("parameter", m.named_parameters());
  add("buffer", m.named_buffers());
  const std::vector<std::string> ref = lines(broadcast_string(mine, comm, 0)), own = lines(mine);
  size_t k = 0;
  while (k < ref.size() && k < own.size() && ref[k] == own[k])
    ++k;
  const bool differs = k < ref.size() || k < own.size();
  int64_t code = differs ? int64_t(k) * size + rank : INT64_MAX;
  detail::check(MPI_Allreduce(MPI_IN_PLACE, &code, 1, MPI_INT64_T, MPI_MIN, comm),
                "DistributedDataParallel: allreduce");
  if (code == INT64_MAX)
    return;
  const int bad = int(code % size);
  std::string msg;
  if (rank == bad)
    msg = "DistributedDataParallel: rank " + std::to_string(rank) +
          "'s model differs from rank 0's at entry " + std::to_string(k) + ": rank 0 has " +
          (k < ref.size() ? ref[k] : "nothing more") + ", rank " + std::to_string(rank) + " has " +
          (k < own.size() ? own[k] : "nothing more") + " (every rank must build the same model)";
  throw Error(broadcast_string(msg, comm, bad));
}

} // namespace

// ----- the reducer: buckets, hooks, the end-of-backward step -----
struct DistributedDataParallel::Reducer {
  struct Slot {
    Tensor param;
    int bucket = 0;
    int64_t offset = 0, numel = 0; // in the bucket's flat buffer
    int64_t flag = 0;              // the bucket element that says "used on a rank"
    bool ready = false;
  };
  struct Bucket {
    std::vector<int> slots;
    Tensor flat; // the gradients, then one used-flag per slot
    int pending = 0;
    bool launched = false, done = false;
    MPI_Request req = MPI_REQUEST_NULL;
  };

  MPI_Comm comm;
  int world;
  std::vector<Slot> slots;
  std::vector<Bucket> buckets;
  std::vector<uint64_t> hooks;
  size_t next_launch = 0;
  bool armed = false, queued = false;
  Clock::time_point origin;
  DDPStepStats stats;

  Reducer(const std::vector<Tensor> &params, double cap_mb, MPI_Comm c, int world_size)
      : comm(c), world(world_size) {
    // Reverse registration order; the first bucket at most 1 MB.
    const int64_t cap = std::max<int64_t>(1, int64_t(cap_mb * 1024 * 1024));
    const int64_t first_cap = std::min<int64_t>(cap, 1 << 20);
    slots.resize(params.size());
    int64_t bytes = 0;
    for (size_t k = params.size(); k-- > 0;) {
      const int64_t nbytes = params[k].numel() * 4;
      const int64_t limit = buckets.size() == 1 ? first_cap : cap; // the open bucket's cap
      if (buckets.empty() || (bytes > 0 && bytes + nbytes > limit)) {
        buckets.emplace_back();
        bytes = 0;
      }
      Bucket &b = buckets.back();
      Slot &s = slots[k];
      s.param = params[k];
      s.bucket = int(buckets.size() - 1);
      s.numel = params[k].numel();
      b.slots.push_back(int(k));
      bytes += nbytes;
    }
    for (Bucket &b : buckets) {
      int64_t off = 0;
      for (int k : b.slots) {
        slots[k].offset = off;
        off += slots[k].numel;
      }
      for (size_t j = 0; j < b.slots.size(); ++j)
        slots[b.slots[j]].flag = off + int64_t(j);
      PG_CHECK(off + int64_t(b.slots.size()) < INT_MAX, "DistributedDataParallel: a parameter of ",
               off, " elements is beyond one allreduce's count (2^31 - 1)");
      b.flat = Tensor::empty({off + int64_t(b.slots.size())});
    }
    for (size_t k = 0; k < slots.size(); ++k)
      hooks.push_back(slots[k].param.register_post_accumulate_grad_hook(
          [this, k](const Tensor &g) { on_grad(int(k), g); }));
  }

  ~Reducer() {
    for (size_t k = 0; k < slots.size(); ++k)
      slots[k].param.remove_post_accumulate_grad_hook(hooks[k]);
    for (Bucket &b : buckets)
      if (b.launched && !b.done)
        MPI_Wait(&b.req, MPI_STATUS_IGNORE);
  }

  // A new forward: the next backward averages.
  void arm() {
    for (const Bucket &b : buckets)
      PG_CHECK(!b.launched || b.done,
               "DistributedDataParallel: a backward pass was interrupted with gradient "
               "allreduces in flight; the ranks are out of step (end the job)");
    for (Bucket &b : buckets) {
      b.pending = int(b.slots.size());
      b.launched = b.done = false;
    }
    for (Slot &s : slots)
      s.ready = false;
    next_launch = 0;
    armed = true;
    queued = false;
    stats = DDPStepStats{};
    stats.bucket_launch.assign(buckets.size(), 0);
    stats.launched_in_pass.assign(buckets.size(), false);
  }

  void on_grad(int k, const Tensor &g) {
    if (!armed)
      return;
    if (!queued) {
      queue_backward_callback([this] { finalize(); });
      queued = true;
    }
    Slot &s = slots[k];
    PG_CHECK(!s.ready, "DistributedDataParallel: parameter ", k,
             " received a gradient twice in one backward pass");
    Bucket &b = buckets[s.bucket];
    const Tensor gc = g.contiguous();
    float *flat = b.flat.data<float>();
    std::memcpy(flat + s.offset, gc.data<float>(), size_t(s.numel) * 4);
    flat[s.flag] = 1.f;
    s.ready = true;
    if (--b.pending == 0)
      launch_ready(true);
    progress();
  }

  // Starts every bucket that is complete, in index order (the same order on
  // every rank, whatever order the gradients came in).
  void launch_ready(bool in_pass) {
    while (next_launch < buckets.size() && buckets[next_launch].pending == 0) {
      Bucket &b = buckets[next_launch];
      detail::check(MPI_Iallreduce(MPI_IN_PLACE, b.flat.data<float>(), int(b.flat.numel()),
                                   MPI_FLOAT, MPI_SUM, comm, &b.req),
                    "DistributedDataParallel: MPI_Iallreduce");
      b.launched = true;
      stats.bucket_launch[next_launch] = seconds(origin, Clock::now());
      stats.launched_in_pass[next_launch] = in_pass;
      ++next_launch;
    }
  }

  // MPI moves a non-blocking collective along only inside MPI calls: test
  // the ones in flight whenever a gradient arrives.
  void progress() {
    for (size_t i = 0; i < next_launch; ++i) {
      Bucket &b = buckets[i];
      if (b.done)
        continue;
      int flag = 0;
      detail::check(MPI_Test(&b.req, &flag, MPI_STATUS_IGNORE),
                    "DistributedDataParallel: MPI_Test");
      b.done = flag != 0;
    }
  }

  // After backward's last node: unused parameters count as zero, every
  // bucket goes, then the averages replace the local gradients.
  void finalize() {
    const auto end = Clock::now();
    stats.backward_end = seconds(origin, end);
    for (size_t i = next_launch; i < buckets.size(); ++i) {
      Bucket &b = buckets[i];
      float *flat = b.flat.data<float>();
      for (int k : b.slots)
        if (!slots[k].ready) {
          std::memset(flat + slots[k].offset, 0, size_t(slots[k].numel) * 4);
          flat[slots[k].flag] = 0.f;
        }
      b.pending = 0;
    }
    launch_ready(false);
    for (Bucket &b : buckets)
      if (!b.done) {
        detail::check(MPI_Wait(&b.req, MPI_STATUS_IGNORE), "DistributedDataParallel: MPI_Wait");
        b.done = true;
      }
    stats.wait_seconds = seconds(end, Clock::now());
    const float inv = 1.f / float(world);
    for (Slot &s : slots) {
      const float *flat = buckets[s.bucket].flat.data<float>();
      if (flat[s.flag] == 0.f)
        continue; // no rank had a gradient for it
      // Into the gradient's own buffer when it has one to write (the usual
      // case: the tensor the hook saw), else into a new one.
      Tensor grad = s.param.grad();
      const bool in_place = grad.defined() && grad.is_contiguous();
      Tensor avg = in_place ? grad : Tensor::empty(s.param.shape());
      float *pa = avg.data<float>();
      const float *src = flat + s.offset;
      for (int64_t i = 0; i < s.numel; ++i)
        pa[i] = src[i] * inv;
      if (in_place)
        grad.bump_version();
      else if (grad.defined())
        grad.copy_(avg);
      else
        s.param.set_grad(avg);
    }
    armed = false;
    stats.done = seconds(origin, Clock::now());
  }
};

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<nn::Module> module,
                                                 DDPOptions options)
    : module_(std::move(module)), options_(options) {
  PG_CHECK(module_ != nullptr, "DistributedDataParallel: the module is null");
  PG_CHECK(options_.bucket_cap_mb > 0, "DistributedDataParallel: bucket_cap_mb must be > 0, got ",
           options_.bucket_cap_mb);
  PG_CHECK(is_initialized(), "DistributedDataParallel: call distributed::init() first");
  register_module("module", module_);
  if (world_size() == 1)
    return;
  const MPI_Comm comm = detail::new_comm();
  verify_same_architecture(*module_, comm, rank(), world_size());
  std::vector<Tensor> state;
  for (const auto &[name, t] : module_->named_parameters())
    state.push_back(t);
  for (const auto &[name, t] : module_->named_buffers())
    state.push_back(t);
  broadcast_coalesced(state, comm, 0);
  reducer_ =
      std::make_unique<Reducer>(module_->parameters(), options_.bucket_cap_mb, comm, world_size());
}

DistributedDataParallel::~DistributedDataParallel() = default;

Tensor DistributedDataParallel::forward(const Tensor &x) {
  if (!reducer_)
    return module_->forward(x);
  if (options_.broadcast_buffers && is_training()) {
    std::vector<Tensor> buffers;
    for (const auto &[name, t] : module_->named_buffers())
      buffers.push_back(t);
    broadcast_coalesced(buffers, reducer_->comm, 0);
  }
  Tensor out = module_->forward(x);
  if (sync_ && is_grad_enabled()) {
    reducer_->arm();
    reducer_->origin = Clock::now();
    reducer_->stats.origin =
        std::chrono::duration<double>(reducer_->origin.time_since_epoch()).count();
  } else {
    reducer_->armed = false;
  }
  return out;
}

DistributedDataParallel::NoSync::NoSync(DistributedDataParallel &ddp)
    : ddp_(ddp), prev_(ddp.sync_) {
  ddp_.sync_ = false;
}
DistributedDataParallel::NoSync::~NoSync() { ddp_.sync_ = prev_; }

int64_t DistributedDataParallel::num_buckets() const {
  return reducer_ ? int64_t(reducer_->buckets.size()) : 0;
}

std::vector<std::vector<int64_t>> DistributedDataParallel::bucket_assignment() const {
  std::vector<std::vector<int64_t>> out;
  if (reducer_)
    for (const auto &b : reducer_->buckets)
      out.emplace_back(b.slots.begin(), b.slots.end());
  return out;
}

const DDPStepStats &DistributedDataParallel::last_step_stats() const {
  static const DDPStepStats none;
  return reducer_ ? reducer_->stats : none;
}

} // namespace polygrad::distributed
