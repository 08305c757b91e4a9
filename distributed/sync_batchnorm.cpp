#include <polygrad/distributed/sync_batchnorm.h>

#include <polygrad/distributed/detail/mpi.h>

#include <climits>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/distributed/process_group.h>

namespace polygrad::nn {

void SyncBatchNorm::check_input_dim(const Tensor &x) const {
  PG_CHECK(x.dim() >= 2, name(), "(", extra_repr(),
           "): expected an input with at least 2 dims (N, C, ...), got shape ",
           shape_str(x.shape()));
}

BatchNormReduce SyncBatchNorm::stats_reduce() const {
  if (!distributed::is_mpi() || distributed::world_size() == 1)
    return {};
  return [](std::vector<double> &sums) {
    PG_CHECK(sums.size() < size_t(INT_MAX), "SyncBatchNorm: too many channels for one allreduce");
    distributed::detail::check(MPI_Allreduce(MPI_IN_PLACE, sums.data(), int(sums.size()),
                                             MPI_DOUBLE, MPI_SUM, distributed::detail::world()),
                               "SyncBatchNorm: allreduce");
  };
}

std::shared_ptr<Module> convert_sync_batchnorm(std::shared_ptr<Module> module) {
  PG_CHECK(module != nullptr, "convert_sync_batchnorm: the module is null");
  if (auto bn = std::dynamic_pointer_cast<BatchNormBase>(module);
      bn && !std::dynamic_pointer_cast<SyncBatchNorm>(module)) {
    auto sync = std::make_shared<SyncBatchNorm>(bn->num_features, bn->options);
    sync->train(bn->is_training());
    NoGradGuard no_grad;
    for (auto [to, from] : {std::pair{sync->weight, bn->weight},
                            {sync->bias, bn->bias},
                            {sync->running_mean, bn->running_mean},
                            {sync->running_var, bn->running_var},
                            {sync->num_batches_tracked, bn->num_batches_tracked}})
      if (to.defined())
        to.copy_(from);
    return sync;
  }
  for (const auto &[name, child] :
       std::vector(module->named_children().begin(), module->named_children().end())) {
    auto converted = convert_sync_batchnorm(child);
    if (converted != child)
      module->replace_child(name, converted);
  }
  return module;
}

} // namespace polygrad::nn
