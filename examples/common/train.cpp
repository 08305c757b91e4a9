#include "common/train.h"

#include <cstdio>
#include <filesystem>
#include <memory>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/allocator.h>
#include <polygrad/core/parallel.h>
#include <polygrad/core/random.h>
#include <polygrad/data/dataloader.h>
#include <polygrad/data/long_tail.h>
#include <polygrad/data/source.h>
#include <polygrad/losses/registry.h>
#include <polygrad/nn/checkpoint.h>

#include "common/curves.h"
#include "common/flags.h"
#include "common/metrics.h"
#include "common/models.h"
#include "common/program.h"
#include "common/progress.h"
#include "common/setup.h"

namespace polygrad::examples {
namespace {

struct EvalResult {
  double loss = 0, acc = 0;
  ConfusionMatrix cm{10};
};

EvalResult evaluate(nn::Module &model, data::DataLoader &loader, const losses::Loss &loss,
                    int num_classes) {
  NoGradGuard no_grad;
  model.eval();
  EvalResult r{0, 0, ConfusionMatrix(num_classes)};
  double total = 0;
  data::Batch b;
  while (loader.next(b)) {
    Tensor logits = model(b.images);
    total += (double)loss(logits, b.labels).item() * b.size();
    r.cm.add(logits, b.labels);
  }
  r.loss = r.cm.total() ? total / r.cm.total() : 0;
  r.acc = r.cm.accuracy();
  return r;
}

} // namespace

int run_training(const TrainDefaults &d, int argc, char **argv) {
  // Line-buffered even into a file or pipe, so `tee`/logs show each epoch's
  // summary when it happens, in order with the progress lines on stderr.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Flags f(d.program, d.summary);
  f.add("model", d.models.at(0), "network to train", d.models)
      .add("loss", "cross_entropy",
           "loss spec from the registry, e.g. poly1:epsilon=2, focal:gamma=2, "
           "poly1_focal:epsilon=1,gamma=2 (see docs/losses.md)")
      .add("optimizer", d.optimizer, "optimizer", {"sgd", "adam", "adamw"})
      .add("lr", std::to_string(d.lr), "learning rate")
      .add("momentum", std::to_string(d.momentum), "SGD momentum")
      .add("weight-decay", std::to_string(d.weight_decay), "weight decay")
      .add("schedule", d.schedule, "learning-rate schedule (per step)", {"none", "cosine", "step"})
      .add("warmup-epochs", std::to_string(d.warmup_epochs), "linear warmup before the schedule")
      .add("epochs", std::to_string(d.epochs), "training epochs")
      .add("batch-size", std::to_string(d.batch_size), "batch size")
      .add("threads", std::to_string(get_num_threads()), "threads for every kernel")
      .add("seed", "0", "seed for init, shuffling, augmentation and dropout")
      .add("data", d.data_dir,
           "data folder: MNIST IDX files, CIFAR-10 binary batches, or image folders "
           "with train/ and test/ (see docs/data.md)")
      .add("limit-train", "0", "use only the first N training images (0: all)")
      .add("imbalance", "1",
           "long-tailed training set: imbalance ratio rho = n_0 / n_{C-1} (1: as loaded; "
           "see docs/data.md); the test set stays balanced")
      .add("imbalance-profile", "exp",
           "class sizes: exp = n_max rho^(-c/(C-1)), step = "
           "half the classes n_max, half n_max / rho",
           {"exp", "step"})
      .add("class-weights", "none",
           "per-class loss weights from the training counts: none, inverse, cb:BETA "
           "(class-balanced, e.g. cb:0.999)")
      .add("augment", d.augment ? "on" : "off",
           "augmentation: crop-flip = random crop (pad 4) + horizontal flip (CIFAR), "
           "affine = random rotation +-10 deg and shift +-8% (MNIST), on = the data set's "
           "usual one (crop-flip for colour images, affine for grey)",
           {"on", "off", "crop-flip", "affine"})
      .add("save", "", "write the trained weights to this .safetensors file")
      .add("out", d.out_dir, "folder for metrics.csv and curves.png");
  f.parse(argc, argv);

  const std::string model_name = f.str("model");
  const long epochs = f.integer("epochs", 1, 100000);
  const long batch_size = f.integer("batch-size", 1, 65536);
  const long threads = f.integer("threads", 1, 1024);
  const long seed = f.integer("seed", 0, (long)1e18);
  const long limit = f.integer("limit-train", 0, (long)1e12);
  const long warmup = f.integer("warmup-epochs", 0, 100000);
  const double lr = f.number("lr", 0, 1e3), momentum = f.number("momentum", 0, 1),
               wd = f.number("weight-decay", 0, 1e3);
  if (f.str("data").empty())
    f.fail("--data is required: a folder with the data set (see docs/data.md; CIFAR-10 JPEGs: "
           "tar xzf cifar10-jpeg.tar.gz, then --data cifar10-jpeg)");
  const double imbalance = f.number("imbalance", 1, 1e9);
  losses::Loss loss;
  try {
    // validated now (with stand-in counts), made for real once the data is loaded
    loss =
        losses::make(f.str("loss"), {.class_counts = {1}, .class_weights = f.str("class-weights")});
  } catch (const Error &e) {
    f.fail(std::string("bad --loss/--class-weights: ") + e.what());
  }
  // The models output logits for integer labels: only softmax losses fit.
  if (loss.kind != losses::LossKind::Softmax)
    f.fail("--loss " + f.str("loss") + ": '" + loss.name + "' is a " + text::show(loss.kind) +
           " loss, it does not take a classifier's logits and integer labels; valid: " +
           loss_names(losses::LossKind::Softmax));
  data::DataSource src;
  try {
    src = data::detect_data(f.str("data"));
  } catch (const Error &e) {
    f.fail(std::string("bad --data: ") + e.what());
  }
  // Outputs must be writable before any training, not found out after it.
  if (!f.str("out").empty())
    prepare_output_dir("out", f.str("out"));
  if (!f.str("save").empty())
    check_writable_file("save", f.str("save"));

  set_num_threads((int)threads);
  manual_seed((uint64_t)seed);
  std::printf("polygrad %s: model %s, loss %s, optimizer %s lr %g, %ld epochs, batch %ld, "
              "%ld threads, seed %ld\n",
              d.program.c_str(), model_name.c_str(),
              f.str("class-weights") == "none"
                  ? loss.describe().c_str()
                  : (loss.spec + " with " + f.str("class-weights") + " class weights").c_str(),
              f.str("optimizer").c_str(), lr, epochs, batch_size, threads, seed);

  data::ImageDataset train_set = data::load_dataset(src, data::Split::Train);
  data::ImageDataset test_set = data::load_dataset(src, data::Split::Test);
  check_model_fits(model_name, train_set);
  check_model_fits(model_name, test_set);
  if (limit > 0)
    train_set = data::head(train_set, limit);
  if (f.has("imbalance"))
    train_set =
        data::long_tail(train_set, {.imbalance = imbalance,
                                    .profile = f.value<data::ImbalanceProfile>("imbalance-profile"),
                                    .seed = (uint64_t)seed});
  const std::vector<int64_t> counts = data::class_counts(train_set);
  loss = losses::make(f.str("loss"),
                      {.class_counts = counts, .class_weights = f.str("class-weights")});
  if (f.has("imbalance") || f.str("class-weights") != "none") {
    std::printf("training images per class:");
    for (int64_t c : counts)
      std::printf(" %lld", (long long)c);
    std::printf("\nloss: %s\n", loss.describe().c_str());
  }
  const int num_classes = (int)train_set.num_classes();
  const std::vector<std::string> classes = train_set.classes;
  std::printf("data: %s (%s), %lld train / %lld test images of %lldx%lldx%lld, %d classes\n",
              src.dir.c_str(), data::format_name(src.format), (long long)train_set.n,
              (long long)test_set.n, (long long)train_set.channels, (long long)train_set.height,
              (long long)train_set.width, num_classes);

  auto [to, eo] = loader_options(train_set.channels, f.str("augment"), batch_size);
  auto model = make_model(model_name);
  data::DataLoader train(std::move(train_set), to);
  data::DataLoader test(std::move(test_set), eo);
  std::printf("%s", model->repr().c_str());

  auto opt = make_optimizer(f.str("optimizer"), model->parameters(), lr, momentum, wd, d.nesterov);
  const int64_t steps = epochs * train.size(), warm = warmup * train.size();
  std::shared_ptr<optim::LRScheduler> sched = make_schedule(*opt, f.str("schedule"), steps, warm);

  const std::string out = f.str("out");
  if (!out.empty())
    std::filesystem::create_directories(out);
  std::vector<EpochRecord> records;
  EvalResult last;
  double train_seconds = 0;
  for (long e = 0; e < epochs; ++e) {
    model->train();
    train.set_epoch(e);
    train.reset_stats();
    char label[64];
    std::snprintf(label, sizeof label, "epoch %ld/%ld", e + 1, epochs);
    ProgressBar bar(label, train.size());
    double loss_sum = 0;
    int64_t seen = 0, correct = 0, step = 0;
    data::Batch b;
    while (train.next(b)) {
      Tensor logits = (*model)(b.images);
      Tensor l = loss(logits, b.labels);
      opt->zero_grad();
      l.backward();
      opt->step();
      if (sched)
        sched->step();
      const float lv = l.item();
      loss_sum += (double)lv * b.size();
      correct += (int64_t)(logits.argmax(1) == b.labels).sum().item();
      seen += b.size();
      ++step;
      bar.update(step, seen, {{"loss", loss_sum / seen}, {"acc", double(correct) / seen}});
    }
    const double secs = bar.elapsed_seconds();
    train_seconds += secs;
    bar.finish({{"loss", loss_sum / seen}, {"acc", double(correct) / seen}});
    last = evaluate(*model, test, loss, num_classes);
    const auto st = train.stats();
    std::printf("epoch %ld: train loss %.4f acc %.2f%% | test loss %.4f acc %.2f%% | %.1f s, "
                "%.0f img/s, lr %.3g, waited on data %.3f s (%lld of %lld batches)\n",
                e + 1, loss_sum / seen, 100.0 * correct / seen, last.loss, 100.0 * last.acc, secs,
                seen / secs, opt->lr(), st.wait_seconds, (long long)st.stalls,
                (long long)st.batches);
    std::fflush(stdout);
    records.push_back({(int)e + 1, loss_sum / seen, double(correct) / seen, last.loss, last.acc,
                       opt->lr(), secs, seen / secs});
    if (!out.empty()) {
      write_metrics_csv(out + "/metrics.csv", records);
      write_curves_png(out + "/curves.png", records,
                       d.program + " " + model_name + ", " + loss.spec);
    }
  }
  std::printf("\n%s", last.cm.format(classes).c_str());
  std::printf("final test accuracy: %.2f%% after %ld epochs, %.1f s of training\n",
              100.0 * last.acc, epochs, train_seconds);
  if (!out.empty())
    std::printf("wrote %s/metrics.csv and %s/curves.png\n", out.c_str(), out.c_str());
  if (!f.str("save").empty()) {
    nn::save(*model, f.str("save"),
             {{"model", model_name}, {"loss", loss.spec}, {"epochs", std::to_string(epochs)}});
    std::printf("saved weights to %s\n", f.str("save").c_str());
  }
  return 0;
}

} // namespace polygrad::examples
