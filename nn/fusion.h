// Peephole fusions that nn::Sequential applies to runs of adjacent children:
// a run whose composition has a fused kernel executes as that one node.
// These fusions are exact (the same values and gradients as the layers one
// after the other, NaN included); only the graph differs (one node):
//   Conv2d, ReLU, MaxPool2d  ->  functional::conv2d_relu_max_pool2d (conv2d.h)
//   ReLU, MaxPool2d          ->  functional::relu_max_pool2d (pooling.h)
//   Linear, ReLU             ->  functional::linear_relu (linear.h)
//   BatchNorm1d/2d, ReLU     ->  functional::batch_norm_relu (batchnorm.h),
//                                not before a MaxPool2d (the ReLU then goes
//                                into the pooling)
// Inference only (BatchNorm2d in eval mode with running statistics, grad
// mode off), exact up to rounding: the BatchNorm folded into the conv,
//   Conv2d, BatchNorm2d [, ReLU [, MaxPool2d]]  ->  one conv with
//   W'[o] = W[o] s[o], b'[o] = (b[o] - mean[o]) s[o] + beta[o],
//   s[o] = gamma[o] / sqrt(var[o] + eps)
// (one pass over the activations fewer per BatchNorm).
// The longest match wins. A subclass of any of these layers is never fused
// (its forward may differ).
#pragma once

#include <memory>
#include <vector>

#include <polygrad/nn/module.h>

namespace polygrad::nn::detail {

// If a fusion matches mods[i], mods[i + 1], ..., sets y to their composed
// output for input x through the fused node and returns how many modules it
// consumed; otherwise returns 0 and leaves y alone.
size_t fused_forward(const std::vector<std::shared_ptr<Module>> &mods, size_t i, const Tensor &x,
                     Tensor &y);

} // namespace polygrad::nn::detail
