#!/usr/bin/env python3
"""Mutation check: does the test suite notice small, plausible bugs?

Each mutant is one exact text edit of one library source (file, original
text, replacement): a sign flip, an off-by-one, a dropped term, a wrong
denominator, a swapped index, a wrong thread partition, or a gradient off
by 1 %. For every mutant the script

  1. applies it; the original text must occur exactly once in the file, else
     the mutant is STALE (the code moved) and the script stops before
     touching anything, naming every stale mutant;
  2. rebuilds the library and the test binary (cmake --build --target
     polygrad_tests);
  3. runs the mutant's most relevant tests first (build/tests/polygrad_tests
     with a Catch2 test spec), then, only if those pass, the whole ctest
     suite with --stop-on-failure; both with timeouts (a hang counts as
     killed, and is marked so);
  4. restores the file from the bytes it saved before the edit (never with
     git checkout: the file may hold someone's uncommitted edits), checks
     the bytes and that `git diff` of the file is what it was before.

The outcome per mutant: killed (some test failed), survived, or
build-failed. A mutant marked `equivalent` changes no result (the argument
is in its `equivalent` text); it is expected to survive and is counted
apart. A backup of the file being mutated is kept in <build>/mutate-backup
while the mutant is in place, so a run killed with SIGKILL is repaired by
the next run (it restores the backup first and says so).

    /usr/bin/python3 tools/mutate.py                 # every mutant (10-15 min on 2 cores)
    /usr/bin/python3 tools/mutate.py --only NAME     # one (or a comma list), repeatable
    /usr/bin/python3 tools/mutate.py --list          # the mutants
    /usr/bin/python3 tools/mutate.py --check         # only check that no mutant is stale

The build directory must be configured already (README / scripts/build.sh,
e.g. cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release). Python 3.8+,
standard library only.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Optional

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


@dataclass
class Mutant:
    name: str
    file: str  # relative to the repository root
    orig: str  # exact text, must occur once
    repl: str
    kind: str  # sign | off-by-one | dropped-term | denominator | swapped-index | partition | 1%-backward | ...
    desc: str
    first: str  # Catch2 test spec run first (comma = or); the full ctest follows if it passes
    equivalent: Optional[str] = None  # why the mutant cannot change a result, if it cannot


LOSS_TESTS = "[losses]"
THREAD_LOSS_TESTS = "[losses],threads: every loss family*"
DENSE_TESTS = "[dense]"
CONV_TESTS = "nn golden*,nn conv2d*,threads: conv2d*,nn gradcheck: conv2d*"
POOL_TESTS = "nn golden*,nn max_pool2d*,nn relu_max_pool2d*,threads: pooling*,nn gradcheck: pooling"
OPTIM_TESTS = "[optim]"

MUTANTS = [
    # ---------------------------------------------------------------- losses
    Mutant("softmax_label_grad_sign", "losses/softmax_loss.cpp",
           "fy[r] = -f[r] * rest[r];",
           "fy[r] = f[r] * rest[r];",
           "sign", "hard-label softmax engine: the label's gradient entry p_y - 1 = -rest/s flips sign",
           LOSS_TESTS),
    Mutant("softmax_grad_1pct", "losses/softmax_loss.cpp",
           "g[r] = ok[r] ? g[r] * io.scale : 0.f;",
           "g[r] = ok[r] ? g[r] * io.scale * 1.01f : 0.f;",
           "1%-backward", "every hard-label softmax loss's gradient is 1 % too large (values unchanged)",
           LOSS_TESTS),
    Mutant("softmax_block_skip_partition", "losses/softmax_loss.cpp",
           "for (int64_t b = b0; b < b1; ++b) {\n      if (dense) {",
           "for (int64_t b = b0 + (b0 > 0); b < b1; ++b) {\n      if (dense) {",
           "partition", "softmax engine: every worker but the first skips its first block of rows",
           THREAD_LOSS_TESTS),
    Mutant("softmax_grad_denominator", "losses/softmax_loss.cpp",
           "io.scale = a.reduction == Reduction::Mean ? (float)(1.0 / mean_denominator) : 1.f;",
           "io.scale = a.reduction == Reduction::Mean ? (float)(1.0 / (double)N) : 1.f;",
           "denominator", "softmax engine: the mean's gradient divides by N, not by the weight sum "
           "(differs with class weights or ignored labels)",
           LOSS_TESTS),
    Mutant("softmax_rowloss_last_row", "losses/softmax_loss.cpp",
           "std::copy(loss, loss + nr, row_loss);",
           "std::copy(loss, loss + nr - 1, row_loss);",
           "off-by-one", "softmax engine, reduction none: the last row of each block is not written",
           LOSS_TESTS),
    # K-dimensional inputs (N, C, d1, ..., dk): the dense block and its neighbours
    Mutant("dense_class_stride", "losses/softmax_loss.cpp",
           "const float *zj = zb + j * S;\n    float *ej = E + j * es;",
           "const float *zj = zb + j * np;\n    float *ej = E + j * es;",
           "swapped-index", "dense block: the exp pass reads class j of the logits at stride np "
           "(the block's width) instead of S",
           DENSE_TESTS),
    Mutant("dense_drop_weight", "losses/softmax_loss.cpp",
           "const double acc = st.finish(io, phi, np, io.row_loss ? io.row_loss + n * S + s0 : nullptr);",
           "BlockIO uw = io;\n  uw.w = nullptr;\n  const double acc = st.finish(uw, phi, np, io.row_loss ? io.row_loss + n * S + s0 : nullptr);",
           "dropped-term", "dense block: the positions' class weights are dropped (the mean still "
           "divides by the weight sum)",
           DENSE_TESTS),
    Mutant("dense_label_entry_add", "losses/softmax_loss.cpp",
           "E[st.yy[k] * es + k] = st.fy[k];",
           "E[st.yy[k] * es + k] += st.fy[k];",
           "dropped-term", "dense block: the label's gradient entry adds -f rest to f e_y instead of "
           "replacing it",
           DENSE_TESTS),
    Mutant("dense_last_position", "losses/softmax_loss.cpp",
           "np = std::min(R, S - s0);",
           "np = std::min(R, S - s0 - 1);",
           "off-by-one", "dense engine: the last position of every sample is skipped",
           DENSE_TESTS),
    Mutant("dense_positions_backward", "losses/loss_node.cpp",
           "const float *gs = pg + (q / C) * S;",
           "const float *gs = pg + (q / C);",
           "swapped-index", "reduction none on a K-dimensional input: plane (n, c) is scaled by the "
           "upstream gradient at the wrong offset",
           DENSE_TESTS),
    Mutant("dense_nll_layout", "losses/nll.cpp",
           "-weight(yi) * x[(n * C + yi) * S + s];",
           "-weight(yi) * x[(n * S + s) * C + yi];",
           "swapped-index", "nll_loss on (N, C, d1, ..., dk) reads the input as if the classes were "
           "last",
           DENSE_TESTS),
    Mutant("dense_rows_no_permute", "losses/soft_targets.cpp",
           "return t.permute(perm).reshape({NS, C});",
           "return t.reshape({NS, C});",
           "swapped-index", "label smoothing / soft targets on K-dimensional inputs: rows taken "
           "without moving the classes last",
           DENSE_TESTS),
    Mutant("soft_ls_denominator", "losses/soft_targets.h",
           ": (j == y ? 1.f - ls : 0.f) + ls / C;",
           ": (j == y ? 1.f - ls : 0.f) + ls / (C - 1);",
           "denominator", "label smoothing with hard labels spreads ls over C - 1 classes, not C",
           LOSS_TESTS),
    Mutant("soft_target_grad_chain", "losses/soft_targets.h",
           "r.gt[j] = f.backward_target(k, r.l(j), r.w[j]) * dt * scale;",
           "r.gt[j] = f.backward_target(k, r.l(j), r.w[j]) * scale;",
           "dropped-term", "soft targets + label smoothing: dL/dtarget loses the chain factor 1 - ls",
           LOSS_TESTS),
    Mutant("soft_ignored_nan", "losses/soft_targets.h",
           "std::fill(gr, gr + C, 0.f / s);",
           "std::fill(gr, gr + C, 0.f);",
           "dropped-term", "soft-target engine, ignored row: the gradient is 0 even where the row's "
           "softmax is NaN (PyTorch gives NaN)",
           LOSS_TESTS),
    Mutant("soft_unnormalised_mass", "losses/poly1_cross_entropy.cpp",
           "const float one_minus_pt = q + (1.f - sumt), pt = 1.f - one_minus_pt;",
           "const float one_minus_pt = q, pt = 1.f - one_minus_pt;",
           "dropped-term", "soft-target Poly-1: 1 - Pt drops (1 - sum t), the mass of an unnormalised "
           "target row",
           LOSS_TESTS),
    Mutant("pointwise_block_tail", "losses/pointwise_loss.cpp",
           "i1 = std::min(n, i0 + B);",
           "i1 = std::min(n, i0 + B - 1);",
           "off-by-one", "element-wise losses: the last element of every 4096-block is skipped",
           LOSS_TESTS),
    Mutant("focal_poly_term_factor", "losses/focal_row.h",
           "return a * t.qg * (1.f - gamma * t.pt * t.r + eps * (gamma + 1.f) * t.pt);",
           "return a * t.qg * (1.f - gamma * t.pt * t.r + eps * gamma * t.pt);",
           "dropped-term", "Poly-1 focal backward: the eps term's factor (gamma + 1) becomes gamma",
           LOSS_TESTS),
    Mutant("focal_grad_1pct", "losses/focal_row.h",
           "return t.qg * (a * (1.f - gamma * t.pt * t.r) + eps * (gamma + 1.f) * t.pt);",
           "return 1.01f * t.qg * (a * (1.f - gamma * t.pt * t.r) + eps * (gamma + 1.f) * t.pt);",
           "1%-backward", "Poly-1 focal with alpha_on_poly = false: gradient 1 % too large",
           LOSS_TESTS),
    Mutant("poly1_grad_1pct", "losses/poly1_cross_entropy.cpp",
           "float backward(const PtTerms &t, float w) const { return w * (1.f + eps * t.pt); }",
           "float backward(const PtTerms &t, float w) const { return 1.01f * w * (1.f + eps * t.pt); }",
           "1%-backward", "Poly-1 CE (weighting both / unweighted): g = -dphi/dl 1 % too large",
           LOSS_TESTS),
    Mutant("poly1_rescaled_drop_b", "losses/poly1_cross_entropy.cpp",
           "return w + ek * b * t.pt;",
           "return w + ek * t.pt;",
           "dropped-term", "Poly-1 CE rescaled_pt: the eps term's gradient loses the factor w/mean(w)",
           LOSS_TESTS),
    Mutant("bce_pos_weight_grad", "losses/bce_elem.h",
           "float backward() const { return p * (pw * t + 1.f - t) - pw * t; }",
           "float backward() const { return p * (t + 1.f - t) - pw * t; }",
           "dropped-term", "BCE with logits: pos_weight dropped from the p term of the gradient",
           LOSS_TESTS),
    Mutant("bce_lognp_sign", "losses/bce_elem.h",
           "b.lognp = vm::minf(-x, 0.f) - l1p;",
           "b.lognp = vm::minf(x, 0.f) - l1p;",
           "sign", "BCE / sigmoid focal: log(1 - p) uses min(x, 0) instead of min(-x, 0)",
           LOSS_TESTS),
    Mutant("smooth_l1_kink", "losses/regression.cpp",
           "return d <= -beta ? -1.f : (d >= beta ? 1.f : d / beta);",
           "return d < -beta ? -1.f : (d >= beta ? 1.f : d / beta);",
           "off-by-one", "smooth L1 backward: at beta = 0, d = 0 gives +1 instead of PyTorch's -1 "
           "(for beta > 0, d = -beta gives d / beta = -1 exactly either way)",
           LOSS_TESTS),
    Mutant("l1_sign_at_zero", "losses/regression.cpp",
           "return d > 0.f ? 1.f : (d < 0.f ? -1.f : 0.f); } // sign(d)",
           "return d >= 0.f ? 1.f : (d < 0.f ? -1.f : 0.f); } // sign(d)",
           "off-by-one", "L1 backward: sign(0) = 1 instead of 0",
           LOSS_TESTS),
    Mutant("huber_boundary", "losses/regression.cpp",
           "return a <= delta ? 0.5f * d * d : delta * (a - 0.5f * delta);",
           "return a < delta ? 0.5f * d * d : delta * (a - 0.5f * delta);",
           "off-by-one", "Huber forward: |d| = delta takes the linear branch",
           LOSS_TESTS,
           equivalent="at |d| = delta both branches are 0.5 delta^2 bit for bit: 0.5f * d * d is "
           "an exact halving of fl(d * d) = fl(delta * delta), and delta * (a - 0.5f * delta) is "
           "delta * (0.5 delta) (a - 0.5 delta is exact) = an exact halving of fl(delta * delta); "
           "the gradient does not use L. No input can tell the two apart."),
    Mutant("kl_target_grad_drop", "losses/kl_div.cpp",
           "return t == 0.f ? NAN : g * (vm::vlog(t) + 1.f - x);",
           "return t == 0.f ? NAN : g * (vm::vlog(t) - x);",
           "dropped-term", "kl_div (probability targets): dL/dtarget loses the + 1",
           LOSS_TESTS),
    Mutant("kl_batchmean_denominator", "losses/kl_div.cpp",
           "o.reduction == Reduction::BatchMean ? (double)input.size(0) : (double)input.numel();",
           "o.reduction == Reduction::BatchMean ? (double)input.numel() : (double)input.numel();",
           "denominator", "kl_div batchmean divides by numel (mean) instead of the batch size",
           LOSS_TESTS),
    Mutant("gce_denominator", "losses/gce.cpp",
           "return run_softmax_loss(plan, plan.stats.weight_sum, rowwise(GceRow{o.q}));",
           "return run_softmax_loss(plan, (double)plan.stats.count, rowwise(GceRow{o.q}));",
           "denominator", "gce mean divides by the count of rows, not the weight sum (differs with "
           "class weights)",
           LOSS_TESTS),
    # ------------------------------------------------------- conv and pooling
    Mutant("conv_dw_reduce_last_worker", "nn/kernels/conv_gemm.cpp",
           "for (int t = 1; t < nw; ++t)\n        s += pp[t * wsize + i];",
           "for (int t = 1; t < nw - 1; ++t)\n        s += pp[t * wsize + i];",
           "partition", "im2col conv backward: the last worker's partial dW is left out of the sum",
           CONV_TESTS),
    Mutant("conv_dw_beta_worker", "nn/kernels/conv_gemm.cpp",
           "const float beta = (n == n0 && i0 == 0) ? 0.f : 1.f;",
           "const float beta = (n == 0 && i0 == 0) ? 0.f : 1.f;",
           "partition", "im2col conv backward: only worker 0 starts its partial dW from zero "
           "(the others accumulate onto uninitialised memory)",
           CONV_TESTS),
    Mutant("conv_fwd_partition", "nn/kernels/conv_gemm.cpp",
           "float *col = direct ? nullptr : colbuf.data<float>() + t * bufsize;\n"
           "    for (int64_t n = n0; n < n1; ++n) {",
           "float *col = direct ? nullptr : colbuf.data<float>() + t * bufsize;\n"
           "    for (int64_t n = n0; n < n1 - (t + 1 < nw); ++n) {",
           "partition", "im2col conv forward: every worker but the last stops one image short "
           "(the boundary image is never written)",
           CONV_TESTS),
    Mutant("conv_im2col_right_zero", "nn/kernels/im2col.cpp",
           "          for (int64_t j = hi; j < g.OW; ++j)\n            dst[j] = 0.f;\n        }",
           "          for (int64_t j = hi + 1; j < g.OW; ++j)\n            dst[j] = 0.f;\n        }",
           "off-by-one", "general im2col: the first right-padding column is not zeroed (stale data)",
           CONV_TESTS),
    Mutant("conv_col2im_overwrite", "nn/kernels/im2col.cpp",
           "xc[ih * g.W + off + j * g.sw] += src[j];",
           "xc[ih * g.W + off + j * g.sw] = src[j];",
           "dropped-term", "strided col2im: overlapping windows overwrite instead of summing into dx",
           CONV_TESTS),
    Mutant("conv_fused_relu_dropped", "nn/kernels/conv_pool.h",
           "max_pool_forward(pg, yn, y + n * per, idx ? idx + n * per : nullptr, true);",
           "max_pool_forward(pg, yn, y + n * per, idx ? idx + n * per : nullptr, false);",
           "dropped-term", "fused conv2d + relu + max-pool: the relu is dropped",
           CONV_TESTS + ",nn conv2d_relu_max_pool2d*"),
    Mutant("conv_dx_1pct", "nn/kernels/conv_gemm.cpp",
           "kernel::gemm(true, false, Kg, m, Og, 1.f, pw + grp * Og * Kg, Kg, gb0 + grp * Og * L, L,",
           "kernel::gemm(true, false, Kg, m, Og, 1.01f, pw + grp * Og * Kg, Kg, gb0 + grp * Og * L, L,",
           "1%-backward", "im2col conv backward: dx 1 % too large",
           CONV_TESTS),
    Mutant("wino_input_sign", "nn/kernels/winograd.cpp",
           "sr[3][l] = d1 - d3;",
           "sr[3][l] = d3 - d1;",
           "sign", "Winograd input transform B^T d: the last row flips sign",
           CONV_TESTS),
    Mutant("wino_dV_swap", "nn/kernels/winograd.cpp",
           "d[xi / 4][xi % 4] = dV[(xi * O + o) * C + c];",
           "d[xi % 4][xi / 4] = dV[(xi * O + o) * C + c];",
           "swapped-index", "Winograd weight-gradient adjoint reads dV transposed",
           CONV_TESTS),
    Mutant("wino_pad_swap", "nn/kernels/winograd.cpp",
           "const Plan pd = make_plan(g.N, g.O, g.OH(), g.OW(), g.C, 2 - g.ph, 2 - g.pw);",
           "const Plan pd = make_plan(g.N, g.O, g.OH(), g.OW(), g.C, 2 - g.pw, 2 - g.ph);",
           "swapped-index", "Winograd backward-data pass: the row and column paddings are swapped",
           CONV_TESTS),
    Mutant("wino_dV_reduce_last_worker", "nn/kernels/winograd.cpp",
           "for (int t = 1; t < nw; ++t) {\n    const float *q = dV + t * psize;",
           "for (int t = 1; t < nw - 1; ++t) {\n    const float *q = dV + t * psize;",
           "partition", "Winograd backward: the last worker's partial dV / db is left out",
           CONV_TESTS),
    Mutant("pool_avg_divisor", "nn/kernels/avg_pool.cpp",
           ": (h1 - h0) * (w1 - w0);",
           ": pool_size;",
           "denominator", "avg_pool2d with count_include_pad = false divides by the padded window",
           POOL_TESTS),
    Mutant("pool_avg_grad_1pct", "nn/kernels/avg_pool.cpp",
           "const float v = gp[o] / div;",
           "const float v = gp[o] * 1.01f / div;",
           "1%-backward", "avg_pool2d backward: dx 1 % too large",
           POOL_TESTS),
    Mutant("pool_adaptive_end", "nn/kernels/avg_pool.cpp",
           "return ((o + 1) * in + out - 1) / out;",
           "return ((o + 1) * in) / out;",
           "off-by-one", "adaptive avg pooling: a window's end rounds down instead of up",
           POOL_TESTS),
    Mutant("pool_max_window_short", "nn/kernels/max_pool.cpp",
           "const int64_t h1 = std::min(h0 + (g.kh - 1) * g.dh + 1, g.H);",
           "const int64_t h1 = std::min(h0 + (g.kh - 1) * g.dh, g.H);",
           "off-by-one", "general max-pool: the window's last row is left out",
           POOL_TESTS),
    Mutant("pool_ceil_last_window", "nn/pooling.cpp",
           "if (ceil_mode && (o - 1) * s >= in + p)",
           "if (ceil_mode && (o - 1) * s > in + p)",
           "off-by-one", "ceil_mode output size: a last window starting exactly at the end of the "
           "padded input is kept",
           POOL_TESTS),
    Mutant("pool_k2s2_odd_zero", "nn/kernels/max_pool.cpp",
           "d0[g.W - 1] = d0[2 * g.W - 1] = 0.f;",
           "d0[g.W - 1] = 0.f;",
           "dropped-term", "2x2 max-pool backward, odd width: the second row's last input "
           "gradient is left unwritten",
           POOL_TESTS),
    Mutant("pool_max_bwd_partition", "nn/kernels/max_pool.cpp",
           "for (int64_t p = p0; p < p1; ++p) {\n      const float *gp = gy + p * OHW;\n"
           "      const int32_t *ip",
           "for (int64_t p = p0 + (p0 > 0); p < p1; ++p) {\n      const float *gp = gy + p * OHW;\n"
           "      const int32_t *ip",
           "partition", "max-pool backward: every worker but the first skips its first plane",
           POOL_TESTS),
    Mutant("pool_geom_field_order", "nn/kernels/pool_geom.h",
           "int64_t P, H, W, OH, OW; // planes",
           "int64_t P, W, H, OH, OW; // planes",
           "swapped-index", "PoolGeom declares W before H",
           POOL_TESTS,
           equivalent="every PoolGeom is value-initialised (PoolGeom g{}) and its fields are "
           "assigned by name (nn/pooling.cpp's make_geom, which detail::pool_geom returns, and "
           "adaptive_avg_pool2d; conv2d.cpp's pg.P = ...), never by position or through the "
           "layout; pool_geom.h holds only declarations, so this is the one edit there that "
           "compiles, and it changes no result."),
    # ------------------------------------------------------------ optimizers
    Mutant("sgd_first_step_dampening", "optim/sgd.cpp",
           "const float bi = FIRST ? d : b[i] * c.mom + c.damp1 * d;",
           "const float bi = FIRST ? c.damp1 * d : b[i] * c.mom + c.damp1 * d;",
           "dropped-term", "SGD momentum: the first step damps the buffer (PyTorch clones d)",
           OPTIM_TESTS),
    Mutant("sgd_nesterov_sign", "optim/sgd.cpp",
           "d = NESTEROV ? d + c.mom * bi : bi;",
           "d = NESTEROV ? d - c.mom * bi : bi;",
           "sign", "SGD Nesterov: the look-ahead term flips sign",
           OPTIM_TESTS),
    Mutant("sgd_chunk_boundary_partition", "optim/sgd.cpp",
           "kernel::parallel_range(n, n, [&](int64_t s, int64_t e) {",
           "kernel::parallel_range(n, n, [&](int64_t s, int64_t e) {\n        s += s > 0;",
           "partition", "SGD: each chunk after the first starts one element late (the 2-thread "
           "boundary element is never updated)",
           OPTIM_TESTS + ",threads: SGD*"),
    Mutant("adam_amsgrad_min", "optim/adam.cpp",
           "vi = (vm > vi || vm != vm) ? vm : vi;",
           "vi = (vm < vi || vm != vm) ? vm : vi;",
           "sign", "Adam amsgrad keeps the minimum of v instead of the maximum",
           OPTIM_TESTS),
    Mutant("adam_decay_no_lr", "optim/adam.cpp",
           "decay = float(1 - h.lr * h.weight_decay);",
           "decay = float(1 - h.weight_decay);",
           "dropped-term", "AdamW's decoupled decay drops the lr factor",
           OPTIM_TESTS),
    Mutant("adam_maximize_dropped", "optim/adam.cpp",
           "const Consts c{maximize ? -1.f : 1.f,",
           "const Consts c{1.f,",
           "dropped-term", "Adam/AdamW ignore maximize",
           OPTIM_TESTS),
    Mutant("adam_chunk_end_partition", "optim/adam.cpp",
           "kernel::parallel_range(n, 4 * n, [&](int64_t s, int64_t e) {",
           "kernel::parallel_range(n, 4 * n, [&](int64_t s, int64_t e) {\n    e -= e < n;",
           "partition", "Adam/AdamW: every chunk but the last ends one element early",
           OPTIM_TESTS + ",threads: SGD*"),
    Mutant("adamw_coupled", "optim/adamw.cpp",
           "o.weight_decay, o.amsgrad,        o.maximize,       true};",
           "o.weight_decay, o.amsgrad,        o.maximize,       false};",
           "dropped-term", "AdamW runs Adam's coupled (L2) weight decay",
           OPTIM_TESTS),
    Mutant("sched_linear_end", "optim/lr_scheduler.cpp",
           "if (last_epoch_ > o_.total_iters)\n    return lrs;",
           "if (last_epoch_ >= o_.total_iters)\n    return lrs;",
           "off-by-one", "LinearLR stops one epoch early (never reaches end_factor)",
           OPTIM_TESTS),
    Mutant("sched_step_closed_form", "optim/lr_scheduler.cpp",
           "out.push_back(b * std::pow(o_.gamma, double(last_epoch_ / o_.step_size)));",
           "out.push_back(b * std::pow(o_.gamma, double((last_epoch_ + 1) / o_.step_size)));",
           "off-by-one", "StepLR's closed form (the restart inside SequentialLR) is one epoch ahead",
           OPTIM_TESTS),
    Mutant("sched_cosine_trough_sign", "optim/lr_scheduler.cpp",
           "lrs[g] = lrs[g] + (base_lrs_[g] - eta) * (1 - std::cos(kPi / T)) / 2;",
           "lrs[g] = lrs[g] + (base_lrs_[g] - eta) * (1 + std::cos(kPi / T)) / 2;",
           "sign", "CosineAnnealingLR: the step up out of a trough (epoch T_max + 1, ...) has the "
           "wrong sign of the cosine",
           OPTIM_TESTS),
    Mutant("sched_multistep_closed_form", "optim/lr_scheduler.cpp",
           "const auto k = std::upper_bound(o_.milestones.begin(), o_.milestones.end(), last_epoch_) -",
           "const auto k = std::lower_bound(o_.milestones.begin(), o_.milestones.end(), last_epoch_) -",
           "off-by-one", "MultiStepLR's closed form (step_to) misses the milestone it lands on",
           OPTIM_TESTS),
    # ------------------------------------------------------------- allocator
    Mutant("alloc_bucket_64", "core/allocator.cpp",
           "if (n <= 64)\n    return 64;",
           "if (n < 64)\n    return 64;",
           "off-by-one", "a 64-byte request gets a 128-byte bucket",
           "[core]"),
    Mutant("alloc_mid_boundary", "core/allocator.cpp",
           "if (mid >= n)\n      return mid;",
           "if (mid > n)\n      return mid;",
           "off-by-one", "a request of exactly 1.5 * 2^k bytes gets the next bucket",
           "[core]"),
    Mutant("alloc_reuse_live_bytes", "core/allocator.cpp",
           "c.stats.cached_bytes -= b;\n      c.stats.live_bytes += b;\n      return p;",
           "c.stats.cached_bytes -= b;\n      return p;",
           "dropped-term", "a block reused from the cache is not counted as live",
           "[core],[autograd]"),
    # ------------------------------------------------------ gradcheck itself
    Mutant("gradcheck_vacuous_guard", "autograd/gradcheck.cpp",
           "res.ok = worst <= 0 && res.checked > 0;",
           "res.ok = worst <= 0;",
           "dropped-term", "gradcheck passes when it checked nothing",
           "[autograd]"),
    Mutant("gradcheck_richardson", "autograd/gradcheck.cpp",
           "num = (4.0 * num - (sp2 - sm2) / (hp2 - hm2)) / 3.0;",
           "num = (4.0 * num - (sp2 - sm2) / (hp2 - hm2)) / 3.03;",
           "denominator", "gradcheck's fourth-order numeric derivative is 1 % too small",
           "[autograd]"),
    Mutant("gradcheck_sensitive_or", "autograd/gradcheck.cpp",
           "if (std::fabs(ana * (1 + opt.detect) - num) > tol &&",
           "if (std::fabs(ana * (1 + opt.detect) - num) > tol ||",
           "dropped-term", "gradcheck calls a check sensitive when only one of the +-1 % scaled "
           "gradients would fail",
           "[autograd]"),
    Mutant("gradcheck_taken_nominal", "autograd/gradcheck.cpp",
           "const double taken = double(px[j]) - double(orig);",
           "const double taken = double(k) * opt.eps;",
           "dropped-term", "gradcheck divides by the nominal step, not the step float32 took",
           "[autograd]"),
]


# ----------------------------------------------------------------- helpers

def log(msg=""):
    print(msg, flush=True)


def run(cmd, cwd, timeout, env=None):
    """Runs cmd in its own process group; returns (rc, output, timed_out).
    On timeout the group (only what this call started) is killed."""
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out.decode(errors="replace"), False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, _ = p.communicate()
        return None, out.decode(errors="replace"), True
    except BaseException:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        raise


def git_diff(path):
    r = subprocess.run(["git", "diff", "--", path], cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    return r.stdout


def git_diff_quiet(path):
    return subprocess.run(["git", "diff", "--quiet", "--", path], cwd=ROOT).returncode == 0


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_bytes(path, data):
    # Rewrites in place (same inode, permissions kept). The mtime is NOT
    # restored: the object files were built from the mutant, so the next
    # build must see the file as changed.
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def stale_report(mutants):
    """[(mutant, count)] for every mutant whose original is not found exactly once."""
    bad = []
    for m in mutants:
        path = os.path.join(ROOT, m.file)
        if not os.path.exists(path):
            bad.append((m, "file missing"))
            continue
        text = read_bytes(path).decode()
        n = text.count(m.orig)
        if n != 1:
            bad.append((m, f"original text found {n} times"))
        elif m.orig == m.repl:
            bad.append((m, "replacement equals original"))
    return bad


def failed_junit(path, test_names):
    """Names of the failed test cases in a Catch2 JUnit report. Catch2 names a
    section's entry "<test case>/<section>"; a test case's own name may hold
    '/', so the entry is mapped to the longest known test case it starts with."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return None
    names = []
    for tc in root.iter("testcase"):
        if tc.find("failure") is not None or tc.find("error") is not None:
            n = tc.get("name", "?")
            pre = [t for t in test_names if n == t or n.startswith(t + "/")]
            n = max(pre, key=len) if pre else n.split("/")[0]
            if n not in names:
                names.append(n)
    return names


