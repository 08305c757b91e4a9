#include "common/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include <stb/stb_easy_font.h>
#include <stb/stb_image_write.h>

namespace polygrad::examples {

namespace {
constexpr Color kAxis{60, 60, 60}, kGrid{228, 228, 228}, kText{30, 30, 30};
} // namespace

Color palette(size_t i) {
  static const Color p[10] = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                              {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                              {188, 189, 34},  {23, 190, 207}};
  return p[i % 10];
}

// ----- Image -----
Image::Image(int width, int height, Color bg)
    : w_(width), h_(height), px_(size_t(width) * height * 3) {
  for (size_t i = 0; i < px_.size(); i += 3)
    px_[i] = bg.r, px_[i + 1] = bg.g, px_[i + 2] = bg.b;
}

void Image::blend(int x, int y, Color c, float a) {
  if (x < 0 || y < 0 || x >= w_ || y >= h_ || a <= 0.f)
    return;
  a = std::min(a, 1.f);
  uint8_t *p = &px_[(size_t(y) * w_ + x) * 3];
  p[0] = uint8_t(std::lround(p[0] + (c.r - p[0]) * a));
  p[1] = uint8_t(std::lround(p[1] + (c.g - p[1]) * a));
  p[2] = uint8_t(std::lround(p[2] + (c.b - p[2]) * a));
}

void Image::fill_rect(int x0, int y0, int x1, int y1, Color c) {
  for (int y = std::max(0, y0); y < std::min(h_, y1); ++y)
    for (int x = std::max(0, x0); x < std::min(w_, x1); ++x)
      blend(x, y, c, 1.f);
}

namespace {
// Area coverage of the rectangle [x0, x1) x [y0, y1) (float pixels) over each
// pixel, so scaled glyph quads stay smooth at fractional scales.
void fill_rect_aa(Image &img, float x0, float y0, float x1, float y1, Color c) {
  for (int y = (int)std::floor(y0); y < (int)std::ceil(y1); ++y) {
    const float cy = std::min(y1, float(y + 1)) - std::max(y0, float(y));
    for (int x = (int)std::floor(x0); x < (int)std::ceil(x1); ++x) {
      const float cx = std::min(x1, float(x + 1)) - std::max(x0, float(x));
      img.blend(x, y, c, cx * cy);
    }
  }
}
} // namespace

void Image::line(float x0, float y0, float x1, float y1, Color c, float width) {
  // coverage from the distance of each pixel centre to the segment
  const float r = width * 0.5f;
  const int bx0 = (int)std::floor(std::min(x0, x1) - r - 1),
            bx1 = (int)std::ceil(std::max(x0, x1) + r + 1);
  const int by0 = (int)std::floor(std::min(y0, y1) - r - 1),
            by1 = (int)std::ceil(std::max(y0, y1) + r + 1);
  const float dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
  for (int y = std::max(0, by0); y <= std::min(h_ - 1, by1); ++y)
    for (int x = std::max(0, bx0); x <= std::min(w_ - 1, bx1); ++x) {
      const float px = x + 0.5f, py = y + 0.5f;
      float t = len2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0.f;
      t = std::clamp(t, 0.f, 1.f);
      const float ex = x0 + t * dx - px, ey = y0 + t * dy - py;
      const float d = std::sqrt(ex * ex + ey * ey);
      const float cov = std::clamp(r + 0.5f - d, 0.f, 1.f);
      if (cov > 0)
        blend(x, y, c, cov);
    }
}

void Image::text(float x, float y, const std::string &s, Color c, float scale, bool vertical) {
  std::vector<char> buf(s.begin(), s.end());
  buf.push_back('\0');
  std::vector<char> verts(s.size() * 1024 + 1024); // up to 16 quads of 64 bytes per glyph
  unsigned char col[4] = {c.r, c.g, c.b, 255};
  const int quads = stb_easy_font_print(0, 0, buf.data(), col, verts.data(), (int)verts.size());
  for (int q = 0; q < quads; ++q) {
    const float *v = reinterpret_cast<const float *>(verts.data() + q * 64); // 4 x 16 bytes
    // vertices: (x0, y0), (x1, y0), (x1, y1), (x0, y1)
    const float u0 = v[0], v0 = v[1], u1 = v[4 + 4], v1 = v[4 + 5];
    if (!vertical)
      fill_rect_aa(*this, x + u0 * scale, y + v0 * scale, x + u1 * scale, y + v1 * scale, c);
    else // rotate 90 degrees counter-clockwise about (x, y)
      fill_rect_aa(*this, x + v0 * scale, y - u1 * scale, x + v1 * scale, y - u0 * scale, c);
  }
}

float Image::text_width(const std::string &s, float scale) {
  std::vector<char> buf(s.begin(), s.end());
  buf.push_back('\0');
  return stb_easy_font_width(buf.data()) * scale;
}

float Image::text_height(float scale) { return 7.f * scale; } // cap height of the font

void Image::save_png(const std::string &path) const {
  if (!stbi_write_png(path.c_str(), w_, h_, 3, px_.data(), w_ * 3))
    throw std::runtime_error("plot: cannot write PNG " + path);
}

// ----- ticks -----
std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> t;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi))
    return t;
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (double v = first; v <= hi + step * 1e-9; v += step)
    t.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

