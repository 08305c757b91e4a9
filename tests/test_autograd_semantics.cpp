// [autograd] Semantics as in PyTorch: requires_grad propagation, gradient
// accumulation and zero_grad, detach, NoGradGuard, retain_graph and the freed
// graph error, non-scalar backward, in-place detection by the version
// counter; the iterative engine on a 100,000-op chain; memory returning to
// its pre-forward level; a steady-state training step that takes nothing new
// from the system; to_dot.
#include "test_core_util.h"

namespace pg = polygrad;
using Catch::Contains;
using pg::Shape;
using pg::Tensor;

TEST_CASE("requires_grad propagates; NoGradGuard and detach cut the graph", "[autograd]") {
  Tensor w = pg::ones({2, 2}).requires_grad_(true);
  Tensor c = pg::ones({2, 2});
  REQUIRE(w.requires_grad());
  REQUIRE(w.is_leaf());
  REQUIRE(w.grad_fn() == nullptr);
  REQUIRE_FALSE(c.requires_grad());

  Tensor y = w * c;
  REQUIRE(y.requires_grad());
  REQUIRE_FALSE(y.is_leaf());
  REQUIRE(y.grad_fn_name() == "MulBackward");
  REQUIRE_FALSE((c * c).requires_grad());
  REQUIRE((c + y).requires_grad());
  REQUIRE(y.t().requires_grad());
  REQUIRE(y.sum().grad_fn_name() == "SumBackward");
  REQUIRE(pg::matmul(c, y).grad_fn_name() == "MatmulBackward");
  REQUIRE(pg::cat({c, y}, 0).requires_grad());
  REQUIRE_FALSE(pg::argmax(y, 0).requires_grad());
  REQUIRE_FALSE(pg::gt(y, c).requires_grad());

  {
    pg::NoGradGuard ng;
    REQUIRE_FALSE(pg::is_grad_enabled());
    Tensor z = w * 2.f;
    REQUIRE_FALSE(z.requires_grad());
    REQUIRE(z.grad_fn() == nullptr);
    {
      pg::NoGradGuard nested;
      REQUIRE_FALSE(pg::is_grad_enabled());
    }
    REQUIRE_FALSE(pg::is_grad_enabled()); // nested guard restores "off"
  }
  REQUIRE(pg::is_grad_enabled());

  Tensor d = y.detach();
  REQUIRE_FALSE(d.requires_grad());
  REQUIRE(d.is_leaf());
  REQUIRE(d.storage() == y.storage()); // shares memory
  REQUIRE_FALSE((d * w.detach()).requires_grad());

  // requires_grad_(false) only on leaves.
  REQUIRE_THROWS_WITH(y.requires_grad_(false), Contains("requires_grad_") && Contains("leaf"));
  Tensor l = pg::ones({2}).requires_grad_(true);
  l.requires_grad_(false);
  REQUIRE_FALSE(l.requires_grad());
  REQUIRE_FALSE((l * 2.f).requires_grad());
}

TEST_CASE("gradients accumulate across backward calls until zero_grad", "[autograd]") {
  Tensor x = pg::from_vector({1, 2, 3}, {3}).requires_grad_(true);
  auto step = [&] { (x * x).sum().backward(); }; // d/dx = 2x
  REQUIRE_FALSE(x.grad().defined());
  step();
  REQUIRE(x.grad().to_vector() == std::vector<float>{2, 4, 6});
  const Tensor g1 = x.grad();
  step();
  REQUIRE(x.grad().to_vector() == std::vector<float>{4, 8, 12});
  x.zero_grad();
  REQUIRE_FALSE(x.grad().defined());
  step();
  REQUIRE(x.grad().to_vector() == std::vector<float>{2, 4, 6});
  // The first gradient the engine stored is its own buffer, never an alias
  // of a tensor from the graph (AddBackward passes g through unchanged).
  Tensor a = pg::ones({3}).requires_grad_(true);
  Tensor seed = pg::full({3}, 5.f);
  (a + 1.f).backward(seed);
  REQUIRE(a.grad().storage() != seed.storage());
  seed.fill_(0.f);
  REQUIRE(a.grad().to_vector() == std::vector<float>(3, 5.f));
  // set_grad checks the shape.
  REQUIRE_THROWS_WITH(a.set_grad(pg::ones({2})), Contains("set_grad") && Contains("[2]"));
  a.set_grad(pg::ones({3}));
  REQUIRE(a.grad().to_vector() == std::vector<float>(3, 1.f));
}

