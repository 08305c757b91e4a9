// Peephole fusions that nn::Sequential applies to adjacent children: a pair
// whose composition has a fused kernel runs as that one node. Every fusion
// is exact (the same values and gradients as the two layers one after the
// other, NaN included); only the graph differs (one node instead of two).
//   ReLU, MaxPool2d  ->  functional::relu_max_pool2d (see pooling.h)
// A subclass of either layer is never fused (its forward may differ).
#pragma once

#include <polygrad/nn/module.h>

namespace polygrad::nn::detail {

// If `a` then `b` fuse, sets y = b(a(x)) through the fused node and returns
// true; otherwise leaves y alone and returns false.
bool fused_forward(const Module &a, const Module &b, const Tensor &x, Tensor &y);

} // namespace polygrad::nn::detail
