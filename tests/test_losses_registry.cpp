// The loss registry (losses::make) and the nn module forms.
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include <polygrad/core/random.h>
#include <polygrad/losses/losses.h>
#include <polygrad/nn/loss_modules.h>

namespace pg = polygrad;
namespace L = polygrad::losses;
namespace nn = polygrad::nn;
using Catch::Contains;
using pg::Tensor;

namespace {

// loss and gradient through f
std::pair<std::vector<float>, std::vector<float>>
run(const std::function<Tensor(const Tensor &, const Tensor &)> &f, const Tensor &x,
    const Tensor &y) {
  Tensor xc = x.clone().requires_grad_(true);
  Tensor l = f(xc, y);
  l.backward(l.dim() ? pg::ones(l.shape()) : Tensor());
  return {l.to_vector(), xc.grad().to_vector()};
}

void require_same(const std::function<Tensor(const Tensor &, const Tensor &)> &a,
                  const std::function<Tensor(const Tensor &, const Tensor &)> &b, const Tensor &x,
                  const Tensor &y) {
  const auto ra = run(a, x, y), rb = run(b, x, y);
  REQUIRE(ra.first == rb.first);
  REQUIRE(ra.second == rb.second);
}

// A loss defined outside the library: options, check_options, function.
struct ScaledMseOptions {
  float scale = 1.f;
  L::Reduction reduction = L::Reduction::Mean;
  template <class O, class F> static void fields(O &o, F &&f) {
    f("scale", o.scale), f("reduction", o.reduction);
  }
};
void check_options(const ScaledMseOptions &o) {
  PG_CHECK(o.scale > 0.f, "scaled_mse: scale must be > 0, got ", o.scale);
}
Tensor scaled_mse(const Tensor &x, const Tensor &t, const ScaledMseOptions &o) {
  return L::mse_loss(x, t, {.reduction = o.reduction}) * o.scale;
}

} // namespace

TEST_CASE("losses registry: specs build the same losses as the functions", "[losses]") {
  pg::manual_seed(41);
  const Tensor x = pg::randn({7, 5});
  const Tensor y = pg::from_labels({0, 4, 2, -100, 1, 3, 3});
  // the example
  const L::Loss pf = L::make("poly1_focal:epsilon=2,gamma=1.5");
  REQUIRE(pf.name == "poly1_focal");
  REQUIRE(pf.spec == "poly1_focal:epsilon=2,gamma=1.5");
  require_same(
      pf.fn,
      [](auto &x, auto &y) { return L::poly1_focal_loss(x, y, {.epsilon = 2.f, .gamma = 1.5f}); },
      x, y);
  const std::string d = pf.describe();
  REQUIRE_THAT(
      d, Contains(
             "poly1_focal(epsilon=2, gamma=1.5, alpha=none, alpha_on_poly=true, ignore_index=-100, "
             "reduction=mean)") &&
             Contains("(1-Pt)^(gamma+1)"));
  // aliases, whitespace, defaults
  require_same(
      L::make(" ce ").fn, [](auto &x, auto &y) { return L::cross_entropy(x, y); }, x, y);
  require_same(
      L::make("poly1_ce: epsilon = -1").fn,
      [](auto &x, auto &y) { return L::poly1_cross_entropy(x, y, {.epsilon = -1.f}); }, x, y);
  require_same(
      L::make("poly1").fn, [](auto &x, auto &y) { return L::poly1_cross_entropy(x, y); }, x, y);
  // lists with ';', tensors, enums, integers
  require_same(
      L::make("poly:epsilons=1;0.5").fn, [](auto &x, auto &y) { return L::poly_loss(x, y); }, x, y);
  const Tensor w = pg::from_vector({1.f, 2.f, 0.5f, 1.f, 3.f}, {5});
  require_same(
      L::make("cross_entropy:weight=1;2;0.5;1;3,label_smoothing=0.1,reduction=sum").fn,
      [&](auto &x, auto &y) {
        return L::cross_entropy(
            x, y, {.weight = w, .label_smoothing = 0.1f, .reduction = L::Reduction::Sum});
      },
      x, y);
  require_same(
      L::make("poly1:epsilon=2,weight=1;2;0.5;1;3,weighting=rescaled_pt").fn,
      [&](auto &x, auto &y) {
        return L::poly1_cross_entropy(
            x, y, {.epsilon = 2.f, .weight = w, .weighting = L::PolyWeighting::RescaledPt});
      },
      x, y);
  require_same(
      L::make("focal:gamma=0.5,alpha=1;2;0.5;1;3,ignore_index=4,reduction=none").fn,
      [&](auto &x, auto &y) {
        return L::focal_loss(
            x, y, {.gamma = 0.5f, .alpha = w, .ignore_index = 4, .reduction = L::Reduction::None});
      },
      x, pg::from_labels({0, 4, 2, 1, 1, 3, 3}));
  const Tensor t = pg::rand({7, 5});
  require_same(
      L::make("poly1_sigmoid_focal:epsilon=-1,alpha_on_poly=true,pos_weight=2").fn,
      [](auto &x, auto &t) {
        return L::poly1_sigmoid_focal_loss(
            x, t, {.epsilon = -1.f, .pos_weight = pg::full({1}, 2.f), .alpha_on_poly = true});
      },
      x, t);
  require_same(
      L::make("kl_div:reduction=batchmean,log_target=1").fn,
      [](auto &x, auto &t) {
        return L::kl_div(x, t, {.reduction = L::Reduction::BatchMean, .log_target = true});
      },
      x, t);
}