std::string tick_label(double v, double step) {
  char b[32];
  const double a = std::fabs(v);
  if (v == 0) {
    return "0";
  } else if (a >= 1e5 || a < 1e-3) {
    std::snprintf(b, sizeof b, "%.3g", v);
  } else {
    // As many decimals as the step needs (0.25 -> 2, so 0.75 does not print
    // as "0.8"; 0.5 -> 1; 2 -> 0).
    int dec = 0;
    while (dec < 6) {
      const double scaled = step * std::pow(10.0, dec);
      if (std::fabs(scaled - std::round(scaled)) < 1e-6 * scaled)
        break;
      ++dec;
    }
    std::snprintf(b, sizeof b, "%.*f", dec, v);
  }
  return b;
}

// ----- Plot -----
Plot::Plot(int width, int height) : w_(width), h_(height) {}
Plot &Plot::title(const std::string &t) { return title_ = t, *this; }
Plot &Plot::xlabel(const std::string &t) { return xlabel_ = t, *this; }
Plot &Plot::ylabel(const std::string &t) { return ylabel_ = t, *this; }
Plot &Plot::log_y(bool on) { return log_y_ = on, *this; }
Plot &Plot::xlim(double lo, double hi) { return xlim_ = std::make_pair(lo, hi), *this; }
Plot &Plot::ylim(double lo, double hi) { return ylim_ = std::make_pair(lo, hi), *this; }
Plot &Plot::legend(bool on) { return legend_ = on, *this; }

Plot &Plot::add_series(const std::string &name, const std::vector<double> &xs,
                       const std::vector<double> &ys, SeriesStyle style) {
  if (xs.size() != ys.size())
    throw std::invalid_argument("plot: series '" + name + "' has " + std::to_string(xs.size()) +
                                " x values but " + std::to_string(ys.size()) + " y values");
  if (!style.error.empty() && style.error.size() != ys.size())
    throw std::invalid_argument("plot: series '" + name + "' has " + std::to_string(ys.size()) +
                                " y values but " + std::to_string(style.error.size()) +
                                " error bars");
  if (!style.line)
    style.markers = true;
  if (!style.color)
    style.color = palette(series_.size());
  series_.push_back({name, xs, ys, style});
  return *this;
}

Plot &Plot::add_series(const std::string &name, const std::vector<double> &ys, SeriesStyle style) {
  std::vector<double> xs(ys.size());
  for (size_t i = 0; i < xs.size(); ++i)
    xs[i] = double(i + 1);
  return add_series(name, xs, ys, style);
}

