// The loss registry (losses::make) and the nn module forms.
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <catch2/catch.hpp>

#include "golden.h"
#include "loss_cases.h"
#include <polygrad/core/random.h>
#include <polygrad/losses/losses.h>
#include <polygrad/nn/loss_modules.h>

namespace pg = polygrad;
namespace L = polygrad::losses;
namespace nn = polygrad::nn;
using Catch::Contains;
using lt::Direct;
using lt::RegistryCase;
using lt::Target;
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

// One entry per registered name: a registered loss without one fails the test,
// so a new loss cannot join the registry untested.
const std::map<std::string, RegistryCase> &registry_cases() {
  using R = L::Reduction;
  using W = L::PolyWeighting;
  static const Tensor w = pg::from_vector({1.f, 2.f, 0.5f, 1.f, 3.f}, {5});
  static const std::string ws = "1;2;0.5;1;3";
  static const std::map<std::string, RegistryCase> cases = {
      {"cross_entropy",
       {"weight=" + ws + ",ignore_index=4,label_smoothing=0.1,reduction=sum",
        [](auto &x, auto &y) {
          return L::cross_entropy(
              x, y, {.weight = w, .ignore_index = 4, .label_smoothing = 0.1f, .reduction = R::Sum});
        },
        [](auto &x, auto &y) { return L::cross_entropy(x, y); }, Target::Labels,
        "losses_softmax.txt", "ce_ls_weight_ignore", "weight={w},label_smoothing=0.2"}},
      {"nll",
       {"weight=" + ws + ",ignore_index=4,reduction=none",
        [](auto &x, auto &y) {
          return L::nll_loss(x, y, {.weight = w, .ignore_index = 4, .reduction = R::None});
        },
        [](auto &x, auto &y) { return L::nll_loss(x, y); }, Target::LogProbLabels,
        "losses_softmax.txt", "nll_weight_ignore", "weight={w}"}},
      {"poly1",
       {"epsilon=-0.5,weight=" + ws +
            ",ignore_index=4,label_smoothing=0.1,weighting=rescaled_pt,reduction=none",
        [](auto &x, auto &y) {
          return L::poly1_cross_entropy(x, y,
                                        {.epsilon = -0.5f,
                                         .weight = w,
                                         .ignore_index = 4,
                                         .label_smoothing = 0.1f,
                                         .weighting = W::RescaledPt,
                                         .reduction = R::None});
        },
        [](auto &x, auto &y) { return L::poly1_cross_entropy(x, y); }, Target::Labels,
        "losses_softmax.txt", "poly1_w_rescaled_pt_sum",
        "epsilon=-0.5,weight={w},weighting=rescaled_pt,reduction=sum"}},
      {"poly",
       {"epsilons=2;-0.3;0.1,weight=" + ws + ",ignore_index=4,reduction=sum",
        [](auto &x, auto &y) {
          return L::poly_loss(x, y,
                              {.epsilons = {2.f, -0.3f, 0.1f},
                               .weight = w,
                               .ignore_index = 4,
                               .reduction = R::Sum});
        },
        [](auto &x, auto &y) { return L::poly_loss(x, y); }, Target::Labels, "losses_softmax.txt",
        "poly_3_w_ignore", "epsilons=2;-0.3;0.1,weight={w}"}},
      {"focal",
       {"gamma=0.5,alpha=" + ws + ",ignore_index=4,reduction=none",
        [](auto &x, auto &y) {
          return L::focal_loss(
              x, y, {.gamma = 0.5f, .alpha = w, .ignore_index = 4, .reduction = R::None});
        },
        [](auto &x, auto &y) { return L::focal_loss(x, y); }, Target::Labels, "losses_softmax.txt",
        "focal_sum", "gamma=1,reduction=sum"}},
      {"poly1_focal",
       {"epsilon=2,gamma=1.5,alpha=" + ws + ",alpha_on_poly=false,ignore_index=4,reduction=sum",
        [](auto &x, auto &y) {
          return L::poly1_focal_loss(x, y,
                                     {.epsilon = 2.f,
                                      .gamma = 1.5f,
                                      .alpha = w,
                                      .ignore_index = 4,
                                      .reduction = R::Sum,
                                      .alpha_on_poly = false});
        },
        [](auto &x, auto &y) { return L::poly1_focal_loss(x, y); }, Target::Labels,
        "losses_softmax.txt", "poly1_focal_none", "epsilon=2,gamma=0.5,alpha={w},reduction=none"}},
      {"sigmoid_focal",
       {"alpha=0.4,gamma=1,reduction=sum",
        [](auto &x, auto &t) {
          return L::sigmoid_focal_loss(x, t, {.alpha = 0.4f, .gamma = 1.f, .reduction = R::Sum});
        },
        [](auto &x, auto &t) { return L::sigmoid_focal_loss(x, t); }, Target::Probs,
        "losses_pointwise.txt", "sf_none", "alpha=0.4,gamma=1,reduction=none"}},
      {"poly1_sigmoid_focal",
       {"epsilon=-1,alpha=0.75,gamma=1.5,pos_weight=2,alpha_on_poly=true,reduction=none",
        [](auto &x, auto &t) {
          return L::poly1_sigmoid_focal_loss(x, t,
                                             {.epsilon = -1.f,
                                              .alpha = 0.75f,
                                              .gamma = 1.5f,
                                              .pos_weight = pg::full({1}, 2.f),
                                              .alpha_on_poly = true,
                                              .reduction = R::None});
        },
        [](auto &x, auto &t) { return L::poly1_sigmoid_focal_loss(x, t); }, Target::Probs,
        "losses_pointwise.txt", "p1sf_pw_none",
        "epsilon=-1,gamma=1.5,pos_weight={pw},reduction=none"}},
      {"bce_with_logits",
       {"weight=" + ws + ",pos_weight=3,reduction=sum",
        [](auto &x, auto &t) {
          return L::binary_cross_entropy_with_logits(
              x, t, {.weight = w, .pos_weight = pg::full({1}, 3.f), .reduction = R::Sum});
        },
        [](auto &x, auto &t) { return L::binary_cross_entropy_with_logits(x, t); }, Target::Probs,
        "losses_pointwise.txt", "bce_pw_sum", "pos_weight={pw},reduction=sum"}},
      {"mse",
       {"reduction=none",
        [](auto &x, auto &t) { return L::mse_loss(x, t, {.reduction = R::None}); },
        [](auto &x, auto &t) { return L::mse_loss(x, t); }, Target::Probs, "losses_pointwise.txt",
        "mse_sum", "reduction=sum"}},
      {"l1",
       {"reduction=sum", [](auto &x, auto &t) { return L::l1_loss(x, t, {.reduction = R::Sum}); },
        [](auto &x, auto &t) { return L::l1_loss(x, t); }, Target::Probs, "losses_pointwise.txt",
        "l1_none", "reduction=none"}},
      {"smooth_l1",
       {"beta=0.25,reduction=none",
        [](auto &x, auto &t) {
          return L::smooth_l1_loss(x, t, {.beta = 0.25f, .reduction = R::None});
        },
        [](auto &x, auto &t) { return L::smooth_l1_loss(x, t); }, Target::Probs,
        "losses_pointwise.txt", "smooth_l1_b0p5", "beta=0.5"}},
      {"huber",
       {"delta=0.3,reduction=sum",
        [](auto &x, auto &t) { return L::huber_loss(x, t, {.delta = 0.3f, .reduction = R::Sum}); },
        [](auto &x, auto &t) { return L::huber_loss(x, t); }, Target::Probs, "losses_pointwise.txt",
        "huber_d2p5", "delta=2.5"}},
      {"kl_div",
       {"reduction=batchmean,log_target=true",
        [](auto &x, auto &t) {
          return L::kl_div(x, t, {.reduction = R::BatchMean, .log_target = true});
        },
        [](auto &x, auto &t) { return L::kl_div(x, t); }, Target::LogProbProbs,
        "losses_pointwise.txt", "kl_log_batchmean", "reduction=batchmean,log_target=true"}},
      // registered by "out-of-tree losses register with one call" when that ran first
      {"scaled_mse",
       {"scale=3,reduction=sum",
        [](auto &x, auto &t) { return scaled_mse(x, t, {.scale = 3.f, .reduction = R::Sum}); },
        [](auto &x, auto &t) { return scaled_mse(x, t, {}); }, Target::Probs, "", "", ""}},
  };
  return cases;
}

