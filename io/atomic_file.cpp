// AtomicFile (io/atomic_file.h) on POSIX calls, and its test fault hook.
#include <polygrad/io/atomic_file.h>

#include <polygrad/core/error.h>
#include <polygrad/io/detail/write_fault.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

namespace polygrad::io {

namespace {

std::atomic<int64_t> g_fault_after{-1};
std::atomic<bool> g_fault_crash{false};

std::string errno_str() { return std::strerror(errno); }

// The pid of "<base>.tmp.<pid>.<n>" (both decimal), or -1 for any other name.
long temp_owner(const std::string &name, const std::string &base) {
  const std::string prefix = base + ".tmp.";
  if (name.compare(0, prefix.size(), prefix) != 0)
    return -1;
  const char *p = name.c_str() + prefix.size();
  char *end = nullptr;
  errno = 0;
  const long pid = std::strtol(p, &end, 10);
  if (errno || end == p || *end != '.' || pid <= 0 || !std::isdigit((unsigned char)p[0]))
    return -1;
  const char *n = end + 1;
  if (!*n)
    return -1;
  for (; *n; ++n)
    if (!std::isdigit((unsigned char)*n))
      return -1;
  return pid;
}

// Removes the temporary files an earlier save of `path` left when its
// process died mid-write (SIGKILL, power loss): those whose pid no longer
// exists. A live process's temporary (this one's included, and any pid
// kill(pid, 0) cannot rule out, e.g. EPERM) is never touched. Best effort:
// a file that cannot be listed or removed is left alone. A pid reused by a
// new process keeps its stale file until that process ends; a save from
// another pid namespace (a container) sharing the folder could look dead
// here, so do not share checkpoint folders across containers mid-save.
void remove_stale_temps(const std::string &path) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  DIR *d = ::opendir(dir.c_str());
  if (!d)
    return;
  const long self = long(::getpid());
  while (const dirent *e = ::readdir(d)) {
    const long pid = temp_owner(e->d_name, base);
    if (pid <= 0 || pid == self || pid > long(INT32_MAX))
      continue;
    if (::kill(pid_t(pid), 0) == 0 || errno != ESRCH)
      continue; // alive (or not ours to judge)
    (void)::unlinkat(::dirfd(d), e->d_name, 0);
  }
  ::closedir(d);
}

} // namespace

namespace detail {
void set_write_fault(int64_t after_bytes, bool crash) {
  g_fault_crash = crash;
  g_fault_after = after_bytes;
}
} // namespace detail

AtomicFile::AtomicFile(const std::string &path) : path_(path) {
  remove_stale_temps(path);
  // pid and a counter: concurrent saves to one path, from this process or
  // others, never share a temporary file.
  // A name taken already (a crashed process with this pid before us, whose
  // leftover looks alive because the pid is ours) is skipped, not an error.
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    tmp_ = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ >= 0 || errno != EEXIST)
      break;
  }
  PG_CHECK(fd_ >= 0, "save: ", path, ": cannot create the temporary file '", tmp_,
           "': ", errno_str());
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0)
    ::close(fd_);
  if (!committed_)
    ::unlink(tmp_.c_str());
}

void AtomicFile::write(const void *data, size_t n) {
  PG_CHECK(fd_ >= 0, "save: ", path_, ": write() after commit()");
  const char *p = static_cast<const char *>(data);
  while (n > 0) {
    size_t chunk = std::min<size_t>(n, size_t(1) << 30);
    const int64_t fault = g_fault_after.load();
    if (fault >= 0) {
      if (written_ >= fault) {
        if (g_fault_crash.load())
          ::raise(SIGKILL); // a real crash: no destructor, no cleanup
        throw Error("save: " + path_ + ": write failed: injected fault after " +
                    std::to_string(written_) + " bytes");
      }
      chunk = std::min<size_t>(chunk, size_t(fault - written_));
    }
    const ssize_t w = ::write(fd_, p, chunk);
    if (w < 0 && errno == EINTR)
      continue;
    PG_CHECK(w > 0, "save: ", path_, ": write to '", tmp_,
             "' failed: ", w < 0 ? errno_str() : std::string("no progress"));
    p += w;
    n -= size_t(w);
    written_ += w;
  }
}

void AtomicFile::commit() {
  PG_CHECK(fd_ >= 0, "save: ", path_, ": commit() after the file was committed or failed");
  PG_CHECK(::fsync(fd_) == 0, "save: ", path_, ": fsync of '", tmp_, "' failed: ", errno_str());
  const int fd = fd_;
  fd_ = -1;
  PG_CHECK(::close(fd) == 0, "save: ", path_, ": close of '", tmp_, "' failed: ", errno_str());
  PG_CHECK(::rename(tmp_.c_str(), path_.c_str()) == 0, "save: ", path_, ": cannot rename '", tmp_,
           "' over it: ", errno_str());
  committed_ = true;
  // Make the rename itself durable. Best effort: some filesystems refuse
  // to fsync a directory, and the new file is complete either way.
  const size_t slash = path_.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

} // namespace polygrad::io
