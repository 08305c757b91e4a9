// kernel::sgemm: the blocked driver around the micro-kernels (Goto / BLIS
// loop order), the run-time choice of kernel, and the POLYGRAD_GEMM switch
// (the math and the choices are in sgemm.h; the micro-kernels are in
// core/kernels/sgemm_*.cpp).
//
// Loops, outermost first:
//   jc over N in NC columns
//     pc over K in KC:   pack op(B)[pc.., jc..] into NR-wide panels (kc x NR each)
//       ic over M in MC: pack op(A)[ic.., pc..] into MR-high panels (kc x MR each)
//         jr over the B panels, ir over the A panels: one micro-kernel call
// The first K block writes C (beta as given: beta == 0 never reads C), the
// later ones add to it (beta = 1).
#include <polygrad/core/sgemm.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <omp.h>

#include <polygrad/core/elementwise.h>
#include <polygrad/core/error.h>
#include <polygrad/core/kernels.h>
#include <polygrad/core/kernels/gemm_split.h>
#include <polygrad/core/kernels/sgemm_ukernel.h>
#include <polygrad/core/parallel.h>

namespace polygrad::kernel {
namespace {

using detail::SgemmKernelInfo;

constexpr int64_t KC = 256, MC = 240, NC = 3072;
// op(B) of at least this many floats is packed once for all threads
// (sgemm_shared_b): below it, the barrier costs more than the pack.
constexpr int64_t kSharedBMinFloats = 65536;

// Thread-local packing buffers, grown on demand and kept: no lock and no
// allocation per call.
struct PackBuffer {
  struct Free {
    void operator()(float *p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data;
  size_t size = 0;
  float *get(size_t n) {
    if (n > size) {
      const size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
      float *p = static_cast<float *>(std::aligned_alloc(64, bytes));
      PG_CHECK(p, "sgemm: cannot allocate ", bytes, " bytes of packing buffer");
      data.reset(p);
      size = n;
    }
    return data.get();
  }
};
thread_local PackBuffer t_pack_a, t_pack_b;

// out[k width + r] = src[r ld + k] (r < rows, k < kc), 0 for rows <= r <
// width: with the kernel's SIMD version if it has one; else in blocks of 16
// k, so that the 16 rows being written stay in L1.
void transpose_pack(detail::SgemmTransposePack pack_t, const float *src, int64_t ld, int rows,
                    int64_t kc, int width, float *out) {
  if (pack_t) {
    pack_t(src, ld, rows, kc, width, out);
    return;
  }
  for (int64_t kb = 0; kb < kc; kb += 16) {
    const int64_t ke = std::min(kc, kb + 16);
    for (int r = 0; r < rows; ++r)
      for (int64_t k = kb; k < ke; ++k)
        out[k * width + r] = src[r * ld + k];
    for (int r = rows; r < width; ++r)
      for (int64_t k = kb; k < ke; ++k)
        out[k * width + r] = 0.f;
  }
}

// out[k width + j] = src[k ld + j] (j < n, k < kc), 0 for n <= j < width:
// the copying half of the packing.
void copy_pack(const float *src, int64_t ld, int n, int64_t kc, int width, float *out) {
  for (int64_t k = 0; k < kc; ++k) {
    std::copy_n(src + k * ld, n, out + k * width);
    std::fill(out + k * width + n, out + (k + 1) * width, 0.f);
  }
}

// out[p kc MR + k MR + i] = op(A)[i0 + p MR + i][k0 + k], 0 past row i0 + mc.
void pack_a(detail::SgemmTransposePack pack_t, bool ta, const float *A, int64_t lda, int64_t i0,
            int64_t mc, int64_t k0, int64_t kc, int MR, float *out) {
  for (int64_t p0 = 0; p0 < mc; p0 += MR, out += kc * MR) {
    const int mp = (int)std::min<int64_t>(MR, mc - p0);
    if (ta) // op(A)[i][k] = A[k lda + i]: MR contiguous floats per k
      copy_pack(A + k0 * lda + i0 + p0, lda, mp, kc, MR, out);
    else // op(A)[i][k] = A[i lda + k]: a transpose
      transpose_pack(pack_t, A + (i0 + p0) * lda + k0, lda, mp, kc, MR, out);
  }
}

// out[q kc NR + k w + j] = op(B)[k0 + k][j0 + q NR + j] for j < w, the
// panel's width (u.width_for: NR, or narrower for the last panel), 0 past
// column j0 + nc.
void pack_b(const SgemmKernelInfo &u, bool tb, const float *B, int64_t ldb, int64_t k0, int64_t kc,
            int64_t j0, int64_t nc, float *out) {
  const int NR = u.nr;
  for (int64_t q0 = 0; q0 < nc; q0 += NR, out += kc * NR) {
    const int nq = (int)std::min<int64_t>(NR, nc - q0), w = u.width_for(nq);
    if (!tb) // op(B)[k][j] = B[k ldb + j]: a row piece per k
      copy_pack(B + k0 * ldb + j0 + q0, ldb, nq, kc, w, out);
    else // op(B)[k][j] = B[j ldb + k]: a transpose
      transpose_pack(u.pack_t, B + (j0 + q0) * ldb + k0, ldb, nq, kc, w, out);
  }
}

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Where the micro-kernels read op(A) from: packed on the fly (A, lda, ta),
// or a PackedA's panels, whose K block pc starts at packed + pc Mr (Mr: M
// rounded up to MR) and holds the rows in MR panels of kc floats each, so
// row r (a multiple of MR) of block pc starts at packed + pc Mr + r kc;
// row0 is the first row of this product within the PackedA (a thread's slab).
struct ASource {
  bool ta = false;
  const float *A = nullptr;
  int64_t lda = 0;
  const float *packed = nullptr;
  int64_t Mr = 0, row0 = 0;
};

// The epilogue (sgemm.h) on an m x n block of C whose columns start at
// bias[0]: c = act(c + bias[j]).
void apply_epilogue(const SgemmEpilogue &ep, int64_t m, int64_t n, float *c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    float *row = c + i * ldc;
    if (ep.bias)
      for (int64_t j = 0; j < n; ++j)
        row[j] += ep.bias[j];
    if (ep.relu)
      for (int64_t j = 0; j < n; ++j)
        row[j] = row[j] <= 0.f ? 0.f : row[j];
  }
}
bool has_epilogue(const SgemmEpilogue &ep) { return ep.bias || ep.relu; }
// ep with its bias moved to column c0
SgemmEpilogue shifted(const SgemmEpilogue &ep, int64_t c0) {
  return SgemmEpilogue{ep.bias ? ep.bias + c0 : nullptr, ep.relu};
}

// The blocked product on the calling thread (M, N, K >= 1).
// With shared_b, op(B) comes already packed for the whole product (by
// pack_b_share; every K block of every NC block, at shared_b + jc K +
// pc round_up(nc, NR)) instead of being packed here.
void blocked_packed(const SgemmKernelInfo &u, const ASource &a, bool tb, int64_t M, int64_t N,
                    int64_t K, float alpha, const float *B, int64_t ldb, float beta, float *C,
                    int64_t ldc, const float *shared_b = nullptr, const SgemmEpilogue &ep = {}) {
  const int MR = u.mr, NR = u.nr;
  // A row-major op(A) is read in place, full MR-row panels at a time, where
  // the kernel can (no transposing pack; a ragged last panel is packed).
  const bool direct_a = !a.packed && !a.ta && u.run_direct_a[0];
  float *pa =
      a.packed ? nullptr : t_pack_a.get(size_t(round_up(std::min(M, MC), MR) * std::min(K, KC)));
  float *pb = (u.direct_b && !tb) || shared_b
                  ? nullptr
                  : t_pack_b.get(size_t(round_up(std::min(N, NC), NR) * std::min(K, KC)));
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const float bk = pc == 0 ? beta : 1.f;
      // the last K block applies the epilogue to each tile it completes
      const bool finish = pc + kc == K && has_epilogue(ep);
      // op(B) = B is read in place where the kernel can (no copy: a
      // Winograd chunk's U as the transform wrote it); else packed.
      const bool direct = u.direct_b && !tb;
      if (!direct && !shared_b)
        pack_b(u, tb, B, ldb, pc, kc, jc, nc, pb);
      // this (jc, pc) block's packed panels
      const float *bpack = shared_b ? shared_b + jc * K + pc * round_up(nc, NR) : pb;
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min(MC, M - ic);
        const float *ap = pa;
        // rows [ic, ic + full) in place (direct_a), the rest from ap
        const int64_t full = direct_a ? mc / MR * MR : 0;
        if (a.packed)
          ap = a.packed + pc * a.Mr + (a.row0 + ic) * kc;
        else if (full < mc)
          pack_a(u.pack_t, a.ta, a.A, a.lda, ic + full, mc - full, pc, kc, MR, pa + full * kc);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int n = (int)std::min<int64_t>(NR, nc - jr), w = u.width_for(n);
          const float *bp = direct ? B + pc * ldb + jc + jr : bpack + jr * kc;
          const int64_t bs = direct ? ldb : w;
          float *cp = C + ic * ldc + jc + jr;
          if (full) {
            const detail::SgemmMicroKernelDirectA run = u.run_direct_a[w / u.unit - 1];
            for (int64_t ir = 0; ir < full; ir += MR) {
              run(kc, a.A + (ic + ir) * a.lda + pc, a.lda, bp, bs, cp + ir * ldc, ldc, n, alpha,
                  bk);
              if (finish)
                apply_epilogue(shifted(ep, jc + jr), MR, n, cp + ir * ldc, ldc);
            }
          }
          const detail::SgemmMicroKernel run = u.for_width(w);
          for (int64_t ir = full; ir < mc; ir += MR) {
            const int m = (int)std::min<int64_t>(MR, mc - ir);
            run(kc, ap + ir * kc, bp, bs, cp + ir * ldc, ldc, m, n, alpha, bk);
            if (finish)
              apply_epilogue(shifted(ep, jc + jr), m, n, cp + ir * ldc, ldc);
          }
        }
      }
    }
  }
}

