// A progress bar for long loops: count, rate, ETA and live metrics.
//
//   epoch 2/6 [##########..........]  31/63  loss 0.2134  acc 93.10%  4120 img/s  ETA 0:07
//
// On a terminal it redraws one line; when stderr is not a terminal (CI, a
// log file) it degrades to a plain line every ~10% and at the end.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace polygrad::examples {

class ProgressBar {
public:
  // `unit` names what `items` counts for the rate (e.g. "img").
  ProgressBar(std::string label, long total_steps, std::string unit = "img");
  // Step `done` of total finished; `items` processed so far; metrics shown.
  void update(long done, long items, const std::vector<std::pair<std::string, double>> &metrics);
  // Final line (always printed) with the elapsed time.
  void finish(const std::vector<std::pair<std::string, double>> &metrics);
  double elapsed_seconds() const;
  // Off: update() and finish() print nothing (the ranks other than 0 of a
  // distributed run). On by default.
  static void set_enabled(bool on);

private:
  std::string line(long done, long items, const std::vector<std::pair<std::string, double>> &m,
                   bool final) const;
  std::string label_, unit_;
  long total_;
  bool tty_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_;
  long last_items_ = 0;
};

std::string format_duration(double seconds); // "1:05", "1:02:03"

} // namespace polygrad::examples