// "a;b;c" with every digit of each float (the registry's own show() keeps 6)
std::string exact_list(const Tensor &t) {
  std::string r;
  for (float v : t.to_vector()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    r.append(r.empty() ? "" : ";").append(buf);
  }
  return r;
}

std::string replace_all(std::string s, const std::string &from, const std::string &to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
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

TEST_CASE("losses registry: every registered loss and alias equals its function and PyTorch",
          "[losses]") {
  pg::manual_seed(42);
  const Tensor x = pg::randn({7, 5}) * 2.f;
  const Tensor y = pg::from_labels({0, 2, -100, 1, 4, 3, 1}); // default ignore_index
  const Tensor y4 = pg::from_labels({0, 2, 4, 1, 4, 3, 1});   // ignore_index=4
  const Tensor t = pg::rand({7, 5});
  const Tensor logp = pg::log_softmax(x, 1).detach(), probs = pg::softmax(t, 1).detach();
  std::map<std::string, golden::Fixture> fixtures;
  int goldens = 0;
  const auto entries = L::registered_losses();
  REQUIRE(entries.size() >= 14);
  for (const L::LossEntry &e : entries) {
    if (e.info.name == "scaled_mse") // registered by the out-of-tree test below
      continue;
    INFO("registered loss " << e.info.name);
    // The built-in losses' cases are below; a loss added later brings its
    // own from its test file (PG_REGISTRY_CASE, tests/loss_cases.h).
    const RegistryCase *found = nullptr;
    using Table = std::map<std::string, RegistryCase>;
    for (const Table *table : {&registry_cases(), (const Table *)&lt::registry_case_table()})
      if (auto it = table->find(e.info.name); it != table->end())
        found = &it->second;
    if (!found)
      FAIL("no registry case for '" << e.info.name
                                    << "': add PG_REGISTRY_CASE to its test (tests/loss_cases.h)");
    const RegistryCase &c = *found;
    // the spec sets every parameter of the entry (so each one is parsed into
    // the field it names, or the comparison below fails)
    for (const L::LossParam &p : e.params) {
      INFO("parameter " << p.name);
      REQUIRE(c.options.find(p.name + "=") != std::string::npos);
    }
    const Tensor in =
        c.target == Target::LogProbLabels || c.target == Target::LogProbProbs ? logp : x;
    const Tensor target = c.target == Target::Probs          ? t
                          : c.target == Target::LogProbProbs ? probs
                                                             : y;
    const Tensor target4 =
        c.target == Target::Labels || c.target == Target::LogProbLabels ? y4 : target;
    std::vector<std::string> names = e.info.aliases;
    names.insert(names.begin(), e.info.name);
    for (const std::string &n : names) {
      INFO("spec name " << n);
      const L::Loss with_options = L::make(n + ":" + c.options);
      REQUIRE(with_options.name == e.info.name);
      REQUIRE(with_options.params.size() == e.params.size());
      require_same(with_options.fn, c.with_options, in, target4);
      require_same(L::make(n).fn, c.with_defaults, in, target);
    }
    if (c.golden_file.empty())
      continue;
    // PyTorch's value and gradient for a spec built from a golden case's options
    if (!fixtures.count(c.golden_file))
      fixtures[c.golden_file] = golden::load(c.golden_file);
    const golden::Fixture &f = fixtures[c.golden_file];
    const std::string &g = c.golden_case;
    std::string opts = c.golden_options;
    if (f.count(g + ".w"))
      opts = replace_all(opts, "{w}", exact_list(golden::get(f, g + ".w")));
    if (f.count(g + ".pw"))
      opts = replace_all(opts, "{pw}", exact_list(golden::get(f, g + ".pw")));
    INFO("golden case " << g << ": " << e.info.name << ":" << opts);
    Tensor gx = golden::get(f, g + ".x").clone().requires_grad_(true);
    Tensor loss = L::make(e.info.name + ":" + opts)(gx, golden::get(f, g + ".y"));
    golden::require_close(loss, golden::get(f, g + ".loss"), 1e-5, 1e-6, g + " loss");
    loss.backward(f.count(g + ".v") ? golden::get(f, g + ".v") : Tensor());
    golden::require_close(gx.grad(), golden::get(f, g + ".gx"), 1e-5, 1e-6, g + " dL/dx");
    ++goldens;
  }
  REQUIRE(goldens >= 14); // every built-in loss met PyTorch
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
  REQUIRE_THAT(crit.repr(), Contains("Poly1CrossEntropyLoss(epsilon=2, weight=[1, 2, 0.5, 1.5], "
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
