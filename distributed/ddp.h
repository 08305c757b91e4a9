// DistributedDataParallel: PyTorch's DDP. Wrap the model on every rank; each
// rank trains on its slice of the global batch (data/dataloader.h:
// num_replicas, rank), and backward leaves on every rank the gradient
// averaged over the ranks, so every rank's optimizer takes the same step:
//
//   distributed::init();
//   auto model = std::make_shared<distributed::DistributedDataParallel>(make_model());
//   optim::SGD opt(model->parameters(), {.lr = 0.1});
//   for (auto &b : loader) {            // this rank's slice of each global batch
//     opt.zero_grad();
//     losses::cross_entropy((*model)(b.images), b.labels).backward();
//     opt.step();                       // gradients are averaged by now
//   }
//
// Construction broadcasts rank 0's parameters and buffers to every rank,
// after checking that every rank holds the same architecture (names, shapes
// and dtypes; otherwise an Error on every rank naming the first difference).
//
// Gradients travel in buckets of about bucket_cap_mb (parameters in reverse
// registration order, roughly the order backward produces their gradients;
// the first bucket is at most 1 MB so communication starts early, as in
// PyTorch). When the last gradient of a bucket has been accumulated (a
// post-accumulate-grad hook, core/tensor.h) its non-blocking allreduce
// (MPI_Iallreduce on a communicator of its own) starts, so communication
// overlaps the rest of the backward; buckets start in index order on every
// rank. When backward has run its last node (autograd/hooks.h) the buckets
// not started yet are started, all are awaited, and each parameter's .grad()
// becomes the sum over ranks divided by world_size(): backward returns with
// the averaged gradients, before the optimizer step.
//
// Unused parameters: a parameter that got no gradient on a rank in a step
// counts as zero there (the step never hangs on it); one that got none on
// any rank keeps its .grad() as it was (undefined stays undefined, so the
// optimizer skips it as a one-process run would).
//
// no_sync(): inside its scope backward only accumulates local gradients (for
// gradient accumulation); the first backward after it averages everything
// accumulated. Buffers (BatchNorm's running statistics) are broadcast from
// rank 0 at each training-mode forward (broadcast_buffers, PyTorch's
// default); BatchNorm's batch statistics stay per rank unless the model is
// converted to SyncBatchNorm (distributed/sync_batchnorm.h).
//
// In a group of one (no mpirun) it is the wrapped module and nothing else.
// Its state_dict() names are the module's with "module." in front, as in
// PyTorch: save and load module() for checkpoints that fit the bare model.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <polygrad/nn/module.h>

namespace polygrad::distributed {

struct DDPOptions {
  double bucket_cap_mb = 25;     // gradient bytes per allreduce (PyTorch's default)
  bool broadcast_buffers = true; // rank 0's buffers to every rank at each training forward
};

// What the last backward's synchronisation did, in seconds since the forward
// that armed it returned (for measuring how much communication is hidden).
struct DDPStepStats {
  std::vector<double> bucket_launch;  // when each bucket's allreduce started, by bucket
  std::vector<bool> launched_in_pass; // false: started only after the last node ran
  double backward_end = 0;            // when backward ran its last node
  double wait_seconds = 0;            // then spent waiting for unfinished allreduces
  double done = 0;                    // when the averaged gradients were in place
  // The forward's return on std::chrono::steady_clock, in seconds: the same
  // clock for every process of a host, so ranks' timelines can be lined up.
  double origin = 0;
};

class DistributedDataParallel : public nn::Module {
public:
  explicit DistributedDataParallel(std::shared_ptr<nn::Module> module, DDPOptions options = {});
  ~DistributedDataParallel() override;
  DistributedDataParallel(const DistributedDataParallel &) = delete;
  DistributedDataParallel &operator=(const DistributedDataParallel &) = delete;

  // The module's forward; in training with grad enabled it arms the next
  // backward's gradient averaging (unless inside no_sync()).
  Tensor forward(const Tensor &x) override;
  std::string name() const override { return "DistributedDataParallel"; }
  nn::Module &module() const { return *module_; }
  const std::shared_ptr<nn::Module> &module_ptr() const { return module_; }

  // RAII: backward passes of forwards inside its scope do not synchronise.
  class NoSync {
  public:
    explicit NoSync(DistributedDataParallel &ddp);
    ~NoSync();
    NoSync(const NoSync &) = delete;
    NoSync &operator=(const NoSync &) = delete;

  private:
    DistributedDataParallel &ddp_;
    bool prev_;
  };
  [[nodiscard]] NoSync no_sync() { return NoSync(*this); }

  int64_t num_buckets() const;
  // Parameter indices (into parameters()) of each bucket, in bucket order.
  std::vector<std::vector<int64_t>> bucket_assignment() const;
  const DDPStepStats &last_step_stats() const;

  struct Reducer; // the bucket machinery (distributed/ddp.cpp)

private:
  std::shared_ptr<nn::Module> module_;
  DDPOptions options_;
  bool sync_ = true;
  std::unique_ptr<Reducer> reducer_;
};

} // namespace polygrad::distributed
