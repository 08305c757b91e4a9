// The loss lab's pieces (examples/lab/): sweep syntax, calibration, the
// head/medium/tail groups, the gradient anatomy, the report's base64.
#include <cmath>

#include <catch2/catch.hpp>

#include <polygrad/core/error.h>
#include <polygrad/core/random.h>
#include <polygrad/losses/losses.h>

#include "lab/measures.h"
#include "lab/report.h"
#include "lab/sweep.h"

namespace pg = polygrad;
namespace L = polygrad::losses;
namespace lab = polygrad::examples::lab;
using Catch::Contains;

TEST_CASE("lab sweep: sets expand to the Cartesian product, in order", "[lab]") {
  using V = std::vector<std::string>;
  CHECK(lab::expand_sweep("ce") == V{"ce"});
  CHECK(lab::expand_sweep(
            "ce,poly1:epsilon={-1,0,1,2,4},focal:gamma={1,2},poly1_focal:epsilon={-1,1},gamma=2") ==
        V{"ce", "poly1:epsilon=-1", "poly1:epsilon=0", "poly1:epsilon=1", "poly1:epsilon=2",
          "poly1:epsilon=4", "focal:gamma=1", "focal:gamma=2", "poly1_focal:epsilon=-1,gamma=2",
          "poly1_focal:epsilon=1,gamma=2"});
  // two sets: the last one fastest; spaces are trimmed; brackets stay whole
  CHECK(lab::expand_sweep(" poly1_focal : epsilon={-1, 1} , gamma={0,2}") ==
        V{"poly1_focal:epsilon=-1,gamma=0", "poly1_focal:epsilon=-1,gamma=2",
          "poly1_focal:epsilon=1,gamma=0", "poly1_focal:epsilon=1,gamma=2"});
  CHECK(lab::expand_sweep("ce:weight=[1, 2],focal") == V{"ce:weight=[1, 2]", "focal"});
  CHECK(lab::expand_sweep("poly:epsilons={[1, 0.5],[2]}") ==
        V{"poly:epsilons=[1, 0.5]", "poly:epsilons=[2]"});
  // a scheme value with a colon continues the spec
  CHECK(lab::expand_sweep("focal:gamma=2,alpha=cb:0.999") == V{"focal:gamma=2,alpha=cb:0.999"});
}

TEST_CASE("lab sweep: bad syntax names the position", "[lab]") {
  CHECK_THROWS_WITH(lab::expand_sweep("ce,poly1:epsilon={1,2"),
                    Contains("unclosed '{' at position 18"));
  CHECK_THROWS_WITH(lab::expand_sweep("poly1:epsilon={1,{2}}"),
                    Contains("nested '{' at position 18"));
  CHECK_THROWS_WITH(lab::expand_sweep("poly1:epsilon={}"), Contains("empty value in the set"));
  CHECK_THROWS_WITH(lab::expand_sweep("poly1:epsilon={1,,2}"), Contains("at position 18"));
  CHECK_THROWS_WITH(lab::expand_sweep("gamma=2,focal"),
                    Contains("parameter 'gamma=2' before any loss name at position 1"));
  CHECK_THROWS_WITH(lab::expand_sweep("ce,,focal"), Contains("empty item at position 4"));
  CHECK_THROWS_WITH(lab::expand_sweep("ce}"), Contains("'}' without '{' at position 3"));
  CHECK_THROWS_WITH(lab::expand_sweep("poly1:epsilon=1{2}"),
                    Contains("a set must be the whole value"));
  CHECK_THROWS_WITH(lab::expand_sweep("poly1:epsilon="), Contains("empty value for 'epsilon'"));
  CHECK_THROWS_WITH(lab::expand_sweep(""), Contains("empty item"));
}