// Whether an M x N x K product (the whole of it, not a thread's slab: the
// choice, and so the rounding, must not depend on the thread count) goes to
// the kernel's dot kernel: NT with a long K and a small, ragged C
// (sgemm_ukernel.h); the rest goes through the packing.
bool use_dot(const SgemmKernelInfo &u, bool ta, bool tb, int64_t M, int64_t N, int64_t K) {
  return u.nt_dot && !ta && tb && K >= detail::kDotMinK && M * N <= detail::kDotMaxMN &&
         N % u.unit != 0;
}

// One slab on the calling thread, on the dot kernel or the packed path.
void blocked(const SgemmKernelInfo &u, bool dot, const ASource &a, bool tb, int64_t M, int64_t N,
             int64_t K, float alpha, const float *B, int64_t ldb, float beta, float *C, int64_t ldc,
             const SgemmEpilogue &ep = {}) {
  if (dot) {
    u.nt_dot(M, N, K, alpha, a.A, a.lda, B, ldb, beta, C, ldc);
    if (has_epilogue(ep)) // C is at most kDotMaxMN floats: still in L1
      apply_epilogue(ep, M, N, C, ldc);
  } else {
    blocked_packed(u, a, tb, M, N, K, alpha, B, ldb, beta, C, ldc, nullptr, ep);
  }
}

