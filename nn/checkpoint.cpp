// Module checkpoints (checkpoint.h) on io::save_safetensors/load_safetensors.
#include <polygrad/nn/checkpoint.h>

namespace polygrad::nn {

void save(const Module &m, const std::string &path, const Metadata &metadata) {
  StateDict sd = m.state_dict();
  sd.metadata = metadata;
  sd.metadata.emplace("format", "pt");
  io::save_safetensors(sd, path);
}

Metadata load(Module &m, const std::string &path, bool strict) {
  StateDict sd = io::load_safetensors(path);
  try {
    m.load_state_dict(sd, strict);
  } catch (const Error &e) {
    throw Error("nn::load: " + path + ": " + e.what());
  }
  return sd.metadata;
}

} // namespace polygrad::nn
