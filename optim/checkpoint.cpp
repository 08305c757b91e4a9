#include <polygrad/optim/checkpoint.h>

#include <polygrad/core/random.h>
#include <polygrad/core/text.h>
#include <polygrad/io/safetensors.h>

namespace polygrad::optim {

namespace {
const std::string kSched = "scheduler.";
const std::string kModel = "model.", kOptim = "optim.", kRng = "rng_state", kTraining = "training.",
                  kExtra = "extra.";
} // namespace

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

void save_training_state(const std::string &path, const nn::Module &model, const Optimizer &opt,
                         const LRScheduler *sched, const TrainingState &state) {
  PG_CHECK(!sched || &sched->optimizer() == &opt, "save_training_state: ", path,
           ": the scheduler drives a different optimizer");
  StateDict sd;
  sd.add(kModel, model.state_dict());
  StateDict o = opt.state_dict();
  if (sched)
    o.add(kSched, StateDict{{}, sched->state_dict()});
  sd.add(kOptim, o);
  sd.tensors.emplace_back(kRng, get_rng_state());
  sd.metadata[kTraining + "epoch"] = text::show(state.epoch);
  sd.metadata[kTraining + "step"] = text::show(state.step);
  sd.metadata[kTraining + "data_seed"] = text::show((int64_t)state.data_seed); // the 64 bits
  sd.add(kExtra, StateDict{{}, state.extra});
  io::save_safetensors(sd, path);
}

TrainingState load_training_state(const std::string &path, nn::Module &model, Optimizer &opt,
                                  LRScheduler *sched) {
  StateDict sd = io::load_safetensors(path);
  auto fail = [&](const std::string &what) -> Error {
    std::string m = "load_training_state: ";
    m += path;
    m += ": ";
    m += what;
    return Error(m);
  };
  if (sched && &sched->optimizer() != &opt)
    throw fail("the scheduler drives a different optimizer");
  TrainingState st;
  const StateDict t = sd.extract(kTraining);
  for (const char *key : {"epoch", "step", "data_seed"})
    if (!t.metadata.count(key))
      throw fail(std::string("not a training state (no metadata training.") + key +
                 "; nn::save and optim::save files hold only part of one)");
  try {
    int64_t seed = 0;
    text::parse(t.metadata.at("epoch"), st.epoch);
    text::parse(t.metadata.at("step"), st.step);
    text::parse(t.metadata.at("data_seed"), seed);
    st.data_seed = (uint64_t)seed;
    PG_CHECK(st.epoch >= 0 && st.step >= 0, "negative epoch ", st.epoch, " or step ", st.step);
  } catch (const Error &e) {
    throw fail(std::string("training.*: ") + e.what());
  }
  st.extra = sd.extract(kExtra).metadata;
  if (!sd.contains(kRng))
    throw fail("no rng_state");
  const Tensor rng = sd.at(kRng);
  if (rng.dtype() != DType::Int64 || rng.shape() != get_rng_state().shape())
    throw fail("rng_state is not an int64 tensor of get_rng_state()'s shape");
  StateDict o = sd.extract(kOptim);
  const Metadata sm = o.extract(kSched).metadata;
  if (sched && sm.empty())
    throw fail("the file has no scheduler state, but a scheduler was given");
  if (!sched && !sm.empty())
    throw fail("the file has a scheduler state, but no scheduler was given");
  // Validate what can be validated without changing anything, then load the
  // model (validated, all or nothing), then the optimizer; if the optimizer
  // fails, the model gets its previous state back.
  try {
    if (sched)
      sched->validate_state_dict(sm);
  } catch (const Error &e) {
    throw fail(std::string("scheduler: ") + e.what());
  }
  StateDict before;
  for (const auto &[name, tensor] : model.state_dict())
    before.tensors.emplace_back(name, tensor.clone());
  try {
    model.load_state_dict(sd.extract(kModel));
  } catch (const Error &e) {
    throw fail(std::string("model: ") + e.what());
  }
  try {
    opt.load_state_dict(o);
  } catch (const Error &e) {
    model.load_state_dict(before);
    throw fail(std::string("optimizer: ") + e.what());
  }
  if (sched)
    sched->load_state_dict(sm); // validated above: cannot fail now
  set_rng_state(rng);
  return st;
}

} // namespace polygrad::optim