void Plot::render(Image &img, int ox, int oy) const {
  const float ts = 2.f, title_s = 2.5f; // text scales
  const float th = Image::text_height(ts);
  auto ok = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!log_y_ || y > 0);
  };
  auto ty = [&](double y) { return log_y_ ? std::log10(y) : y; };

  // data ranges (y in log10 units on a log axis)
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto &s : series_)
    for (size_t i = 0; i < s.x.size(); ++i)
      if (ok(s.x[i], s.y[i])) {
        const double e = s.style.error.empty() ? 0 : std::fabs(s.style.error[i]);
        x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
        for (double y : {s.y[i] - e, s.y[i] + e})
          if (ok(s.x[i], y) && std::isfinite(e))
            y0 = std::min(y0, ty(y)), y1 = std::max(y1, ty(y));
      }
  if (!(x0 <= x1))
    x0 = 0, x1 = 1;
  if (!(y0 <= y1))
    y0 = 0, y1 = 1;
  if (xlim_)
    x0 = xlim_->first, x1 = xlim_->second;
  if (ylim_)
    y0 = ty(ylim_->first), y1 = ty(ylim_->second);
  if (x1 - x0 <= 0)
    x0 -= 0.5, x1 += 0.5;
  if (y1 - y0 <= 0)
    y0 -= std::max(0.5, std::fabs(y0) * 0.1), y1 += std::max(0.5, std::fabs(y1) * 0.1);
  if (!ylim_) { // a little air above and below the data
    const double pad = (y1 - y0) * 0.05;
    y0 -= pad, y1 += pad;
  }

  // ticks
  std::vector<double> yt, xt = nice_ticks(x0, x1, std::max(3, w_ / 110));
  std::vector<std::string> ylab, xlab;
  if (log_y_) {
    const int d0 = (int)std::ceil(y0 - 1e-9), d1 = (int)std::floor(y1 + 1e-9);
    if (d1 - d0 >= 1) {
      const int every = std::max(1, (d1 - d0 + 1) / std::max(3, h_ / 70));
      for (int d = d0; d <= d1; d += every)
        yt.push_back(d);
    } else { // less than a decade: 1-2-5 ticks of the values
      for (double v : nice_ticks(std::pow(10, y0), std::pow(10, y1), 5))
        if (v > 0)
          yt.push_back(std::log10(v));
    }
    for (double t : yt) {
      const double v = std::pow(10.0, t);
      char b[32];
      std::snprintf(b, sizeof b, "%g",
                    std::fabs(t - std::round(t)) < 1e-9 ? std::pow(10.0, std::round(t)) : v);
      ylab.push_back(b);
    }
  } else {
    yt = nice_ticks(y0, y1, std::max(3, h_ / 70));
    const double step = yt.size() > 1 ? yt[1] - yt[0] : 1;
    for (double t : yt)
      ylab.push_back(tick_label(t, step));
  }
  {
    const double step = xt.size() > 1 ? xt[1] - xt[0] : 1;
    for (double t : xt)
      xlab.push_back(tick_label(t, step));
  }

  // layout
  float ylab_w = 0;
  for (const auto &s : ylab)
    ylab_w = std::max(ylab_w, Image::text_width(s, ts));
  const float top = title_.empty() ? 16.f : 16.f + Image::text_height(title_s) + 16.f;
  const float left = 14.f + (ylabel_.empty() ? 0.f : th + 14.f) + ylab_w + 10.f;
  const float bottom = 10.f + th + (xlabel_.empty() ? 0.f : th + 16.f) + 18.f;
  const float right = 24.f;
  const float L = ox + left, R = ox + w_ - right, T = oy + top, B = oy + h_ - bottom;
  auto px = [&](double x) { return float(L + (x - x0) / (x1 - x0) * (R - L)); };
  auto py = [&](double y) { return float(B - (ty(y) - y0) / (y1 - y0) * (B - T)); };
  auto pyl = [&](double t) { return float(B - (t - y0) / (y1 - y0) * (B - T)); }; // t in axis units

  // grid, ticks, labels
  for (size_t i = 0; i < yt.size(); ++i) {
    const float y = pyl(yt[i]);
    img.line(L, y, R, y, kGrid, 1.f);
    img.line(L - 5, y, L, y, kAxis, 1.f);
    img.text(L - 9 - Image::text_width(ylab[i], ts), y - th / 2, ylab[i], kText, ts);
  }
  for (size_t i = 0; i < xt.size(); ++i) {
    const float x = px(xt[i]);
    img.line(x, T, x, B, kGrid, 1.f);
    img.line(x, B, x, B + 5, kAxis, 1.f);
    img.text(x - Image::text_width(xlab[i], ts) / 2, B + 10, xlab[i], kText, ts);
  }
  // titles
  if (!title_.empty())
    img.text(ox + (w_ - Image::text_width(title_, title_s)) / 2, oy + 16, title_, kText, title_s);
  if (!xlabel_.empty())
    img.text((L + R - Image::text_width(xlabel_, ts)) / 2, B + 10 + th + 14, xlabel_, kText, ts);
  if (!ylabel_.empty())
    img.text(ox + 14, (T + B + Image::text_width(ylabel_, ts)) / 2, ylabel_, kText, ts, true);

  // series, clipped to the plot area
  for (const auto &s : series_) {
    const Color c = *s.style.color;
    bool have = false;
    float lx = 0, ly = 0, dash_pos = 0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!ok(s.x[i], s.y[i])) {
        have = false;
        continue;
      }
      const float x = px(s.x[i]), y = py(s.y[i]);
      if (!s.style.error.empty() && std::isfinite(s.style.error[i]) && x >= L && x <= R) {
        // error bar: a vertical segment with caps, clipped to the plot area
        const double e = std::fabs(s.style.error[i]);
        const float ya = ok(s.x[i], s.y[i] - e) ? std::min(B, py(s.y[i] - e)) : B,
                    yb = std::max(T, py(s.y[i] + e));
        img.line(x, ya, x, yb, c, 1.5f);
        img.line(x - 4, ya, x + 4, ya, c, 1.5f);
        img.line(x - 4, yb, x + 4, yb, c, 1.5f);
      }
      if (have && s.style.line) {
        // clip the segment to the plot rectangle (Liang-Barsky)
        float t0 = 0, t1 = 1;
        const float dx = x - lx, dy = y - ly;
        bool vis = true;
        for (auto [p, q] : {std::pair{-dx, lx - L}, {dx, R - lx}, {-dy, ly - T}, {dy, B - ly}}) {
          if (p == 0) {
            if (q < 0)
              vis = false;
          } else {
            const float r = q / p;
            if (p < 0)
              t0 = std::max(t0, r);
            else
              t1 = std::min(t1, r);
          }
        }
        if (vis && t0 < t1) {
          const float ax = lx + t0 * dx, ay = ly + t0 * dy, bx = lx + t1 * dx, by = ly + t1 * dy;
          if (!s.style.dashed) {
            img.line(ax, ay, bx, by, c, s.style.width);
          } else { // 9 px on, 6 px off, continued along the polyline
            const float len = std::hypot(bx - ax, by - ay);
            float u = 0;
            while (u < len) {
              const float ph = std::fmod(dash_pos + u, 15.f);
              const float run =
                  ph < 9.f ? std::min(9.f - ph, len - u) : std::min(15.f - ph, len - u);
              if (ph < 9.f)
                img.line(ax + (bx - ax) * u / len, ay + (by - ay) * u / len,
                         ax + (bx - ax) * (u + run) / len, ay + (by - ay) * (u + run) / len, c,
                         s.style.width);
              u += std::max(run, 1e-3f);
            }
            dash_pos += len;
          }
        }
      }
      if (s.style.markers && x >= L && x <= R && y >= T && y <= B)
        img.line(x, y, x, y, c, s.style.width + 4.f);
      lx = x, ly = y, have = true;
    }
  }
  // axes box
  img.line(L, T, R, T, kAxis, 1.f);
  img.line(L, B, R, B, kAxis, 1.f);
  img.line(L, T, L, B, kAxis, 1.f);
  img.line(R, T, R, B, kAxis, 1.f);

  // legend in the corner with the fewest data points under it
  std::vector<const Series *> named;
  for (const auto &s : series_)
    if (!s.name.empty())
      named.push_back(&s);
  if (!legend_ || named.empty())
    return;
  const float row = th + 10.f, sample = 26.f;
  float lw = 0;
  for (auto *s : named)
    lw = std::max(lw, Image::text_width(s->name, ts));
  const float bw = 12 + sample + 8 + lw + 12, bh = 8 + row * named.size() + 2;
  struct Corner {
    float x, y;
  };
  const Corner corners[4] = {
      {R - bw - 8, T + 8}, {L + 8, T + 8}, {R - bw - 8, B - bh - 8}, {L + 8, B - bh - 8}};
  int best = 0;
  size_t best_n = SIZE_MAX;
  for (int k = 0; k < 4; ++k) {
    size_t n = 0;
    for (const auto &s : series_)
      for (size_t i = 0; i < s.x.size(); ++i)
        if (ok(s.x[i], s.y[i])) {
          const float x = px(s.x[i]), y = py(s.y[i]);
          n += x >= corners[k].x - 4 && x <= corners[k].x + bw + 4 && y >= corners[k].y - 4 &&
               y <= corners[k].y + bh + 4;
        }
    if (n < best_n)
      best_n = n, best = k;
  }
  const float bx = corners[best].x, by = corners[best].y;
  for (int y = (int)by; y < (int)(by + bh); ++y)
    for (int x = (int)bx; x < (int)(bx + bw); ++x)
      img.blend(x, y, {255, 255, 255}, 0.88f);
  img.line(bx, by, bx + bw, by, {190, 190, 190}, 1.f);
  img.line(bx, by + bh, bx + bw, by + bh, {190, 190, 190}, 1.f);
  img.line(bx, by, bx, by + bh, {190, 190, 190}, 1.f);
  img.line(bx + bw, by, bx + bw, by + bh, {190, 190, 190}, 1.f);
  for (size_t k = 0; k < named.size(); ++k) {
    const float cy = by + 8 + row * k + th / 2;
    const Series &s = *named[k];
    if (!s.style.line) {
      img.line(bx + 12 + sample / 2, cy, bx + 12 + sample / 2, cy, *s.style.color,
               s.style.width + 4.f);
    } else if (s.style.dashed) {
      img.line(bx + 12, cy, bx + 21, cy, *s.style.color, s.style.width);
      img.line(bx + 27, cy, bx + 12 + sample, cy, *s.style.color, s.style.width);
    } else {
      img.line(bx + 12, cy, bx + 12 + sample, cy, *s.style.color, s.style.width);
    }
    img.text(bx + 12 + sample + 8, cy - th / 2, s.name, kText, ts);
  }
}