// Part `part` of `parts` of packing op(B) (K x N) whole, for blocked_packed's
// shared_b: the NR-wide panels of every (NC, KC) block, dealt out in order.
void pack_b_share(const SgemmKernelInfo &u, bool tb, const float *B, int64_t ldb, int64_t N,
                  int64_t K, float *out, int part, int parts) {
  const int NR = u.nr;
  int64_t index = 0; // the panel's number over the whole product
  const int64_t total = ((K + KC - 1) / KC) * ((N + NR - 1) / NR);
  const int64_t first = total * part / parts, last = total * (part + 1) / parts;
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      float *block = out + jc * K + pc * round_up(nc, NR);
      for (int64_t q0 = 0; q0 < nc; q0 += NR, ++index)
        if (index >= first && index < last)
          pack_b(u, tb, B, ldb, pc, kc, jc + q0, std::min<int64_t>(NR, nc - q0), block + q0 * kc);
    }
  }
}
thread_local PackBuffer t_pack_shared, t_scratch;

// An NT product split by rows whose op(B) is large (Linear's forward,
// x W^T): both threads' slabs would transpose-pack all of B; instead the
// threads pack half of it each into one shared buffer, meet at a barrier,
// and run their rows on it. Returns false where that does not apply (the
// caller then splits as usual); the result is bitwise the usual one (the
// same packed values, the same kernel calls).
bool sgemm_shared_b(const SgemmKernelInfo &u, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                    float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                    float beta, float *C, int64_t ldc, const SgemmEpilogue &ep) {
  const int nt = get_num_threads();
  if (!tb || ta || nt <= 1 || omp_in_parallel() || M < 2 * kSlabAlign || N <= 0 || K <= 0 ||
      N * K < kSharedBMinFloats || 2.0 * M * N * K < kGemmSplitFlops)
    return false;
  if (use_dot(u, ta, tb, M, N, K))
    return false;
  const int64_t blocks = (M + kSlabAlign - 1) / kSlabAlign;
  const int parts = (int)std::min<int64_t>(nt, blocks);
  float *shared = t_pack_shared.get(size_t(K * (N + u.nr)));
  polygrad::detail::count_parallel_region();
#pragma omp parallel num_threads(parts)
  {
    const int t = omp_get_thread_num(), n = omp_get_num_threads();
    pack_b_share(u, tb, B, ldb, N, K, shared, t, n);
#pragma omp barrier
    const int64_t d0 = std::min(M, blocks * t / n * kSlabAlign);
    const int64_t d1 = std::min(M, blocks * (t + 1) / n * kSlabAlign);
    if (d1 > d0)
      blocked_packed(u, ASource{false, A + d0 * lda, lda}, true, d1 - d0, N, K, alpha, B, ldb, beta,
                     C + d0 * ldc, ldc, shared, ep);
  }
  return true;
}

