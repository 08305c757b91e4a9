// [autograd] Golden tests against PyTorch: the graphs of
// tools/golden/autograd.py rebuilt in polygrad; outputs and every input's
// gradient compared at 1e-5 relative. The forwards must match the Python
// ones exactly.
#include "golden.h"
#include "test_core_util.h"

namespace pg = polygrad;
using pg::Tensor;

namespace {
Tensor leaf_from(const golden::Fixture &f, const std::string &k) {
  return golden::get(f, k).clone().requires_grad_(true);
}
// Float32 against float64 truth: 1e-5 relative, with an absolute floor for
// elements that are sums of cancelling terms.
void close(const Tensor &a, const golden::Fixture &f, const std::string &k, double atol = 1e-6) {
  golden::require_close(a, golden::get(f, k), 1e-5, atol, k);
}
} // namespace

TEST_CASE("golden: MLP with softmax cross-entropy from primitives", "[autograd]") {
  const auto f = golden::load("autograd_mlp.txt");
  const Tensor labels = golden::get(f, "labels");
  for (bool use_one_hot : {false, true}) {
    INFO("one_hot variant " << use_one_hot);
    Tensor x = leaf_from(f, "x"), W1 = leaf_from(f, "W1"), b1 = leaf_from(f, "b1"),
           W2 = leaf_from(f, "W2"), b2 = leaf_from(f, "b2");
    Tensor h = (pg::matmul(x, W1) + b1).relu();
    Tensor logits = pg::matmul(h, W2) + b2;
    Tensor logp = logits.log_softmax(1);
    // -mean_i logp[i, y_i], by gather or by a one-hot mask (same value).
    Tensor loss = use_one_hot ? -(logp * pg::one_hot(labels, 4)).sum({1}).mean()
                              : -pg::gather(logp, 1, labels.unsqueeze(1)).mean();
    loss.backward();
    close(logits, f, "logits");
    close(loss, f, "loss");
    close(x.grad(), f, "grad_x");
    close(W1.grad(), f, "grad_W1");
    close(b1.grad(), f, "grad_b1");
    close(W2.grad(), f, "grad_W2");
    close(b2.grad(), f, "grad_b2");
  }
}

TEST_CASE("golden: broadcasting-heavy expression", "[autograd]") {
  const auto f = golden::load("autograd_broadcast.txt");
  Tensor a = leaf_from(f, "a"), b = leaf_from(f, "b"), c = leaf_from(f, "c"), d = leaf_from(f, "d"),
         e = leaf_from(f, "e");
  Tensor y = (a + b) * c;
  Tensor z = y / (d.abs() + 1.f);
  Tensor w = pg::where(pg::gt(z, pg::scalar_tensor(0.f)), z, 0.1f * z);
  Tensor u = pg::maximum(w, a) - pg::minimum(c, b);
  Tensor p = pg::pow(c.abs() + 0.5f, d);
  Tensor q = (u * p).sigmoid() * e.tanh() + (a - e).exp() * 0.1f - b / (e * e + 1.f);
  Tensor total = q.sum();
  total.backward();
  close(q, f, "q");
  close(total, f, "total");
  for (auto [t, k] : std::vector<std::pair<Tensor, std::string>>{
           {a, "grad_a"}, {b, "grad_b"}, {c, "grad_c"}, {d, "grad_d"}, {e, "grad_e"}})
    close(t.grad(), f, k);
}

TEST_CASE("golden: reduction chain", "[autograd]") {
  const auto f = golden::load("autograd_reduce.txt");
  Tensor x = leaf_from(f, "x");
  Tensor s1 = x.sum({1}, true);
  Tensor m1 = (x * s1).mean({0, 2});
  Tensor mx = x.max(2);
  Tensor mn = x.min(0, true);
  Tensor lse = (x * 2.f).logsumexp(1);
  Tensor sm = x.softmax(-1).select(-1, 0);
  Tensor total = m1.sum() + (mx * sm).sum() + mn.squeeze(0).pow(2.f).mean() +
                 lse.logsumexp(0).sum() + x.max() + x.abs().mean({1}, true).sum();
  total.backward();
  close(m1, f, "m1");
  close(mx, f, "mx");
  close(lse, f, "lse");
  close(total, f, "total");
  close(x.grad(), f, "grad_x");
}
