// Fuzz target: losses::make, the loss spec parser ("poly1_focal:epsilon=2,
// gamma=1.5", sets of values, per-class weights by scheme), and a call of
// every loss it accepts on a small batch of its kind, so that a parameter
// value the parser lets through must also be one the loss handles.
#include "fuzz.h"

#include <polygrad/core/random.h>
#include <polygrad/core/tensor.h>
#include <polygrad/losses/registry.h>

namespace {

namespace pg = polygrad;
namespace losses = polygrad::losses;

std::vector<std::string> seeds() {
  std::vector<std::string> s;
  for (const losses::LossEntry &e : losses::registered_losses()) {
    s.push_back(e.info.name);
    std::string all = e.info.name + ":";
    for (const losses::LossParam &p : e.params)
      all += p.name + "=" + p.default_value + ",";
    all.pop_back();
    s.push_back(all);
  }
  for (const char *x :
       {"poly1_focal:epsilon=2,gamma=1.5", "ce:weight=cb:0.999", "ce:weight=inverse",
        "focal:alpha=cb:0.9,gamma=2", "poly:epsilons=[2, -0.5, 0.25]", "poly1_focal:epsilon={-1,1}",
        "ce:label_smoothing=0.1,reduction=sum", "ce:weight=1;2;3", "ce:epsilon=", "ce:weight=1e309",
        "focal:gamma=-1", "poly1_ce:epsilon=nan"})
    s.push_back(x);
  return s;
}

// Input and target of the loss's kind: 4 rows, 3 classes.
void call(const losses::Loss &loss) {
  pg::manual_seed(0);
  const pg::Tensor x = pg::randn({4, 3});
  switch (loss.kind) {
  case losses::LossKind::Softmax:
    (void)loss(x, pg::from_labels({0, 2, 1, 2}));
    break;
  case losses::LossKind::LogProbabilities:
    (void)loss(pg::log_softmax(x, 1), pg::from_labels({0, 2, 1, 2}));
    break;
  case losses::LossKind::Distribution:
    (void)loss(pg::log_softmax(x, 1), pg::softmax(pg::randn({4, 3}), 1));
    break;
  case losses::LossKind::Sigmoid:
    (void)loss(x, pg::rand({4, 3}));
    break;
  case losses::LossKind::Regression:
    (void)loss(x, pg::randn({4, 3}));
    break;
  }
}

void run(const uint8_t *data, size_t size) {
  const std::string spec(reinterpret_cast<const char *>(data), size);
  pg::fuzz::expect_error_only([&] { call(losses::make(spec, {.class_counts = {50, 7, 1}})); });
}

} // namespace

PG_FUZZ_TARGET(loss_spec, run, seeds)
