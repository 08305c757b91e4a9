// nn::init: parameter initialisation with PyTorch's semantics (torch.nn.init).
// Every function fills the tensor in place (without recording a graph), draws
// from polygrad's global generator (manual_seed makes it reproducible; the
// values differ from torch's RNG) and returns the same tensor.
//
// Fans, for a weight of shape (out, in, k...) with receptive field r = prod(k):
//   fan_in = in * r,   fan_out = out * r      (needs at least 2 dims)
// Gains (calculate_gain): linear, conv*, sigmoid -> 1; tanh -> 5/3;
//   relu -> sqrt(2); leaky_relu(a) -> sqrt(2 / (1 + a^2)) (a defaults to 0.01);
//   selu -> 3/4.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include <polygrad/core/tensor.h>

namespace polygrad::nn::init {

// The recommended gain for a nonlinearity (see above); throws for an unknown
// name, listing the valid ones.
double calculate_gain(const std::string &nonlinearity, std::optional<double> param = {});
// (fan_in, fan_out) of a weight with at least 2 dims.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor &t);

Tensor uniform_(Tensor t, double a = 0.0, double b = 1.0); // U(a, b)
Tensor normal_(Tensor t, double mean = 0.0, double std = 1.0);
Tensor constant_(Tensor t, double value);
Tensor zeros_(Tensor t);
Tensor ones_(Tensor t);
// U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out)).
Tensor xavier_uniform_(Tensor t, double gain = 1.0);
// N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor xavier_normal_(Tensor t, double gain = 1.0);
// U(-bound, bound), bound = gain * sqrt(3 / fan), gain = calculate_gain(
// nonlinearity, a), fan = fan_in or fan_out by `mode` ("fan_in" | "fan_out").
// PyTorch's Linear/Conv2d weights use a = sqrt(5): bound = 1 / sqrt(fan_in).
Tensor kaiming_uniform_(Tensor t, double a = 0.0, const std::string &mode = "fan_in",
                        const std::string &nonlinearity = "leaky_relu");
// N(0, std^2), std = gain / sqrt(fan).
Tensor kaiming_normal_(Tensor t, double a = 0.0, const std::string &mode = "fan_in",
                       const std::string &nonlinearity = "leaky_relu");

} // namespace polygrad::nn::init
