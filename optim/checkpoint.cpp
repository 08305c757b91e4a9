#include <polygrad/optim/checkpoint.h>

#include <polygrad/io/safetensors.h>

namespace polygrad::optim {

namespace {
const std::string kSched = "scheduler.";
}

void save(const Optimizer &opt, const std::string &path, const LRScheduler *sched) {
  StateDict sd = opt.state_dict();
  PG_CHECK(!sched || &sched->optimizer() == &opt, "optim::save: ", path,
           ": the scheduler drives a different optimizer");
  if (sched)
    sd.add(kSched, StateDict{{}, sched->state_dict()});
  io::save_safetensors(sd, path);
}

void load(Optimizer &opt, const std::string &path, LRScheduler *sched) {
  StateDict sd = io::load_safetensors(path);
  PG_CHECK(!sched || &sched->optimizer() == &opt, "optim::load: ", path,
           ": the scheduler drives a different optimizer");
  const Metadata sm = sd.extract(kSched).metadata;
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
