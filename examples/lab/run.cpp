#include "lab/run.h"

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/parallel.h>
#include <polygrad/core/random.h>
#include <polygrad/data/dataloader.h>
#include <polygrad/data/long_tail.h>
#include <polygrad/data/source.h>
#include <polygrad/io/atomic_file.h>

#include "common/models.h"
#include "common/setup.h"

namespace polygrad::examples::lab {

std::string RunConfig::id() const {
  // "rho100-s2-poly1_epsilon=2" (spec characters a file name dislikes -> '_')
  std::string s;
  for (char c : spec)
    s += std::isalnum((unsigned char)c) || c == '=' || c == '.' || c == '-' ? c : '_';
  char head[64];
  std::snprintf(head, sizeof head, "rho%g-s%llu-", imbalance, (unsigned long long)seed);
  return head + s + (class_weights == "none" ? "" : "-w_" + class_weights);
}

#define PG_LAB_FIELDS(X)                                                                           \
  X(spec)                                                                                          \
  X(seed)                                                                                          \
  X(imbalance)                                                                                     \
  X(profile)                                                                                       \
  X(data_seed)                                                                                     \
  X(class_weights)                                                                                 \
  X(model) X(data) X(optimizer) X(schedule) X(augment) X(epochs) X(batch_size) X(warmup_epochs)    \
      X(threads) X(lr) X(weight_decay) X(limit_train) X(limit_test)

void to_json(nlohmann::json &j, const RunConfig &c) {
#define X(f) j[#f] = c.f;
  PG_LAB_FIELDS(X)
#undef X
}
void from_json(const nlohmann::json &j, RunConfig &c) {
#define X(f) j.at(#f).get_to(c.f);
  PG_LAB_FIELDS(X)
#undef X
}

namespace {
// NaN is not JSON: stored as null and read back as NaN.
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }
double num(const nlohmann::json &j) { return j.is_null() ? NAN : j.get<double>(); }
nlohmann::json nums(const std::vector<double> &v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v)
    a.push_back(num(x));
  return a;
}
std::vector<double> nums(const nlohmann::json &j) {
  std::vector<double> v;
  for (const auto &x : j)
    v.push_back(num(x));
  return v;
}
template <size_t N> std::array<double, N> arr(const nlohmann::json &j) {
  std::array<double, N> a{};
  for (size_t i = 0; i < N; ++i)
    a[i] = num(j.at(i));
  return a;
}
} // namespace

void to_json(nlohmann::json &j, const RunResult &r) {
  j["config"] = r.config;
  j["describe"] = r.describe;
  j["train_counts"] = r.train_counts;
  j["groups"] = r.groups;
  j["anatomy_available"] = r.anatomy_available;
  j["seconds"] = r.seconds;
  for (const EpochLog &e : r.epochs) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto &row : e.anatomy)
      a.push_back(nums({row.begin(), row.end()}));
    j["epochs"].push_back({{"train_loss", num(e.train_loss)},
                           {"train_acc", num(e.train_acc)},
                           {"test_acc", num(e.test_acc)},
                           {"test_nll", num(e.test_nll)},
                           {"seconds", e.seconds},
                           {"pt_hist", nums(e.pt_hist)},
                           {"mean_pt", nums({e.mean_pt.begin(), e.mean_pt.end()})},
                           {"anatomy", a}});
  }
  const TestMetrics &t = r.test;
  j["test"] = {{"accuracy", num(t.accuracy)},
               {"balanced_accuracy", num(t.balanced_accuracy)},
               {"worst_recall", num(t.worst_recall)},
               {"nll", num(t.nll)},
               {"ece", num(t.calibration.ece)},
               {"recall", nums(t.recall)},
               {"group_recall", nums({t.group_recall.begin(), t.group_recall.end()})},
               {"bin_count", t.calibration.count},
               {"bin_confidence", nums(t.calibration.confidence)},
               {"bin_accuracy", nums(t.calibration.accuracy)}};
}

void from_json(const nlohmann::json &j, RunResult &r) {
  j.at("config").get_to(r.config);
  j.at("describe").get_to(r.describe);
  j.at("train_counts").get_to(r.train_counts);
  j.at("groups").get_to(r.groups);
  j.at("anatomy_available").get_to(r.anatomy_available);
  j.at("seconds").get_to(r.seconds);
  r.epochs.clear();
  for (const auto &e : j.at("epochs")) {
    EpochLog l;
    l.train_loss = num(e.at("train_loss"));
    l.train_acc = num(e.at("train_acc"));
    l.test_acc = num(e.at("test_acc"));
    l.test_nll = num(e.at("test_nll"));
    l.seconds = e.at("seconds").get<double>();
    l.pt_hist = nums(e.at("pt_hist"));
    l.mean_pt = arr<3>(e.at("mean_pt"));
    for (size_t g = 0; g < 3; ++g)
      l.anatomy[g] = arr<5>(e.at("anatomy").at(g));
    r.epochs.push_back(std::move(l));
  }
  const auto &t = j.at("test");
  r.test.accuracy = num(t.at("accuracy"));
  r.test.balanced_accuracy = num(t.at("balanced_accuracy"));
  r.test.worst_recall = num(t.at("worst_recall"));
  r.test.nll = num(t.at("nll"));
  r.test.calibration.ece = num(t.at("ece"));
  r.test.recall = nums(t.at("recall"));
  r.test.group_recall = arr<3>(t.at("group_recall"));
  t.at("bin_count").get_to(r.test.calibration.count);
  r.test.calibration.confidence = nums(t.at("bin_confidence"));
  r.test.calibration.accuracy = nums(t.at("bin_accuracy"));
}

