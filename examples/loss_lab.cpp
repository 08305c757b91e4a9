// The loss lab: trains the same model under several losses, on balanced and
// long-tailed data, over seeds, and reports what each loss did to the model
// (accuracy per class, calibration, the distribution of Pt, and how much of
// the gradient each term of the loss's polynomial expansion carried).
//
//   loss_lab                                    # the default grid: 9 specs x 3 seeds, MNIST-LT rho
//   100 loss_lab --losses 'ce,poly1:epsilon={-1,1,2,4}' --imbalance 1,10,100 --seeds 3 loss_lab
//   --data cifar10-jpeg --model cifar-cnn --imbalance 100 --epochs 6
//
// Each run is a child process (this program with --run), two at a time by
// default (on this 2-core machine two 1-thread runs side by side finish a grid
// sooner than one 2-thread run after another; docs/loss-lab.md). Finished
// runs are kept in OUT/runs/ (Ctrl-C or a crash loses only the runs in
// flight); --resume skips them. The report: OUT/report.html (self-contained),
// the same pictures as PNGs, and CSVs of every number.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <polygrad/core/error.h>
#include <polygrad/core/text.h>
#include <polygrad/losses/registry.h>

#include "common/flags.h"
#include "common/program.h"
#include "common/progress.h"
#include "lab/report.h"
#include "lab/run.h"
#include "lab/sweep.h"

namespace fs = std::filesystem;
using namespace polygrad;
using namespace polygrad::examples;
using namespace polygrad::examples::lab;

