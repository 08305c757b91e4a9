// Trains M3 (cifar-cnn) or a small ResNet on CIFAR-10: the official binary
// batches or an image-folder root with train/ and test/ (e.g. the shared JPEGs
// after `tar xzf cifar10-jpeg.tar.gz`). Augmentation (random crop with
// padding 4, horizontal flip) is on; SGD with Nesterov momentum and a cosine
// schedule after a linear warmup.
//
//   cifar10_train --data /tmp/cifar10-jpeg --epochs 30 --out runs/m3
#include "common/program.h"
#include "common/train.h"

int main(int argc, char **argv) {
  polygrad::examples::TrainDefaults d;
  d.program = "cifar10_train";
  d.summary = "Trains the M3 CNN (or a small ResNet) on CIFAR-10 and reports test accuracy, "
              "the confusion matrix, metrics.csv and curves.png.";
  d.models = {"cifar-cnn", "resnet"};
  d.data_dir = "";
  d.optimizer = "sgd";
  d.lr = 0.05;
  d.momentum = 0.9;
  d.nesterov = true;
  d.weight_decay = 5e-4;
  d.epochs = 30;
  d.schedule = "cosine";
  d.warmup_epochs = 1;
  d.augment = true;
  d.out_dir = "cifar10_out";
  return polygrad::examples::run_program(
      d.program, [&] { return polygrad::examples::run_training(d, argc, argv); });
}