TEST_CASE("losses registry: every registered loss builds with defaults and runs", "[losses]") {
  pg::manual_seed(42);
  const Tensor x = pg::randn({4, 3}), y = pg::from_labels({0, 2, 1, 1});
  const Tensor t = pg::softmax(pg::randn({4, 3}), 1).detach();
  const std::vector<std::string> names = {"cross_entropy",
                                          "ce",
                                          "nll",
                                          "poly1",
                                          "poly1_ce",
                                          "poly",
                                          "focal",
                                          "poly1_focal",
                                          "sigmoid_focal",
                                          "poly1_sigmoid_focal",
                                          "bce_with_logits",
                                          "mse",
                                          "l1",
                                          "smooth_l1",
                                          "huber",
                                          "kl_div"};
  for (const std::string &n : names) {
    INFO(n);
    const L::Loss l = L::make(n);
    const bool labels =
        n == "cross_entropy" || n == "ce" || n == "nll" || n.rfind("poly", 0) == 0 || n == "focal";
    const bool is_labels = labels && n != "poly1_sigmoid_focal";
    const Tensor in = n == "nll" || n == "kl_div" ? pg::log_softmax(x, 1) : x;
    const Tensor v = l(in, is_labels ? y : t);
    REQUIRE(std::isfinite(v.item()));
    REQUIRE(!l.describe().empty());
  }
  // the registry knows at least these names
  std::vector<std::string> have;
  for (const auto &e : L::registered_losses())
    have.push_back(e.info.name);
  for (const char *n : {"cross_entropy", "poly1", "poly", "focal", "poly1_focal", "sigmoid_focal",
                        "poly1_sigmoid_focal", "bce_with_logits", "mse", "l1", "smooth_l1", "huber",
                        "nll", "kl_div"})
    REQUIRE(std::find(have.begin(), have.end(), n) != have.end());
}

TEST_CASE("losses registry: errors list what is valid", "[losses]") {
  REQUIRE_THROWS_WITH(L::make("polyone:epsilon=2"),
                      Contains("unknown loss 'polyone'") && Contains("cross_entropy (ce)") &&
                          Contains("poly1 (poly1_ce") && Contains("kl_div"));
  REQUIRE_THROWS_WITH(L::make("poly1_focal:eps=2"),
                      Contains("'poly1_focal' has no parameter 'eps'") &&
                          Contains("valid: epsilon (number), gamma (number)") &&
                          Contains("reduction (none/mean/sum/batchmean)"));
  REQUIRE_THROWS_WITH(L::make("poly1:epsilon=abc"),
                      Contains("bad value 'abc' for epsilon: expected a number"));
  REQUIRE_THROWS_WITH(L::make("poly1:epsilon=-2"),
                      Contains("invalid options for 'poly1'") && Contains("epsilon must be >= -1"));
  REQUIRE_THROWS_WITH(L::make("focal:gamma=-1"), Contains("gamma must be >= 0"));
  REQUIRE_THROWS_WITH(L::make("poly1:reduction=median"),
                      Contains("expected one of none/mean/sum/batchmean, got 'median'"));
  REQUIRE_THROWS_WITH(L::make("ce:reduction=batchmean"),
                      Contains("reduction 'batchmean' is not supported"));
  REQUIRE_THROWS_WITH(L::make("poly1:weighting=all"),
                      Contains("expected one of both/ce_only/rescaled_pt, got 'all'"));
  REQUIRE_THROWS_WITH(L::make("poly1:epsilon"), Contains("expected key=value"));
  REQUIRE_THROWS_WITH(L::make("poly1:epsilon=1,epsilon=2"), Contains("given twice"));
  REQUIRE_THROWS_WITH(L::make("poly:epsilons=1;;x"), Contains("expected numbers separated by ';'"));
  REQUIRE_THROWS_WITH(L::make("poly:epsilons=1;-0.9"), Contains("epsilons[1]"));
  REQUIRE_THROWS_WITH(L::make("sigmoid_focal:alpha_on_poly=true"),
                      Contains("has no parameter 'alpha_on_poly'"));
  REQUIRE_THROWS_WITH(L::make("poly1_sigmoid_focal:alpha_on_poly=yes"),
                      Contains("expected true/false (or 1/0), got 'yes'"));
  REQUIRE_THROWS_WITH(L::make("ce:ignore_index=1.5"), Contains("expected an integer"));
}

