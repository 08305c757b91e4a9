// Trains M1 (MLP) or M2 (CNN) on MNIST digits. With no --data it uses the
// 10,000 real digits that ship in data/mnist-10k (7,996 train / 2,004 test).
//
//   mnist_train --model cnn --loss poly1:epsilon=1 --out runs/cnn
#include "common/program.h"
#include "common/train.h"

int main(int argc, char **argv) {
  polygrad::examples::TrainDefaults d;
  d.program = "mnist_train";
  d.summary = "Trains an MLP (M1) or a CNN (M2) on MNIST and reports test accuracy, the "
              "confusion matrix, metrics.csv and curves.png.";
  d.models = {"mlp", "cnn"};
  d.data_dir = PG_SOURCE_DIR "/data/mnist-10k";
  d.optimizer = "adam";
  // The best recipe found for M2 on the embedded digits (98.2-98.5% test
  // accuracy in 10 epochs with CE or Poly-1; see README): Adam 2e-3, one
  // warmup epoch then cosine decay, random rotation +-10 deg / shift +-8%.
  d.lr = 2e-3;
  d.epochs = 10;
  d.schedule = "cosine";
  d.warmup_epochs = 1;
  d.augment = true;
  d.out_dir = "mnist_out";
  return polygrad::examples::run_program(
      d.program, [&] { return polygrad::examples::run_training(d, argc, argv); });
}
