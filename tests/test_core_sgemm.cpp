// [core] polygrad's own SGEMM (core/sgemm.h), every micro-kernel this CPU
// runs, against a double-precision triple loop: odd sizes on both sides of
// each register block and cache block (MR, NR, KC = 256, MC = 240,
// NC = 3072), all four transpose combinations, leading dimensions larger
// than the rows, operands starting off the 64-byte grid, alpha / beta, C
// guarded by sentinels (nothing outside the M x N window written, beta == 0
// never reads C), and the thread split bitwise equal to one thread.
#include <cmath>
#include <cstring>
#include <limits>

#include "test_core_util.h"
#include <polygrad/core/sgemm.h>

namespace pg = polygrad;
namespace kn = polygrad::kernel;
using Catch::Contains;

namespace {

struct Case {
  int64_t M, N, K;
};

// Random floats in [-1, 1), from the library's seeded generator.
std::vector<float> random_vec(size_t n, uint64_t seed) {
  return n ? tu::uniform({(int64_t)n}, seed).to_vector() : std::vector<float>{};
}

// Runs one product through `run` on operands laid out with padded leading
// dimensions at an offset of `shift` floats, and checks it element by element
// against the double sum (tolerance: a few float roundings of each term's
// magnitude, K eps sum |a b|), and that the sentinels around C survive.
template <class Run>
void check_case(const Case &c, bool ta, bool tb, float alpha, float beta, int shift, Run &&run) {
  const int64_t M = c.M, N = c.N, K = c.K;
  // Stored shapes: A is M x K (or K x M when transposed), B is K x N (or N x K).
  const int64_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
  const int64_t lda = ac + 3, ldb = bc + 5, ldc = N + 7;
  std::vector<float> a = random_vec(size_t(shift + ar * lda), 11 + M);
  std::vector<float> b = random_vec(size_t(shift + br * ldb), 23 + N);
  const float sentinel = -12345.f;
  std::vector<float> cbuf(size_t(shift + (M + 1) * ldc), sentinel);
  const std::vector<float> cinit = random_vec(size_t(M * N), 37 + K);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) // beta == 0: NaN in C must not leak in
      cbuf[shift + i * ldc + j] = beta == 0.f ? nan : cinit[i * N + j];
  const float *A = a.data() + shift, *B = b.data() + shift;
  float *C = cbuf.data() + shift;
  run(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  auto opa = [&](int64_t i, int64_t k) { return double(ta ? A[k * lda + i] : A[i * lda + k]); };
  auto opb = [&](int64_t k, int64_t j) { return double(tb ? B[j * ldb + k] : B[k * ldb + j]); };
  int64_t bad = 0;
  std::string first;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        s += opa(i, k) * opb(k, j);
        mag += std::fabs(opa(i, k) * opb(k, j));
      }
      const double c0 = beta == 0.f ? 0.0 : double(cinit[i * N + j]);
      const double want = double(alpha) * s + double(beta) * c0;
      const double tol = 1e-6 + 2.0 * (K + 2) * 6e-8 * (std::fabs(alpha) * mag + std::fabs(c0));
      const double got = C[i * ldc + j];
      if (!(std::fabs(got - want) <= tol) && bad++ == 0)
        first = "C[" + std::to_string(i) + "][" + std::to_string(j) + "] = " + std::to_string(got) +
                ", want " + std::to_string(want);
    }
  // Sentinels: before C, the ldc padding of every row, the row after.
  int64_t clobbered = 0;
  for (int s = 0; s < shift; ++s)
    clobbered += cbuf[s] != sentinel;
  for (int64_t i = 0; i <= M; ++i)
    for (int64_t j = i < M ? N : 0; j < ldc; ++j)
      clobbered += C[i * ldc + j] != sentinel;
  INFO("M " << M << " N " << N << " K " << K << " ta " << ta << " tb " << tb << " alpha " << alpha
            << " beta " << beta << " shift " << shift << ": " << first);
  CHECK(bad == 0);
  CHECK(clobbered == 0);
}

std::vector<kn::GemmKernel> own_kernels() { return kn::supported_own_gemm_kernels(); }

} // namespace

