#include "common/cluster.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <polygrad/core/error.h>

#include "common/program.h"
#include "common/progress.h"

#ifdef PG_WITH_DISTRIBUTED
#include <polygrad/distributed.h>
#endif

namespace polygrad::examples {

#ifdef PG_WITH_DISTRIBUTED

Cluster start_cluster(bool distributed) {
  if (!distributed)
    return {};
  distributed::init();
  Cluster c{true, distributed::rank(), distributed::world_size(), 1};
  if (const char *local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE"))
    c.local_world = std::max(1, std::atoi(local));
  // An error on one rank ends the job: the others may be waiting in a
  // collective for it.
  set_error_exit([](const std::string &line, int status) { distributed::abort(status, line); });
  if (!c.is_main()) {
    ProgressBar::set_enabled(false);
    if (!std::freopen("/dev/null", "w", stdout))
      throw Error("--distributed: cannot silence stdout on rank " + std::to_string(c.rank));
  }
  return c;
}

void Cluster::sum(std::vector<double> &v) const {
  if (distributed)
    distributed::all_reduce(v);
}

std::shared_ptr<nn::Module> Cluster::wrap(std::shared_ptr<nn::Module> model) const {
  if (!distributed)
    return model;
  return std::make_shared<distributed::DistributedDataParallel>(std::move(model));
}

#else

Cluster start_cluster(bool distributed) {
  PG_CHECK(!distributed, "--distributed: this build of polygrad has no MPI (install "
                         "libopenmpi-dev and openmpi-bin, then rebuild)");
  return {};
}
void Cluster::sum(std::vector<double> &) const {}
std::shared_ptr<nn::Module> Cluster::wrap(std::shared_ptr<nn::Module> model) const { return model; }

#endif

} // namespace polygrad::examples