// An NT product whose op(B) is much larger than op(A) (Linear's forward,
// x W^T with far more weights than inputs) computed transposed:
//   C^T (N x M) = B A^T
// B's rows are read in place by the direct-A micro-kernels (no pack at all),
// and only A is transpose-packed, into panels shared by the threads (each
// packs part, then a barrier); each thread computes its rows of C^T (C's
// columns) into a thread-local scratch and writes them back transposed, 48
// columns at a time through L1, applying the epilogue on the way. Moves
// M K + M N floats through a transpose instead of N K: for M1's hidden layers
// (128 x 512 x 784 and x 512) 2.4x and 2x fewer, and B's pack was the one
// pass over the weights the forward made besides the GEMM itself.
// Only with beta == 0, where the result is bitwise the usual path's: each
// C^T element is the same K-ordered FMA chain (a b = b a), the first K block
// written, the later ones added. Returns false where it does not apply.
constexpr int64_t kTransposedMaxC = 1 << 20; // C floats: the scratch
bool sgemm_transposed(const SgemmKernelInfo &u, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                      float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                      float beta, float *C, int64_t ldc, const SgemmEpilogue &ep) {
  // Worth it where the transposes shrink (N >= 2M: B is twice A; K >= 2M:
  // A's pack plus the write-back of C stay below B's pack) and B is big
  // enough for its pack to matter. M >= 16: A's packed panels (M rounded up
  // to NR = 48 columns, all of K) stay within 3x A's size, where a thin A
  // (1 x K) would take 48x.
  if (ta || !tb || beta != 0.f || !u.run_direct_a[0] || M < kSlabAlign || N < 2 * M || K < 2 * M ||
      N * K < kSharedBMinFloats || M * N > kTransposedMaxC || use_dot(u, ta, tb, M, N, K))
    return false;
  const int NR = u.nr;
  // op(B') = A^T, packed as blocked_packed's shared_b (pack_b_share's layout)
  float *shared = t_pack_shared.get(size_t(K * (M + NR)));
  const int64_t blocks = (N + kSlabAlign - 1) / kSlabAlign;
  auto part = [&](int t, int n, bool barrier) {
    pack_b_share(u, true, A, lda, M, K, shared, t, n);
    if (barrier) {
#pragma omp barrier
    }
    // rows [d0, d1) of C^T: columns [d0, d1) of C
    const int64_t d0 = std::min(N, blocks * t / n * kSlabAlign);
    const int64_t d1 = std::min(N, blocks * (t + 1) / n * kSlabAlign);
    if (d1 <= d0)
      return;
    float *scratch = t_scratch.get(size_t((d1 - d0) * M));
    blocked_packed(u, ASource{false, B + d0 * ldb, ldb}, true, d1 - d0, M, K, alpha, A, lda, 0.f,
                   scratch, M, shared);
    // C[i][d0 + j] = act(scratch[j M + i] + bias[d0 + j]), NR columns at a
    // time: transposed into an L1 tile (M x w), then copied row by row.
    float *tile = t_pack_a.get(size_t(M * NR));
    for (int64_t j0 = d0; j0 < d1; j0 += NR) {
      const int nj = (int)std::min<int64_t>(NR, d1 - j0);
      transpose_pack(u.pack_t, scratch + (j0 - d0) * M, M, nj, M, nj, tile);
      for (int64_t i = 0; i < M; ++i)
        std::copy_n(tile + i * nj, nj, C + i * ldc + j0);
      if (has_epilogue(ep))
        apply_epilogue(shifted(ep, j0), M, nj, C + j0, ldc);
    }
  };
  const int nt = get_num_threads();
  const int parts = (int)std::min<int64_t>(nt, blocks);
  if (parts <= 1 || omp_in_parallel() || 2.0 * M * N * K < kGemmSplitFlops) {
    part(0, 1, false);
    return true;
  }
  polygrad::detail::count_parallel_region();
#pragma omp parallel num_threads(parts)
  part(omp_get_thread_num(), omp_get_num_threads(), true);
  return true;
}