namespace {

const char *kDefaultLosses = "ce,poly1:epsilon={-1,1,2,4},focal:gamma={1,2},"
                             "poly1_focal:epsilon={-1,1},gamma=2";

// A finished run's result, if OUT/runs/<id>.json holds one for this config.
bool load_finished(const std::string &path, const RunConfig &c, RunResult &r) {
  if (!fs::exists(path))
    return false;
  try {
    from_json(nlohmann::json::parse(read_text_file(path)), r);
    return nlohmann::json(r.config) == nlohmann::json(c);
  } catch (const std::exception &) {
    return false; // unreadable or from another version: run it again
  }
}

// --run: one run in this process; progress goes to a small file the parent polls.
int run_child(const std::string &config_path, const std::string &result_path,
              const std::string &progress_path) {
  RunConfig c;
  from_json(nlohmann::json::parse(read_text_file(config_path)), c);
  const RunResult r = run_one(c, [&](int epoch, int64_t step, int64_t steps) {
    const double done = (epoch + double(step) / steps) / c.epochs;
    if (FILE *f = std::fopen(progress_path.c_str(), "w")) {
      std::fprintf(f, "%.6f\n", done);
      std::fclose(f);
    }
  });
  write_text_file(result_path, nlohmann::json(r).dump());
  std::printf("%s: test accuracy %.2f%%, balanced %.2f%%, %.1f s\n", c.id().c_str(),
              100 * r.test.accuracy, 100 * r.test.balanced_accuracy, r.seconds);
  return 0;
}

std::atomic<bool> interrupted{false};
extern "C" void on_sigint(int) { interrupted = true; }

struct Job {
  RunConfig config;
  std::string dir; // OUT/runs
  std::string path(const char *ext) const { return dir + "/" + config.id() + ext; }
};

pid_t spawn(const std::string &self, const Job &j) {
  const std::string cfg = j.path(".config.json");
  write_text_file(cfg, nlohmann::json(j.config).dump(2));
  std::remove(j.path(".progress").c_str());
  const pid_t pid = fork();
  PG_CHECK(pid >= 0, "loss_lab: fork failed");
  if (pid == 0) {
    const int fd = open(j.path(".log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    const std::string res = j.path(".json"), prog = j.path(".progress");
    execl(self.c_str(), self.c_str(), "--run", cfg.c_str(), "--run-result", res.c_str(),
          "--run-progress", prog.c_str(), (char *)nullptr);
    _exit(127);
  }
  return pid;
}

double read_progress(const std::string &path) {
  double v = 0;
  if (FILE *f = std::fopen(path.c_str(), "r")) {
    if (std::fscanf(f, "%lf", &v) != 1)
      v = 0;
    std::fclose(f);
  }
  return std::clamp(v, 0.0, 1.0);
}

} // namespace

int main(int argc, char **argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Flags f("loss_lab", "Trains one model under several losses (with sweeps), on balanced or "
                      "long-tailed data, over seeds, and writes a report of what each loss did: "
                      "per-class recall, calibration, Pt distributions, gradient anatomy.");
  f.add("losses", kDefaultLosses,
        "registry specs, comma-separated; a parameter may sweep a set: poly1:epsilon={-1,0,1}")
      .add("seeds", "3", "seeds per spec (0, 1, ..., K-1)")
      .add("imbalance", "100", "long-tail imbalance ratios rho, comma-separated (1 = balanced)")
      .add("imbalance-profile", "exp", "class sizes: exp or step", {"exp", "step"})
      .add("class-weights", "none", "per-class loss weights: none, inverse, cb:BETA")
      .add("metric", "balanced_accuracy", "what ranks the specs",
           {"accuracy", "balanced_accuracy", "worst_recall", "tail_recall", "ece", "nll"})
      .add("data", PG_SOURCE_DIR "/data/mnist-10k",
           "data folder (MNIST IDX, CIFAR-10 binary or image folders; see docs/data.md)")
      .add("model", "cnn", "network", {"mlp", "cnn", "cifar-cnn", "resnet"})
      .add("epochs", "12", "epochs per run")
      .add("batch-size", "128", "batch size")
      .add("optimizer", "adam", "optimizer", {"sgd", "adam", "adamw"})
      .add("lr", "0.002", "learning rate")
      .add("weight-decay", "0", "weight decay")
      .add("schedule", "cosine", "learning-rate schedule", {"none", "cosine", "step"})
      .add("warmup-epochs", "1", "linear warmup epochs")
      .add("augment", "on", "augmentation", {"on", "off", "crop-flip", "affine"})
      .add("limit-train", "0",
           "use only the first N/C training images of each class, before the long tail (0: all)")
      .add("limit-test", "0", "use only the first N/C test images of each class (0: all)")
      .add("data-seed", "0", "which images the long-tailed view keeps (same for every run)")
      .add("threads", "1", "threads per run")
      .add("jobs", "2", "runs side by side")
      .add("out", "loss_lab_out", "output folder")
      .add_bool("resume", "skip the runs already finished in --out")
      .add_bool("report-only", "only rebuild the report from the finished runs in --out")
      .add("run", "", "(internal) run one config file")
      .add("run-result", "", "(internal)")
      .add("run-progress", "", "(internal)");
  f.parse(argc, argv);
  return run_program("loss_lab", [&]() -> int {
    if (!f.str("run").empty())
      return run_child(f.str("run"), f.str("run-result"), f.str("run-progress"));

    std::vector<std::string> specs;
    try {
      specs = expand_sweep(f.str("losses"));
    } catch (const Error &e) {
      f.fail(e.what());
    }
    const std::string cw = f.str("class-weights");
    for (const std::string &s : specs) {
      try {
        const losses::Loss l = losses::make(s, {.class_counts = {1}, .class_weights = cw});
        PG_CHECK(l.kind == losses::LossKind::Softmax, "'", s,
                 "' is not a softmax classification loss (the lab trains classifiers on logits); "
                 "valid: ",
                 loss_names(losses::LossKind::Softmax));
        for (const auto &[k, v] : l.params)
          PG_CHECK(k != "reduction" || v == "mean", "'", s,
                   "': the lab trains with reduction=mean; leave reduction out");
      } catch (const Error &e) {
        f.fail(std::string("--losses: ") + e.what());
      }
    }
    std::vector<double> rhos;
    {
      std::stringstream ss(f.str("imbalance"));
      std::string item;
      while (std::getline(ss, item, ',')) {
        double v = 0;
        try {
          text::parse(item, v);
        } catch (const Error &e) {
          f.fail("--imbalance: '" + item + "' is not a number");
        }
        if (!(v >= 1))
          f.fail("--imbalance: ratios must be >= 1, got '" + item + "'");
        rhos.push_back(v);
      }
    }
    const long seeds = f.integer("seeds", 1, 1000), jobs = f.integer("jobs", 1, 64);
    RunConfig base;
    base.profile = f.str("imbalance-profile");
    base.class_weights = cw;
    base.data = f.str("data");
    base.model = f.str("model");
    base.epochs = (int)f.integer("epochs", 1, 100000);
    base.batch_size = (int)f.integer("batch-size", 1, 65536);
    base.optimizer = f.str("optimizer");
    base.lr = f.number("lr", 0, 1e3);
    base.weight_decay = f.number("weight-decay", 0, 1e3);
    base.schedule = f.str("schedule");
    base.warmup_epochs = (int)f.integer("warmup-epochs", 0, 100000);
    base.augment = f.str("augment");
    base.limit_train = f.integer("limit-train", 0, (long)1e12);
    base.limit_test = f.integer("limit-test", 0, (long)1e12);
    base.data_seed = (uint64_t)f.integer("data-seed", 0, (long)1e18);
    base.threads = (int)f.integer("threads", 1, 1024);

    const std::string out = f.str("out"), runs_dir = out + "/runs";
    prepare_output_dir("out", out);
    prepare_output_dir("out", runs_dir);
    // the grid, seed-major within each ratio: an interrupted grid has whole seeds
    std::vector<Job> grid;
    for (double rho : rhos)
      for (long s = 0; s < seeds; ++s)
        for (const std::string &spec : specs) {
          Job j{base, runs_dir};
          j.config.spec = spec;
          j.config.seed = (uint64_t)s;
          j.config.imbalance = rho;
          grid.push_back(j);
        }
    std::vector<RunResult> results(grid.size());
    std::vector<bool> done(grid.size(), false);
    size_t skipped = 0;
    for (size_t i = 0; i < grid.size(); ++i)
      if ((f.flag("resume") || f.flag("report-only")) &&
          load_finished(grid[i].path(".json"), grid[i].config, results[i]))
        done[i] = true, ++skipped;
    const size_t todo = f.flag("report-only") ? 0 : grid.size() - skipped;
    std::printf("loss_lab: %zu specs x %ld seeds x %zu imbalance ratios = %zu runs (%zu to run, "
                "%zu finished before), %ld at a time, %d thread(s) each; output in %s\n",
                specs.size(), seeds, rhos.size(), grid.size(), todo, skipped, jobs, base.threads,
                out.c_str());

    if (todo > 0) {
      std::signal(SIGINT, on_sigint);
      std::signal(SIGTERM, on_sigint);
      const std::string self = fs::canonical("/proc/self/exe").string();
      std::map<pid_t, size_t> running;
      size_t next = 0, finished = 0, failed = 0;
      const bool tty = isatty(fileno(stderr));
      int last_decile = -1;
      const auto t0 = std::chrono::steady_clock::now();
      while (!interrupted && (finished + failed < todo)) {
        while (!interrupted && (long)running.size() < jobs && next < grid.size()) {
          if (!done[next])
            running[spawn(self, grid[next])] = next;
          ++next;
        }
        int status = 0;
        const pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0 && running.count(pid)) {
          const size_t i = running[pid];
          running.erase(pid);
          if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
              load_finished(grid[i].path(".json"), grid[i].config, results[i])) {
            done[i] = true, ++finished;
          } else {
            ++failed;
            std::fprintf(stderr, "%srun %s failed (%s); its log: %s\n", tty ? "\r\033[K" : "",
                         grid[i].config.id().c_str(),
                         WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "error",
                         grid[i].path(".log").c_str());
          }
          continue;
        }
        // one progress line for the whole grid: runs done + the running runs' fractions
        double frac = finished + failed;
        for (const auto &[p, i] : running)
          frac += read_progress(grid[i].path(".progress"));
        frac /= (double)todo;
        const double el =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        char line[256];
        std::snprintf(line, sizeof line,
                      "grid [%-20s] run %zu of %zu  %3.0f%%  %zu running  elapsed %s  ETA %s",
                      std::string((size_t)(frac * 20), '#').c_str(),
                      std::min(todo, finished + failed + 1), todo, 100 * frac, running.size(),
                      format_duration(el).c_str(),
                      format_duration(frac > 0.02 ? el * (1 - frac) / frac : -1).c_str());
        if (tty) {
          std::fprintf(stderr, "\r%s\033[K", line);
        } else if ((int)(frac * 10) > last_decile) {
          last_decile = (int)(frac * 10);
          std::fprintf(stderr, "%s\n", line);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      if (interrupted) {
        for (const auto &[p, i] : running)
          kill(p, SIGTERM);
        for (const auto &[p, i] : running)
          waitpid(p, nullptr, 0);
      }
      std::fprintf(stderr, "%s", tty ? "\n" : "");
      std::printf("%zu runs finished, %zu failed%s in %s\n", finished, failed,
                  interrupted ? ", interrupted (rerun with --resume to finish)" : "",
                  format_duration(
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count())
                      .c_str());
    }
    std::vector<RunResult> finished_runs;
    for (size_t i = 0; i < grid.size(); ++i)
      if (done[i])
        finished_runs.push_back(results[i]);
    PG_CHECK(!finished_runs.empty(), "no finished runs to report (each run's log is in ", runs_dir,
             ")");
    ReportOptions ro;
    ro.metric = f.str("metric");
    ro.specs = specs;
    ro.imbalances = rhos;
    ro.title = "loss lab: " + base.model + " on " + fs::path(base.data).filename().string();
    std::printf("%s", write_report(out, finished_runs, ro).c_str());
    std::printf("wrote %s/report.html, the PNGs and CSVs beside it\n", out.c_str());
    const bool complete = finished_runs.size() == grid.size();
    return interrupted ? 130 : complete ? 0 : 1;
  });
}
