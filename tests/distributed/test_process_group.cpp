// distributed/process_group.h: collectives on odd sizes, empty tensors,
// non-contiguous views, int64, every op; mismatches are Errors on every rank.
#include <catch2/catch.hpp>

#include "common.h"

using namespace pgt;

TEST_CASE("process group: rank and world size", "[distributed]") {
  CHECK(world() >= 1);
  CHECK(rank() >= 0);
  CHECK(rank() < world());
  if (world() > 1)
    CHECK(dist::is_mpi());
  dist::barrier();
}

TEST_CASE("all_reduce: every op on odd sizes, float32 and int64", "[distributed]") {
  const int n = world(), r = rank();
  for (int64_t size : {1, 7, 1000003}) {
    // element i on rank r: i + r + 1
    std::vector<float> v((size_t)size);
    for (int64_t i = 0; i < size; ++i)
      v[size_t(i)] = float(i % 97 + r + 1);
    const pg::Tensor base = pg::from_vector(v, {size});
    double tri = 0, prod = 1; // sums over ranks of (r + 1), product of (r + 1)
    for (int k = 0; k < n; ++k)
      tri += k + 1, prod *= k + 1;
    struct Case {
      dist::ReduceOp op;
      std::function<double(double)> expect; // from element i's (i % 97)
    };
    const Case cases[] = {
        {dist::ReduceOp::Sum, [&](double b) { return n * b + tri; }},
        {dist::ReduceOp::Avg, [&](double b) { return (n * b + tri) / n; }},
        {dist::ReduceOp::Max, [&](double b) { return b + n; }},
        {dist::ReduceOp::Min, [&](double b) { return b + 1; }},
    };
    for (const Case &c : cases) {
      pg::Tensor t = base.clone();
      dist::all_reduce(t, c.op);
      const auto out = t.to_vector();
      bool ok = true;
      for (int64_t i = 0; i < size; ++i)
        ok = ok && std::fabs(out[size_t(i)] - c.expect(double(i % 97))) <= 1e-5 * (1 + n * 100);
      CHECK(ok);
    }
    if (size == 7) {
      pg::Tensor t = base.clone();
      dist::all_reduce(t, dist::ReduceOp::Product);
      CHECK(t.to_vector()[0] == Approx(prod)); // element 0: prod over ranks of (r + 1)
    }
  }
  pg::Tensor ints = pg::from_labels({int64_t(r), int64_t(1) << 40, -3});
  dist::all_reduce(ints);
  CHECK(ints.to_vector<int64_t>() ==
        std::vector<int64_t>{int64_t(n) * (n - 1) / 2, n * (int64_t(1) << 40), -3 * n});
}

TEST_CASE("all_reduce and broadcast: empty tensors and non-contiguous views", "[distributed]") {
  pg::Tensor empty = pg::zeros({0, 3});
  dist::all_reduce(empty);
  dist::broadcast(empty, 0);
  CHECK(empty.numel() == 0);

  // Every other column of a 4 x 6 matrix: the result goes back through the
  // view, the other columns stay as they were.
  pg::Tensor m = pg::full({4, 6}, float(rank() + 1));
  pg::Tensor cols = m.slice(1, 0, 6, 2);
  REQUIRE(!cols.is_contiguous());
  dist::all_reduce(cols);
  const float total = float(world() * (world() + 1) / 2);
  const auto v = m.to_vector();
  for (int64_t i = 0; i < 24; ++i)
    CHECK(v[size_t(i)] == (i % 2 == 0 ? total : float(rank() + 1)));

  pg::Tensor t = pg::full({3, 5}, float(rank() * 10)).t(); // transposed view
  dist::broadcast(t, world() - 1);
  CHECK(t.to_vector() == std::vector<float>(15, float((world() - 1) * 10)));
}

TEST_CASE("collectives: a rank-dependent size or a bad root is an Error on every rank",
          "[distributed]") {
  CHECK_THROWS_WITH(dist::broadcast(pg::zeros({2}), world()), Catch::Contains("is not a rank"));
  CHECK_NOTHROW(dist::all_reduce(pg::zeros({2}), dist::ReduceOp::Avg));
  CHECK_THROWS_WITH(dist::all_reduce(pg::from_labels({1}), dist::ReduceOp::Avg),
                    Catch::Contains("Avg needs a float32"));
  if (world() > 1) {
    CHECK_THROWS_WITH(dist::all_reduce(pg::zeros({2 + rank()})),
                      Catch::Contains("different sizes"));
    CHECK_THROWS_WITH(dist::broadcast(rank() == 0 ? pg::zeros({2}) : pg::from_labels({1, 2})),
                      Catch::Contains("different dtypes"));
  }
  dist::barrier(); // every rank is still in step
}
