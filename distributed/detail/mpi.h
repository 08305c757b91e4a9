// (internal) MPI plumbing shared by the distributed layer's files: the
// communicators and turning MPI's error codes into polygrad::Error.
#pragma once

#include <mpi.h>

#include <string>

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

} // namespace polygrad::distributed::detail
