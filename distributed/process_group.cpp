#include <polygrad/distributed/process_group.h>

#include <polygrad/distributed/detail/mpi.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include <polygrad/autograd/grad_mode.h>

namespace polygrad::distributed {

namespace {

struct Group {
  bool initialized = false; // init() was called (and finalize() not yet)
  bool mpi = false;         // MPI_Init was called by init()
  int rank = 0, size = 1;
  MPI_Comm comm = MPI_COMM_NULL;
  std::vector<MPI_Comm> extra; // new_comm()'s, freed by finalize()
};
Group g;

// mpirun (OpenMPI), and the PMI/PMIx launchers (srun, hydra), set these in
// every process they start; a process started by hand has none of them.
bool launched_by_mpirun() {
  for (const char *v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"})
    if (std::getenv(v))
      return true;
  return false;
}

void require_init(const char *op) {
  PG_CHECK(g.initialized, "distributed::", op, ": call distributed::init() first");
}

[[noreturn]] void on_terminate() {
  std::string what = "std::terminate called";
  if (const std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception &x) {
      what += " after an uncaught exception: ";
      what += x.what();
    } catch (...) {
      what += " after an uncaught exception of unknown type";
    }
  }
  abort(134, what);
}

MPI_Datatype mpi_type(DType d) { return d == DType::Float32 ? MPI_FLOAT : MPI_INT64_T; }

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
  case ReduceOp::Product:
    return MPI_PROD;
  case ReduceOp::Min:
    return MPI_MIN;
  case ReduceOp::Max:
    return MPI_MAX;
  default: // Sum, Avg (then divided)
    return MPI_SUM;
  }
}

// Every rank must pass a tensor of the same dtype and size: a collective of
// mismatched counts would truncate or hang in MPI. One small allreduce of
// (n, -n, dtype, -dtype) with MAX tells every rank the same thing.
// `type`: a dtype's code, or kDoubles for the std::vector<double> overload.
constexpr int64_t kDoubles = 1000;
void check_same_everywhere(const char *op, int64_t n, int64_t type, const std::string &shape) {
  const int64_t d = type;
  int64_t v[4] = {n, -n, d, -d};
  detail::check(MPI_Allreduce(MPI_IN_PLACE, v, 4, MPI_INT64_T, MPI_MAX, g.comm), op);
  PG_CHECK(v[0] == -v[1], "distributed::", op, ": the ranks passed tensors of different sizes (",
           -v[1], " to ", v[0], " elements; this rank's is ", shape,
           "): every rank must pass the same dtype and shape");
  PG_CHECK(v[2] == -v[3], "distributed::", op,
           ": the ranks passed tensors of different dtypes (this rank's is ",
           type == kDoubles ? "a vector of doubles" : dtype_name(DType(type)), ")");
}

// A collective's result `c` into `t`: copied through the view when `c` was
// a contiguous copy of it; either way t's version moves (autograd sees the write).
void write_back(const Tensor &t, const Tensor &c) {
  if (c.storage() == t.storage()) {
    t.bump_version();
    return;
  }
  Tensor view = t;
  view.copy_(c);
}

} // namespace

namespace detail {

MPI_Comm world() {
  PG_CHECK(g.initialized && g.mpi,
           "distributed: no MPI job (call distributed::init() under mpirun)");
  return g.comm;
}

MPI_Comm new_comm() {
  MPI_Comm c;
  check(MPI_Comm_dup(world(), &c), "MPI_Comm_dup");
  g.extra.push_back(c);
  return c;
}

void check(int rc, const char *what) {
  if (rc == MPI_SUCCESS)
    return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw Error(std::string(what) + ": " + std::string(msg, size_t(len)));
}

} // namespace detail

void init() {
  if (g.initialized)
    return;
  int already = 0, finalized = 0;
  MPI_Initialized(&already);
  MPI_Finalized(&finalized);
  PG_CHECK(!finalized, "distributed::init: MPI was finalized in this process; MPI allows one "
                       "init per process");
  if (launched_by_mpirun() || already) {
    if (!already) {
      // One thread talks to MPI (the one that calls polygrad's collectives);
      // OpenMP's threads and the DataLoader's worker never do.
      int provided = 0;
      detail::check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided),
                    "MPI_Init_thread");
      std::atexit([] {
        if (g.initialized)
          finalize();
      });
    }
    g.mpi = true;
    detail::check(MPI_Comm_dup(MPI_COMM_WORLD, &g.comm), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(g.comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(g.comm, &g.rank);
    MPI_Comm_size(g.comm, &g.size);
  }
  g.initialized = true;
  std::set_terminate(on_terminate);
}

