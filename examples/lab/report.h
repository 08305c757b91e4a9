// The loss lab's report: OUT/report.html (self-contained: the pictures are
// inline PNGs, no network), the same pictures as OUT/*.png and every number
// as CSV (runs.csv, summary.csv, per_class.csv, epochs.csv, calibration.csv).
// docs/loss-lab.md says how to read each picture.
#pragma once

#include <string>
#include <vector>

#include "lab/run.h"

namespace polygrad::examples::lab {

struct ReportOptions {
  // accuracy | balanced_accuracy | worst_recall | tail_recall (higher is
  // better) | ece | nll (lower is better)
  std::string metric = "balanced_accuracy";
  std::vector<std::string> specs; // in the order given (the grid's)
  std::vector<double> imbalances; // the ratios of the grid
  std::string title = "loss lab";
};

// The value of `metric` for one run (throws on an unknown name).
double metric_value(const RunResult &r, const std::string &metric);
bool higher_is_better(const std::string &metric);

// Writes everything into `out`; returns the ranking as text for the terminal.
std::string write_report(const std::string &out, const std::vector<RunResult> &runs,
                         const ReportOptions &options);

// Base64 of bytes (RFC 4648, with padding): the HTML's inline images.
std::string base64(const std::string &bytes);

} // namespace polygrad::examples::lab
