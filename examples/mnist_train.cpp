// Trains M1 (MLP) or M2 (CNN) on MNIST digits. With no --data it uses the
// 10,000 real digits that ship in data/mnist-10k (7,996 train / 2,004 test).
//
//   mnist_train --model cnn --loss poly1:epsilon=1 --epochs 4 --out runs/cnn
#include "common/train.h"

int main(int argc, char **argv) {
  polygrad::examples::TrainDefaults d;
  d.program = "mnist_train";
  d.summary = "Trains an MLP (M1) or a CNN (M2) on MNIST and reports test accuracy, the "
              "confusion matrix, metrics.csv and curves.png.";
  d.models = {"mlp", "cnn"};
  d.data_dir = PG_SOURCE_DIR "/data/mnist-10k";
  d.optimizer = "adam";
  d.lr = 1e-3;
  d.epochs = 4;
  d.out_dir = "mnist_out";
  return polygrad::examples::run_training(d, argc, argv);
}
