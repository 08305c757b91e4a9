// nn/ layers against PyTorch 1.13 (fixtures from tools/golden/nn.py, float64
// references): forward values, the input gradient and every parameter's
// gradient for a fixed upstream gradient, BatchNorm's running statistics
// after a train step, and a residual block built from the layers.
#include <cmath>
#include <functional>

#include <catch2/catch.hpp>

#include "golden.h"
#include "test_core_util.h"
#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/parallel.h>
#include <polygrad/nn/activation.h>
#include <polygrad/nn/batchnorm.h>
#include <polygrad/nn/conv2d.h>
#include <polygrad/nn/linear.h>
#include <polygrad/nn/pooling.h>
#include <polygrad/nn/sequential.h>

namespace pg = polygrad;
namespace nn = polygrad::nn;
namespace F = polygrad::nn::functional;
using pg::Tensor;

namespace {

// A fresh leaf holding the fixture's values (so gradients never accumulate
// across cases sharing an input).
Tensor leaf(const golden::Fixture &f, const std::string &key) {
  return golden::get(f, key).clone().requires_grad_(true);
}

// Runs fn on the fixture's inputs `names` (prefix.name), backpropagates
// prefix.gy and compares prefix.y and every prefix.d<name>.
void check_case(const golden::Fixture &f, const std::string &p,
                const std::vector<std::string> &names,
                const std::function<Tensor(const std::vector<Tensor> &)> &fn, double rtol = 1e-5,
                double atol = 1e-5) {
  std::vector<Tensor> in;
  for (const auto &n : names)
    in.push_back(leaf(f, p + "." + n));
  Tensor y = fn(in);
  golden::require_close(y, golden::get(f, p + ".y"), rtol, atol, p + ": forward");
  y.backward(golden::get(f, p + ".gy"));
  for (size_t i = 0; i < names.size(); ++i)
    golden::require_close(in[i].grad(), golden::get(f, p + ".d" + names[i]), rtol, atol,
                          p + ": gradient of " + names[i]);
}

using Fn = std::function<Tensor(const std::vector<Tensor> &)>;

Tensor repeat_batch(const Tensor &t, int64_t copies) {
  return pg::cat(std::vector<Tensor>(copies, t), 0);
}

// How many copies of a fixture's batch (of `batch` images, `work` units of
// work each) reach a kernel's parallel threshold, with an image per thread.
int64_t copies_for(double work, double threshold, int64_t batch) {
  const int64_t k = std::max<int64_t>(1, int64_t(std::ceil(threshold / work)));
  return k * batch >= 2 ? k : 2;
}

// The fixtures are small (a few hundred values), far below the grains and
// thresholds at which the kernels fork. So a case runs twice: at 1 thread on
// the fixture itself, and at 2 threads on its batch repeated `copies` times
// (copies_for: enough to fork), where the forward and the backward must each
// fork. A repeated batch gives the golden output and input gradient repeated,
// and each parameter gradient `copies` times the golden one (the same sum
// over every copy of the batch). names[0] is the batched input.
void check_case_1_and_2_threads(const golden::Fixture &f, const std::string &p,
                                const std::vector<std::string> &names, const Fn &fn, int64_t copies,
                                double rtol = 1e-5, double atol = 1e-5) {
  {
    tu::ThreadsScope one(1);
    check_case(f, p, names, fn, rtol, atol);
  }
  INFO(p << ": the batch repeated " << copies << " times, at 2 threads");
  tu::ThreadsScope two(2);
  std::vector<Tensor> in;
  for (size_t i = 0; i < names.size(); ++i) {
    const Tensor &t = golden::get(f, p + "." + names[i]);
    in.push_back((i == 0 ? repeat_batch(t, copies) : t.clone()).requires_grad_(true));
  }
  Tensor y = tu::require_forks([&] { return fn(in); });
  golden::require_close(y, repeat_batch(golden::get(f, p + ".y"), copies), rtol, atol,
                        p + ": forward, 2 threads");
  tu::require_forks([&] {
    y.backward(repeat_batch(golden::get(f, p + ".gy"), copies));
    return 0;
  });
  golden::require_close(in[0].grad(), repeat_batch(golden::get(f, p + ".d" + names[0]), copies),
                        rtol, atol, p + ": gradient of " + names[0] + ", 2 threads");
  for (size_t i = 1; i < names.size(); ++i)
    golden::require_close(in[i].grad() / float(copies), golden::get(f, p + ".d" + names[i]), rtol,
                          atol, p + ": gradient of " + names[i] + ", 2 threads");
}

// Copies for a conv case: at least kConvParallelMacs multiply-adds in all
// (the batch split; the Winograd pass splits whenever N >= 2).
int64_t conv_copies(const golden::Fixture &f, const std::string &p) {
  const Tensor &x = golden::get(f, p + ".x"), &w = golden::get(f, p + ".w"),
               &y = golden::get(f, p + ".y");
  const double macs = double(y.numel()) * w.size(1) * w.size(2) * w.size(3);
  return copies_for(macs, nn::kConvParallelMacs, x.size(0));
}

// Copies for a pooling case: at least kParallelGrain input elements.
int64_t pool_copies(const golden::Fixture &f, const std::string &p) {
  const Tensor &x = golden::get(f, p + ".x");
  return copies_for(double(x.numel()), double(pg::kParallelGrain), x.size(0));
}

} // namespace

