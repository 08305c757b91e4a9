// AtomicFile (io/atomic_file.h) on POSIX calls, and its test fault hook.
#include <polygrad/io/atomic_file.h>

#include <polygrad/core/error.h>
#include <polygrad/io/detail/write_fault.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace polygrad::io {

namespace {

std::atomic<int64_t> g_fault_after{-1};
std::atomic<bool> g_fault_crash{false};

std::string errno_str() { return std::strerror(errno); }

} // namespace

namespace detail {
void set_write_fault(int64_t after_bytes, bool crash) {
  g_fault_crash = crash;
  g_fault_after = after_bytes;
}
} // namespace detail

AtomicFile::AtomicFile(const std::string &path) : path_(path) {
  // pid and a counter: concurrent saves to one path, from this process or
  // others, never share a temporary file.
  static std::atomic<uint64_t> counter{0};
  tmp_ = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
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