TEST_CASE("sgemm: every own kernel against a double reference, odd shapes and layouts",
          "[core][sgemm]") {
  // Around the register blocks (4/6/8 rows, 16/48 columns), 1-wide edges,
  // and K across the 256-deep cache block.
  const std::vector<Case> cases = {{1, 1, 1},     {1, 17, 3},     {5, 1, 9},    {7, 13, 5},
                                   {8, 48, 1},    {9, 49, 2},     {6, 16, 31},  {13, 47, 64},
                                   {16, 95, 257}, {33, 100, 300}, {3, 200, 513}};
  for (kn::GemmKernel k : own_kernels())
    for (const Case &c : cases)
      for (int t = 0; t < 4; ++t)
        check_case(c, t & 1, t & 2, 1.f, 0.f, (int)(c.M + t) % 3,
                   [&](auto... args) { kn::sgemm_serial(k, args...); });
}

TEST_CASE("sgemm: alpha and beta, including beta == 0 over NaN", "[core][sgemm]") {
  for (kn::GemmKernel k : own_kernels())
    for (auto [alpha, beta] : {std::pair{1.f, 1.f}, {0.5f, -2.f}, {-3.f, 0.f}, {0.f, 0.25f}})
      for (int t = 0; t < 4; ++t)
        check_case({19, 53, 270}, t & 1, t & 2, alpha, beta, 1,
                   [&](auto... args) { kn::sgemm_serial(k, args...); });
}

TEST_CASE("sgemm: across the M (240) and N (3072) cache blocks", "[core][sgemm]") {
  for (kn::GemmKernel k : own_kernels()) {
    check_case({250, 61, 40}, false, false, 1.f, 0.f, 2,
               [&](auto... args) { kn::sgemm_serial(k, args...); });
    check_case({250, 61, 40}, true, true, 1.f, 1.f, 0,
               [&](auto... args) { kn::sgemm_serial(k, args...); });
    check_case({9, 3100, 20}, false, true, 2.f, 0.f, 1,
               [&](auto... args) { kn::sgemm_serial(k, args...); });
  }
}

TEST_CASE("sgemm: NT products with a long K (the dot kernel's path), edges of its 4 x 4 blocks",
          "[core][sgemm]") {
  // A weight gradient dW = dY X^T over many pixels: K >= 512 with op(B) = B^T.
  // Dot kernel: the first five (N ragged, M N <= kDotMaxMN); packed: N a
  // multiple of 16 (64 x 48, 64 x 128) and M N past kDotMaxMN (65 x 127).
  for (kn::GemmKernel k : own_kernels())
    for (Case c : {Case{64, 27, 1024}, Case{5, 7, 600}, Case{1, 1, 512}, Case{9, 13, 777},
                   Case{40, 50, 700}, Case{64, 48, 600}, Case{64, 128, 513}, Case{65, 127, 520}})
      for (auto [alpha, beta] : {std::pair{1.f, 0.f}, {-0.5f, 2.f}})
        check_case(c, false, true, alpha, beta, (int)(c.M % 3),
                   [&](auto... args) { kn::sgemm_serial(k, args...); });
}

TEST_CASE("sgemm: K == 0 scales C by beta, empty M or N touch nothing", "[core][sgemm]") {
  for (kn::GemmKernel k : own_kernels()) {
    std::vector<float> c = {1, 2, 3, 4};
    kn::sgemm_serial(k, false, false, 2, 2, 0, 1.f, nullptr, 1, nullptr, 2, 0.5f, c.data(), 2);
    CHECK(c == std::vector<float>{0.5f, 1, 1.5f, 2});
    kn::sgemm_serial(k, false, false, 2, 2, 0, 1.f, nullptr, 1, nullptr, 2, 0.f, c.data(), 2);
    CHECK(c == std::vector<float>{0, 0, 0, 0});
    c = {7};
    kn::sgemm_serial(k, false, false, 0, 3, 4, 1.f, nullptr, 4, nullptr, 3, 0.f, c.data(), 3);
    kn::sgemm_serial(k, false, false, 3, 0, 4, 1.f, nullptr, 4, nullptr, 0, 0.f, c.data(), 1);
    CHECK(c == std::vector<float>{7});
  }
}

