#include <polygrad/nn/init.h>

#include <cmath>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/random.h>

namespace polygrad::nn::init {
namespace {

void check_tensor(const Tensor &t, const char *op) {
  PG_CHECK(t.defined(), "nn::init::", op, ": the tensor is undefined");
  PG_CHECK(t.dtype() == DType::Float32, "nn::init::", op, ": expected a float32 tensor, got ",
           dtype_name(t.dtype()), " of shape ", shape_str(t.shape()));
}

// Writes gen() into every element, in row-major order, without recording a
// graph; non-contiguous views are filled through a contiguous temporary.
template <class Gen> Tensor fill_with(Tensor t, Gen gen) {
  NoGradGuard no_grad;
  Tensor dst = t.is_contiguous() ? t : Tensor::empty(t.shape());
  float *p = dst.data<float>();
  const int64_t n = dst.numel();
  for (int64_t i = 0; i < n; ++i)
    p[i] = gen();
  if (!dst.same(t))
    t.copy_(dst);
  else
    t.bump_version();
  return t;
}

double fan_for(const Tensor &t, const std::string &mode, const char *op) {
  PG_CHECK(mode == "fan_in" || mode == "fan_out", "nn::init::", op, ": mode '", mode,
           "' is not supported; use \"fan_in\" or \"fan_out\"");
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return double(mode == "fan_in" ? fan_in : fan_out);
}

} // namespace

double calculate_gain(const std::string &nl, std::optional<double> param) {
  if (nl == "linear" || nl == "conv1d" || nl == "conv2d" || nl == "conv3d" ||
      nl == "conv_transpose1d" || nl == "conv_transpose2d" || nl == "conv_transpose3d" ||
      nl == "sigmoid")
    return 1.0;
  if (nl == "tanh")
    return 5.0 / 3.0;
  if (nl == "relu")
    return std::sqrt(2.0);
  if (nl == "leaky_relu") {
    const double a = param.value_or(0.01);
    return std::sqrt(2.0 / (1.0 + a * a));
  }
  if (nl == "selu")
    return 3.0 / 4.0;
  throw Error("nn::init::calculate_gain: unsupported nonlinearity '" + nl +
              "'; valid: linear, conv1d, conv2d, conv3d, conv_transpose1d/2d/3d, "
              "sigmoid, tanh, relu, leaky_relu, selu");
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor &t) {
  check_tensor(t, "calculate_fan_in_and_fan_out");
  PG_CHECK(t.dim() >= 2,
           "nn::init: fan in and fan out can not be computed for a tensor with fewer "
           "than 2 dimensions, got shape ",
           shape_str(t.shape()));
  int64_t receptive = 1;
  for (int64_t d = 2; d < t.dim(); ++d)
    receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

Tensor uniform_(Tensor t, double a, double b) {
  check_tensor(t, "uniform_");
  PG_CHECK(a <= b, "nn::init::uniform_: need a <= b, got a=", a, " b=", b);
  return fill_with(t, [&] { return uniform(float(a), float(b)); });
}

Tensor normal_(Tensor t, double mean, double std) {
  check_tensor(t, "normal_");
  PG_CHECK(std >= 0, "nn::init::normal_: need std >= 0, got ", std);
  return fill_with(t, [&] { return normal(float(mean), float(std)); });
}

Tensor constant_(Tensor t, double value) {
  check_tensor(t, "constant_");
  return fill_with(t, [v = float(value)] { return v; });
}
Tensor zeros_(Tensor t) { return constant_(std::move(t), 0.0); }
Tensor ones_(Tensor t) { return constant_(std::move(t), 1.0); }

Tensor xavier_uniform_(Tensor t, double gain) {
  check_tensor(t, "xavier_uniform_");
  const auto [fi, fo] = calculate_fan_in_and_fan_out(t);
  if (t.numel() == 0)
    return t;
  const double bound = gain * std::sqrt(6.0 / double(fi + fo));
  return uniform_(t, -bound, bound);
}

Tensor xavier_normal_(Tensor t, double gain) {
  check_tensor(t, "xavier_normal_");
  const auto [fi, fo] = calculate_fan_in_and_fan_out(t);
  if (t.numel() == 0)
    return t;
  return normal_(t, 0.0, gain * std::sqrt(2.0 / double(fi + fo)));
}

Tensor kaiming_uniform_(Tensor t, double a, const std::string &mode, const std::string &nl) {
  check_tensor(t, "kaiming_uniform_");
  const double fan = fan_for(t, mode, "kaiming_uniform_");
  const double gain = calculate_gain(nl, a);
  if (t.numel() == 0) // PyTorch: initialising a zero-element tensor is a no-op
    return t;
  const double bound = std::sqrt(3.0) * gain / std::sqrt(fan);
  return uniform_(t, -bound, bound);
}

Tensor kaiming_normal_(Tensor t, double a, const std::string &mode, const std::string &nl) {
  check_tensor(t, "kaiming_normal_");
  const double fan = fan_for(t, mode, "kaiming_normal_");
  const double gain = calculate_gain(nl, a);
  if (t.numel() == 0)
    return t;
  return normal_(t, 0.0, gain / std::sqrt(fan));
}

} // namespace polygrad::nn::init
