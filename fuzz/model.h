// (internal) The small model the checkpoint fuzz targets load into:
// conv -> batch norm -> ReLU -> flatten -> linear, so a file carries
// parameters of four shapes and BatchNorm's buffers (running statistics, an
// int64 counter), and a forward/backward pass after a load shows whether
// what was loaded is usable.
#pragma once

#include <memory>

#include <polygrad/core/random.h>
#include <polygrad/nn/activation.h>
#include <polygrad/nn/batchnorm.h>
#include <polygrad/nn/conv2d.h>
#include <polygrad/nn/flatten.h>
#include <polygrad/nn/linear.h>
#include <polygrad/nn/sequential.h>

namespace polygrad::fuzz {

inline std::shared_ptr<nn::Sequential> small_model() {
  manual_seed(1);
  return std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv2d>(1, 2, 3), std::make_shared<nn::BatchNorm2d>(2),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Linear>(8, 3)});
}

// One training-mode forward and backward on a 2 x 1 x 4 x 4 batch: fills
// every gradient (for an optimizer step) and updates BatchNorm's buffers.
inline void forward_backward(nn::Module &m) {
  m.train();
  manual_seed(2);
  sum(m.forward(randn({2, 1, 4, 4}))).backward();
}

} // namespace polygrad::fuzz
