// What the registry test (tests/test_losses_registry.cpp) needs to know about
// one registered loss, and the table a loss's own test file adds its case to,
// so adding a loss is its own files plus its own test:
//
//   PG_REGISTRY_CASE("gce", {.options = "q=0.5,weight=[1, 2, 0.5, 1, 3],...",
//                            .with_options = [](auto &x, auto &y) { return ...; },
//                            .with_defaults = [](auto &x, auto &y) { return ...; },
//                            .target = lt::Target::Labels});
//
// The registry test fails for a registered loss that has no case.
#pragma once

#include <functional>
#include <map>
#include <string>

#include <polygrad/core/tensor.h>

namespace lt {

// Inputs the registry test feeds a loss: logits (7, 5) with labels (7) (one
// ignored with the default ignore_index; ignore_index=4 in `options` ignores
// two others), log-probabilities with labels, logits with probabilities
// (7, 5), log-probabilities with probabilities.
enum class Target { Labels, LogProbLabels, Probs, LogProbProbs };
using Direct = std::function<polygrad::Tensor(const polygrad::Tensor &, const polygrad::Tensor &)>;
struct RegistryCase {
  std::string options{};                  // spec after "name:", every parameter set
  Direct with_options{}, with_defaults{}; // the direct calls with those options / the defaults
  Target target = Target::Labels;
  // A golden case where one exists: fixture file, case, spec ("{w}" / "{pw}":
  // the fixture's weight / pos_weight).
  std::string golden_file{}, golden_case{}, golden_options{};
};

inline std::map<std::string, RegistryCase> &registry_case_table() {
  static std::map<std::string, RegistryCase> t;
  return t;
}
struct RegistryCaseRegistrar {
  RegistryCaseRegistrar(const std::string &name, RegistryCase c) {
    registry_case_table().emplace(name, std::move(c));
  }
};

} // namespace lt

#define PG_REGISTRY_CASE_CAT_(a, b) a##b
#define PG_REGISTRY_CASE_CAT(a, b) PG_REGISTRY_CASE_CAT_(a, b)
#define PG_REGISTRY_CASE(name, ...)                                                                \
  static const ::lt::RegistryCaseRegistrar PG_REGISTRY_CASE_CAT(pg_registry_case_, __LINE__)(      \
      name, ::lt::RegistryCase __VA_ARGS__)