class Backup:
    """The file under mutation, saved under <build>/mutate-backup while the
    mutant is in place (removed after the restore is verified)."""

    def __init__(self, build):
        self.dir = os.path.join(build, "mutate-backup")

    def path(self, rel):
        return os.path.join(self.dir, rel)

    def save(self, rel, data):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        write_bytes(p + ".tmp", data)
        os.replace(p + ".tmp", p)

    def drop(self, rel):
        try:
            os.remove(self.path(rel))
        except FileNotFoundError:
            pass

    def recover(self):
        """Restores files a killed run left mutated. Returns the list restored."""
        done = []
        if not os.path.isdir(self.dir):
            return done
        for d, _, files in os.walk(self.dir):
            for f in files:
                if f.endswith(".tmp"):
                    os.remove(os.path.join(d, f))
                    continue
                b = os.path.join(d, f)
                rel = os.path.relpath(b, self.dir)
                write_bytes(os.path.join(ROOT, rel), read_bytes(b))
                os.remove(b)
                done.append(rel)
        return done


# -------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", default=[],
                    help="run only these mutants (name or comma list; repeatable)")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--check", action="store_true",
                    help="only check that every original text is found exactly once")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("-j", "--jobs", type=int, default=2, help="build and ctest parallelism")
    ap.add_argument("--test-timeout", type=int, default=600,
                    help="seconds for the first test run, and for the whole ctest run")
    ap.add_argument("--build-timeout", type=int, default=1800)
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the unmutated build + ctest run that proves the suite passes")
    args = ap.parse_args()

    names = [n for arg in args.only for n in arg.split(",") if n]
    by_name = {m.name: m for m in MUTANTS}
    assert len(by_name) == len(MUTANTS), "duplicate mutant names"
    unknown = [n for n in names if n not in by_name]
    if unknown:
        sys.exit(f"mutate.py: unknown mutant(s): {', '.join(unknown)} (see --list)")
    selected = [by_name[n] for n in names] if names else list(MUTANTS)

    if args.list:
        for m in selected:
            eq = "  [equivalent]" if m.equivalent else ""
            log(f"{m.name:32} {m.kind:14} {m.file:32} {m.desc}{eq}")
        log(f"{len(selected)} mutants")
        return 0

    build = os.path.abspath(args.build_dir)
    backup = Backup(build)
    restored = backup.recover()
    for rel in restored:
        log(f"mutate.py: restored {rel} from the backup a previous (killed) run left in {backup.dir}")

    bad = stale_report(selected)
    if bad:
        for m, why in bad:
            log(f"STALE mutant {m.name}: {m.file}: {why}; original text:\n    "
                + m.orig.replace("\n", "\n    "))
        log(f"mutate.py: {len(bad)} stale mutant(s); update their original text in tools/mutate.py")
        return 2
    if args.check:
        log(f"all {len(selected)} mutants apply (each original text found exactly once)")
        return 0

    if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
        sys.exit(f"mutate.py: {build} is not a configured build directory (configure it first, "
                 "e.g. cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release)")
    test_bin = os.path.join(build, "tests", "polygrad_tests")
    build_cmd = ["cmake", "--build", build, "--target", "polygrad_tests", "-j", str(args.jobs)]
    ctest_cmd = ["ctest", "-j", str(args.jobs), "--stop-on-failure", "--timeout", "300",
                 "--output-on-failure"]

    # Signals become exceptions so the `finally` below restores the file.
    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    files = sorted({m.file for m in selected})
    start_diff = {f: git_diff(f) for f in files}
    dirty = [f for f in files if start_diff[f]]
    if dirty:
        log("note: uncommitted edits in " + ", ".join(dirty) + " (kept: each file is restored "
            "from its saved bytes and compared with its starting git diff)")

    t_start = time.time()
    log(f"building {build} (unmutated) ...")
    rc, out, to = run(build_cmd, ROOT, args.build_timeout)
    if rc != 0:
        log(out[-4000:])
        sys.exit("mutate.py: the unmutated tree does not build")
    if not args.no_baseline:
        log("baseline: full ctest on the unmutated tree ...")
        rc, out, to = run(ctest_cmd, build, args.test_timeout)
        if rc != 0:
            log(out[-4000:])
            sys.exit("mutate.py: the unmutated suite fails; a mutation check means nothing then")

    rc, out, to = run([test_bin, "--list-test-names-only"], build, 120)
    # (Catch2 v2 exits with the number of tests listed)
    test_names = [l.strip() for l in out.splitlines() if l.strip()] if not to else []

    results = []
    interrupted = False
    try:
        for i, m in enumerate(selected, 1):
            path = os.path.join(ROOT, m.file)
            orig = read_bytes(path)
            text = orig.decode()
            assert text.count(m.orig) == 1  # checked above; the file cannot have moved since
            t0 = time.time()
            log(f"[{i}/{len(selected)}] {m.name} ({m.kind}, {m.file})")
            backup.save(m.file, orig)
            outcome, detail = "?", ""
            try:
                write_bytes(path, text.replace(m.orig, m.repl, 1).encode())
                rc, out, to = run(build_cmd, ROOT, args.build_timeout)
                if rc != 0:
                    errs = [l for l in out.splitlines() if "error" in l][:3]
                    outcome, detail = "build-failed", " | ".join(errs)[:200] or (
                        "build timed out" if to else "build failed")
                else:
                    with tempfile.TemporaryDirectory() as td:
                        junit = os.path.join(td, "r.xml")
                        rc, out, to = run([test_bin, m.first, "-r", "junit", "-o", junit], build,
                                          args.test_timeout)
                        failed = None if to else failed_junit(junit, test_names)
                    if to:
                        outcome, detail = "killed", f"HANG: first tests timed out ({args.test_timeout} s)"
                    elif rc != 0:
                        outcome = "killed"
                        if failed:
                            detail = f"{len(failed)} test case(s): " + "; ".join(failed)
                        else:
                            sig = f" (signal {-rc})" if rc < 0 else ""
                            detail = f"test binary exited {rc}{sig}"
                    else:
                        rc, out, to = run(ctest_cmd, build, args.test_timeout)
                        if to:
                            outcome, detail = "killed", "HANG: ctest timed out"
                        elif rc != 0:
                            outcome = "killed"
                            fl = re.findall(r"^\s*\d+ - (.*?) \((Failed|Timeout|SEGFAULT|"
                                            r"Subprocess aborted|Exception|[^)]*)\)", out, re.M)
                            detail = "ctest: " + "; ".join(f"{n} ({w})" for n, w in fl[:3])
                            if any(w == "Timeout" for _, w in fl):
                                detail = "HANG (test timeout) " + detail
                        else:
                            outcome = "survived"
            finally:
                write_bytes(path, orig)
                if read_bytes(path) != orig:
                    raise SystemExit(f"mutate.py: FAILED to restore {m.file}; its original bytes "
                                     f"are in {backup.path(m.file)}")
                if git_diff(m.file) != start_diff[m.file]:
                    raise SystemExit(f"mutate.py: git diff of {m.file} differs from before the "
                                     f"mutant; original bytes are in {backup.path(m.file)}")
                if not start_diff[m.file] and not git_diff_quiet(m.file):
                    raise SystemExit(f"mutate.py: {m.file} is not clean after the restore")
                backup.drop(m.file)
            dt = time.time() - t0
            if outcome == "survived" and m.equivalent:
                outcome = "survived (equivalent)"
            results.append((m, outcome, detail, dt))
            log(f"    -> {outcome} in {dt:.0f} s  {detail}")
    except KeyboardInterrupt:
        interrupted = True
        log("\ninterrupted; the file under mutation was restored")
    finally:
        # Leave the build matching the (restored) sources.
        log("rebuilding the unmutated tree ...")
        rc, out, to = run(build_cmd, ROOT, args.build_timeout)
        if rc != 0:
            log("warning: the final rebuild failed:\n" + out[-2000:])

    # ---------------------------------------------------------------- table
    total_t = time.time() - t_start
    log("")
    w = max([len(m.name) for m, *_ in results] + [6])
    wf = max([len(m.file) for m, *_ in results] + [4])
    log(f"{'mutant':{w}}  {'kind':13}  {'file':{wf}}  {'result':21}  {'time':>5}  detail")
    log("-" * (w + wf + 62))
    for m, outcome, detail, dt in results:
        log(f"{m.name:{w}}  {m.kind:13}  {m.file:{wf}}  {outcome:21}  {dt:4.0f}s  {detail[:110]}")
    n = len(results)
    killed = sum(o == "killed" for _, o, _, _ in results)
    hangs = sum(o == "killed" and d.startswith("HANG") for _, o, d, _ in results)
    equiv = sum(o == "survived (equivalent)" for _, o, _, _ in results)
    surv = sum(o == "survived" for _, o, _, _ in results)
    bf = sum(o == "build-failed" for _, o, _, _ in results)
    log("-" * (w + wf + 62))
    log(f"{n} mutants: {killed} killed ({hangs} by a hang), {surv} survived, {equiv} equivalent "
        f"(survived, as argued), {bf} build-failed; kill rate {killed}/{n - equiv - bf} of the "
        f"non-equivalent mutants that built; {total_t / 60:.1f} min")
    for m, o, _, _ in results:
        if o == "survived":
            log(f"SURVIVED: {m.name}: {m.desc}")
    return 130 if interrupted else 1 if surv or bf else 0


if __name__ == "__main__":
    sys.exit(main())
