// Batch normalisation, PyTorch's nn.BatchNorm1d / nn.BatchNorm2d.
//
// x has the channels in dim 1: (N, C), (N, C, L) or (N, C, H, W). For each
// channel c, over the M = N * L (or N * H * W) values x_i of that channel:
//   training:  mu = mean(x_i),  var = mean((x_i - mu)^2)    (biased)
//              running_mean <- (1 - m) running_mean + m mu
//              running_var  <- (1 - m) running_var  + m var * M / (M - 1)
//                                                   (unbiased, as PyTorch)
//   eval:      mu, var = running_mean, running_var
//   y_i = gamma * xhat_i + beta,   xhat_i = (x_i - mu) * invstd,
//   invstd = 1 / sqrt(var + eps)
// Backward with batch statistics (one fused node, two passes per channel):
//   dbeta  = sum_i dy_i,   dgamma = sum_i dy_i xhat_i
//   dx_i   = gamma invstd / M * (M dy_i - dbeta - xhat_i dgamma)
// and with running statistics (constants): dx_i = gamma invstd dy_i.
// The channels are split across OpenMP threads; each channel's values stay
// in cache between the passes.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include <polygrad/nn/module.h>

namespace polygrad::nn {

// Sums per-channel statistics over the processes of a data-parallel job,
// in place (SyncBatchNorm, distributed/sync_batchnorm.h, gives one): with it
// the batch statistics and their gradient are those of every process's
// batch together.
using BatchNormReduce = std::function<void(std::vector<double> &sums)>;

namespace functional {
// PyTorch's F.batch_norm. With training = true the batch statistics are used
// and, if running_mean / running_var are defined, updated in place with
// `momentum`; with training = false the running statistics (which must then
// be defined) are used. weight (gamma) and bias (beta) may be undefined.
// With `reduce` (training only): M, the channel sums and the squared
// deviations are summed over the processes before use, and in backward
// sum dy and sum dy xhat before dx (dgamma and dbeta stay this process's,
// for DistributedDataParallel to average).
Tensor batch_norm(const Tensor &x, const Tensor &running_mean, const Tensor &running_var,
                  const Tensor &weight, const Tensor &bias, bool training, double momentum = 0.1,
                  double eps = 1e-5, const BatchNormReduce &reduce = {});
// relu(batch_norm(...)) as one node: the ReLU applied in the normalising
// pass and its mask (the output's sign) folded into the backward's two
// passes, so the activations are read and written two times fewer per
// direction. The same values and gradients as the two ops, bitwise (NaN
// included); nn::Sequential uses it for BatchNorm1d/2d followed by ReLU.
Tensor batch_norm_relu(const Tensor &x, const Tensor &running_mean, const Tensor &running_var,
                       const Tensor &weight, const Tensor &bias, bool training,
                       double momentum = 0.1, double eps = 1e-5,
                       const BatchNormReduce &reduce = {});
} // namespace functional

struct BatchNormOptions {
  double eps = 1e-5;
  // Weight of the new batch statistic in the running average; nullopt means
  // the cumulative average (factor 1 / num_batches_tracked), as PyTorch.
  std::optional<double> momentum = 0.1;
  bool affine = true;              // learnable gamma (ones) and beta (zeros)
  bool track_running_stats = true; // running_mean/var and num_batches_tracked
};

// The shared implementation; BatchNorm1d and BatchNorm2d differ only in the
// input ranks they accept.
class BatchNormBase : public Module {
public:
  BatchNormBase(int64_t num_features, BatchNormOptions options);
  Tensor forward(const Tensor &x) override;
  // relu(forward(x)) as one node (functional::batch_norm_relu), with the
  // same bookkeeping (running statistics, num_batches_tracked).
  Tensor forward_relu(const Tensor &x);
  // "64, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true"
  std::string extra_repr() const override;
  void reset_running_stats(); // mean 0, var 1, num_batches_tracked 0
  void reset_parameters();    // also gamma = 1, beta = 0

  int64_t num_features;
  BatchNormOptions options;
  Tensor weight, bias;              // (C) parameters, undefined unless affine
  Tensor running_mean, running_var; // (C) buffers, undefined unless tracked
  Tensor num_batches_tracked;       // 0-d int64 buffer, undefined unless tracked

protected:
  virtual void check_input_dim(const Tensor &x) const = 0;
  // The reduction of the training statistics (none: this batch's only).
  virtual BatchNormReduce stats_reduce() const { return {}; }

private:
  Tensor run(const Tensor &x, bool relu);
};

// Input (N, C) or (N, C, L).
class BatchNorm1d : public BatchNormBase {
public:
  explicit BatchNorm1d(int64_t num_features, BatchNormOptions options = {})
      : BatchNormBase(num_features, options) {}
  std::string name() const override { return "BatchNorm1d"; }

protected:
  void check_input_dim(const Tensor &x) const override;
};

// Input (N, C, H, W).
class BatchNorm2d : public BatchNormBase {
public:
  explicit BatchNorm2d(int64_t num_features, BatchNormOptions options = {})
      : BatchNormBase(num_features, options) {}
  std::string name() const override { return "BatchNorm2d"; }

protected:
  void check_input_dim(const Tensor &x) const override;
};

} // namespace polygrad::nn
