// End-to-end smoke training (issue 6): a few hundred embedded digits, one
// epoch of M1 with Poly-1 CE from the loss registry through the DataLoader;
// the loss must fall, and a saved checkpoint must reload into a fresh model
// that makes the same predictions.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/random.h>
#include <polygrad/data/dataloader.h>
#include <polygrad/data/source.h>
#include <polygrad/losses/registry.h>
#include <polygrad/nn/activation.h>
#include <polygrad/nn/checkpoint.h>
#include <polygrad/nn/flatten.h>
#include <polygrad/nn/linear.h>
#include <polygrad/nn/sequential.h>
#include <polygrad/optim/sgd.h>

namespace pg = polygrad;
using namespace polygrad::nn;

namespace {
std::shared_ptr<Sequential> mlp() {
  return make<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
      make<Flatten>(), make<Linear>(784, 64), make<ReLU>(), make<Linear>(64, 10)});
}
} // namespace

TEST_CASE("e2e: one epoch on embedded digits lowers the loss; checkpoint reloads", "[e2e]") {
  pg::manual_seed(7);
  pg::data::ImageDataset train = pg::data::head(
      pg::data::load_dataset(PG_SOURCE_DIR "/data/mnist-10k", pg::data::Split::Train), 640);
  pg::data::DataLoaderOptions o;
  o.batch_size = 32;
  o.shuffle = true;
  o.mean = pg::data::kMnistMean;
  o.std = pg::data::kMnistStd;
  pg::data::DataLoader loader(std::move(train), o);
  auto model = mlp();
  pg::optim::SGD opt(model->parameters(), {.lr = 0.05, .momentum = 0.9});
  const pg::losses::Loss loss = pg::losses::make("poly1:epsilon=1");

  std::vector<double> losses;
  pg::data::Batch b, first;
  while (loader.next(b)) {
    if (!first.images.defined())
      first = b;
    pg::Tensor l = loss((*model)(b.images), b.labels);
    opt.zero_grad();
    l.backward();
    opt.step();
    losses.push_back(l.item());
  }
  REQUIRE(losses.size() == 20);
  const double head = (losses[0] + losses[1] + losses[2]) / 3;
  const double tail = (losses[17] + losses[18] + losses[19]) / 3;
  INFO("mean loss of the first 3 batches " << head << ", of the last 3 " << tail);
  REQUIRE(tail < 0.6 * head);

  const std::string path =
      (std::filesystem::temp_directory_path() / "pg_e2e_smoke.safetensors").string();
  save(*model, path);
  auto fresh = mlp();
  load(*fresh, path);
  std::remove(path.c_str());
  pg::NoGradGuard ng;
  model->eval();
  fresh->eval();
  const std::vector<float> a = (*model)(first.images).to_vector();
  const std::vector<float> c = (*fresh)(first.images).to_vector();
  REQUIRE(a == c);
}