TEST_CASE("lab calibration: ECE on hand-computed cases", "[lab]") {
  // all in one bin (0.8, 0.8667]: conf 0.85 mean, accuracy 1/2 -> ECE 0.35
  auto r = lab::reliability({0.85f, 0.85f}, {1, 0});
  CHECK(r.ece == Approx(0.35).epsilon(1e-6));
  CHECK(r.count[12] == 2);
  // perfectly calibrated: conf 1 always right, conf 0.5 (bin 7: (0.4667, 0.5333]) right half the
  // time
  r = lab::reliability({1.f, 1.f, 0.5f, 0.5f}, {1, 1, 1, 0});
  CHECK(r.ece == Approx(0).margin(1e-7));
  r = lab::reliability({0.95f, 0.95f, 0.3f, 0.3f}, {1, 0, 1, 1});
  // bin of 0.95: acc 0.5, conf 0.95 -> 0.45; bin of 0.3: acc 1, conf 0.3 -> 0.7; ECE = (0.45 + 0.7)
  // / 2
  CHECK(r.ece == Approx((0.45 + 0.7) / 2).epsilon(1e-6));
  // bin edges: (b/B, (b+1)/B]: just below 1/15 = 0.0667 in bin 0, just above in bin 1; 0 in bin 0
  r = lab::reliability({0.0666f, 0.0667f, 0.f}, {1, 1, 1});
  CHECK(r.count[0] == 2);
  CHECK(r.count[1] == 1);
  CHECK(std::isnan(r.accuracy[5]));
  CHECK_THROWS_WITH(lab::reliability({0.5f}, {}), Contains("1 confidences but 0"));
}

TEST_CASE("lab evaluation: recall, balanced accuracy, groups, NLL", "[lab]") {
  // counts 50, 30, 20, 10, 5, 1 -> head = {0, 1}, tail = {4, 5}
  const auto g = lab::frequency_groups({50, 30, 20, 10, 5, 1});
  CHECK(g == std::vector<lab::Group>{lab::Group::Head, lab::Group::Head, lab::Group::Medium,
                                     lab::Group::Medium, lab::Group::Tail, lab::Group::Tail});
  lab::Evaluation ev(lab::frequency_groups({3, 2, 1}));
  // logits: predictions 0, 0, 1, 2 for labels 0, 1, 1, 2
  const pg::Tensor z = pg::from_vector({2, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 5}, {4, 3});
  ev.add(z, pg::from_labels({0, 1, 1, 2}));
  const lab::TestMetrics m = ev.result();
  CHECK(m.accuracy == Approx(0.75));
  CHECK(m.recall == std::vector<double>{1, 0.5, 1});
  CHECK(m.balanced_accuracy == Approx(2.5 / 3));
  CHECK(m.worst_recall == 0.5);
  CHECK(m.group_recall[0] == 1);   // head: class 0
  CHECK(m.group_recall[1] == 0.5); // medium: class 1
  CHECK(m.group_recall[2] == 1);   // tail: class 2
  // NLL: mean of -log softmax at the label, in double
  auto lp = [](std::vector<double> r, int y) {
    double s = 0;
    for (double v : r)
      s += std::exp(v);
    return r[y] - std::log(s);
  };
  const double nll =
      -(lp({2, 0, 0}, 0) + lp({1, 0, 0}, 1) + lp({0, 3, 0}, 1) + lp({0, 0, 5}, 2)) / 4;
  CHECK(m.nll == Approx(nll).epsilon(1e-12));
  CHECK_THROWS_WITH(ev.add(z, pg::from_labels({0, 1, 1, 7})), Contains("label 7 out of range"));
}