TEST_CASE("a leaf used twice (diamond) gets the sum of both paths", "[autograd]") {
  Tensor x = pg::from_vector({0.5f, -1.f}, {2}).requires_grad_(true);
  Tensor a = x.exp(), b = x * 3.f;
  Tensor y = (a * b + a).sum(); // d/dx = e^x * 3x + e^x * 3 + e^x
  y.backward();
  const auto g = x.grad().to_vector();
  const std::vector<float> xs{0.5f, -1.f};
  for (int i = 0; i < 2; ++i)
    REQUIRE(g[i] == Approx(std::exp(xs[i]) * (3 * xs[i] + 4)).epsilon(1e-6));
  // The root itself a leaf: its gradient is the seed.
  Tensor r = pg::ones({2}).requires_grad_(true);
  r.backward(pg::from_vector({3, 4}, {2}));
  REQUIRE(r.grad().to_vector() == std::vector<float>{3, 4});
}

TEST_CASE("second backward through a freed graph throws unless retain_graph", "[autograd]") {
  Tensor x = pg::from_vector({1, 2}, {2}).requires_grad_(true);
  Tensor y = (x.exp() * x).sum();
  y.backward(Tensor(), /*retain_graph=*/true);
  const auto g1 = x.grad().to_vector();
  y.backward(); // allowed: the first call retained the graph
  const auto g2 = x.grad().to_vector();
  REQUIRE(g2[0] == Approx(2 * g1[0]));
  REQUIRE(g2[1] == Approx(2 * g1[1]));
  REQUIRE_THROWS_AS(y.backward(), pg::Error);
  REQUIRE_THROWS_WITH(y.backward(), Contains("second time") && Contains("retain_graph"));

  // .grad adopts a gradient buffer only when nobody else holds it. A fused
  // loss node keeps dL/dz while its graph is retained: adopting that buffer
  // would make the next backward accumulate into the node's own copy (the
  // third call would give 4x, not 3x).
  Tensor logits = pg::from_vector({0.2f, -1.f, 2.f, 0.5f, 0.f, 1.f}, {2, 3}).requires_grad_(true);
  Tensor loss = pg::losses::cross_entropy(logits, pg::from_labels({2, 0}));
  loss.backward(Tensor(), true);
  const auto once = logits.grad().to_vector();
  loss.backward(Tensor(), true);
  loss.backward();
  const auto thrice = logits.grad().to_vector();
  for (size_t i = 0; i < once.size(); ++i)
    REQUIRE(thrice[i] == Approx(3 * once[i]));

  // A part of the graph freed by one loss is freed for another loss too.
  Tensor z = x * 2.f;
  z.exp().sum().backward();
  REQUIRE_THROWS_WITH((z * 3.f).sum().backward(), Contains("second time"));
}

