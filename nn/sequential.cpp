#include <polygrad/nn/sequential.h>

#include <atomic>

#include <polygrad/nn/fusion.h>

namespace polygrad::nn {

namespace {
std::atomic<bool> g_fusion{true};
}
void set_fusion_enabled(bool on) { g_fusion.store(on, std::memory_order_relaxed); }
bool fusion_enabled() { return g_fusion.load(std::memory_order_relaxed); }

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> mods) {
  for (auto &m : mods)
    push_back(m);
}

void Sequential::push_back(std::shared_ptr<Module> m) {
  add_child(std::to_string(mods_.size()), m);
  mods_.push_back(std::move(m));
}

void Sequential::child_replaced(const std::string &name, const std::shared_ptr<Module> &m) {
  mods_.at(std::stoul(name)) = m; // children are named by their index
}

Tensor Sequential::forward(const Tensor &x) {
  Tensor h = x;
  for (size_t i = 0; i < mods_.size();) {
    const size_t fused = fusion_ && fusion_enabled() ? detail::fused_forward(mods_, i, h, h) : 0;
    if (fused == 0)
      h = mods_[i]->forward(h);
    i += fused == 0 ? 1 : fused;
  }
  return h;
}

} // namespace polygrad::nn
