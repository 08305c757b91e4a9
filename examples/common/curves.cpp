#include "common/curves.h"

#include "common/plot.h"

namespace polygrad::examples {

void write_curves_png(const std::string &path, const std::vector<EpochRecord> &rows,
                      const std::string &title) {
  std::vector<double> ep, trl, tel, tra, tea;
  for (const auto &r : rows) {
    ep.push_back(r.epoch);
    trl.push_back(r.train_loss);
    tel.push_back(r.test_loss);
    tra.push_back(100.0 * r.train_acc);
    tea.push_back(100.0 * r.test_acc);
  }
  Figure f(2, 1, 640, 420);
  f.panel(0)
      .title("loss: " + title)
      .xlabel("epoch")
      .ylabel("loss (mean per image)")
      .add_series("train", ep, trl, {.markers = true})
      .add_series("test", ep, tel, {.dashed = true, .markers = true});
  f.panel(1)
      .title("accuracy")
      .xlabel("epoch")
      .ylabel("accuracy (%)")
      .add_series("train", ep, tra, {.markers = true})
      .add_series("test", ep, tea, {.dashed = true, .markers = true});
  if (rows.size() == 1) {
    f.panel(0).xlim(0.5, 1.5);
    f.panel(1).xlim(0.5, 1.5);
  }
  f.save_png(path);
}

} // namespace polygrad::examples