TEST_CASE("nn golden: linear", "[nn]") {
  const auto f = golden::load("nn_linear.txt");
  check_case(f, "lin", {"x", "w", "b"},
             [](const std::vector<Tensor> &v) { return F::linear(v[0], v[1], v[2]); });
  check_case(f, "nobias", {"x", "w"},
             [](const std::vector<Tensor> &v) { return F::linear(v[0], v[1]); });
  // F.relu(F.linear(...)) through the fused node; at 2 threads on a batch
  // big enough for the GEMMs and the backward's ReLU mask to fork.
  check_case_1_and_2_threads(
      f, "relu", {"x", "w", "b"},
      [](const std::vector<Tensor> &v) {
        Tensor y = F::linear_relu(v[0], v[1], v[2]);
        REQUIRE(y.grad_fn_name() == "LinearReluBackward");
        return y;
      },
      // each copy: 12 rows, 2 x 12 x 5 x 6 flops per GEMM, 60 outputs
      std::max(copies_for(720.0, pg::kernel::kGemmSplitFlops, 3),
               copies_for(60.0, double(pg::kParallelGrain), 3)),
      // db at 2 threads is a float sum over 33,336 rows (the batch repeated):
      // ~1e-4 relative against the float64 reference
      3e-4, 1e-5);
}

TEST_CASE("nn golden: conv2d (padded, strided, dilated, grouped, depthwise, 1x1)", "[nn]") {
  const auto f = golden::load("nn_conv2d.txt");
  struct Case {
    const char *name;
    bool bias;
    nn::Size2 stride, padding, dilation;
    int64_t groups;
  };
  // Must match CONV_CASES in tools/golden/nn.py.
  const Case cases[] = {
      {"pad", true, 1, 1, 1, 1},
      {"stride", true, {2, 3}, {1, 2}, 1, 1},
      {"dilate", true, 1, {2, 1}, {2, 3}, 1},
      {"group", true, {2, 1}, 1, 1, 2},
      {"depthwise", false, 1, 1, 1, 3},
      {"pointwise", true, 1, 0, 1, 1},
      {"pointwise_s2", false, 2, 0, 1, 1},
  };
  // Forced Winograd runs "pad" (3x3, stride 1, odd 7x6 input) through
  // Winograd F(2x2, 3x3) and F(4x4, 3x3); the other cases fall back to
  // im2col. F(4x4)'s ~10x larger rounding (nn/conv2d.h) needs a looser
  // bound: its worst is dW at 1.6e-4 relative (the batch repeated 23 times),
  // against the 1e-5 every other path meets.
  for (nn::ConvAlgorithm algo :
       {nn::ConvAlgorithm::Auto, nn::ConvAlgorithm::Winograd, nn::ConvAlgorithm::Winograd4x4}) {
    INFO("algorithm " << (algo == nn::ConvAlgorithm::Auto       ? "auto"
                          : algo == nn::ConvAlgorithm::Winograd ? "winograd"
                                                                : "winograd4x4"));
    nn::set_conv_algorithm(algo);
    const double tol = algo == nn::ConvAlgorithm::Winograd4x4 ? 5e-4 : 1e-5;
    for (const Case &c : cases) {
      std::vector<std::string> names{"x", "w"};
      if (c.bias)
        names.push_back("b");
      check_case_1_and_2_threads(
          f, c.name, names,
          [&](const std::vector<Tensor> &v) {
            return F::conv2d(v[0], v[1], c.bias ? v[2] : Tensor(), c.stride, c.padding, c.dilation,
                             c.groups);
          },
          conv_copies(f, c.name), tol, tol);
    }
  }
  nn::set_conv_algorithm(nn::ConvAlgorithm::Auto);
}

