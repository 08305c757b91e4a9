// The fuzz targets without libFuzzer: every harness of fuzz/ linked into one
// program, built with the tests (any compiler), so that ctest replays each
// target's committed corpus (regressions of past findings included) in
// seconds, under the sanitizers too with scripts/test.sh --sanitize.
//
//   fuzz_replay --list
//   fuzz_replay [-v] TARGET PATH...      run every file (folders: every file
//                                        inside, sorted) through TARGET; -v
//                                        prints each input and its Errors
//   fuzz_replay TARGET --write-seeds DIR write TARGET's seed inputs to DIR
//
// Exit 0 when every input ended normally or in a polygrad::Error; 1 with
// "finding: FILE: ..." when one threw anything else (a crash or a sanitizer
// report ends the process on its own); 2 on a usage error.
#include "fuzz.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
namespace fz = polygrad::fuzz;

namespace {

int usage(const char *why) {
  std::fprintf(
      stderr,
      "error: %s\nusage: fuzz_replay --list | [-v] TARGET PATH... | TARGET --write-seeds DIR\n",
      why);
  return 2;
}

const fz::Target *find(const std::string &name) {
  for (const fz::Target &t : fz::targets())
    if (name == t.name)
      return &t;
  return nullptr;
}

std::string target_names() {
  std::string s;
  for (const fz::Target &t : fz::targets())
    s += (s.empty() ? "" : ", ") + std::string(t.name);
  return s;
}

int write_seeds(const fz::Target &t, const fs::path &dir) {
  fs::create_directories(dir);
  const std::vector<std::string> seeds = t.seeds();
  for (size_t i = 0; i < seeds.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "seed_%03zu", i);
    std::ofstream f(dir / name, std::ios::binary | std::ios::trunc);
    f.write(seeds[i].data(), static_cast<std::streamsize>(seeds[i].size()));
    if (!f.flush()) {
      std::fprintf(stderr, "error: cannot write %s\n", (dir / name).c_str());
      return 1;
    }
  }
  std::printf("%s: wrote %zu seeds to %s\n", t.name, seeds.size(), dir.c_str());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc >= 2 && std::strcmp(argv[1], "-v") == 0) {
    fz::verbose = true;
    ++argv, --argc;
  }
  if (argc < 2)
    return usage("no target");
  if (std::strcmp(argv[1], "--list") == 0) {
    for (const fz::Target &t : fz::targets())
      std::printf("%s\n", t.name);
    return 0;
  }
  const fz::Target *t = find(argv[1]);
  if (!t)
    return usage(
        ("unknown target '" + std::string(argv[1]) + "' (valid: " + target_names() + ")").c_str());
  if (argc == 4 && std::strcmp(argv[2], "--write-seeds") == 0)
    return write_seeds(*t, argv[3]);
  if (argc < 3)
    return usage("no corpus given");

  std::vector<fs::path> files;
  for (int i = 2; i < argc; ++i) {
    const fs::path p = argv[i];
    if (fs::is_directory(p)) {
      for (const auto &e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file())
          files.push_back(e.path());
    } else if (fs::is_regular_file(p)) {
      files.push_back(p);
    } else {
      return usage(("no such file or folder: " + p.string()).c_str());
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty())
    return usage("the corpus is empty");
  for (const fs::path &f : files) {
    const std::string bytes = fz::read_file(f.string());
    if (fz::verbose)
      std::fprintf(stderr, "%s (%zu bytes)\n", f.c_str(), bytes.size());
    try {
      t->run(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
    } catch (const std::exception &e) {
      std::fprintf(stderr, "finding: %s: %s threw (not a polygrad::Error): %s\n", f.c_str(),
                   t->name, e.what());
      return 1;
    }
  }
  std::printf("%s: %zu inputs, no finding\n", t->name, files.size());
  return 0;
}