TEST_CASE("losses registry: out-of-tree losses register with one call", "[losses]") {
  static bool registered = false; // Catch may run this test case more than once
  if (!registered) {
    L::register_loss(L::make_entry(scaled_mse, {.name = "scaled_mse",
                                                .aliases = {"smse"},
                                                .kind = L::LossKind::Regression,
                                                .formula = "scale (x - y)^2"}));
    registered = true;
  }
  const Tensor x = pg::randn({3, 2}), t = pg::randn({3, 2});
  REQUIRE(L::make("smse:scale=3")(x, t).item() ==
          Approx(3 * L::mse_loss(x, t).item()).epsilon(1e-6));
  REQUIRE_THROWS_WITH(L::make("scaled_mse:scale=0"), Contains("scale must be > 0"));
  REQUIRE_THROWS_WITH(L::register_loss(L::make_entry(scaled_mse, {.name = "scaled_mse"})),
                      Contains("'scaled_mse' is already registered"));
  REQUIRE_THROWS_WITH(
      L::register_loss(L::make_entry(scaled_mse, {.name = "my_ce", .aliases = {"ce"}})),
      Contains("'ce' is already an alias of 'cross_entropy'"));
}

TEST_CASE("losses modules: nn forms equal the functional forms", "[losses]") {
  pg::manual_seed(43);
  const Tensor x = pg::randn({6, 4});
  const Tensor y = pg::from_labels({0, 3, 1, -100, 2, 2});
  const Tensor t = pg::rand({6, 4}), w = pg::from_vector({1.f, 2.f, 0.5f, 1.5f}, {4});
  auto mod = [](auto m) {
    auto p = std::make_shared<decltype(m)>(m);
    return std::function<Tensor(const Tensor &, const Tensor &)>(
        [p](const Tensor &a, const Tensor &b) { return (*p)(a, b); });
  };
  require_same(
      mod(nn::CrossEntropyLoss({.weight = w, .label_smoothing = 0.1f})),
      [&](auto &x, auto &y) {
        return L::cross_entropy(x, y, {.weight = w, .label_smoothing = 0.1f});
      },
      x, y);
  require_same(
      mod(nn::Poly1CrossEntropyLoss({.epsilon = 2.f, .weight = w})),
      [&](auto &x, auto &y) { return L::poly1_cross_entropy(x, y, {.epsilon = 2.f, .weight = w}); },
      x, y);
  require_same(
      mod(nn::PolyLoss({.epsilons = {1.f, 2.f}})),
      [&](auto &x, auto &y) {
        return L::poly_loss(x, y, {.epsilons = {1.f, 2.f}});
      },
      x, y);
  require_same(
      mod(nn::FocalLoss({.gamma = 0.5f, .alpha = w})),
      [&](auto &x, auto &y) { return L::focal_loss(x, y, {.gamma = 0.5f, .alpha = w}); }, x, y);
  require_same(
      mod(nn::Poly1FocalLoss({.epsilon = -1.f})),
      [&](auto &x, auto &y) { return L::poly1_focal_loss(x, y, {.epsilon = -1.f}); }, x, y);
  require_same(
      mod(nn::NLLLoss({.weight = w})),
      [&](auto &x, auto &y) { return L::nll_loss(x, y, {.weight = w}); }, x, y);
  require_same(
      mod(nn::SigmoidFocalLoss({.alpha = -1.f})),
      [&](auto &x, auto &t) { return L::sigmoid_focal_loss(x, t, {.alpha = -1.f}); }, x, t);
  require_same(
      mod(nn::Poly1SigmoidFocalLoss({.epsilon = 2.f, .alpha_on_poly = true})),
      [&](auto &x, auto &t) {
        return L::poly1_sigmoid_focal_loss(x, t, {.epsilon = 2.f, .alpha_on_poly = true});
      },
      x, t);
  require_same(
      mod(nn::BCEWithLogitsLoss({.pos_weight = w})),
      [&](auto &x, auto &t) {
        return L::binary_cross_entropy_with_logits(x, t, {.pos_weight = w});
      },
      x, t);
  require_same(
      mod(nn::MSELoss()), [](auto &x, auto &t) { return L::mse_loss(x, t); }, x, t);
  require_same(
      mod(nn::L1Loss()), [](auto &x, auto &t) { return L::l1_loss(x, t); }, x, t);
  require_same(
      mod(nn::SmoothL1Loss({.beta = 0.5f})),
      [](auto &x, auto &t) { return L::smooth_l1_loss(x, t, {.beta = 0.5f}); }, x, t);
  require_same(
      mod(nn::HuberLoss({.delta = 2.f})),
      [](auto &x, auto &t) { return L::huber_loss(x, t, {.delta = 2.f}); }, x, t);
  require_same(
      mod(nn::KLDivLoss({.reduction = L::Reduction::BatchMean})),
      [](auto &x, auto &t) { return L::kl_div(x, t, {.reduction = L::Reduction::BatchMean}); },
      pg::log_softmax(x, 1), t);
  require_same(
      mod(nn::RegistryLoss("poly1:epsilon=2")),
      [](auto &x, auto &y) { return L::poly1_cross_entropy(x, y, {.epsilon = 2.f}); }, x, y);

  // class weights are buffers under PyTorch's names; printing shows the options
  nn::Poly1CrossEntropyLoss crit({.epsilon = 2.f, .weight = w});
  const auto bufs = crit.named_buffers();
  REQUIRE(bufs.size() == 1);
  REQUIRE(bufs[0].first == "weight");
  REQUIRE(crit.parameters().empty());
  REQUIRE_THAT(crit.repr(), Contains("Poly1CrossEntropyLoss(epsilon=2, weight=1;2;0.5;1.5, "
                                     "ignore_index=-100, label_smoothing=0, weighting=both, "
                                     "reduction=mean)"));
  REQUIRE(nn::BCEWithLogitsLoss({.weight = t, .pos_weight = w}).named_buffers().size() == 2);
  // invalid options are refused at construction; a loss needs a target
  REQUIRE_THROWS_WITH(nn::Poly1FocalLoss({.epsilon = -3.f}), Contains("epsilon must be >= -1"));
  REQUIRE_THROWS(crit.forward(x));
}

