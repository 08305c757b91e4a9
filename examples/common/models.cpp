#include "common/models.h"

#include <polygrad/core/error.h>
#include <polygrad/nn/activation.h>
#include <polygrad/nn/batchnorm.h>
#include <polygrad/nn/conv2d.h>
#include <polygrad/nn/dropout.h>
#include <polygrad/nn/flatten.h>
#include <polygrad/nn/linear.h>
#include <polygrad/nn/pooling.h>
#include <polygrad/nn/sequential.h>

namespace polygrad::examples {

using namespace polygrad::nn;

std::shared_ptr<Sequential> mnist_mlp() {
  return make<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
      make<Flatten>(), make<Linear>(784, 512), make<ReLU>(), make<Linear>(512, 512), make<ReLU>(),
      make<Linear>(512, 10)});
}

std::shared_ptr<Sequential> mnist_cnn() {
  return make<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
      make<Conv2d>(1, 32, 3, Conv2dOptions{.padding = 1}), make<ReLU>(), make<MaxPool2d>(2),
      make<Conv2d>(32, 64, 3, Conv2dOptions{.padding = 1}), make<ReLU>(), make<MaxPool2d>(2),
      make<Flatten>(), make<Linear>(3136, 128), make<ReLU>(), make<Linear>(128, 10)});
}

namespace {
void conv_bn_relu(Sequential &s, int64_t in, int64_t out) {
  s.push_back(make<Conv2d>(in, out, 3, Conv2dOptions{.padding = 1}));
  s.push_back(make<BatchNorm2d>(out));
  s.push_back(make<ReLU>());
}
} // namespace

std::shared_ptr<Sequential> cifar_cnn() {
  auto s = make<Sequential>();
  conv_bn_relu(*s, 3, 64);
  conv_bn_relu(*s, 64, 64);
  s->push_back(make<MaxPool2d>(2));
  conv_bn_relu(*s, 64, 128);
  conv_bn_relu(*s, 128, 128);
  s->push_back(make<MaxPool2d>(2));
  conv_bn_relu(*s, 128, 256);
  s->push_back(make<MaxPool2d>(2));
  s->push_back(make<Flatten>());
  s->push_back(make<Linear>(4096, 10));
  return s;
}

namespace {
// y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), the ResNet basic block.
class BasicBlock : public Module {
public:
  BasicBlock(int64_t in, int64_t out, int64_t stride) {
    body = register_module(
        "body",
        make<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
            make<Conv2d>(in, out, 3, Conv2dOptions{.stride = stride, .padding = 1, .bias = false}),
            make<BatchNorm2d>(out), make<ReLU>(),
            make<Conv2d>(out, out, 3, Conv2dOptions{.padding = 1, .bias = false}),
            make<BatchNorm2d>(out)}));
    if (stride != 1 || in != out)
      shortcut = register_module(
          "shortcut", make<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
                          make<Conv2d>(in, out, 1, Conv2dOptions{.stride = stride, .bias = false}),
                          make<BatchNorm2d>(out)}));
  }
  Tensor forward(const Tensor &x) override {
    return (body->forward(x) + (shortcut ? shortcut->forward(x) : x)).relu();
  }
  std::string name() const override { return "BasicBlock"; }
  std::shared_ptr<Sequential> body, shortcut;
};
} // namespace

std::shared_ptr<Module> cifar_resnet() {
  auto s = make<Sequential>();
  s->push_back(make<Conv2d>(3, 32, 3, Conv2dOptions{.padding = 1, .bias = false}));
  s->push_back(make<BatchNorm2d>(32));
  s->push_back(make<ReLU>());
  s->push_back(make<BasicBlock>(32, 32, 1));
  s->push_back(make<BasicBlock>(32, 64, 2));
  s->push_back(make<BasicBlock>(64, 128, 2));
  s->push_back(make<AdaptiveAvgPool2d>(1));
  s->push_back(make<Flatten>());
  s->push_back(make<Linear>(128, 10));
  return s;
}

namespace {
// `s` with Dropout(p) after every ReLU that feeds a Linear (the hidden layers
// of the classifier head).
std::shared_ptr<Sequential> with_dropout(const Sequential &s, const std::string &name, double p) {
  auto out = make<Sequential>();
  bool placed = false;
  for (size_t i = 0; i < s.size(); ++i) {
    out->push_back(s[i]);
    if (i + 1 < s.size() && dynamic_cast<ReLU *>(s[i].get()) &&
        dynamic_cast<Linear *>(s[i + 1].get())) {
      out->push_back(make<Dropout>(p));
      placed = true;
    }
  }
  PG_CHECK(placed, "--dropout: model ", name, " has no ReLU before a Linear to put dropout after");
  return out;
}
} // namespace

std::shared_ptr<Module> make_model(const std::string &name, double dropout) {
  if (dropout > 0) {
    PG_CHECK(name == "mlp" || name == "cnn", "--dropout ", dropout,
             ": only the mlp and cnn models take dropout, not ", name);
    return with_dropout(*std::static_pointer_cast<Sequential>(make_model(name)), name, dropout);
  }
  if (name == "mlp")
    return mnist_mlp();
  if (name == "cnn")
    return mnist_cnn();
  if (name == "cifar-cnn")
    return cifar_cnn();
  if (name == "resnet")
    return cifar_resnet();
  throw Error("make_model: unknown model '" + name + "' (valid: mlp, cnn, cifar-cnn, resnet)");
}

ModelInput model_input(const std::string &name) {
  if (name == "mlp" || name == "cnn")
    return {1, 28, 28, 10};
  if (name == "cifar-cnn")
    return {3, 32, 32, 10};
  if (name == "resnet")
    return {3, 0, 0, 10}; // global average pooling: any size
  throw Error("model_input: unknown model '" + name + "' (valid: mlp, cnn, cifar-cnn, resnet)");
}

void check_model_fits(const std::string &name, const data::ImageDataset &d) {
  const ModelInput m = model_input(name);
  const bool size_ok =
      (m.height == 0 || d.height == m.height) && (m.width == 0 || d.width == m.width);
  PG_CHECK(d.channels == m.channels && size_ok && d.num_classes() <= m.classes, d.source,
           ": the data does not fit --model ", name, ": it holds ", d.channels, "x", d.height, "x",
           d.width, " images (channels x height x width) in ", d.num_classes(),
           " classes; the model takes ", m.channels, "x",
           m.height ? std::to_string(m.height) : std::string("any"), "x",
           m.width ? std::to_string(m.width) : std::string("any"), " images in at most ", m.classes,
           " classes");
}

} // namespace polygrad::examples
