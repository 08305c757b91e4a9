// (internal) MPI plumbing shared by the distributed layer's files: the
// communicators and turning MPI's error codes into polygrad::Error.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <string>

#include <polygrad/core/tensor.h>

namespace polygrad::distributed::detail {

// The group's communicator for user collectives (a duplicate of
// MPI_COMM_WORLD with MPI_ERRORS_RETURN). Throws if init() was not called or
// the group is a group of one.
MPI_Comm world();
// A new duplicate of world() for a component with traffic of its own
// (DistributedDataParallel's gradient buckets), so that its non-blocking
// collectives never pair up with another component's. Freed by finalize().
MPI_Comm new_comm();
// Throws polygrad::Error "WHAT: <MPI's error string>" unless rc == MPI_SUCCESS.
void check(int rc, const char *what);

// Runs fn(pointer, count) over the elements of `c` (contiguous, float32 or
// int64) in pieces MPI's int count can hold: a collective per piece.
template <class Fn> void in_pieces(const Tensor &c, Fn &&fn) {
  const size_t esize = c.dtype() == DType::Float32 ? 4 : 8;
  char *p = c.dtype() == DType::Float32 ? reinterpret_cast<char *>(c.data<float>())
                                        : reinterpret_cast<char *>(c.data<int64_t>());
  for (int64_t done = 0, n = c.numel(); done < n;) {
    const int64_t k = std::min<int64_t>(n - done, INT_MAX / 2);
    fn(static_cast<void *>(p + done * esize), int(k));
    done += k;
  }
}

} // namespace polygrad::distributed::detail
