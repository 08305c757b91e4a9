// The process group of a data-parallel job, on MPI (Debian's OpenMPI), after
// torch.distributed: every process (rank) of `mpirun -np N prog` runs the
// same program; collectives combine a tensor across all of them.
//
//   distributed::init();                      // from mpirun's environment
//   int r = distributed::rank(), n = distributed::world_size();
//   distributed::all_reduce(t);               // t <- sum over ranks, in place
//   distributed::broadcast(t, 0);             // t <- rank 0's t
//   distributed::finalize();
//
// Without mpirun (a plain `./prog`) init() makes a group of one: rank 0 of 1,
// and every collective is a no-op. Collectives must be called by every rank
// in the same order with tensors of the same dtype and size (each collective
// checks that first: a mismatch is an Error on every rank, not a hang).
// Errors on one rank do not reach the others by themselves: end the job with
// abort(), which init() also installs for std::terminate.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <polygrad/core/tensor.h>

namespace polygrad::distributed {

enum class ReduceOp { Sum, Product, Min, Max, Avg };

// Joins the job mpirun started (MPI_Init_thread; the environment variables of
// OpenMPI, PMI or PMIx tell whether there is one), or makes a group of one.
// Calling it again is a no-op. Installs a std::terminate handler that ends
// every rank (abort()).
void init();
// Leaves the job (MPI_Finalize); collectives are errors afterwards. Also run
// at exit if init() was called and finalize() was not.
void finalize();
bool is_initialized();
// Whether the group spans processes started by mpirun (false for a group of one).
bool is_mpi();

int rank();       // 0 .. world_size() - 1
int world_size(); // processes in the job

void barrier();
// In place: t <- op over every rank's t. Float32 or int64, any shape
// (non-contiguous views too: the result is written back through the view).
// Avg is Sum divided by world_size() (float32 only).
void all_reduce(const Tensor &t, ReduceOp op = ReduceOp::Sum);
// In place: each value <- op over every rank's (MPI_DOUBLE), for metrics
// and other host-side numbers. Same size on every rank.
void all_reduce(std::vector<double> &values, ReduceOp op = ReduceOp::Sum);
// In place: t <- rank root's t.
void broadcast(const Tensor &t, int root = 0);

// Ends the whole job: prints "rank R: MESSAGE" on stderr and calls MPI_Abort
// with `code` (mpirun then stops every rank); in a group of one, or before
// init(), exits the process with `code`.
[[noreturn]] void abort(int code, const std::string &message);

} // namespace polygrad::distributed