TEST_CASE("nn golden: max/avg/adaptive pooling", "[nn]") {
  const auto f = golden::load("nn_pooling.txt");
  using Fn = std::function<Tensor(const Tensor &)>;
  // Must match gen_pooling in tools/golden/nn.py.
  const std::vector<std::pair<std::string, Fn>> cases = {
      {"mp2", [](const Tensor &x) { return F::max_pool2d(x, 2); }},
      {"mp2odd", [](const Tensor &x) { return F::max_pool2d(x, 2); }},
      {"mpties", [](const Tensor &x) { return F::max_pool2d(x, 2); }},
      {"mptiesov", [](const Tensor &x) { return F::max_pool2d(x, 3, 2, 1); }},
      {"mp3s2p1", [](const Tensor &x) { return F::max_pool2d(x, 3, 2, 1); }},
      {"mpdilceil",
       [](const Tensor &x) {
         return F::max_pool2d(x, {3, 2}, nn::Size2{2, 1}, {1, 0}, {1, 2}, true);
       }},
      {"ap3s2p1", [](const Tensor &x) { return F::avg_pool2d(x, 3, 2, 1); }},
      {"apnopad", [](const Tensor &x) { return F::avg_pool2d(x, 3, 2, 1, true, false); }},
      {"apceil",
       [](const Tensor &x) {
         return F::avg_pool2d(x, {2, 3}, 2, 1, true);
       }},
      {"apdiv", [](const Tensor &x) { return F::avg_pool2d(x, 2, 2, 1, false, true, 3); }},
      {"aap1", [](const Tensor &x) { return F::adaptive_avg_pool2d(x, 1); }},
      {"aap32",
       [](const Tensor &x) {
         return F::adaptive_avg_pool2d(x, {3, 2});
       }},
      {"aap44", [](const Tensor &x) { return F::adaptive_avg_pool2d(x, 4); }},
  };
  for (const auto &c : cases) // (not a structured binding: clang 14 cannot capture one)
    check_case_1_and_2_threads(
        f, c.first, {"x"}, [&](const std::vector<Tensor> &v) { return c.second(v[0]); },
        pool_copies(f, c.first));
  // The module form gives the same as the functional form.
  nn::MaxPool2d mp(3, 2, 1);
  Tensor x = golden::get(f, "mp3s2p1.x");
  golden::require_close(mp(x), golden::get(f, "mp3s2p1.y"), 0, 0, "MaxPool2d module");
}

TEST_CASE("nn golden: relu then max-pool, fused (functional and Sequential)", "[nn]") {
  const auto f = golden::load("nn_fused.txt");
  // Must match gen_fused in tools/golden/nn.py.
  const std::vector<std::pair<std::string, int>> cases = {
      {"rmp2", 2}, {"rmp2odd", 2}, {"rmpties", 2}, {"rmp3s2p1", 3}, {"rmptiesov", 3}};
  for (const auto &[name, k] : cases) {
    const int s = 2, p = k == 3 ? 1 : 0;
    check_case_1_and_2_threads(
        f, name, {"x"},
        [&, k = k](const std::vector<Tensor> &v) { return F::relu_max_pool2d(v[0], k, s, p); },
        pool_copies(f, name));
    nn::Sequential seq{nn::make<nn::ReLU>(), nn::make<nn::MaxPool2d>(k, s, p)};
    check_case_1_and_2_threads(
        f, name, {"x"},
        [&](const std::vector<Tensor> &v) {
          Tensor y = seq(v[0]);
          REQUIRE(y.grad_fn_name() == "ReluMaxPool2dBackward"); // the fused node ran
          return y;
        },
        pool_copies(f, name));
  }
}

