// Module checkpoints (checkpoint.h) on io::save_safetensors/load_safetensors.
#include <polygrad/nn/checkpoint.h>

#include <polygrad/autograd/grad_mode.h>
#include <polygrad/core/elementwise.h>

#include <algorithm>
#include <cstring>
#include <set>

namespace polygrad::nn {

namespace {

// Copies contiguous `src` into `dst` (same shape and dtype, any strides).
template <class T> void copy_into(const Tensor &dst, const Tensor &src) {
  T *d = dst.data<T>();
  const T *s = src.data<T>();
  if (dst.is_contiguous()) {
    std::memcpy(d, s, size_t(dst.numel()) * sizeof(T));
    return;
  }
  kernel::for_each_row<2>(dst.shape(), {dst.strides(), contiguous_strides(dst.shape())},
                          [&](const std::array<int64_t, 2> &o, int64_t n) {
                            const int64_t st = dst.strides().back();
                            for (int64_t i = 0; i < n; ++i)
                              d[o[0] + i * st] = s[o[1] + i];
                          });
}

std::string join_names(const std::vector<std::string> &names) {
  std::string out;
  const size_t shown = std::min<size_t>(names.size(), 20);
  for (size_t i = 0; i < shown; ++i) {
    out += i ? ", '" : "'";
    out += names[i] + "'";
  }
  if (names.size() > shown)
    out += ", ... (" + std::to_string(names.size() - shown) + " more)";
  return out;
}

} // namespace

void save(const Module &m, const std::string &path, const io::Metadata &metadata) {
  io::StateDict sd{m.state_dict(), metadata};
  sd.metadata.emplace("format", "pt");
  io::save_safetensors(sd, path);
}

io::Metadata load(Module &m, const std::string &path, bool strict) {
  io::StateDict sd = io::load_safetensors(path);
  const std::string where = "nn::load: " + path + ": ";
  std::map<std::string, const Tensor *> file;
  for (const auto &[n, t] : sd.tensors)
    file[n] = &t;
  const NamedTensors model = m.state_dict();
  std::set<std::string> model_names;
  std::vector<std::string> missing, unexpected;
  for (const auto &[n, t] : model) {
    model_names.insert(n);
    if (!file.count(n))
      missing.push_back(n);
  }
  for (const auto &[n, t] : sd.tensors)
    if (!model_names.count(n))
      unexpected.push_back(n);
  if (strict && (!missing.empty() || !unexpected.empty())) {
    std::string msg = where + "the file's tensors do not match the model's state_dict:";
    if (!missing.empty())
      msg += " missing from the file: " + join_names(missing) + ";";
    if (!unexpected.empty())
      msg += " unexpected in the file: " + join_names(unexpected) + ";";
    throw Error(msg + " nothing was loaded");
  }
  // Validate every pair before the first write, so a failure changes nothing.
  for (const auto &[n, t] : model) {
    auto it = file.find(n);
    if (it == file.end())
      continue;
    const Tensor &src = *it->second;
    PG_CHECK(src.dtype() == t.dtype(), where, "tensor '", n, "': dtype ",
             io::safetensors_dtype(src.dtype()), " in the file but ",
             io::safetensors_dtype(t.dtype()), " in the model; nothing was loaded");
    PG_CHECK(src.shape() == t.shape(), where, "tensor '", n, "': shape ", shape_str(src.shape()),
             " in the file but ", shape_str(t.shape()), " in the model; nothing was loaded");
  }
  NoGradGuard ng;
  for (const auto &[n, t] : model) {
    auto it = file.find(n);
    if (it == file.end())
      continue;
    if (t.dtype() == DType::Float32)
      copy_into<float>(t, *it->second);
    else
      copy_into<int64_t>(t, *it->second);
    t.bump_version();
  }
  return sd.metadata;
}

} // namespace polygrad::nn
