// Graphviz export of the backward graph, for seeing what autograd recorded.
//
//   std::ofstream("graph.dot") << polygrad::to_dot(loss, {{"w1", w1}});
//   dot -Tpng graph.dot -o graph.png
//
// Boxes are backward nodes (op name and output shape); leaves are ellipses,
// green and named when listed in `params`, grey otherwise.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <polygrad/core/tensor.h>

namespace polygrad {

std::string to_dot(const Tensor &root,
                   const std::vector<std::pair<std::string, Tensor>> &params = {});

} // namespace polygrad