TEST_CASE("nn golden: conv2d then relu then max-pool, fused (functional and Sequential)", "[nn]") {
  const auto f = golden::load("nn_fused.txt");
  struct Case {
    std::string name;
    int64_t cin, cout;
    nn::Size2 k;
    nn::Conv2dOptions conv;
    int pk, ps, pp;
    bool ceil;
  };
  // Must match the crp cases of gen_fused in tools/golden/nn.py.
  const std::vector<Case> cases = {
      {"crp", 2, 3, 3, {.padding = 1}, 2, 2, 0, false},
      {"crpstrided",
       4,
       6,
       {3, 2},
       {.stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2}, .groups = 2},
       3,
       2,
       1,
       true},
      {"crpnobias", 3, 2, 1, {.bias = false}, 2, 2, 0, false},
  };
  for (const Case &c : cases) {
    const auto &o = c.conv;
    std::vector<std::string> names{"x", "w"};
    if (o.bias)
      names.push_back("b");
    // Copies of the batch for kConvParallelMacs multiply-adds in the conv
    // (its output, before the pool, from the fixture's shapes).
    const Tensor &w = golden::get(f, c.name + ".w");
    const Tensor conv_y = F::conv2d(golden::get(f, c.name + ".x"), w, Tensor(), o.stride, o.padding,
                                    o.dilation, o.groups);
    const int64_t copies = copies_for(double(conv_y.numel()) * w.size(1) * w.size(2) * w.size(3),
                                      nn::kConvParallelMacs, conv_y.size(0));
    check_case_1_and_2_threads(
        f, c.name, names,
        [&](const std::vector<Tensor> &v) {
          Tensor y =
              F::conv2d_relu_max_pool2d(v[0], v[1], o.bias ? v[2] : Tensor(), o.stride, o.padding,
                                        o.dilation, o.groups, c.pk, c.ps, c.pp, 1, c.ceil);
          REQUIRE(y.grad_fn_name() == "Conv2dReluMaxPool2dBackward");
          return y;
        },
        copies);
    // The same through nn::Sequential(Conv2d, ReLU, MaxPool2d).
    auto conv = nn::make<nn::Conv2d>(c.cin, c.cout, c.k, o);
    {
      pg::NoGradGuard ng;
      conv->weight.copy_(golden::get(f, c.name + ".w"));
      if (o.bias)
        conv->bias.copy_(golden::get(f, c.name + ".b"));
    }
    nn::Sequential seq{conv, nn::make<nn::ReLU>(),
                       nn::make<nn::MaxPool2d>(c.pk, c.ps, c.pp, 1, c.ceil)};
    Tensor x = leaf(f, c.name + ".x");
    Tensor y = seq(x);
    REQUIRE(y.grad_fn_name() == "Conv2dReluMaxPool2dBackward");
    golden::require_close(y, golden::get(f, c.name + ".y"), 1e-5, 1e-5, c.name + ": Sequential");
    y.backward(golden::get(f, c.name + ".gy"));
    golden::require_close(x.grad(), golden::get(f, c.name + ".dx"), 1e-5, 1e-5,
                          c.name + ": Sequential dx");
    golden::require_close(conv->weight.grad(), golden::get(f, c.name + ".dw"), 1e-5, 1e-5,
                          c.name + ": Sequential dW");
    if (o.bias)
      golden::require_close(conv->bias.grad(), golden::get(f, c.name + ".db"), 1e-5, 1e-5,
                            c.name + ": Sequential db");
  }
}

