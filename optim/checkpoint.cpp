#include <polygrad/optim/checkpoint.h>

#include <polygrad/nn/checkpoint.h>

namespace polygrad::optim {

namespace {
const std::string kSched = "scheduler.";
}

void save(const Optimizer &opt, const std::string &path, const LRScheduler *sched) {
  nn::StateDict sd = opt.state_dict();
  PG_CHECK(!sched || &sched->optimizer() == &opt, "optim::save: ", path,
           ": the scheduler drives a different optimizer");
  if (sched)
    for (const auto &[k, v] : sched->state_dict())
      sd.metadata[kSched + k] = v;
  nn::save_safetensors(sd, path);
}

void load(Optimizer &opt, const std::string &path, LRScheduler *sched) {
  nn::StateDict sd = nn::load_safetensors(path);
  PG_CHECK(!sched || &sched->optimizer() == &opt, "optim::load: ", path,
           ": the scheduler drives a different optimizer");
  nn::Metadata sm;
  for (const auto &[k, v] : sd.metadata)
    if (k.rfind(kSched, 0) == 0)
      sm[k.substr(kSched.size())] = v;
  try {
    if (sched) {
      PG_CHECK(!sm.empty(), "the file has no scheduler state");
      sched->validate_state_dict(sm);
    }
    opt.load_state_dict(sd); // validates everything before changing anything
    if (sched)
      sched->load_state_dict(sm); // validated above: cannot fail now
  } catch (const Error &e) {
    throw Error("optim::load: " + path + ": " + e.what());
  }
}

} // namespace polygrad::optim