TEST_CASE("sgemm: the threaded dispatcher, each kernel, 2 threads == 1 bitwise",
          "[core][sgemm][threads]") {
  const kn::GemmKernel saved = kn::gemm_kernel();
  const int saved_threads = pg::get_num_threads();
  std::vector<kn::GemmKernel> ks = own_kernels();
  ks.push_back(kn::GemmKernel::OpenBLAS);
  for (kn::GemmKernel k : ks) {
    kn::set_gemm_kernel(k);
    CHECK(kn::gemm_kernel() == k);
    // Row split (M >= 32) and column split (M < 32), both above kGemmSplitFlops.
    for (Case c : {Case{96, 130, 200}, Case{20, 900, 150}}) {
      const std::vector<float> a = random_vec(size_t(c.M * c.K), 1),
                               b = random_vec(size_t(c.K * c.N), 2);
      std::vector<float> c1(size_t(c.M * c.N)), c2(c1.size());
      pg::set_num_threads(1);
      kn::sgemm(false, false, c.M, c.N, c.K, 1.f, a.data(), c.K, b.data(), c.N, 0.f, c1.data(),
                c.N);
      pg::set_num_threads(2);
      const uint64_t forks = pg::parallel_regions();
      kn::sgemm(false, false, c.M, c.N, c.K, 1.f, a.data(), c.K, b.data(), c.N, 0.f, c2.data(),
                c.N);
      CHECK(pg::parallel_regions() > forks);
      INFO(kn::gemm_kernel_name(k) << " M " << c.M << " N " << c.N);
      CHECK(c1 == c2);
      check_case(c, false, false, 1.f, 0.f, 0, [](auto... args) { kn::sgemm(args...); });
    }
  }
  pg::set_num_threads(saved_threads);
  kn::set_gemm_kernel(saved);
}

TEST_CASE("sgemm: NT products, B packed once for both threads or the dot kernel, 2 threads == 1",
          "[core][sgemm][threads]") {
  // x W^T (Linear's forward): above 65,536 floats of B the threads share one
  // packed B (sgemm_shared_b). Both K blocks (K > 256), a ragged last panel
  // (N = 300 = 6 x 48 + 12), rows split unevenly (M = 70), and beta != 0.
  // 60 x 130 x 600 is the dot kernel's (ragged N, M N <= kDotMaxMN), and
  // 80 x 110 x 520 (B under the shared size) the packed path's (M N past
  // it) at every thread count: the choice is made on the whole product, not
  // on a thread's rows (it once flipped with the slab, and the rounding too).
  const kn::GemmKernel saved = kn::gemm_kernel();
  const int saved_threads = pg::get_num_threads();
  for (kn::GemmKernel k : own_kernels()) {
    kn::set_gemm_kernel(k);
    for (Case c : {Case{70, 300, 300}, Case{128, 512, 784}, Case{60, 130, 600}, Case{80, 110, 520}})
      for (auto [alpha, beta] : {std::pair{1.f, 0.f}, {0.5f, 1.f}}) {
        INFO(kn::gemm_kernel_name(k)
             << " M " << c.M << " N " << c.N << " K " << c.K << " beta " << beta);
        const std::vector<float> a = random_vec(size_t(c.M * c.K), 3),
                                 b = random_vec(size_t(c.N * c.K), 4),
                                 c0 = random_vec(size_t(c.M * c.N), 5);
        std::vector<float> c1 = c0, c2 = c0;
        pg::set_num_threads(1);
        kn::sgemm(false, true, c.M, c.N, c.K, alpha, a.data(), c.K, b.data(), c.K, beta, c1.data(),
                  c.N);
        pg::set_num_threads(2);
        const uint64_t forks = pg::parallel_regions();
        kn::sgemm(false, true, c.M, c.N, c.K, alpha, a.data(), c.K, b.data(), c.K, beta, c2.data(),
                  c.N);
        CHECK(pg::parallel_regions() > forks);
        CHECK(c1 == c2);
        check_case(c, false, true, alpha, beta, 1, [](auto... args) { kn::sgemm(args...); });
      }
  }
  pg::set_num_threads(saved_threads);
  kn::set_gemm_kernel(saved);
}

