#include "common/train.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>

#include <polygrad/autograd/anomaly_mode.h>
#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/allocator.h>
#include <polygrad/core/parallel.h>
#include <polygrad/core/random.h>
#include <polygrad/data/dataloader.h>
#include <polygrad/data/long_tail.h>
#include <polygrad/data/source.h>
#include <polygrad/io/safetensors.h>
#include <polygrad/losses/registry.h>
#include <polygrad/nn/checkpoint.h>
#include <polygrad/optim/checkpoint.h>

#include "common/cluster.h"
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

// The test set's metrics; distributed, each rank evaluates its slices and
// the sums are taken over the ranks (the loader's padding left out, so the
// numbers are those of one process on the whole test set).
EvalResult evaluate(nn::Module &model, data::DataLoader &loader, const losses::Loss &loss,
                    int num_classes, const Cluster &cluster) {
  NoGradGuard no_grad;
  model.eval();
  EvalResult r{0, 0, ConfusionMatrix(num_classes)};
  std::vector<double> total{0};
  data::Batch b;
  while (loader.next(b)) {
    const int64_t n = b.size() - b.padding;
    if (n == 0)
      continue;
    const Tensor logits = model(b.images).narrow(0, 0, n), labels = b.labels.narrow(0, 0, n);
    total[0] += (double)loss(logits, labels).item() * n;
    r.cm.add(logits, labels);
  }
  cluster.sum(total);
  r.cm.reduce([&](std::vector<double> &v) { cluster.sum(v); });
  r.loss = r.cm.total() ? total[0] / r.cm.total() : 0;
  r.acc = r.cm.accuracy();
  return r;
}

// The flags that define a run: a resumed run must give the same values (the
// data's folder, threads and outputs may change). "imbalance" counts only when
// given (a long-tailed view is made only then).
const char *const kRunFlags[] = {
    "model",         "dropout",      "loss",        "optimizer",     "lr",
    "momentum",      "weight-decay", "schedule",    "warmup-epochs", "epochs",
    "batch-size",    "seed",         "limit-train", "imbalance",     "imbalance-profile",
    "class-weights", "augment"};

std::string run_flag_value(const Flags &f, const std::string &name) {
  if (name == "imbalance" && !f.has(name))
    return "(not given)";
  return f.str(name);
}

// Two values of a flag are the same if they are equal as text or as numbers
// ("2e-3" and "0.002").
bool same_flag_value(const std::string &a, const std::string &b) {
  if (a == b)
    return true;
  char *ea = nullptr, *eb = nullptr;
  const double x = std::strtod(a.c_str(), &ea), y = std::strtod(b.c_str(), &eb);
  return !a.empty() && !b.empty() && *ea == 0 && *eb == 0 && x == y;
}

// The metrics history in a training state: one record per line, each number
// in its shortest exact text, so the resumed run's metrics.csv is the same.
std::string history_text(const std::vector<EpochRecord> &rows) {
  std::string s;
  for (const EpochRecord &r : rows) {
    s += std::to_string(r.epoch);
    for (double v :
         {r.train_loss, r.train_acc, r.test_loss, r.test_acc, r.lr, r.seconds, r.images_per_sec}) {
      s += ",";
      s += text::show(v);
    }
    s += "\n";
  }
  return s;
}

