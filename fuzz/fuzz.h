// (internal) What the fuzz harnesses in fuzz/ share.
//
// A harness is one file that defines its target with PG_FUZZ_TARGET:
//
//   namespace {
//   std::vector<std::string> seeds() { ... }          // the committed corpus
//   void run(const uint8_t *data, size_t size) { ... } // one input
//   } // namespace
//   PG_FUZZ_TARGET(json, run, seeds)
//
// Built with -DPG_FUZZ_LIBFUZZER (scripts/fuzz.sh: clang, -fsanitize=fuzzer),
// the macro defines libFuzzer's LLVMFuzzerTestOneInput. Otherwise it
// registers the target with the replay driver (fuzz/replay.cpp, built with
// the tests), which runs a corpus through it and writes the seeds.
//
// The contract every target checks: bad input may only produce a
// polygrad::Error (expect_error_only). Any other exception, a crash, a
// sanitizer report, a hang or a huge allocation is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <polygrad/core/error.h>

namespace polygrad::fuzz {

using RunFn = void (*)(const uint8_t *data, size_t size);
using SeedsFn = std::vector<std::string> (*)();

// Whether expect_error_only prints each Error (fuzz_replay -v: to see which
// inputs of a corpus get how far).
extern bool verbose;

// Runs f(); a polygrad::Error is the documented answer to bad input.
template <class F> void expect_error_only(F &&f) {
  try {
    f();
  } catch (const polygrad::Error &e) {
    if (verbose)
      std::fprintf(stderr, "  error: %s\n", e.what());
  }
}

// A private folder of this process (in /dev/shm when there is one: the
// readers take paths, and a RAM file keeps an execution in microseconds),
// removed at exit.
const std::string &scratch_dir();
// Writes the bytes to scratch_dir()/name (replacing it) and returns the path.
std::string write_scratch(const std::string &name, const uint8_t *data, size_t size);
std::string write_scratch(const std::string &name, const std::string &bytes);
// The whole content of a file (for seeds made by a writer).
std::string read_file(const std::string &path);

// Seed makers. An IDX file: big-endian magic, dims, then the payload bytes.
std::string idx_bytes(uint32_t magic, const std::vector<uint32_t> &dims,
                      const std::string &payload);
// `bytes` as one gzip member (zlib, level 6).
std::string gzip(const std::string &bytes);

// The replay driver's table (unused in libFuzzer builds).
bool register_target(const char *name, RunFn run, SeedsFn seeds);
struct Target {
  const char *name;
  RunFn run;
  SeedsFn seeds;
};
const std::vector<Target> &targets();

} // namespace polygrad::fuzz

#ifdef PG_FUZZ_LIBFUZZER
#define PG_FUZZ_TARGET(name, run, seeds)                                                           \
  [[maybe_unused]] static const polygrad::fuzz::SeedsFn pg_fuzz_seeds_##name = seeds;              \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {                        \
    run(data, size);                                                                               \
    return 0;                                                                                      \
  }
#else
#define PG_FUZZ_TARGET(name, run, seeds)                                                           \
  [[maybe_unused]] static const bool pg_fuzz_registered_##name =                                   \
      polygrad::fuzz::register_target(#name, run, seeds);
#endif