TEST_CASE("sgemm: NT products computed transposed (C^T = B A^T), 1 and 2 threads == the "
          "usual path bitwise",
          "[core][sgemm][threads]") {
  // beta == 0, N >= 2M, K >= 2M, N K >= 65,536 floats: x W^T with far more
  // weights than inputs (Linear's forward in M1) goes through
  // sgemm_transposed. Its result must be the usual path's bit for bit
  // (sgemm_serial never takes it): M1's two hidden layers, an odd M (a
  // partial 8-row panel of A^T), N ragged against the 48 / 16 column chunks
  // of the write-back and the 16-row thread slabs, K across the 256 block;
  // and 1 x 40000 x 2, too thin an A for the path (the usual one runs).
  const kn::GemmKernel saved = kn::gemm_kernel();
  const int saved_threads = pg::get_num_threads();
  for (kn::GemmKernel k : own_kernels()) {
    kn::set_gemm_kernel(k);
    for (Case c : {Case{128, 512, 784}, Case{128, 512, 512}, Case{37, 403, 261}, Case{20, 700, 100},
                   Case{16, 5000, 40}, Case{1, 40000, 2}})
      for (float alpha : {1.f, -0.5f}) {
        INFO(kn::gemm_kernel_name(k)
             << " M " << c.M << " N " << c.N << " K " << c.K << " alpha " << alpha);
        const std::vector<float> a = random_vec(size_t(c.M * c.K), 6),
                                 b = random_vec(size_t(c.N * c.K), 7);
        std::vector<float> usual(size_t(c.M * c.N));
        kn::sgemm_serial(k, false, true, c.M, c.N, c.K, alpha, a.data(), c.K, b.data(), c.K, 0.f,
                         usual.data(), c.N);
        for (int threads : {1, 2}) {
          pg::set_num_threads(threads);
          std::vector<float> got(usual.size(), std::numeric_limits<float>::quiet_NaN());
          kn::sgemm(false, true, c.M, c.N, c.K, alpha, a.data(), c.K, b.data(), c.K, 0.f,
                    got.data(), c.N);
          CHECK(got == usual);
        }
        check_case(c, false, true, alpha, 0.f, 2, [](auto... args) { kn::sgemm(args...); });
      }
  }
  pg::set_num_threads(saved_threads);
  kn::set_gemm_kernel(saved);
}

TEST_CASE("sgemm: the epilogue (bias per column, ReLU) on every path, == a pass after the GEMM",
          "[core][sgemm][threads]") {
  // act(alpha op(A) op(B) + beta C + bias[j]) must equal the product without
  // an epilogue followed by c = c + bias[j], then c <= 0 ? 0 : c, bit for bit
  // (NaN included: a NaN bias entry leaves NaN, the ReLU passes it): on the
  // transposed NT path (128 x 512 x 784), the shared-B path (beta != 0), the
  // dot kernel (60 x 130 x 600), the packed path with every transpose and
  // across the N cache block, small products on one thread, OpenBLAS (a pass
  // after it), and K == 0.
  const kn::GemmKernel saved = kn::gemm_kernel();
  const int saved_threads = pg::get_num_threads();
  std::vector<kn::GemmKernel> ks = own_kernels();
  ks.push_back(kn::GemmKernel::OpenBLAS);
  struct EpCase {
    Case c;
    bool ta, tb;
    float beta;
  };
  const std::vector<EpCase> cases = {
      {{128, 512, 784}, false, true, 0.f}, {{70, 300, 300}, false, true, 1.f},
      {{60, 130, 600}, false, true, 0.f},  {{96, 130, 200}, false, false, 0.f},
      {{45, 77, 300}, true, false, 0.5f},  {{33, 50, 40}, true, true, 0.f},
      {{5, 7, 3}, false, false, 0.f},      {{6, 9, 0}, false, true, 1.f},
      {{9, 3100, 20}, false, true, 0.f}}; // the last: past the 3072-column block
  for (kn::GemmKernel k : ks) {
    kn::set_gemm_kernel(k);
    for (const EpCase &e : cases)
      for (int threads : {1, 2})
        for (int act = 1; act < 4; ++act) {
          const Case &c = e.c;
          pg::set_num_threads(threads);
          INFO(kn::gemm_kernel_name(k)
               << " M " << c.M << " N " << c.N << " K " << c.K << " ta " << e.ta << " tb " << e.tb
               << " beta " << e.beta << " threads " << threads << " bias " << (act & 1) << " relu "
               << (act >> 1));
          const int64_t lda = e.ta ? c.M : c.K, ldb = e.tb ? c.K : c.N;
          const std::vector<float> a = random_vec(size_t(c.M * c.K), 8),
                                   b = random_vec(size_t(c.N * c.K), 9),
                                   c0 = random_vec(size_t(c.M * c.N), 10);
          std::vector<float> bias = random_vec(size_t(c.N), 11);
          bias[size_t(c.N / 2)] = std::numeric_limits<float>::quiet_NaN();
          const kn::SgemmEpilogue ep{act & 1 ? bias.data() : nullptr, (act & 2) != 0};
          std::vector<float> want = c0, got = c0;
          kn::sgemm(e.ta, e.tb, c.M, c.N, c.K, 0.75f, a.data(), std::max<int64_t>(lda, 1), b.data(),
                    std::max<int64_t>(ldb, 1), e.beta, want.data(), c.N);
          for (int64_t i = 0; i < c.M; ++i)
            for (int64_t j = 0; j < c.N; ++j) {
              float &v = want[size_t(i * c.N + j)];
              if (ep.bias)
                v = v + bias[size_t(j)];
              if (ep.relu)
                v = v <= 0.f ? 0.f : v;
            }
          kn::sgemm(e.ta, e.tb, c.M, c.N, c.K, 0.75f, a.data(), std::max<int64_t>(lda, 1), b.data(),
                    std::max<int64_t>(ldb, 1), e.beta, got.data(), c.N, ep);
          CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
          if (ep.bias) // the NaN column came through
            CHECK(std::isnan(got[size_t(c.N / 2)]));
        }
  }
  pg::set_num_threads(saved_threads);
  kn::set_gemm_kernel(saved);
}