const SgemmKernelInfo *kernel_info(GemmKernel k) {
  switch (k) {
  case GemmKernel::Avx512:
    return detail::sgemm_avx512_kernel();
  case GemmKernel::Avx2:
    return detail::sgemm_avx2_kernel();
  case GemmKernel::Reference:
    return detail::sgemm_reference_kernel();
  case GemmKernel::OpenBLAS:
    break;
  }
  return nullptr;
}

constexpr const char *kValidNames = "openblas, own, avx512, avx2, reference";

// -1: not read yet; else the GemmKernel.
std::atomic<int> g_kernel{-1};

} // namespace

const char *gemm_kernel_name(GemmKernel k) {
  switch (k) {
  case GemmKernel::OpenBLAS:
    return "openblas";
  case GemmKernel::Avx512:
    return "avx512";
  case GemmKernel::Avx2:
    return "avx2";
  case GemmKernel::Reference:
    return "reference";
  }
  return "?";
}

bool gemm_kernel_supported(GemmKernel k) {
  switch (k) {
  case GemmKernel::OpenBLAS:
  case GemmKernel::Reference:
    return true;
  case GemmKernel::Avx512:
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    // libgcc's / compiler-rt's check includes the OS's XSAVE state (XCR0).
    return kernel_info(k) && __builtin_cpu_supports("avx512f");
#else
    return false;
#endif
  case GemmKernel::Avx2:
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    return kernel_info(k) && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
  }
  return false;
}

std::vector<GemmKernel> supported_own_gemm_kernels() {
  std::vector<GemmKernel> out;
  for (GemmKernel k : {GemmKernel::Avx512, GemmKernel::Avx2, GemmKernel::Reference})
    if (gemm_kernel_supported(k))
      out.push_back(k);
  return out;
}

GemmKernel parse_gemm_kernel(const std::string &name) {
  if (name == "own")
    return supported_own_gemm_kernels().front();
  for (GemmKernel k :
       {GemmKernel::OpenBLAS, GemmKernel::Avx512, GemmKernel::Avx2, GemmKernel::Reference})
    if (name == gemm_kernel_name(k))
      return k;
  throw Error(polygrad::detail::cat("unknown GEMM kernel '", name, "'; valid: ", kValidNames));
}

GemmKernel gemm_kernel() {
  int k = g_kernel.load(std::memory_order_relaxed);
  if (k < 0) {
    const char *env = std::getenv("POLYGRAD_GEMM");
    GemmKernel chosen = supported_own_gemm_kernels().front();
    if (env && *env) {
      try {
        chosen = parse_gemm_kernel(env);
      } catch (const Error &e) {
        throw Error(polygrad::detail::cat("POLYGRAD_GEMM: ", e.what()));
      }
      PG_CHECK(gemm_kernel_supported(chosen), "POLYGRAD_GEMM=", env,
               ": this CPU does not support that kernel");
    }
    k = (int)chosen;
    int expected = -1; // a set_gemm_kernel() meanwhile wins
    if (!g_kernel.compare_exchange_strong(expected, k))
      k = expected;
  }
  return (GemmKernel)k;
}

void set_gemm_kernel(GemmKernel k) {
  PG_CHECK(gemm_kernel_supported(k), "set_gemm_kernel: this CPU does not support the ",
           gemm_kernel_name(k), " kernel");
  g_kernel.store((int)k);
}

void sgemm_serial(GemmKernel k, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                  int64_t ldc) {
  PG_CHECK(k != GemmKernel::OpenBLAS && gemm_kernel_supported(k),
           "sgemm_serial: not an own kernel this CPU runs: ", gemm_kernel_name(k));
  if (M <= 0 || N <= 0)
    return;
  if (K <= 0) {
    detail::scale_c(M, N, beta, C, ldc);
    return;
  }
  const SgemmKernelInfo &u = *kernel_info(k);
  blocked(u, use_dot(u, ta, tb, M, N, K), ASource{ta, A, lda}, tb, M, N, K, alpha, B, ldb, beta, C,
          ldc);
}

void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
           int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, SgemmEpilogue{});
}