std::vector<EpochRecord> parse_history(const std::string &history, const std::string &path) {
  std::vector<EpochRecord> rows;
  std::istringstream in(history);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::istringstream cols(line);
    for (std::string c; std::getline(cols, c, ',');)
      cells.push_back(c);
    EpochRecord r{};
    double *fields[] = {&r.train_loss, &r.train_acc, &r.test_loss,     &r.test_acc,
                        &r.lr,         &r.seconds,   &r.images_per_sec};
    try {
      PG_CHECK(cells.size() == 8, "8 numbers expected");
      text::parse(cells[0], r.epoch);
      for (int i = 0; i < 7; ++i)
        text::parse(cells[i + 1], *fields[i]);
    } catch (const Error &e) {
      throw Error("--resume " + path + ": bad metrics history line '" + line + "': " + e.what());
    }
    rows.push_back(r);
  }
  return rows;
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
      .add("threads", std::to_string(get_num_threads()),
           "threads for every kernel (--distributed: default the cores shared by the ranks on "
           "this host)")
      .add("seed", "0", "seed for init, shuffling, augmentation and dropout")
      .add("data", d.data_dir,
           "data folder: MNIST IDX files, CIFAR-10 binary batches, or image folders "
           "with train/ and test/ (see docs/data.md)")
      .add("limit-train", "0",
           "use only N training images, the first N/C of each class (0: all; image folders "
           "list the images class by class, so a plain first N would drop classes)")
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
      .add("dropout", "0",
           "dropout probability after each hidden ReLU of mlp/cnn (0: none, as the reference "
           "models)")
      .add_bool("distributed",
                "data-parallel training over the processes of mpirun -np N (MPI): --batch-size "
                "and --lr stay those of the global batch, rank 0 prints and writes the outputs "
                "(see docs/distributed.md)")
      .add_bool("detect-anomaly",
                "check every op's output and gradient for NaN/Inf and stop at the first, naming "
                "the op (slower; see docs/autograd.md)")
      .add("save", "", "write the trained weights to this .safetensors file")
      .add("out", d.out_dir, "folder for metrics.csv and curves.png")
      .add("checkpoint-every", "0",
           "every N epochs, save the whole training state (model, optimizer, schedule, RNG, "
           "epoch, metrics) to --checkpoint, for --resume (0: never)")
      .add("checkpoint", "",
           "the training-state file of --checkpoint-every (default: OUT/checkpoint.safetensors)")
      .add("resume", "",
           "continue the run saved in this training-state file, with the same flags; it ends "
           "bitwise as the uninterrupted run would have");
  f.parse(argc, argv);

  const std::string model_name = f.str("model");
  const long epochs = f.integer("epochs", 1, 100000);
  const long batch_size = f.integer("batch-size", 1, 65536);
  long threads = f.integer("threads", 1, 1024);
  const long seed = f.integer("seed", 0, (long)1e18);
  const long limit = f.integer("limit-train", 0, (long)1e12);
  const long warmup = f.integer("warmup-epochs", 0, 100000);
  const double lr = f.number("lr", 0, 1e3), momentum = f.number("momentum", 0, 1),
               wd = f.number("weight-decay", 0, 1e3);
  if (f.str("data").empty())
    f.fail("--data is required: a folder with the data set (see docs/data.md; CIFAR-10 JPEGs: "
           "tar xzf cifar10-jpeg.tar.gz, then --data cifar10-jpeg)");
  const double imbalance = f.number("imbalance", 1, 1e9);
  const double dropout = f.number("dropout", 0, 1);
  const long checkpoint_every = f.integer("checkpoint-every", 0, 100000);
  std::string ckpt_path = f.str("checkpoint");
  if (checkpoint_every > 0 && ckpt_path.empty()) {
    if (f.str("out").empty())
      f.fail("--checkpoint-every needs --checkpoint PATH or --out DIR");
    ckpt_path = f.str("out") + "/checkpoint.safetensors";
  }
  if (dropout > 0 && model_name != "mlp" && model_name != "cnn")
    f.fail("--dropout: only the mlp and cnn models take dropout, not " + model_name);
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
  const Cluster cluster = start_cluster(f.flag("distributed"));
  // Ranks on one host share its cores: by default each takes its share,
  // so that 2 ranks on 2 cores do not run 4 threads.
  if (cluster.distributed && !f.has("threads"))
    threads = std::max<long>(1, get_num_threads() / cluster.local_world);
  if (batch_size % cluster.world != 0)
    f.fail("--batch-size " + std::to_string(batch_size) +
           " is the global batch: it must be a "
           "multiple of the " +
           std::to_string(cluster.world) + " processes");
  // Outputs must be writable before any training, not found out after it
  // (rank 0 writes them all).
  if (cluster.is_main() && !f.str("out").empty())
    prepare_output_dir("out", f.str("out"));
  if (cluster.is_main() && !f.str("save").empty())
    check_writable_file("save", f.str("save"));
  if (cluster.is_main() && !ckpt_path.empty())
    check_writable_file("checkpoint", ckpt_path);
  // The run's flags go into every training state; --resume must match them.
  Metadata run_flags;
  for (const char *name : kRunFlags)
    run_flags[std::string("flag.") + name] = run_flag_value(f, name);
  const std::string resume = f.str("resume");
  if (!resume.empty()) {
    Metadata saved;
    try {
      saved = io::load_safetensors(resume).metadata;
    } catch (const Error &e) {
      throw Error("--resume " + resume + ": " + e.what());
    }
    std::string diff;
    for (const auto &[key, value] : run_flags) {
      auto it = saved.find("extra." + key);
      PG_CHECK(it != saved.end(), "--resume ", resume,
               ": not a training state of this program (no ", key,
               "); write one with --checkpoint-every");
      if (!same_flag_value(it->second, value)) {
        diff += diff.empty() ? "" : ", ";
        diff += "--";
        diff += key.substr(5);
        diff += " ";
        diff += it->second;
        diff += " (this run: ";
        diff += value;
        diff += ")";
      }
    }
    PG_CHECK(diff.empty(), "--resume ", resume, ": the checkpoint's run had ", diff,
             "; resume with the flags of the run that wrote it");
  }

  set_num_threads((int)threads);
  manual_seed((uint64_t)seed);
  set_detect_anomaly(f.flag("detect-anomaly"));
  std::printf("polygrad %s: model %s, loss %s, optimizer %s lr %g, %ld epochs, batch %ld, "
              "%ld threads, seed %ld\n",
              d.program.c_str(), model_name.c_str(),
              f.str("class-weights") == "none"
                  ? loss.describe().c_str()
                  : (loss.spec + " with " + f.str("class-weights") + " class weights").c_str(),
              f.str("optimizer").c_str(), lr, epochs, batch_size, threads, seed);
  if (cluster.distributed)
    std::printf("distributed: %d processes, each %ld images of every global batch of %ld\n",
                cluster.world, batch_size / cluster.world, batch_size);

  data::ImageDataset train_set = data::load_dataset(src, data::Split::Train);
  data::ImageDataset test_set = data::load_dataset(src, data::Split::Test);
  check_model_fits(model_name, train_set);
  check_model_fits(model_name, test_set);
  if (limit > 0)
    train_set = data::balanced_head(train_set, limit);
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
  to.num_replicas = eo.num_replicas = cluster.world;
  to.rank = eo.rank = cluster.rank;
  auto model = make_model(model_name, dropout);
  // What trains: DistributedDataParallel around the model when distributed
  // (the same parameters); checkpoints and evaluation use the model itself.
  const std::shared_ptr<nn::Module> trained = cluster.wrap(model);
  data::DataLoader train(std::move(train_set), to);
  data::DataLoader test(std::move(test_set), eo);
  std::printf("%s", model->repr().c_str());

  auto opt = make_optimizer(f.str("optimizer"), model->parameters(), lr, momentum, wd, d.nesterov);
  const int64_t steps = epochs * train.size(), warm = warmup * train.size();
  std::shared_ptr<optim::LRScheduler> sched = make_schedule(*opt, f.str("schedule"), steps, warm);

  const std::string out = f.str("out");
  if (!out.empty())
    std::filesystem::create_directories(out);
  const std::string anomaly_hint =
      is_anomaly_enabled()
          ? ""
          : "; rerun with --detect-anomaly to stop at the first op that produces a NaN or Inf "
            "(lowering --lr often helps)";
  std::vector<EpochRecord> records;
  EvalResult last;
  double train_seconds = 0;
  long start_epoch = 0;
  if (!resume.empty()) {
    // Built exactly as the interrupted run was (same seed, same draws), so
    // the loader's seed must match; then everything else comes from the file.
    optim::TrainingState st = optim::load_training_state(resume, *model, *opt, sched.get());
    PG_CHECK(st.data_seed == train.seed() && st.epoch <= epochs &&
                 st.step == st.epoch * train.size() && st.extra.count("train_images") &&
                 st.extra.at("train_images") == std::to_string(train.num_samples()),
             "--resume ", resume, ": the checkpoint's data (", st.extra["train_images"],
             " training images, order seed ", st.data_seed, ", epoch ", st.epoch, ", step ",
             st.step, ") does not fit this run (", train.num_samples(), " images, seed ",
             train.seed(), ", ", train.size(), " batches per epoch)");
    records = parse_history(st.extra["metrics"], resume);
    PG_CHECK(records.size() == (size_t)st.epoch, "--resume ", resume, ": ", records.size(),
             " epochs of metrics for ", st.epoch, " epochs");
    text::parse(st.extra["train_seconds"], train_seconds);
    start_epoch = (long)st.epoch;
    std::printf("resumed from %s after epoch %ld (step %lld)\n", resume.c_str(), start_epoch,
                (long long)st.step);
    if (start_epoch == epochs) { // nothing left to train: report as the run did
      last = evaluate(*model, test, loss, num_classes, cluster);
      if (cluster.is_main() && !out.empty()) {
        write_metrics_csv(out + "/metrics.csv", records);
        write_curves_png(out + "/curves.png", records,
                         d.program + " " + model_name + ", " + loss.spec);
      }
    }
  }
  for (long e = start_epoch; e < epochs; ++e) {
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
      const StepResult r =
          train_step(*trained, loss, *opt, sched.get(), b, {e, step, train.size(), anomaly_hint});
      loss_sum += (double)r.loss * b.size();
      correct += r.correct;
      seen += b.size();
      ++step;
      // this rank's loss and accuracy; the rate counts every rank's images
      bar.update(step, seen * cluster.world,
                 {{"loss", loss_sum / seen}, {"acc", double(correct) / seen}});
    }
    const double secs = bar.elapsed_seconds();
    train_seconds += secs;
    std::vector<double> sums{loss_sum, double(correct), double(seen)};
    cluster.sum(sums); // the epoch's numbers over every rank's slices
    loss_sum = sums[0], correct = int64_t(sums[1]), seen = int64_t(sums[2]);
    bar.finish({{"loss", loss_sum / seen}, {"acc", double(correct) / seen}});
    last = evaluate(*model, test, loss, num_classes, cluster);
    const auto st = train.stats();
    std::printf("epoch %ld: train loss %.4f acc %.2f%% | test loss %.4f acc %.2f%% | %.1f s, "
                "%.0f img/s, lr %.3g, waited on data %.3f s (%lld of %lld batches)\n",
                e + 1, loss_sum / seen, 100.0 * correct / seen, last.loss, 100.0 * last.acc, secs,
                seen / secs, opt->lr(), st.wait_seconds, (long long)st.stalls,
                (long long)st.batches);
    std::fflush(stdout);
    records.push_back({(int)e + 1, loss_sum / seen, double(correct) / seen, last.loss, last.acc,
                       opt->lr(), secs, seen / secs});
    if (cluster.is_main() && !out.empty()) {
      write_metrics_csv(out + "/metrics.csv", records);
      write_curves_png(out + "/curves.png", records,
                       d.program + " " + model_name + ", " + loss.spec);
    }
    if (cluster.is_main() && checkpoint_every > 0 && (e + 1) % checkpoint_every == 0) {
      optim::TrainingState st{.epoch = e + 1,
                              .step = (e + 1) * train.size(),
                              .data_seed = train.seed(),
                              .extra = run_flags};
      st.extra["train_images"] = std::to_string(train.num_samples());
      st.extra["metrics"] = history_text(records);
      st.extra["train_seconds"] = text::show(train_seconds);
      optim::save_training_state(ckpt_path, *model, *opt, sched.get(), st);
      std::printf("saved the training state after epoch %ld to %s\n", e + 1, ckpt_path.c_str());
    }
  }
  std::printf("\n%s", last.cm.format(classes).c_str());
  std::printf("final test accuracy: %.2f%% after %ld epochs, %.1f s of training\n",
              100.0 * last.acc, epochs, train_seconds);
  if (!out.empty())
    std::printf("wrote %s/metrics.csv and %s/curves.png\n", out.c_str(), out.c_str());
  if (cluster.is_main() && !f.str("save").empty()) {
    nn::save(*model, f.str("save"),
             {{"model", model_name},
              {"dropout", f.str("dropout")},
              {"loss", loss.spec},
              {"epochs", std::to_string(epochs)}});
    std::printf("saved weights to %s\n", f.str("save").c_str());
  }
  return 0;
}

} // namespace polygrad::examples
