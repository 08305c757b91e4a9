// Writing a file so that readers see either the old or the whole new file.
//
// The bytes go to "<path>.tmp.<pid>.<n>" in the same directory (so the
// rename stays on one filesystem); commit() fsyncs it, renames it over <path>
// and fsyncs the directory. Destroyed without commit() (an error, an
// exception), the temporary file is removed and <path> is untouched. A crash
// (SIGKILL, power loss) mid-write leaves <path> as the previous complete file
// and, at worst, the temporary beside it; the next AtomicFile for the same
// <path> removes such leftovers whose process no longer exists (never the
// temporary of a live process).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace polygrad::io {

class AtomicFile {
public:
  // Creates the temporary file. Errors (here and below) are polygrad::Error
  // naming <path>, the temporary and the system's reason.
  explicit AtomicFile(const std::string &path);
  ~AtomicFile();
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;

  // Appends n bytes.
  void write(const void *data, size_t n);
  // Makes the file <path>, durably. Call once, after the last write.
  void commit();

private:
  std::string path_, tmp_;
  int fd_ = -1;
  int64_t written_ = 0;
  bool committed_ = false;
};

} // namespace polygrad::io
