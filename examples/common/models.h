// The reference models (issue 5), used by the examples and the benchmarks.
//   M1 mnist-mlp : Flatten, Linear(784,512), ReLU, Linear(512,512), ReLU, Linear(512,10)
//   M2 mnist-cnn : Conv(1,32,3,p1), ReLU, MaxPool(2), Conv(32,64,3,p1), ReLU, MaxPool(2),
//                  Flatten, Linear(3136,128), ReLU, Linear(128,10)
//   M3 cifar-cnn : [Conv3x3 p1, BN, ReLU] 3->64, 64->64, MaxPool(2), 64->128, 128->128,
//                  MaxPool(2), 128->256, MaxPool(2), Flatten, Linear(4096,10)
//   resnet8      : a small residual net for CIFAR (optional, cifar10_train --model resnet)
#pragma once

#include <memory>
#include <string>

#include <polygrad/data/dataset.h>
#include <polygrad/nn/module.h>
#include <polygrad/nn/sequential.h>

namespace polygrad::examples {

std::shared_ptr<nn::Sequential> mnist_mlp();
std::shared_ptr<nn::Sequential> mnist_cnn();
std::shared_ptr<nn::Sequential> cifar_cnn();
std::shared_ptr<nn::Module> cifar_resnet();
// "mlp" | "cnn" | "cifar-cnn" | "resnet"; throws Error listing the valid names.
// dropout > 0 (mlp and cnn only): Dropout(dropout) after each ReLU that feeds
// a Linear (M1: two, M2: one), so the parameters' names shift by those slots;
// the reference models have none.
std::shared_ptr<nn::Module> make_model(const std::string &name, double dropout = 0);

// What a model takes: images of channels x height x width (0: any size its
// pooling allows) and labels below `classes` (its output width).
struct ModelInput {
  int64_t channels = 0, height = 0, width = 0, classes = 0;
};
ModelInput model_input(const std::string &name);
// Throws Error naming the model, the data set (its source) and both shapes
// when `d`'s images or classes do not fit the model, e.g. MNIST digits
// given to cifar-cnn; found before training instead of at the first batch.
void check_model_fits(const std::string &name, const data::ImageDataset &d);

} // namespace polygrad::examples