void Plot::save_png(const std::string &path) const {
  Image img(w_, h_);
  render(img);
  img.save_png(path);
}

// ----- Figure -----
Figure::Figure(int cols, int rows, int pw, int ph)
    : cols_(cols), rows_(rows), pw_(pw), ph_(ph), panels_(size_t(cols * rows), Plot(pw, ph)) {}

Plot &Figure::panel(int i) {
  if (i < 0 || i >= (int)panels_.size())
    throw std::out_of_range("plot: figure has " + std::to_string(panels_.size()) +
                            " panels, asked for panel " + std::to_string(i));
  return panels_[i];
}

Figure &Figure::title(const std::string &t) { return title_ = t, *this; }

void Figure::save_png(const std::string &path) const {
  // the title's scale: 3, or smaller when it would not fit the width
  const float scale =
      title_.empty()
          ? 3.f
          : std::floor(2 * std::min(3.f, (cols_ * pw_ - 24) /
                                             std::max(1.f, Image::text_width(title_, 1.f)))) /
                2;
  const int band = title_.empty() ? 0 : int(Image::text_height(scale) + 24);
  Image img(cols_ * pw_, rows_ * ph_ + band);
  if (band)
    img.text((img.width() - Image::text_width(title_, scale)) / 2, 14, title_, kText, scale);
  for (int r = 0; r < rows_; ++r)
    for (int c = 0; c < cols_; ++c)
      panels_[r * cols_ + c].render(img, c * pw_, band + r * ph_);
  img.save_png(path);
}

} // namespace polygrad::examples
