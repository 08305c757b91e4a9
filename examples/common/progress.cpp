#include "common/progress.h"

#include <cstdio>
#include <unistd.h>

namespace polygrad::examples {

std::string format_duration(double s) {
  if (!(s >= 0) || s > 1e7)
    return "?";
  long t = (long)(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

namespace {
bool g_enabled = true;
}
void ProgressBar::set_enabled(bool on) { g_enabled = on; }

ProgressBar::ProgressBar(std::string label, long total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total > 0 ? total : 1),
      tty_(isatty(fileno(stderr))), start_(std::chrono::steady_clock::now()) {}

double ProgressBar::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string ProgressBar::line(long done, long items,
                              const std::vector<std::pair<std::string, double>> &m,
                              bool final) const {
  const double el = elapsed_seconds();
  const double frac = double(done) / total_;
  std::string s = label_ + " [";
  const int width = 20, fill = (int)(frac * width + 0.5);
  for (int i = 0; i < width; ++i)
    s += i < fill ? '#' : '.';
  char buf[96];
  std::snprintf(buf, sizeof buf, "] %*ld/%ld", (int)std::to_string(total_).size(), done, total_);
  s += buf;
  for (const auto &[k, v] : m) {
    if (k.find("acc") != std::string::npos)
      std::snprintf(buf, sizeof buf, "  %s %.2f%%", k.c_str(), 100.0 * v);
    else
      std::snprintf(buf, sizeof buf, "  %s %.4f", k.c_str(), v);
    s += buf;
  }
  const double rate = el > 0 ? items / el : 0;
  std::snprintf(buf, sizeof buf, "  %.0f %s/s", rate, unit_.c_str());
  s += buf;
  if (final)
    s += "  in " + format_duration(el);
  else
    s += "  ETA " + format_duration(done > 0 ? el * (total_ - done) / done : -1);
  return s;
}

void ProgressBar::update(long done, long items,
                         const std::vector<std::pair<std::string, double>> &m) {
  last_items_ = items;
  if (!g_enabled)
    return;
  if (tty_) {
    std::fprintf(stderr, "\r%s\033[K", line(done, items, m, false).c_str());
    std::fflush(stderr);
    return;
  }
  const int decile = (int)(10 * done / total_);
  if (decile > last_decile_ && done < total_) {
    last_decile_ = decile;
    std::fprintf(stderr, "%s\n", line(done, items, m, false).c_str());
  }
}

void ProgressBar::finish(const std::vector<std::pair<std::string, double>> &m) {
  if (!g_enabled)
    return;
  const std::string l = line(total_, last_items_, m, true);
  if (tty_)
    std::fprintf(stderr, "\r%s\033[K\n", l.c_str());
  else
    std::fprintf(stderr, "%s\n", l.c_str());
}

} // namespace polygrad::examples