TEST_CASE("lab anatomy: the terms of the expansion sum to the whole gradient", "[lab]") {
  // For losses of Pt alone, sum_j push_j over the whole series equals the
  // gradient's length from the loss's own backward. Rows with Pt >= ~0.2 so
  // the series converges within the terms taken.
  pg::manual_seed(11);
  const pg::Tensor z = pg::randn({64, 5}) * 0.8f;
  std::vector<int64_t> yv;
  for (int i = 0; i < 64; ++i)
    yv.push_back(i % 5);
  const pg::Tensor y = pg::from_labels(yv);
  const pg::Tensor w = pg::from_vector({1.f, 2.f, 0.5f, 1.f, 3.f}, {5});
  const std::vector<double> pt = lab::true_class_probability(z, y);
  for (const char *spec : {"ce", "poly1:epsilon=2", "poly1:epsilon=-1", "focal:gamma=2",
                           "focal:gamma=0.5", "poly:epsilons=1;-0.5;2",
                           "poly1_focal:epsilon=1,gamma=2", "gce:q=0.7", "ce:weight=1;2;0.5;1;3"}) {
    INFO(spec);
    const L::Loss loss =
        L::make(std::string(spec) + (std::string(spec).find(':') == std::string::npos ? ":" : ",") +
                "reduction=sum");
    pg::Tensor zz = z.detach();
    zz.requires_grad_(true);
    loss(zz, y).backward();
    const pg::Tensor g = zz.grad();
    const L::Series s = loss.series(3000);
    const bool weighted = std::string(spec).find("weight") != std::string::npos;
    int checked = 0;
    for (int64_t i = 0; i < 64; ++i) {
      if (pt[i] < 0.2)
        continue;
      double gn = 0, un = 0;
      std::vector<double> p(5);
      double se = 0;
      for (int k = 0; k < 5; ++k)
        se += p[k] = std::exp((double)z.data<float>()[i * 5 + k]);
      for (int k = 0; k < 5; ++k) {
        p[k] /= se;
        const double u = (k == yv[i]) - p[k];
        un += u * u;
        gn += (double)g.data<float>()[i * 5 + k] * g.data<float>()[i * 5 + k];
      }
      const double wy = weighted ? w.data<float>()[yv[i]] : 1.0;
      const std::vector<double> t = lab::term_pushes(s, 1 - pt[i], pt[i], std::sqrt(un), wy, 3000);
      double sum = 0;
      for (double v : t)
        sum += v;
      CHECK(std::fabs(sum) == Approx(std::sqrt(gn)).epsilon(2e-5));
      ++checked;
    }
    CHECK(checked > 20);
  }
  // the meter: fractions of terms 1..3 and the rest sum to 1, rows all/head/tail
  const L::Loss ce = L::make("poly1:epsilon=2");
  lab::AnatomyMeter meter(ce, lab::frequency_groups({50, 40, 30, 20, 10}));
  REQUIRE(meter.available());
  meter.add(z, y);
  const lab::Anatomy &a = meter.result();
  CHECK(a.samples == 64);
  for (int row = 0; row < 3; ++row) {
    double s = 0;
    for (int t = 0; t < 4; ++t)
      s += a.fraction(row, t);
    CHECK(s == Approx(1).epsilon(1e-9));
  }
  // Poly-1 with epsilon = 2 puts 3x CE's coefficient on term 1: its share is larger than CE's
  lab::AnatomyMeter cem(L::make("ce"), lab::frequency_groups({50, 40, 30, 20, 10}));
  cem.add(z, y);
  CHECK(a.fraction(0, 0) > cem.result().fraction(0, 0));
  // not a function of Pt alone: unavailable
  CHECK(
      !lab::AnatomyMeter(L::make("ce:label_smoothing=0.1"), lab::frequency_groups({1, 1, 1, 1, 1}))
           .available());
}

TEST_CASE("lab report: base64 per RFC 4648", "[lab]") {
  CHECK(lab::base64("") == "");
  CHECK(lab::base64("f") == "Zg==");
  CHECK(lab::base64("fo") == "Zm8=");
  CHECK(lab::base64("foo") == "Zm9v");
  CHECK(lab::base64("foob") == "Zm9vYg==");
  CHECK(lab::base64("fooba") == "Zm9vYmE=");
  CHECK(lab::base64("foobar") == "Zm9vYmFy");
  CHECK(lab::base64(std::string("\xff\x00\x10", 3)) == "/wAQ");
}
