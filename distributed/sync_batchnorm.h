// nn::SyncBatchNorm: PyTorch's torch.nn.SyncBatchNorm. In training, the batch
// statistics of every channel are those of the global batch (every rank's
// slice together), not of this rank's slice: the channel sums, the count and
// then the squared deviations are summed over the ranks (two allreduces of
// C + 1 and C doubles per forward), and backward sums sum dy and
// sum dy xhat over the ranks before dx (one allreduce of 2C doubles):
//   mu = (1/M) sum_ranks sum_i x_i,  var = (1/M) sum_ranks sum_i (x_i - mu)^2,
//   dx_i = gamma invstd / M (M dy_i - sum_ranks sum_j dy_j
//                            - xhat_i sum_ranks sum_j dy_j xhat_j)
// with M the global count per channel (nn/batchnorm.h has the rest). With
// DistributedDataParallel's averaging, statistics, outputs and gradients equal
// a one-process run on the global batch, up to summation order. In eval mode,
// or in a group of one, it is BatchNorm. It lives in the distributed
// component (it needs MPI) but in namespace nn, as in PyTorch.
#pragma once

#include <memory>

#include <polygrad/nn/batchnorm.h>

namespace polygrad::nn {

// Inputs of any rank >= 2: (N, C), (N, C, L), (N, C, H, W), ...
class SyncBatchNorm : public BatchNormBase {
public:
  explicit SyncBatchNorm(int64_t num_features, BatchNormOptions options = {})
      : BatchNormBase(num_features, options) {}
  std::string name() const override { return "SyncBatchNorm"; }

protected:
  void check_input_dim(const Tensor &x) const override;
  BatchNormReduce stats_reduce() const override;
};

// Replaces every BatchNorm1d/2d in `module`'s tree (module itself included)
// by a SyncBatchNorm with the same options, parameters and running
// statistics (torch's convert_sync_batchnorm), and returns the module (the
// new one if `module` itself was a BatchNorm). Call it before wrapping the
// model in DistributedDataParallel and before building the optimizer.
std::shared_ptr<Module> convert_sync_batchnorm(std::shared_ptr<Module> module);

} // namespace polygrad::nn