void finalize() {
  if (!g.initialized)
    return;
  if (g.mpi) {
    for (MPI_Comm &c : g.extra)
      MPI_Comm_free(&c);
    g.extra.clear();
    MPI_Comm_free(&g.comm);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized)
      MPI_Finalize();
  }
  g = Group{};
}

bool is_initialized() { return g.initialized; }
bool is_mpi() { return g.initialized && g.mpi; }

int rank() {
  require_init("rank");
  return g.rank;
}

int world_size() {
  require_init("world_size");
  return g.size;
}

void barrier() {
  require_init("barrier");
  if (g.size > 1)
    detail::check(MPI_Barrier(g.comm), "distributed::barrier");
}

void all_reduce(const Tensor &t, ReduceOp op) {
  require_init("all_reduce");
  PG_CHECK(t.defined(), "distributed::all_reduce: the tensor is undefined");
  PG_CHECK(op != ReduceOp::Avg || t.dtype() == DType::Float32,
           "distributed::all_reduce: ReduceOp::Avg needs a float32 tensor, got ",
           dtype_name(t.dtype()));
  if (g.size == 1)
    return;
  check_same_everywhere("all_reduce", t.numel(), int64_t(t.dtype()), shape_str(t.shape()));
  if (t.numel() == 0)
    return;
  NoGradGuard no_grad;
  const Tensor c = t.contiguous(); // t itself when it is contiguous
  detail::in_pieces(c, [&](void *p, int k) {
    detail::check(MPI_Allreduce(MPI_IN_PLACE, p, k, mpi_type(c.dtype()), mpi_op(op), g.comm),
                  "distributed::all_reduce");
  });
  if (op == ReduceOp::Avg) {
    float *p = c.data<float>();
    const float inv = 1.f / float(g.size);
    for (int64_t i = 0, n = c.numel(); i < n; ++i)
      p[i] *= inv;
  }
  write_back(t, c);
}

void all_reduce(std::vector<double> &values, ReduceOp op) {
  require_init("all_reduce");
  if (g.size == 1)
    return;
  check_same_everywhere("all_reduce", int64_t(values.size()), kDoubles,
                        std::to_string(values.size()) + " doubles");
  PG_CHECK(values.size() < size_t(INT_MAX), "distributed::all_reduce: ", values.size(),
           " values are beyond one allreduce's count");
  if (values.empty())
    return;
  detail::check(MPI_Allreduce(MPI_IN_PLACE, values.data(), int(values.size()), MPI_DOUBLE,
                              mpi_op(op), g.comm),
                "distributed::all_reduce");
  if (op == ReduceOp::Avg)
    for (double &v : values)
      v /= g.size;
}

void broadcast(const Tensor &t, int root) {
  require_init("broadcast");
  PG_CHECK(t.defined(), "distributed::broadcast: the tensor is undefined");
  PG_CHECK(root >= 0 && root < g.size, "distributed::broadcast: root ", root,
           " is not a rank of this job (0..", g.size - 1, ")");
  if (g.size == 1)
    return;
  check_same_everywhere("broadcast", t.numel(), int64_t(t.dtype()), shape_str(t.shape()));
  if (t.numel() == 0)
    return;
  NoGradGuard no_grad;
  const Tensor c = t.contiguous();
  detail::in_pieces(c, [&](void *p, int k) {
    detail::check(MPI_Bcast(p, k, mpi_type(c.dtype()), root, g.comm), "distributed::broadcast");
  });
  write_back(t, c);
}

void abort(int code, const std::string &message) {
  std::fflush(stdout);
  if (g.mpi && g.size > 1) {
    std::fprintf(stderr, "rank %d: %s\n", g.rank, message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
  } else {
    std::fprintf(stderr, "%s\n", message.c_str());
  }
  std::_Exit(code);
}

} // namespace polygrad::distributed