void write_text_file(const std::string &path, const std::string &text) {
  io::AtomicFile f(path);
  f.write(text.data(), text.size());
  f.commit();
}

std::string read_text_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  PG_CHECK(in, "cannot read ", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RunResult run_one(const RunConfig &c, const std::function<void(int, int64_t, int64_t)> &progress) {
  const auto t0 = std::chrono::steady_clock::now();
  set_num_threads(c.threads);
  manual_seed(c.seed);
  RunResult r;
  r.config = c;
  const data::DataSource src = data::detect_data(c.data);
  data::ImageDataset train_set = data::load_dataset(src, data::Split::Train);
  data::ImageDataset test_set = data::load_dataset(src, data::Split::Test);
  if (c.limit_train > 0)
    train_set = data::balanced_head(train_set, c.limit_train);
  if (c.limit_test > 0)
    test_set = data::balanced_head(test_set, c.limit_test);
  if (c.imbalance != 1 || c.profile != "exp") {
    data::ImbalanceProfile profile{};
    text::parse(c.profile, profile);
    train_set = data::long_tail(
        train_set, {.imbalance = c.imbalance, .profile = profile, .seed = c.data_seed});
  }
  check_model_fits(c.model, train_set);
  check_model_fits(c.model, test_set);
  r.train_counts = data::class_counts(train_set);
  const std::vector<Group> groups = frequency_groups(r.train_counts);
  for (Group g : groups)
    r.groups.push_back((int)g);
  const losses::Loss loss =
      losses::make(c.spec, {.class_counts = r.train_counts, .class_weights = c.class_weights});
  r.describe = loss.describe();

  auto [to, eo] = loader_options(train_set.channels, c.augment, c.batch_size);
  auto model = make_model(c.model);
  auto shared = std::make_shared<const data::ImageDataset>(std::move(train_set));
  data::DataLoader train(shared, to);
  data::DataLoader test(std::move(test_set), eo);
  // the training set once more, in order and without augmentation: Pt per epoch
  data::DataLoader probe(shared, eo);
  auto opt = make_optimizer(c.optimizer, model->parameters(), c.lr, 0.9, c.weight_decay, false);
  const int64_t steps = c.epochs * train.size();
  auto sched = make_schedule(*opt, c.schedule, steps, c.warmup_epochs * train.size());
  AnatomyMeter anatomy(loss, groups);
  r.anatomy_available = anatomy.available();

  for (int e = 0; e < c.epochs; ++e) {
    const auto te = std::chrono::steady_clock::now();
    EpochLog log;
    model->train();
    train.set_epoch(e);
    anatomy.reset();
    double loss_sum = 0;
    int64_t seen = 0, correct = 0, step = 0;
    data::Batch b;
    while (train.next(b)) {
      const StepResult r =
          train_step(*model, loss, *opt, sched.get(), b,
                     {e, step, train.size(),
                      "; train this spec alone with mnist_train/cifar10_train --detect-anomaly to "
                      "find the op"});
      anatomy.add(r.logits, b.labels); // the logits this step learned from
      loss_sum += (double)r.loss * b.size();
      correct += r.correct;
      seen += b.size();
      if (progress)
        progress(e, ++step, train.size());
    }
    log.train_loss = loss_sum / seen;
    log.train_acc = (double)correct / seen;
    for (int g = 0; g < 3; ++g)
      for (int t = 0; t < 5; ++t)
        log.anatomy[g][t] = anatomy.available() ? anatomy.result().fraction(g, t) : NAN;

    NoGradGuard no_grad;
    model->eval();
    std::vector<double> pt;
    std::array<double, 3> pt_sum{};
    std::array<int64_t, 3> pt_n{};
    while (probe.next(b)) {
      const std::vector<double> p = true_class_probability((*model)(b.images), b.labels);
      for (size_t i = 0; i < p.size(); ++i) {
        const Group g = groups[b.labels.data<int64_t>()[i]];
        for (int row : {0, g == Group::Head ? 1 : g == Group::Tail ? 2 : -1})
          if (row >= 0)
            pt_sum[row] += p[i], ++pt_n[row];
      }
      pt.insert(pt.end(), p.begin(), p.end());
    }
    log.pt_hist = histogram01(pt, 20);
    for (int g = 0; g < 3; ++g)
      log.mean_pt[g] = pt_n[g] ? pt_sum[g] / pt_n[g] : NAN;
    Evaluation ev(groups);
    while (test.next(b))
      ev.add((*model)(b.images), b.labels);
    r.test = ev.result();
    log.test_acc = r.test.accuracy;
    log.test_nll = r.test.nll;
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - te).count();
    r.epochs.push_back(std::move(log));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

} // namespace polygrad::examples::lab