namespace {
// Builds the PyTorch module's state into `m`, runs the fixture's forward
// passes and compares output, gradients and running statistics. At 1 thread
// on the fixture; with `threaded`, at 2 threads on the fixture's batch
// repeated to at least kParallelGrain values (the channels are split across
// the threads; forward and backward must fork): a repeated batch has the same
// batch mean and biased variance, so the same output and input gradient
// (repeated), and copies times the golden weight and bias gradients.
// With relu, through m.forward_relu (relu(m(x)) as one node, the BatchNorm,
// ReLU fusion of nn::Sequential).
void check_bn(const golden::Fixture &f, const std::string &p, nn::BatchNormBase &m, int steps,
              bool threaded, bool relu = false) {
  const Tensor &x0 = golden::get(f, p + ".x");
  const int64_t copies =
      threaded ? copies_for(double(x0.numel()), double(pg::kParallelGrain), x0.size(0)) : 1;
  INFO("case " << p << (threaded ? ", 2 threads, batch repeated " : ", 1 thread, batch x ")
               << copies);
  tu::ThreadsScope threads(threaded ? 2 : 1);
  {
    pg::NoGradGuard ng;
    if (m.options.affine) {
      m.weight.copy_(golden::get(f, p + ".weight"));
      m.bias.copy_(golden::get(f, p + ".bias"));
    }
    if (m.options.track_running_stats) {
      m.running_mean.copy_(golden::get(f, p + ".running_mean0"));
      m.running_var.copy_(golden::get(f, p + ".running_var0"));
    }
  }
  Tensor x = repeat_batch(x0, copies).requires_grad_(true);
  for (int s = 0; s + 1 < steps; ++s) // the earlier step of the fixture
    m(x * 0.5f + 0.25f);
  const uint64_t before = pg::parallel_regions();
  Tensor y = relu ? m.forward_relu(x) : m(x);
  if (threaded)
    REQUIRE(pg::parallel_regions() > before);
  if (relu)
    REQUIRE(y.grad_fn_name() == "BatchNormReluBackward");
  golden::require_close(y, repeat_batch(golden::get(f, p + ".y"), copies), 1e-5, 1e-5,
                        p + ": forward");
  const uint64_t before_backward = pg::parallel_regions();
  y.backward(repeat_batch(golden::get(f, p + ".gy"), copies));
  if (threaded)
    REQUIRE(pg::parallel_regions() > before_backward);
  golden::require_close(x.grad(), repeat_batch(golden::get(f, p + ".dx"), copies), 1e-4, 1e-5,
                        p + ": dx");
  if (m.options.affine) {
    golden::require_close(m.weight.grad() / float(copies), golden::get(f, p + ".dweight"), 1e-5,
                          1e-5, p + ": dweight");
    golden::require_close(m.bias.grad() / float(copies), golden::get(f, p + ".dbias"), 1e-5, 1e-5,
                          p + ": dbias");
  }
  if (m.options.track_running_stats) {
    golden::require_close(m.running_mean, golden::get(f, p + ".running_mean"), 1e-5, 1e-6,
                          p + ": running_mean");
    // running_var is updated with the unbiased variance, var M / (M - 1) for
    // M values per channel, which repeating the batch changes: 1 thread only.
    if (copies == 1)
      golden::require_close(m.running_var, golden::get(f, p + ".running_var"), 1e-5, 1e-6,
                            p + ": running_var");
    REQUIRE(m.num_batches_tracked.to_vector<int64_t>() ==
            golden::get(f, p + ".num_batches_tracked").to_vector<int64_t>());
  }
}
} // namespace

TEST_CASE("nn golden: batch_norm_relu (BatchNorm then ReLU, one node), train and eval", "[nn]") {
  const auto f = golden::load("nn_batchnorm.txt");
  for (bool threaded : {false, true}) {
    {
      nn::BatchNorm2d m(3);
      check_bn(f, "bnrelu2d_train", m, 1, threaded, true);
    }
    {
      nn::BatchNorm2d m(3);
      m.eval();
      check_bn(f, "bnrelu2d_eval", m, 1, threaded, true);
    }
    {
      nn::BatchNorm1d m(5);
      check_bn(f, "bnrelu1d_nc", m, 1, threaded, true);
    }
  }
}

TEST_CASE("nn golden: batchnorm train/eval, running stats, options", "[nn]") {
  const auto f = golden::load("nn_batchnorm.txt");
  for (bool threaded : {false, true}) {
    {
      nn::BatchNorm2d m(3);
      check_bn(f, "bn2d_train", m, 1, threaded);
    }
    {
      nn::BatchNorm2d m(3);
      m.eval();
      check_bn(f, "bn2d_eval", m, 1, threaded);
    }
    {
      nn::BatchNorm1d m(5);
      check_bn(f, "bn1d_nc", m, 1, threaded);
    }
    {
      nn::BatchNorm1d m(3);
      check_bn(f, "bn1d_ncl", m, 1, threaded);
    }
    {
      nn::BatchNorm2d m(2, {.affine = false, .track_running_stats = false});
      m.eval(); // no running stats: batch statistics even in eval
      check_bn(f, "bn2d_plain", m, 1, threaded);
    }
    {
      nn::BatchNorm2d m(3, {.momentum = std::nullopt});
      check_bn(f, "bn2d_cma", m, 2, threaded);
    }
    {
      nn::BatchNorm2d m(3, {.eps = 1e-3, .momentum = 0.3});
      check_bn(f, "bn2d_m03", m, 1, threaded);
    }
  }
}

