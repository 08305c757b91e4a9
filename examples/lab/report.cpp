#include "lab/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include <polygrad/core/error.h>

#include "common/plot.h"

namespace polygrad::examples::lab {

namespace {

struct Stat {
  double mean = NAN, std = NAN;
  int n = 0;
};
// Mean and sample standard deviation (n - 1; 0 for a single seed) of the finite values.
Stat stat(const std::vector<double> &v) {
  Stat s;
  double sum = 0;
  for (double x : v)
    if (std::isfinite(x))
      sum += x, ++s.n;
  if (!s.n)
    return s;
  s.mean = sum / s.n;
  double ss = 0;
  for (double x : v)
    if (std::isfinite(x))
      ss += (x - s.mean) * (x - s.mean);
  s.std = s.n > 1 ? std::sqrt(ss / (s.n - 1)) : 0;
  return s;
}

// Appends its arguments: avoids `"literal" + f()`, which makes GCC 12 inline
// std::string::insert and warn falsely (-Wrestrict, GCC bug 105651).
template <class... A> std::string cat(const A &...a) {
  std::string s;
  ((s += a), ...);
  return s;
}
std::string fmt(const char *f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
std::string pm(const Stat &s, double scale, const char *f = "%.2f") {
  return cat(fmt(f, s.mean * scale), " &plusmn; ", fmt(f, s.std * scale));
}
std::string rho_name(double r) { return cat("rho ", fmt("%g", r)); }

std::string csv_num(double v) { return std::isfinite(v) ? fmt("%.6g", v) : ""; }
std::string csv_str(const std::string &s) {
  std::string r = "\"";
  for (char c : s)
    r += c == '"' ? std::string("\"\"") : std::string(1, c);
  return r + "\"";
}
std::string html_escape(const std::string &s) {
  std::string r;
  for (char c : s)
    r += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  return r;
}

// Panel grid for n plots: few empty panels, at most 4 columns.
std::pair<int, int> grid_for(int n) {
  if (n <= 3)
    return {std::max(n, 1), 1};
  if (n == 4)
    return {2, 2};
  const int r3 = (n + 2) / 3, r4 = (n + 3) / 4;
  return (3 * r3 - n) <= (4 * r4 - n) ? std::pair{3, r3} : std::pair{4, r4};
}

// The runs of one (spec, ratio) cell, over seeds.
struct Cell {
  std::string spec;
  double rho = 1;
  std::vector<const RunResult *> runs;
};

// A spec's parameters without `epsilon` (the sweep's other coordinates) and its epsilon.
bool epsilon_of(const std::string &spec, std::string &family, double &eps) {
  const losses::Loss l = losses::make(spec, {.class_counts = {1}});
  family = l.name;
  bool found = false;
  for (const auto &[k, v] : l.params) {
    if (k == "epsilon") {
      eps = std::stod(v), found = true;
      continue;
    }
    if (k != "weight" && k != "alpha")
      family += "," + k + "=" + v;
  }
  if (l.name == "cross_entropy") { // CE is Poly-1 at epsilon = 0
    const losses::Loss p = losses::make("poly1");
    family = p.name;
    for (const auto &[k, v] : p.params)
      if (k != "epsilon" && k != "weight" && k != "alpha") {
        std::string mine;
        for (const auto &[k2, v2] : l.params)
          if (k2 == k)
            mine = v2;
        family += "," + k + "=" + (mine.empty() ? v : mine);
      }
    eps = 0, found = true;
  }
  return found;
}

bool is_cross_entropy(const std::string &spec) {
  const losses::Loss l = losses::make(spec, {.class_counts = {1}});
  for (const auto &[k, v] : l.params)
    if (k == "label_smoothing" && std::stod(v) != 0)
      return false;
  return l.name == "cross_entropy";
}

std::string png_to_html(const std::string &path, const std::string &alt) {
  return "<img alt=\"" + html_escape(alt) + "\" src=\"data:image/png;base64," +
         base64(read_text_file(path)) + "\">";
}

} // namespace

std::string base64(const std::string &in) {
  static const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t)in[i] << 16 | (uint8_t)in[i + 1] << 8 | (uint8_t)in[i + 2];
    out += {t[v >> 18], t[v >> 12 & 63], t[v >> 6 & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    const uint32_t v = (uint8_t)in[i] << 16;
    out += {t[v >> 18], t[v >> 12 & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t)in[i] << 16 | (uint8_t)in[i + 1] << 8;
    out += {t[v >> 18], t[v >> 12 & 63], t[v >> 6 & 63], '='};
  }
  return out;
}

bool higher_is_better(const std::string &m) { return m != "ece" && m != "nll"; }

double metric_value(const RunResult &r, const std::string &m) {
  if (m == "accuracy")
    return r.test.accuracy;
  if (m == "balanced_accuracy")
    return r.test.balanced_accuracy;
  if (m == "worst_recall")
    return r.test.worst_recall;
  if (m == "tail_recall")
    return r.test.group_recall[2];
  if (m == "ece")
    return r.test.calibration.ece;
  if (m == "nll")
    return r.test.nll;
  throw Error("unknown metric '" + m +
              "'; valid: accuracy, balanced_accuracy, worst_recall, tail_recall, ece, nll");
}

std::string write_report(const std::string &out, const std::vector<RunResult> &runs,
                         const ReportOptions &o) {
  PG_CHECK(!runs.empty(), "write_report: no runs");
  metric_value(runs[0], o.metric); // validates the name
  // cells in grid order
  std::vector<Cell> cells;
  for (double rho : o.imbalances)
    for (const std::string &spec : o.specs) {
      Cell c{spec, rho, {}};
      for (const RunResult &r : runs)
        if (r.config.spec == spec && r.config.imbalance == rho)
          c.runs.push_back(&r);
      if (!c.runs.empty())
        cells.push_back(c);
    }
  auto cell_stat = [](const Cell &c, auto get) {
    std::vector<double> v;
    for (const RunResult *r : c.runs)
      v.push_back(get(*r));
    return stat(v);
  };
  auto metric_stat = [&](const Cell &c, const std::string &m) {
    return cell_stat(c, [&](const RunResult &r) { return metric_value(r, m); });
  };
  const bool up = higher_is_better(o.metric);
  const double last_rho = cells.back().rho;
  std::vector<const Cell *> last; // the cells of the last ratio, for the per-spec pictures
  for (const Cell &c : cells)
    if (c.rho == last_rho)
      last.push_back(&c);

  // ----- CSVs -----
  {
    std::string runs_csv = "spec,imbalance,seed,class_weights,accuracy,balanced_accuracy,"
                           "worst_recall,head_recall,medium_recall,tail_recall,ece,nll,seconds\n";
    std::string cls = "spec,imbalance,seed,class,train_count,group,recall\n";
    std::string ep = "spec,imbalance,seed,epoch,train_loss,train_acc,test_acc,test_nll,"
                     "mean_pt,mean_pt_head,mean_pt_tail";
    for (const char *g : {"all", "head", "tail"})
      for (const char *t : {"term1", "term2", "term3", "rest", "total"})
        ep += std::string(",anatomy_") + g + "_" + t;
    ep += ",pt_hist_20_bins\n";
    std::string cal = "spec,imbalance,seed,bin,count,confidence,accuracy\n";
    const char *gname[] = {"head", "medium", "tail"};
    for (const Cell &c : cells)
      for (const RunResult *r : c.runs) {
        const TestMetrics &t = r->test;
        const std::string key =
            csv_str(c.spec) + "," + csv_num(c.rho) + "," + std::to_string(r->config.seed);
        runs_csv += key + "," + csv_str(r->config.class_weights) + "," + csv_num(t.accuracy) + "," +
                    csv_num(t.balanced_accuracy) + "," + csv_num(t.worst_recall) + "," +
                    csv_num(t.group_recall[0]) + "," + csv_num(t.group_recall[1]) + "," +
                    csv_num(t.group_recall[2]) + "," + csv_num(t.calibration.ece) + "," +
                    csv_num(t.nll) + "," + csv_num(r->seconds) + "\n";
        for (size_t k = 0; k < t.recall.size(); ++k)
          cls += key + "," + std::to_string(k) + "," + std::to_string(r->train_counts[k]) + "," +
                 gname[r->groups[k]] + "," + csv_num(t.recall[k]) + "\n";
        for (size_t e = 0; e < r->epochs.size(); ++e) {
          const EpochLog &l = r->epochs[e];
          ep += key + "," + std::to_string(e + 1) + "," + csv_num(l.train_loss) + "," +
                csv_num(l.train_acc) + "," + csv_num(l.test_acc) + "," + csv_num(l.test_nll);
          for (double v : l.mean_pt)
            ep += cat(",", csv_num(v));
          for (const auto &row : l.anatomy)
            for (double v : row)
              ep += cat(",", csv_num(v));
          std::string h;
          for (double v : l.pt_hist)
            h += cat(h.empty() ? "" : " ", csv_num(v));
          ep += "," + h + "\n";
        }
        for (size_t b = 0; b < t.calibration.count.size(); ++b)
          cal += key + "," + std::to_string(b) + "," + std::to_string(t.calibration.count[b]) +
                 "," + csv_num(t.calibration.confidence[b]) + "," +
                 csv_num(t.calibration.accuracy[b]) + "\n";
      }
    write_text_file(out + "/runs.csv", runs_csv);
    write_text_file(out + "/per_class.csv", cls);
    write_text_file(out + "/epochs.csv", ep);
    write_text_file(out + "/calibration.csv", cal);
  }
  const std::vector<std::string> metric_names = {
      "accuracy", "balanced_accuracy", "worst_recall", "tail_recall", "ece", "nll"};
  {
    std::string sum = "spec,imbalance,seeds";
    for (const auto &m : metric_names)
      sum += "," + m + "_mean," + m + "_std";
    sum += "\n";
    for (const Cell &c : cells) {
      sum += csv_str(c.spec) + "," + csv_num(c.rho) + "," + std::to_string(c.runs.size());
      for (const auto &m : metric_names) {
        const Stat s = metric_stat(c, m);
        sum += cat(",", csv_num(s.mean), ",", csv_num(s.std));
      }
      sum += "\n";
    }
    write_text_file(out + "/summary.csv", sum);
  }

  // ----- ranking (terminal and HTML) -----
  std::string text, tables;
  for (double rho : o.imbalances) {
    std::vector<const Cell *> rc;
    for (const Cell &c : cells)
      if (c.rho == rho)
        rc.push_back(&c);
    if (rc.empty())
      continue;
    std::stable_sort(rc.begin(), rc.end(), [&](const Cell *a, const Cell *b) {
      const double x = metric_stat(*a, o.metric).mean, y = metric_stat(*b, o.metric).mean;
      return up ? x > y : x < y;
    });
    const Cell *ce = nullptr;
    for (const Cell *c : rc)
      if (!ce && is_cross_entropy(c->spec))
        ce = c;
    text += cat("\n", rho_name(rho), ": ranked by ", o.metric, " (mean +- std over seeds)\n");
    tables += cat("<h3>", rho_name(rho), "</h3>\n<table><tr><th>#</th><th>spec</th><th>seeds</th>");
    const char *heads[] = {"accuracy %",    "balanced acc %", "worst class %",
                           "tail recall %", "ECE %",          "NLL"};
    for (const char *h : heads)
      tables += std::string("<th>") + h + "</th>";
    tables += "</tr>\n";
    int rank = 0;
    for (const Cell *c : rc) {
      const Stat s = metric_stat(*c, o.metric);
      const double scale = o.metric == "nll" ? 1 : 100;
      ++rank;
      text += cat(std::string(rank < 10 ? "  " : " "), std::to_string(rank), ". ", c->spec,
                  std::string(std::max<int>(1, 44 - (int)c->spec.size()), ' '),
                  fmt("%8.3f", s.mean * scale), " +- ", fmt("%.3f", s.std * scale), "\n");
      tables += cat("<tr", c == rc[0] ? " class=\"best\"" : "", "><td>", std::to_string(rank),
                    "</td><td><code>", html_escape(c->spec), "</code></td><td>",
                    std::to_string(c->runs.size()), "</td>");
      for (const auto &m : metric_names)
        tables +=
            cat("<td>", pm(metric_stat(*c, m), m == "nll" ? 1 : 100, m == "nll" ? "%.4f" : "%.2f"),
                "</td>");
      tables += "</tr>\n";
    }
    tables += "</table>\n";
    std::string verdict;
    if (ce) {
      const Stat b = metric_stat(*rc[0], o.metric), cs = metric_stat(*ce, o.metric);
      const double pooled = std::sqrt((b.std * b.std + cs.std * cs.std) / 2);
      const double margin = (b.mean - cs.mean) * (up ? 1 : -1);
      verdict = rc[0] == ce ? cat("best: ", ce->spec, " (cross-entropy itself)")
                            : cat("best: ", rc[0]->spec, ", ", o.metric, " better than ", ce->spec,
                                  " by ", fmt("%.3g", margin * (o.metric == "nll" ? 1 : 100)),
                                  o.metric == "nll" ? "" : " points", " = ",
                                  pooled > 0 ? cat(fmt("%.2f", margin / pooled),
                                                   " seed standard deviations (pooled)")
                                             : std::string("? (no spread to compare: one seed)"));
    } else {
      verdict = "best: " + rc[0]->spec + " (no plain cross-entropy in the grid to compare with)";
    }
    text += verdict + "\n";
    tables += "<p class=\"verdict\">" + html_escape(verdict) + "</p>\n";
  }

  // ----- pictures -----
  struct Pic {
    std::string file, title, caption;
  };
  std::vector<Pic> pics;
  const std::string mlabel = o.metric + (o.metric == "nll" ? "" : " (%)");
  const double mscale = o.metric == "nll" ? 1 : 100;
  { // epsilon sweep: metric against epsilon per family (other parameters fixed) and ratio
    Plot p(960, 560);
    p.title(o.metric + " against epsilon").xlabel("epsilon").ylabel(mlabel);
    int lines = 0;
    double lo = INFINITY, hi = -INFINITY;
    std::map<std::pair<std::string, double>, std::vector<std::pair<double, Stat>>> fam;
    for (const Cell &c : cells) {
      std::string family;
      double eps = 0;
      if (epsilon_of(c.spec, family, eps))
        fam[{family, c.rho}].push_back({eps, metric_stat(c, o.metric)});
    }
    for (auto &[key, pts] : fam) {
      if (pts.size() < 2)
        continue;
      std::sort(pts.begin(), pts.end(), [](auto &a, auto &b) { return a.first < b.first; });
      std::vector<double> x, y, e;
      for (auto &[eps, s] : pts) {
        x.push_back(eps), y.push_back(s.mean * mscale), e.push_back(s.std * mscale);
        lo = std::min(lo, eps), hi = std::max(hi, eps);
      }
      const std::string name =
          cat(key.first.substr(0, key.first.find(',')),
              o.imbalances.size() > 1 ? cat(", ", rho_name(key.second)) : std::string());
      p.add_series(name, x, y, {.markers = true, .error = e});
      ++lines;
    }
    if (lines) {
      const double pad = std::max(0.25, (hi - lo) * 0.06); // room for the end points' error bars
      p.xlim(lo - pad, hi + pad);
      p.save_png(out + "/epsilon_sweep.png");
      pics.push_back({"epsilon_sweep.png", "The epsilon sweep",
                      "Mean over seeds with one standard deviation as error bars; cross-entropy "
                      "appears as Poly-1 at epsilon = 0. Each line fixes every other parameter."});
    }
  }
  const auto [cols, rows] = grid_for((int)last.size());
  const std::string lr = rho_name(last_rho);
  { // per-class recall against the class's training count
    Plot p(960, 560);
    p.title("per-class test recall, " + lr)
        .xlabel("training images of the class (log10)")
        .ylabel("recall (%)");
    for (const Cell *c : last) {
      const RunResult &r0 = *c->runs[0];
      std::vector<std::pair<double, double>> pts;
      for (size_t k = 0; k < r0.train_counts.size(); ++k) {
        std::vector<double> v;
        for (const RunResult *r : c->runs)
          v.push_back(r->test.recall[k]);
        pts.push_back({std::log10((double)r0.train_counts[k]), stat(v).mean * 100});
      }
      std::sort(pts.begin(), pts.end());
      std::vector<double> x, y;
      for (auto &[a, b] : pts)
        x.push_back(a), y.push_back(b);
      p.add_series(c->spec, x, y, {.width = 1.5f, .markers = true});
    }
    p.save_png(out + "/per_class_recall.png");
    pics.push_back({"per_class_recall.png", "Recall per class against its frequency",
                    "One point per class (mean over seeds); left are the tail classes. A loss "
                    "that helps the tail lifts the left end."});
  }
  { // reliability diagrams
    Figure fig(cols, rows, 420, 380);
    fig.title("reliability (test set), " + lr);
    for (size_t i = 0; i < last.size(); ++i) {
      const Cell &c = *last[i];
      const size_t B = c.runs[0]->test.calibration.count.size();
      std::vector<double> cx, acc, diag{0, 1};
      for (size_t b = 0; b < B; ++b) {
        double n = 0, cs = 0, as = 0; // pooled over seeds
        for (const RunResult *r : c.runs) {
          const auto &cal = r->test.calibration;
          if (cal.count[b]) {
            n += cal.count[b];
            cs += cal.count[b] * cal.confidence[b];
            as += cal.count[b] * cal.accuracy[b];
          }
        }
        if (n > 0)
          cx.push_back(cs / n), acc.push_back(as / n * 100);
      }
      const Stat ece = metric_stat(c, "ece");
      Plot &p = fig.panel((int)i);
      p.title(c.spec + "  ECE " + fmt("%.2f%%", ece.mean * 100))
          .xlabel("confidence")
          .ylabel("accuracy (%)")
          .xlim(0, 1)
          .ylim(0, 100)
          .legend(false);
      p.add_series("perfect", diag, {0, 100}, {.color = Color{150, 150, 150}, .dashed = true});
      p.add_series("accuracy", cx, acc, {.markers = true});
    }
    fig.save_png(out + "/reliability.png");
    pics.push_back({"reliability.png", "Reliability diagrams",
                    "Test accuracy against confidence (max softmax probability) in 15 bins, "
                    "pooled over seeds. Below the diagonal: over-confident; above: "
                    "under-confident. ECE is the count-weighted mean gap."});
  }
  { // Pt histograms at the first, middle and last epoch
    Figure fig(cols, rows, 420, 380);
    fig.title("Pt on the training set, " + lr);
    for (size_t i = 0; i < last.size(); ++i) {
      const Cell &c = *last[i];
      const size_t E = c.runs[0]->epochs.size();
      Plot &p = fig.panel((int)i);
      p.title(c.spec).xlabel("Pt").ylabel("fraction of samples").log_y().xlim(0, 1);
      for (size_t e : {size_t(0), E / 2, E - 1}) {
        if (e >= E || (e == E / 2 && (E / 2 == 0 || E / 2 == E - 1)))
          continue;
        std::vector<double> x, y;
        const size_t nb = c.runs[0]->epochs[e].pt_hist.size();
        for (size_t b = 0; b < nb; ++b) {
          std::vector<double> v;
          for (const RunResult *r : c.runs)
            v.push_back(r->epochs[e].pt_hist[b]);
          x.push_back((b + 0.5) / nb), y.push_back(stat(v).mean);
        }
        p.add_series(cat("epoch ", std::to_string(e + 1)), x, y);
      }
    }
    fig.save_png(out + "/pt_histograms.png");
    pics.push_back({"pt_histograms.png", "Where the training samples sit: Pt histograms",
                    "The probability each training sample gives its own label, at the first, "
                    "middle and last epoch (20 bins, mean over seeds, log scale). Mass piling at "
                    "Pt = 1 is what a larger epsilon pushes harder on; focal losses stop pushing "
                    "there."});
  }
  if (std::any_of(last.begin(), last.end(),
                  [](const Cell *c) { return c->runs[0]->anatomy_available; })) {
    Figure fig(cols, rows, 420, 380), ht(cols, rows, 420, 380);
    fig.title("gradient anatomy: share of the gradient per term of the expansion, " + lr);
    ht.title("gradient anatomy, head (solid) vs tail (dashed) classes, " + lr);
    const char *tname[] = {"term 1", "term 2", "term 3", "rest"};
    for (size_t i = 0; i < last.size(); ++i) {
      const Cell &c = *last[i];
      Plot &p = fig.panel((int)i), &q = ht.panel((int)i);
      p.title(c.spec).xlabel("epoch").ylabel("share of gradient");
      q.title(c.spec).xlabel("epoch").ylabel("share of gradient");
      if (!c.runs[0]->anatomy_available) {
        p.title(c.spec + " (no expansion in Pt)");
        q.title(c.spec + " (no expansion in Pt)");
        continue;
      }
      const size_t E = c.runs[0]->epochs.size();
      auto series = [&](int g, int t) {
        std::vector<double> y;
        for (size_t e = 0; e < E; ++e) {
          std::vector<double> v;
          for (const RunResult *r : c.runs)
            v.push_back(r->epochs[e].anatomy[g][t]);
          y.push_back(stat(v).mean);
        }
        return y;
      };
      for (int t = 0; t < 4; ++t)
        p.add_series(tname[t], series(0, t));
      for (int t : {0, 3}) {
        const Color col = palette(t == 0 ? 0 : 3);
        q.add_series(std::string(tname[t]) + " head", series(1, t), {.color = col});
        q.add_series(std::string(tname[t]) + " tail", series(2, t), {.color = col, .dashed = true});
      }
    }
    fig.save_png(out + "/gradient_anatomy.png");
    ht.save_png(out + "/gradient_anatomy_head_tail.png");
    pics.push_back({"gradient_anatomy.png", "Gradient anatomy",
                    "Each loss written as a series in (1 - Pt): the share of the whole gradient "
                    "(with respect to the logits, summed over the epoch's training samples, "
                    "signed along the direction that raises Pt) that comes from the leading "
                    "term, the second, the third and all the rest. The PolyLoss paper's claim is "
                    "that the leading term carries most of it; Poly-1 with epsilon changes "
                    "exactly that term's coefficient."});
    pics.push_back({"gradient_anatomy_head_tail.png", "Gradient anatomy, head vs tail classes",
                    "The leading term's and the rest's shares for samples of the most frequent "
                    "third of the classes (solid) and the least frequent third (dashed)."});
  }
  { // loss and accuracy curves
    Figure fig(2, 1, 640, 420);
    fig.title("training curves (mean over seeds), " + lr);
    Plot &a = fig.panel(0), &b = fig.panel(1);
    a.title("training loss").xlabel("epoch").ylabel("loss").log_y();
    b.title("test accuracy").xlabel("epoch").ylabel("accuracy (%)");
    for (const Cell *c : last) {
      const size_t E = c->runs[0]->epochs.size();
      std::vector<double> l, t;
      for (size_t e = 0; e < E; ++e) {
        std::vector<double> lv, tv;
        for (const RunResult *r : c->runs)
          lv.push_back(r->epochs[e].train_loss), tv.push_back(r->epochs[e].test_acc * 100);
        l.push_back(stat(lv).mean), t.push_back(stat(tv).mean);
      }
      a.add_series(c->spec, l);
      b.add_series(c->spec, t);
    }
    fig.save_png(out + "/loss_curves.png");
    pics.push_back({"loss_curves.png", "Training curves",
                    "Training loss (each loss on its own scale: compare shapes, not heights) and "
                    "test accuracy per epoch."});
  }

  // ----- HTML -----
  const RunConfig &c0 = runs[0].config;
  std::string counts;
  for (double rho : o.imbalances)
    for (const RunResult &r : runs)
      if (r.config.imbalance == rho) {
        counts += cat("<li>", rho_name(rho), ": ");
        for (size_t k = 0; k < r.train_counts.size(); ++k)
          counts += (k ? ", " : "") + std::to_string(r.train_counts[k]);
        counts += "</li>";
        break;
      }
  std::string html =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html_escape(o.title) +
      "</title>\n<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;color:#222}"
      "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px "
      "8px;text-align:right}td:nth-child(2){text-align:left}tr.best{background:#e8f4e8}"
      "img{max-width:100%;border:1px solid #eee;margin:0.5em 0}.verdict{font-weight:bold}"
      "figcaption{color:#555;max-width:900px}</style></head><body>\n<h1>" +
      html_escape(o.title) + "</h1>\n<p>" + std::to_string(runs.size()) + " runs: model <code>" +
      html_escape(c0.model) + "</code>, " + std::to_string(c0.epochs) + " epochs, batch " +
      std::to_string(c0.batch_size) + ", " + html_escape(c0.optimizer) + " lr " + fmt("%g", c0.lr) +
      " (" + html_escape(c0.schedule) + "), augmentation " + html_escape(c0.augment) +
      ", class weights <code>" + html_escape(c0.class_weights) + "</code>, imbalance profile " +
      html_escape(c0.profile) + ". Training images per class (class 0 first):</p><ul>" + counts +
      "</ul>\n<h2>Ranking by " + html_escape(o.metric) +
      "</h2>\n<p>Mean &plusmn; standard deviation over seeds; the test set is balanced. "
      "Balanced accuracy is the mean of the per-class recalls; tail recall the mean over the "
      "least frequent third of the classes.</p>\n" +
      tables;
  for (const Pic &p : pics)
    html += cat("<h2>", html_escape(p.title), "</h2>\n<figure>",
                png_to_html(out + "/" + p.file, p.title), "<figcaption>", html_escape(p.caption),
                "</figcaption></figure>\n");
  html += "<p>Every number is in runs.csv, summary.csv, per_class.csv, epochs.csv and "
          "calibration.csv beside this file; docs/loss-lab.md gives every formula.</p>\n"
          "</body></html>\n";
  write_text_file(out + "/report.html", html);
  return text;
}

} // namespace polygrad::examples::lab