TEST_CASE("backward argument checks", "[autograd]") {
  Tensor x = pg::ones({2, 3}).requires_grad_(true);
  Tensor y = x * 2.f;
  REQUIRE_THROWS_AS(y.backward(), pg::Error);
  REQUIRE_THROWS_WITH(y.backward(), Contains("backward") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(y.backward(pg::ones({3, 2})),
                      Contains("backward") && Contains("[3, 2]") && Contains("[2, 3]"));
  y.backward(pg::full({2, 3}, 0.5f));
  REQUIRE(x.grad().to_vector() == std::vector<float>(6, 1.f));
  REQUIRE_THROWS_WITH(pg::ones({1}).backward(), Contains("backward") && Contains("require"));
  // One element of any shape is a fine implicit root.
  Tensor one = (x.sum() * 1.f).reshape({1, 1});
  one.backward();
}

TEST_CASE("in-place changes to saved tensors are detected, not silently wrong", "[autograd]") {
  Tensor w = pg::from_vector({1, 2, 3}, {3}).requires_grad_(true);
  // A saved input without grad, modified after the forward.
  Tensor a = pg::from_vector({4, 5, 6}, {3});
  Tensor y = (w * a).sum(); // MulBackward saved a for dw = g * a
  a.mul_(2.f);
  REQUIRE_THROWS_WITH(y.backward(),
                      Contains("MulBackward") && Contains("in-place") && Contains("version"));

  // A saved output modified through a detached alias (shares the version).
  Tensor e = w.exp();
  Tensor s = e.sum() + (e * 1.f).sum();
  e.detach().add_(1.f);
  REQUIRE_THROWS_WITH(s.backward(), Contains("ExpBackward") && Contains("in-place"));

  // A write into a view of a saved tensor bumps the shared version too.
  Tensor b = pg::ones({2, 3});
  Tensor z = pg::matmul(w.reshape({1, 3}), b.t()).sum();
  b.narrow(0, 0, 1).fill_(0.f);
  REQUIRE_THROWS_WITH(z.backward(), Contains("in-place"));

  // Modifying a tensor that is not saved is fine.
  Tensor c = pg::ones({3});
  Tensor y2 = (w + c).sum(); // AddBackward saves nothing
  c.fill_(7.f);
  w.zero_grad();
  y2.backward();
  REQUIRE(w.grad().to_vector() == std::vector<float>(3, 1.f));

  // In-place on a tensor that requires grad throws up front: on a leaf it
  // must happen under NoGradGuard, and an op's output cannot be changed
  // behind autograd's back (in-place ops are not recorded).
  REQUIRE_THROWS_WITH(w.add_(1.f), Contains("add_") && Contains("NoGradGuard"));
  Tensor h = w * 3.f;
  REQUIRE_THROWS_WITH(h.mul_(2.f), Contains("mul_") && Contains("requires grad"));
  REQUIRE_THROWS_WITH(w.narrow(0, 0, 1).fill_(0.f), Contains("fill_"));
  {
    pg::NoGradGuard ng;
    w.add_(1.f);
  }
  REQUIRE(w.to_vector() == std::vector<float>{2, 3, 4});
}

namespace {
// Stack depth probe: a chain this long would need one native frame (or
// more) per node if backward or the destructor recursed, far beyond the
// 8 MiB main stack (and ASan's larger frames).
constexpr int kChain = 100000;
} // namespace

TEST_CASE("a chain of 100,000 ops runs backward and is destroyed without recursion", "[autograd]") {
  Tensor w = pg::from_vector({1.f, 2.f}, {2}).requires_grad_(true);
  {
    Tensor x = w;
    for (int i = 0; i < kChain; ++i)
      x = x * 1.0001f;
    Tensor loss = x.sum();
    loss.backward();
    // d/dw = 1.0001^100000 = e^(1e5 ln 1.0001) ~ 22015.5
    const double want = std::pow(1.0001, kChain);
    const auto g = w.grad().to_vector();
    REQUIRE(g[0] == Approx(want).epsilon(1e-2));
    REQUIRE(g[1] == Approx(want).epsilon(1e-2));
    REQUIRE(x.to_vector()[1] == Approx(2 * want).epsilon(1e-2));
  } // destroyed here, after backward
  {
    Tensor x = w;
    for (int i = 0; i < kChain; ++i)
      x = x + 0.f;
    REQUIRE(x.grad_fn_name() == "AddBackward");
  } // destroyed here without a backward (nothing released yet)
  {
    // A chain of views and reductions, too.
    Tensor x = w;
    for (int i = 0; i < kChain / 2; ++i)
      x = x.unsqueeze(0).sum({0});
    w.zero_grad();
    x.sum().backward();
    REQUIRE(w.grad().to_vector() == std::vector<float>{1, 1});
  }
}

TEST_CASE("a gradient that reaches a node only partially still flows on", "[autograd]") {
  // A custom op whose backward returns no gradient for its first input. The
  // engine must still count that path as done, or x would never get the
  // gradient arriving through the second path.
  Tensor x = pg::from_vector({1, 2}, {2}).requires_grad_(true);
  Tensor a = x * 2.f, b = x * 3.f;
  Tensor out = pg::record("HalfBackward", (a + b).detach(), {a, b}, [](const Tensor &g) {
    return pg::grads{Tensor(), g};
  });
  out.sum().backward();
  REQUIRE(x.grad().defined());
  REQUIRE(x.grad().to_vector() == std::vector<float>{3, 3});
}

namespace {
uint64_t live() { return pg::allocator::stats().live_bytes; }

// A small MLP: tanh(x W1 + b1) W2 + b2 with softmax cross-entropy.
struct Mlp {
  Tensor W1, b1, W2, b2;
  explicit Mlp(uint64_t seed) {
    pg::manual_seed(seed);
    W1 = (pg::randn({16, 32}) * 0.2f).requires_grad_(true);
    b1 = pg::zeros({32}).requires_grad_(true);
    W2 = (pg::randn({32, 4}) * 0.2f).requires_grad_(true);
    b2 = pg::zeros({4}).requires_grad_(true);
  }
  Tensor loss(const Tensor &x, const Tensor &y) const {
    Tensor h = (pg::matmul(x, W1) + b1).tanh();
    Tensor lp = (pg::matmul(h, W2) + b2).log_softmax(1);
    return -pg::gather(lp, 1, y.unsqueeze(1)).mean();
  }
  void sgd(float lr) {
    pg::NoGradGuard ng;
    for (Tensor *p : {&W1, &b1, &W2, &b2})
      p->add_(p->grad(), -lr);
  }
  void zero_grad() {
    for (Tensor *p : {&W1, &b1, &W2, &b2})
      p->zero_grad();
  }
};
} // namespace

TEST_CASE("memory after backward returns to its pre-forward level", "[autograd]") {
  Mlp m(5);
  pg::manual_seed(6);
  const Tensor x = pg::randn({64, 16});
  const Tensor y = pg::from_labels(std::vector<int64_t>(64, 1));
  m.loss(x, y).backward(); // gradients now exist; later backwards accumulate in place

  const uint64_t before = live();
  {
    Tensor loss = m.loss(x, y);             // intermediates live only in the graph
    REQUIRE(live() > before + 64 * 32 * 4); // the forward holds activations
    loss.backward();
    // Everything saved for backward is freed; what is left is the loss
    // itself (one 4-byte element: one 64-byte block).
    REQUIRE(live() == before + pg::allocator::bucket_size(4));
  }
  REQUIRE(live() == before);

  // From scratch: the new gradients are the only growth.
  m.zero_grad();
  const uint64_t before2 = live();
  m.loss(x, y).backward();
  uint64_t grads = 0;
  for (const Tensor &p : {m.W1, m.b1, m.W2, m.b2})
    grads += pg::allocator::bucket_size(p.numel() * 4);
  REQUIRE(live() == before2 + grads);

  // The deep chain too: nothing left behind once its loss is gone.
  Tensor w = pg::ones({8}).requires_grad_(true);
  w.sum().backward();
  const uint64_t before3 = live();
  {
    Tensor t = w;
    for (int i = 0; i < 1000; ++i)
      t = (t * 1.001f).tanh();
    t.sum().backward();
  }
  REQUIRE(live() == before3);
}

TEST_CASE("a steady-state training step takes nothing new from the system", "[autograd]") {
  Mlp m(7);
  pg::manual_seed(8);
  const Tensor x = pg::randn({128, 16});
  std::vector<int64_t> labels(128);
  for (size_t i = 0; i < labels.size(); ++i)
    labels[i] = (int64_t)(i % 4);
  const Tensor y = pg::from_labels(labels);
  auto step = [&] {
    m.zero_grad();
    Tensor loss = m.loss(x, y);
    loss.backward();
    m.sgd(0.1f);
    return loss.item();
  };
  const float first = step(); // warm-up fills the allocator's free lists
  step();
  const auto s0 = pg::allocator::stats();
  float last = 0;
  for (int i = 0; i < 20; ++i)
    last = step();
  const auto s1 = pg::allocator::stats();
  REQUIRE(s1.system_bytes == s0.system_bytes);
  REQUIRE(s1.system_allocs == s0.system_allocs);
  REQUIRE(s1.requests > s0.requests); // it did allocate, from the cache
  REQUIRE(last < first);              // and it trained
}

TEST_CASE("to_dot shows op names, shapes, leaves and named parameters", "[autograd]") {
  Tensor W = pg::ones({3, 2}).requires_grad_(true);
  Tensor b = pg::zeros({2}).requires_grad_(true);
  Tensor x = pg::ones({4, 3}).requires_grad_(true);
  Tensor loss = (pg::matmul(x, W) + b).relu().sum();
  const std::string dot = pg::to_dot(loss, {{"W", W}, {"b", b}});
  INFO(dot);
  REQUIRE(dot.find("digraph") == 0);
  REQUIRE(dot.rfind("}\n") == dot.size() - 2);
  for (const char *s : {"SumBackward", "ReluBackward", "AddBackward", "MatmulBackward", "[4, 2]",
                        "[]", "W\\n[3, 2]", "b\\n[2]", "leaf\\n[4, 3]", "output"})
    REQUIRE(dot.find(s) != std::string::npos);
  // One node per op plus 3 leaves plus the output; edges point at inputs.
  size_t nodes = 0, edges = 0;
  for (size_t p = 0; (p = dot.find("[label=", p)) != std::string::npos; ++p)
    ++nodes;
  for (size_t p = 0; (p = dot.find(" -> ", p)) != std::string::npos; ++p)
    ++edges;
  REQUIRE(nodes == 4 + 3 + 1);
  REQUIRE(edges == 1 + 1 + 1 + 2 + 2); // out->sum->relu->add->{matmul,b}, matmul->{x,W}
  // A name with a quote stays valid DOT.
  const std::string q = pg::to_dot(loss, {{"w\"1", W}});
  REQUIRE(q.find("w\\\"1") != std::string::npos);
  // Shared subexpressions appear once.
  Tensor e = W.exp();
  const std::string d2 = pg::to_dot((e * e).sum());
  size_t exps = 0;
  for (size_t p = 0; (p = d2.find("ExpBackward", p)) != std::string::npos; ++p)
    ++exps;
  REQUIRE(exps == 1);
  // A tensor without history is just the output box.
  REQUIRE(pg::to_dot(pg::ones({2})).find("Backward") == std::string::npos);
}