TEST_CASE("nn golden: activations", "[nn]") {
  const auto f = golden::load("nn_activation.txt");
  const std::vector<std::pair<std::string, std::shared_ptr<nn::Module>>> cases = {
      {"relu", nn::make<nn::ReLU>()},
      {"leaky", nn::make<nn::LeakyReLU>(0.2)},
      {"gelu", nn::make<nn::GELU>()},
      {"gelu_tanh", nn::make<nn::GELU>("tanh")},
      {"silu", nn::make<nn::SiLU>()},
      {"sigmoid", nn::make<nn::Sigmoid>()},
      {"tanh", nn::make<nn::Tanh>()},
      {"softmax1", nn::make<nn::Softmax>(1)},
      {"logsoftmax0", nn::make<nn::LogSoftmax>(0)},
  };
  for (const auto &c : cases) // (not a structured binding: clang 14 cannot capture one)
    check_case(f, c.first, {"x"},
               [&](const std::vector<Tensor> &v) { return c.second->forward(v[0]); });
}

namespace {
// A residual block composed from nn/ layers in a few lines (the same as
// ResBlock in tools/golden/nn.py).
struct ResBlock : nn::Module {
  std::shared_ptr<nn::Conv2d> conv1, conv2;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2;
  std::shared_ptr<nn::Sequential> shortcut;
  ResBlock(int64_t cin, int64_t cout, int64_t stride) {
    conv1 = register_module(
        "conv1",
        nn::make<nn::Conv2d>(cin, cout, 3,
                             nn::Conv2dOptions{.stride = stride, .padding = 1, .bias = false}));
    bn1 = register_module("bn1", nn::make<nn::BatchNorm2d>(cout));
    conv2 = register_module(
        "conv2",
        nn::make<nn::Conv2d>(cout, cout, 3, nn::Conv2dOptions{.padding = 1, .bias = false}));
    bn2 = register_module("bn2", nn::make<nn::BatchNorm2d>(cout));
    shortcut = register_module(
        "shortcut",
        std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
            nn::make<nn::Conv2d>(cin, cout, 1, nn::Conv2dOptions{.stride = stride, .bias = false}),
            nn::make<nn::BatchNorm2d>(cout)}));
  }
  Tensor forward(const Tensor &x) override {
    Tensor h = pg::relu(bn1->forward(conv1->forward(x)));
    h = bn2->forward(conv2->forward(h));
    return pg::relu(h + shortcut->forward(x));
  }
  std::string name() const override { return "ResBlock"; }
};
} // namespace

TEST_CASE("nn golden: residual block from layers (PyTorch state_dict names)", "[nn]") {
  const auto f = golden::load("nn_resblock.txt");
  ResBlock m(4, 6, 2);
  {
    pg::NoGradGuard ng;
    for (auto &[name, t] : m.state_dict()) {
      if (name.find("num_batches_tracked") != std::string::npos)
        continue;
      INFO("state_dict entry " << name);
      t.copy_(golden::get(f, "init." + name)); // throws if torch has no such name
    }
  }
  Tensor x = leaf(f, "x");
  Tensor y = m(x);
  golden::require_close(y, golden::get(f, "y"), 1e-5, 1e-5, "resblock forward");
  y.backward(golden::get(f, "gy"));
  golden::require_close(x.grad(), golden::get(f, "dx"), 1e-4, 1e-5, "resblock dx");
  for (auto &[name, p] : m.named_parameters())
    golden::require_close(p.grad(), golden::get(f, "grad." + name), 1e-4, 1e-5, "grad " + name);
  for (auto &[name, b] : m.named_buffers())
    if (name.find("running") != std::string::npos)
      golden::require_close(b, golden::get(f, "after." + name), 1e-5, 1e-6, "buffer " + name);
}
