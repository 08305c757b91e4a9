// curves.png: training curves at a glance — loss (train, test) and accuracy
// (train, test) per epoch, two panels side by side.
#pragma once

#include <string>
#include <vector>

#include "common/metrics.h"

namespace polygrad::examples {

void write_curves_png(const std::string &path, const std::vector<EpochRecord> &rows,
                      const std::string &title);

} // namespace polygrad::examples