TEST_CASE("losses docs: adding-a-loss.md shows tests/consumer/custom_loss.cpp verbatim",
          "[losses]") {
  auto read = [](const std::string &rel) {
    std::ifstream in(std::string(PG_SOURCE_DIR) + "/" + rel);
    REQUIRE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  const std::string md = read("docs/adding-a-loss.md");
  const std::string src = read("tests/consumer/custom_loss.cpp");
  int blocks = 0;
  for (const char *name : {"loss", "register", "test"}) {
    INFO("region " << name);
    // the region between "// [doc:name]" and "// [/doc:name]" in the source ...
    const std::string open = std::string("// [doc:") + name + "]\n",
                      close = std::string("// [/doc:") + name + "]";
    const size_t a = src.find(open), b = src.find(close);
    REQUIRE(a != std::string::npos);
    REQUIRE(b != std::string::npos);
    std::string region = src.substr(a + open.size(), b - a - open.size());
    region = region.substr(0, region.find_last_not_of(" \n") + 1);
    // ... is the body of the page's block headed "// tests/consumer/custom_loss.cpp [doc:name]"
    const std::string head = std::string("// tests/consumer/custom_loss.cpp [doc:") + name + "]\n";
    const size_t h = md.find(head);
    REQUIRE(h != std::string::npos);
    const size_t body = h + head.size(), end = md.find("\n```", body);
    REQUIRE(end != std::string::npos);
    REQUIRE(md.substr(body, end - body) == region);
    ++blocks;
  }
  REQUIRE(blocks == 3);
}
