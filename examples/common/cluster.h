// The job a training program runs in: one process, or with --distributed
// every rank of `mpirun -np N PROGRAM --distributed ...` (docs/distributed.md).
// Rank 0 is the main rank: it alone prints, writes metrics.csv, the curves
// and checkpoints; the others train their slice of each global batch and
// join the sums of the metrics.
#pragma once

#include <memory>
#include <vector>

#include <polygrad/nn/module.h>

namespace polygrad::examples {

struct Cluster {
  bool distributed = false;
  int rank = 0, world = 1;
  int local_world = 1; // ranks on this host (mpirun's OMPI_COMM_WORLD_LOCAL_SIZE)
  bool is_main() const { return rank == 0; }
  // Sums `v` over the ranks, in place (nothing to do alone).
  void sum(std::vector<double> &v) const;
  // DistributedDataParallel around `model` when distributed, else `model`.
  std::shared_ptr<nn::Module> wrap(std::shared_ptr<nn::Module> model) const;
};

// distributed = false: a cluster of one. true: joins the MPI job, silences
// the progress bar and stdout on ranks other than 0, and makes an error on
// any rank end every rank with its message (run_program). Throws if this
// build has no MPI (polygrad::distributed not built).
Cluster start_cluster(bool distributed);

} // namespace polygrad::examples
