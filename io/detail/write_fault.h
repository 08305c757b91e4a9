// Test hook for io::AtomicFile: simulates failures in the middle of a save.
// Internal (io/detail/ is not installed); tests/test_checkpoint_module.cpp
// uses it.
#pragma once

#include <cstdint>

namespace polygrad::io::detail {

// After `after_bytes` bytes of a temporary file are written, the next write
// fails like an I/O error (crash false) or the process kills itself with
// SIGKILL (crash true: a real crash, no cleanup runs). Negative disables it
// (the default). Applies to every AtomicFile of the process.
void set_write_fault(int64_t after_bytes, bool crash = false);

} // namespace polygrad::io::detail
