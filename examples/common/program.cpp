#include "common/program.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <new>

#include <fcntl.h>
#include <unistd.h>

#include <polygrad/core/error.h>

namespace polygrad::examples {

namespace fs = std::filesystem;

namespace {
std::function<void(const std::string &, int)> g_error_exit;
}
void set_error_exit(std::function<void(const std::string &line, int status)> exit) {
  g_error_exit = std::move(exit);
}

int run_program(const std::string &program, const std::function<int()> &body) {
  const char *what = nullptr;
  std::string owned;
  try {
    return body();
  } catch (const std::bad_alloc &) {
    what = "out of memory (std::bad_alloc)";
  } catch (const std::exception &e) {
    // Copying may itself throw (out of memory): fall back to the pointer.
    try {
      owned = e.what();
      what = owned.c_str();
    } catch (...) {
      what = e.what();
    }
  } catch (...) {
    what = "unknown exception (not a std::exception)";
  }
  std::fflush(stdout);
  if (::isatty(::fileno(stderr)))
    std::fputc('\n', stderr); // end a progress bar's line
  if (g_error_exit)
    g_error_exit(program + ": error: " + what, kExitError);
  std::fprintf(stderr, "%s: error: %s\n", program.c_str(), what);
  return kExitError;
}

namespace {

// Creates and removes "<dir>/.<name>.probe.<pid>": the one way to know a
// folder takes new files (permissions, read-only mounts, a full quota).
void probe(const std::string &flag, const std::string &shown, const fs::path &dir,
           const std::string &name) {
  const fs::path p = dir / ("." + name + ".probe." + std::to_string(::getpid()));
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  PG_CHECK(fd >= 0, "--", flag, " ", shown, ": cannot write there: cannot create a file in ",
           dir.string(), ": ", std::strerror(errno));
  ::close(fd);
  ::unlink(p.c_str());
}

} // namespace

void prepare_output_dir(const std::string &flag, const std::string &dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  PG_CHECK(!ec, "--", flag, " ", dir, ": cannot create the folder: ", ec.message());
  PG_CHECK(fs::is_directory(dir, ec), "--", flag, " ", dir, ": not a folder");
  probe(flag, dir, dir, "polygrad");
}

void check_writable_file(const std::string &flag, const std::string &path) {
  const fs::path p(path);
  std::error_code ec;
  PG_CHECK(!p.filename().empty(), "--", flag, " ", path, ": names a folder, expected a file");
  PG_CHECK(!fs::is_directory(p, ec), "--", flag, " ", path, ": is a folder, expected a file");
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  PG_CHECK(fs::is_directory(dir, ec), "--", flag, " ", path, ": the folder ", dir.string(),
           " does not exist (or is not a folder)");
  probe(flag, path, dir, p.filename().string());
}

std::string loss_names(losses::LossKind kind) {
  std::string r;
  for (const losses::LossEntry &e : losses::registered_losses())
    if (e.info.kind == kind)
      r.append(r.empty() ? "" : ", ").append(e.info.name);
  return r;
}

} // namespace polygrad::examples
