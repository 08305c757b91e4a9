#include <polygrad/data/dataset.h>

#include <algorithm>
#include <cstring>

#include <polygrad/core/error.h>

namespace polygrad::data {

void ImageDataset::check() const {
  PG_CHECK(n >= 0 && channels > 0 && height > 0 && width > 0, source,
           ": bad image dataset shape n=", n, " channels=", channels, " height=", height,
           " width=", width);
  PG_CHECK((int64_t)pixels.size() == n * image_numel(), source, ": holds ", pixels.size(),
           " pixel bytes, expected n*C*H*W = ", n, "*", channels, "*", height, "*", width, " = ",
           n * image_numel());
  PG_CHECK((int64_t)labels.size() == n, source, ": holds ", labels.size(), " labels for ", n,
           " images");
  PG_CHECK(!classes.empty(), source, ": no class names");
  for (int64_t i = 0; i < n; ++i)
    PG_CHECK(labels[i] >= 0 && labels[i] < num_classes(), source, ": label ", labels[i],
             " of image ", i, " is out of range, valid labels are 0..", num_classes() - 1);
}

ImageDataset subset(const ImageDataset &d, const std::vector<int64_t> &indices) {
  ImageDataset s;
  s.n = (int64_t)indices.size();
  s.channels = d.channels;
  s.height = d.height;
  s.width = d.width;
  s.classes = d.classes;
  s.source = d.source;
  const int64_t sz = d.image_numel();
  s.pixels.resize(s.n * sz);
  s.labels.resize(s.n);
  for (int64_t k = 0; k < s.n; ++k) {
    const int64_t i = indices[k];
    PG_CHECK(i >= 0 && i < d.n, "subset: index ", i, " (position ", k,
             ") is out of range for a dataset of ", d.n, " images");
    std::memcpy(s.pixels.data() + k * sz, d.image(i), sz);
    s.labels[k] = d.labels[i];
  }
  return s;
}

ImageDataset head(const ImageDataset &d, int64_t count) {
  PG_CHECK(count >= 0, "head: count must be >= 0, got ", count);
  std::vector<int64_t> idx(std::min(count, d.n));
  for (size_t i = 0; i < idx.size(); ++i)
    idx[i] = (int64_t)i;
  return subset(d, idx);
}

ImageDataset balanced_head(const ImageDataset &d, int64_t count) {
  PG_CHECK(count >= 0, "balanced_head: count must be >= 0, got ", count);
  const int64_t C = std::max<int64_t>(int64_t(d.classes.size()), 1);
  // class k's quota: count / C, one more for the first count % C classes
  std::vector<int64_t> taken(size_t(C), 0), idx;
  for (int64_t i = 0; i < d.n; ++i) {
    const int64_t l = d.labels[size_t(i)];
    if (l >= 0 && l < C && taken[size_t(l)]++ < count / C + (l < count % C))
      idx.push_back(i);
  }
  return subset(d, idx);
}

std::vector<int64_t> class_counts(const ImageDataset &d) {
  std::vector<int64_t> c(d.classes.size(), 0);
  for (int64_t l : d.labels)
    if (l >= 0 && l < (int64_t)c.size())
      ++c[l];
  return c;
}

} // namespace polygrad::data
