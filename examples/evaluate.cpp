// Loads a checkpoint written by mnist_train/cifar10_train --save and reports
// test accuracy and the confusion matrix.
//
//   evaluate --model cnn --checkpoint cnn.safetensors [--data DIR]
#include <cstdio>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/data/dataloader.h>
#include <polygrad/data/source.h>
#include <polygrad/nn/checkpoint.h>

#include "common/flags.h"
#include "common/metrics.h"
#include "common/models.h"
#include "common/program.h"

namespace pg = polygrad;
namespace ex = polygrad::examples;

int main(int argc, char **argv) {
  return ex::run_program("evaluate", [&] {
    ex::Flags f("evaluate", "Reports the test accuracy and confusion matrix of a saved model.");
    f.add("model", "cnn", "architecture of the checkpoint", {"mlp", "cnn", "cifar-cnn", "resnet"})
        .add("checkpoint", "", "the .safetensors file written by --save")
        .add("dropout", "0",
             "the --dropout the model was trained with (Dropout layers shift the weights' names)")
        .add("data", PG_SOURCE_DIR "/data/mnist-10k", "data folder (see docs/data.md)")
        .add("batch-size", "500", "evaluation batch size");
    f.parse(argc, argv);
    if (f.str("checkpoint").empty())
      f.fail("--checkpoint is required");
    const long bs = f.integer("batch-size", 1, 65536);
    auto model = ex::make_model(f.str("model"), f.number("dropout", 0, 1));
    const pg::Metadata meta = pg::nn::load(*model, f.str("checkpoint"));
    const pg::data::DataSource src = pg::data::detect_data(f.str("data"));
    pg::data::ImageDataset test = pg::data::load_dataset(src, pg::data::Split::Test);
    ex::check_model_fits(f.str("model"), test);
    const bool rgb = test.channels == 3;
    const std::vector<std::string> classes = test.classes;
    const int k = (int)test.num_classes();
    pg::data::DataLoaderOptions o;
    o.batch_size = bs;
    o.mean = rgb ? pg::data::kCifar10Mean : pg::data::kMnistMean;
    o.std = rgb ? pg::data::kCifar10Std : pg::data::kMnistStd;
    pg::data::DataLoader loader(std::move(test), o);
    model->eval();
    pg::NoGradGuard no_grad;
    ex::ConfusionMatrix cm(k);
    pg::data::Batch b;
    while (loader.next(b))
      cm.add((*model)(b.images), b.labels);
    for (const auto &[key, v] : meta)
      std::printf("checkpoint %s: %s\n", key.c_str(), v.c_str());
    std::printf("%s", cm.format(classes).c_str());
    return 0;
  });
}