TEST_CASE("sgemm: PackedA (the conv weights packed once), every kernel, 1 and 2 threads",
          "[core][sgemm][threads]") {
  const int saved_threads = pg::get_num_threads();
  std::vector<kn::GemmKernel> ks = own_kernels();
  ks.push_back(kn::GemmKernel::OpenBLAS);
  // Across the M (240) and K (256) cache blocks, an odd M (a partial last
  // panel), and a thin N; both layouts of A and of B.
  for (kn::GemmKernel k : ks)
    for (Case c : {Case{250, 70, 300}, Case{45, 33, 20}, Case{64, 20, 128}})
      for (int t = 0; t < 4; ++t) {
        const bool ta = t & 1, tb = t & 2;
        std::vector<float> one;
        for (int threads : {1, 2}) {
          pg::set_num_threads(threads);
          INFO(kn::gemm_kernel_name(k) << " threads " << threads);
          check_case(c, ta, tb, 0.5f, threads == 1 ? 0.f : 1.f, 1,
                     [&](bool ta_, bool tb_, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                         float *C, int64_t ldc) {
                       const kn::PackedA a(ta_, M, K, A, lda, k);
                       CHECK(a.rows() == M);
                       CHECK(a.cols() == K);
                       CHECK(a.kernel() == k);
                       kn::sgemm(a, tb_, N, alpha, B, ldb, beta, C, ldc);
                     });
        }
      }
  pg::set_num_threads(saved_threads);
  CHECK_THROWS_WITH(kn::PackedA(false, -1, 2, nullptr, 2), Contains("negative size"));
}

TEST_CASE("sgemm: kernel names, 'own', and errors that list the valid names", "[core][sgemm]") {
  for (kn::GemmKernel k : {kn::GemmKernel::OpenBLAS, kn::GemmKernel::Avx512, kn::GemmKernel::Avx2,
                           kn::GemmKernel::Reference})
    CHECK(kn::parse_gemm_kernel(kn::gemm_kernel_name(k)) == k);
  CHECK(kn::parse_gemm_kernel("own") == own_kernels().front());
  CHECK(own_kernels().back() == kn::GemmKernel::Reference);
  CHECK(kn::gemm_kernel_supported(kn::GemmKernel::Reference));
  CHECK_THROWS_WITH(kn::parse_gemm_kernel("mkl"),
                    Contains("'mkl'") && Contains("openblas, own, avx512, avx2, reference"));
  CHECK_THROWS_WITH(kn::sgemm_serial(kn::GemmKernel::OpenBLAS, false, false, 1, 1, 1, 1.f, nullptr,
                                     1, nullptr, 1, 0.f, nullptr, 1),
                    Contains("not an own kernel"));
}
