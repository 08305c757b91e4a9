// The distributed component from an installed package: a group of one (no
// mpirun), DDP around a layer, one step.
#include <cstdio>

#include <polygrad/distributed.h>
#include <polygrad/polygrad.h>

namespace pg = polygrad;

int main() {
  pg::distributed::init();
  auto model = std::make_shared<pg::distributed::DistributedDataParallel>(
      std::make_shared<pg::nn::Linear>(4, 2));
  pg::sum((*model)(pg::randn({3, 4}))).backward();
  const bool ok = pg::distributed::world_size() == 1 && model->parameters()[0].grad().defined();
  pg::distributed::finalize();
  std::printf("distributed consumer: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
