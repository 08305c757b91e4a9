// A small line-plot library that writes PNG files: axes with "nice" ticks and
// labels, a title, axis labels, a legend, any number of series in distinct
// colours, optional log-scaled y, and figures of several panels side by side.
// Text is stb_easy_font's pixel font (scaled, crisp); lines are anti-aliased.
// PNGs are written with stb_image_write.
//
//   Plot p(800, 500);
//   p.title("training loss").xlabel("epoch").ylabel("loss").log_y();
//   p.add_series("train", epochs, train_loss);
//   p.add_series("val", epochs, val_loss, {.dashed = true});
//   p.save_png("loss.png");
//
//   Figure f(2, 1, 640, 420);           // two panels side by side
//   f.panel(0).title("loss") ...; f.panel(1).title("accuracy") ...;
//   f.save_png("curves.png");
//
// Non-finite points (NaN, inf, or <= 0 on a log axis) are skipped and break
// the line. Axis ranges are taken from the data (with a little padding) unless
// set with xlim / ylim.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace polygrad::examples {

struct Color {
  uint8_t r = 0, g = 0, b = 0;
};
// The i-th colour of a 10-colour palette (Tableau 10), cycling.
Color palette(size_t i);

// An RGB image with the drawing primitives the plots use.
class Image {
public:
  Image(int width, int height, Color background = {255, 255, 255});
  int width() const { return w_; }
  int height() const { return h_; }
  // Blends colour c into pixel (x, y) with coverage a in [0, 1].
  void blend(int x, int y, Color c, float a = 1.f);
  void fill_rect(int x0, int y0, int x1, int y1, Color c); // [x0, x1) x [y0, y1)
  // Anti-aliased segment of the given width (pixels).
  void line(float x0, float y0, float x1, float y1, Color c, float width = 1.f);
  // Text in stb_easy_font's font, `scale` pixels per font unit; (x, y) is the
  // top-left corner (or, with vertical = true, the bottom-left, text read
  // bottom to top).
  void text(float x, float y, const std::string &s, Color c, float scale = 2.f,
            bool vertical = false);
  static float text_width(const std::string &s, float scale = 2.f);
  static float text_height(float scale = 2.f);
  void save_png(const std::string &path) const; // throws std::runtime_error on failure
  const std::vector<uint8_t> &pixels() const { return px_; }

private:
  int w_, h_;
  std::vector<uint8_t> px_;
};

struct SeriesStyle {
  std::optional<Color> color{}; // default: the next palette colour
  float width = 2.f;
  bool dashed = false;
  bool markers = false; // a dot at every point
  bool line = true;     // false: markers only (a scatter plot)
  // Symmetric error bars: y[i] +- error[i] (empty: none), e.g. the standard
  // deviation over seeds.
  std::vector<double> error{};
};

class Plot {
public:
  explicit Plot(int width = 800, int height = 500);
  Plot &title(const std::string &t);
  Plot &xlabel(const std::string &t);
  Plot &ylabel(const std::string &t);
  Plot &log_y(bool on = true);
  Plot &xlim(double lo, double hi);
  Plot &ylim(double lo, double hi);
  Plot &legend(bool on = true); // shown by default when a series has a name
  Plot &add_series(const std::string &name, const std::vector<double> &xs,
                   const std::vector<double> &ys, SeriesStyle style = {});
  // y against 1, 2, ..., n (e.g. one value per epoch)
  Plot &add_series(const std::string &name, const std::vector<double> &ys, SeriesStyle style = {});

  int width() const { return w_; }
  int height() const { return h_; }
  // Draws the plot into img with its top-left corner at (x0, y0).
  void render(Image &img, int x0 = 0, int y0 = 0) const;
  void save_png(const std::string &path) const;

private:
  struct Series {
    std::string name;
    std::vector<double> x, y;
    SeriesStyle style;
  };
  int w_, h_;
  std::string title_, xlabel_, ylabel_;
  bool log_y_ = false, legend_ = true;
  std::optional<std::pair<double, double>> xlim_, ylim_;
  std::vector<Series> series_;
};

// Several plots in a grid, saved as one PNG.
class Figure {
public:
  Figure(int cols, int rows, int panel_width = 640, int panel_height = 420);
  Plot &panel(int i);                  // row-major
  Figure &title(const std::string &t); // a title above all panels
  void save_png(const std::string &path) const;

private:
  int cols_, rows_, pw_, ph_;
  std::string title_;
  std::vector<Plot> panels_;
};

// "Nice" tick positions covering [lo, hi] (steps of 1, 2 or 5 times a power
// of ten), about `target` of them; and the labels' format.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);
std::string tick_label(double v, double step);

} // namespace polygrad::examples