void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
           int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc,
           const SgemmEpilogue &ep) {
  if (M <= 0 || N <= 0)
    return;
  const GemmKernel k = gemm_kernel();
  if (k == GemmKernel::OpenBLAS || K <= 0) {
    // OpenBLAS has no epilogue: one pass over C after it, split like the
    // element-wise ops (as is the K == 0 case, C = beta C).
    gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (has_epilogue(ep))
      parallel_range(M, M * N, [&](int64_t r0, int64_t r1) {
        apply_epilogue(ep, r1 - r0, N, C + r0 * ldc, ldc);
      });
    return;
  }
  const SgemmKernelInfo &u = *kernel_info(k);
  if (sgemm_transposed(u, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ep) ||
      sgemm_shared_b(u, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ep))
    return;
  const bool dot = use_dot(u, ta, tb, M, N, K);
  detail::split_slabs(M, N, K, kSlabAlign, [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    // rows r0..r1 of op(A) and C, columns c0..c1 of op(B), C and the bias
    blocked(u, dot, ASource{ta, ta ? A + r0 : A + r0 * lda, lda}, tb, r1 - r0, c1 - c0, K, alpha,
            tb ? B + c0 * ldb : B + c0, ldb, beta, C + r0 * ldc + c0, ldc, shifted(ep, c0));
  });
}

int64_t sgemm_computed_cols(int64_t N) {
  const GemmKernel k = gemm_kernel();
  if (k == GemmKernel::OpenBLAS || N <= 0)
    return std::max<int64_t>(N, 0);
  const SgemmKernelInfo &u = *kernel_info(k);
  const int64_t full = N / u.nr, rest = N % u.nr;
  return full * u.nr + (rest ? u.width_for((int)rest) : 0);
}

PackedA::PackedA(bool ta, int64_t M, int64_t K, const float *A, int64_t lda)
    : PackedA(ta, M, K, A, lda, gemm_kernel()) {}

PackedA::PackedA(bool ta, int64_t M, int64_t K, const float *A, int64_t lda, GemmKernel k)
    : kernel_(k), trans_(ta), M_(M), K_(K), lda_(lda), a_(A) {
  PG_CHECK(M >= 0 && K >= 0, "PackedA: negative size ", M, " x ", K);
  PG_CHECK(gemm_kernel_supported(k), "PackedA: this CPU does not support the ", gemm_kernel_name(k),
           " kernel");
  if (k == GemmKernel::OpenBLAS || M == 0 || K == 0)
    return;
  // Every K block holds all rows (Mr of them, M rounded up to MR), each MC
  // block of rows packed as blocked() would pack it.
  const SgemmKernelInfo &u = *kernel_info(k);
  const int64_t Mr = round_up(M, u.mr);
  const size_t bytes = size_t((Mr * K * int64_t(sizeof(float)) + 63) / 64 * 64);
  float *p = static_cast<float *>(std::aligned_alloc(64, bytes));
  PG_CHECK(p, "PackedA: cannot allocate ", bytes, " bytes");
  data_.reset(p, [](float *q) { std::free(q); });
  for (int64_t pc = 0; pc < K; pc += KC) {
    const int64_t kc = std::min(KC, K - pc);
    for (int64_t ic = 0; ic < M; ic += MC)
      pack_a(u.pack_t, ta, A, lda, ic, std::min(MC, M - ic), pc, kc, u.mr, p + pc * Mr + ic * kc);
  }
}

void sgemm(const PackedA &a, bool tb, int64_t N, float alpha, const float *B, int64_t ldb,
           float beta, float *C, int64_t ldc) {
  const int64_t M = a.M_, K = a.K_;
  if (a.kernel_ == GemmKernel::OpenBLAS || M == 0 || N == 0 || K == 0) {
    gemm(a.trans_, tb, M, N, K, alpha, a.a_, a.lda_, B, ldb, beta, C, ldc);
    return;
  }
  const SgemmKernelInfo &u = *kernel_info(a.kernel_);
  const int64_t Mr = round_up(M, u.mr);
  auto slab = [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    ASource src;
    src.packed = a.data_.get(), src.Mr = Mr, src.row0 = r0;
    blocked(u, false, src, tb, r1 - r0, c1 - c0, K, alpha, tb ? B + c0 * ldb : B + c0, ldb, beta,
            C + r0 * ldc + c0, ldc);
  };
  // Row slabs on MR-panel edges: a slab must start on a packed panel.
  detail::split_slabs(M, N, K, u.mr, slab);
}

} // namespace polygrad::kernel
