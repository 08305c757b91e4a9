// The engine behind the element-wise losses (sigmoid focal, BCE with logits,
// MSE, L1, smooth L1, Huber, KL divergence): one pass over the elements
// computes each element's loss and, when needed, its gradient w.r.t. the input
// (and the target), pre-scaled for the reduction; backward only scales by the
// upstream gradient (see loss_node.h). Blocks of 4096 elements are split
// across OpenMP threads; the sum is taken block by block in double, so the
// result does not depend on the thread count.
#pragma once

#include <functional>

#include <polygrad/losses/common.h>

namespace polygrad::losses {

// Computes elements [begin, end) of the flattened input:
//   loss[i - begin] = L_i,
//   gx[i] = scale * dL_i/dinput_i   (when gx is not null),
//   gt[i] = scale * dL_i/dtarget_i  (when gt is not null).
using PointwiseBody =
    std::function<void(int64_t begin, int64_t end, float scale, float *loss, float *gx, float *gt)>;

struct PointwiseLossArgs {
  const char *op = "";        // for error messages
  const char *node_name = ""; // the grad_fn's name
  Tensor input{}, target{};   // same shape, float32
  Reduction reduction = Reduction::Mean;
  bool target_grad = true;     // false: a target that requires grad is an error
  double mean_denominator = 1; // for Mean / BatchMean
};

Tensor run_pointwise_loss(const PointwiseLossArgs &args, const PointwiseBody &body);

// A loss's element, written as its math reads: forward next to backward
// (x = input, t = target, g = the reduction's scale, passed in so that each
// loss multiplies it where its formula has it):
//   struct MseElem {
//     float forward(float x, float t) const { return (x - t) * (x - t); }       // L
//     float backward_input(float g, float x, float t) const { return g * 2 * (x - t); }  // g dL/dx
//     float backward_target(float g, float x, float t) const { return g * 2 * (t - x); } // g dL/dt
//   };
//   run_pointwise_loss(args, elementwise(X, T, MseElem{}));
// backward_target is optional (losses without a target gradient). An element
// with per-element inputs (weights) takes the flat index as a last argument:
// forward(x, t, i), backward_input(g, x, t, i), .... Each direction is then
// its own loop over the block, so each vectorises. When both directions need
// the same costly terms, Terms terms(x, t[, i]) is computed once per element
// and handed to forward(terms), backward_input(g, terms) [and
// backward_target(g, terms)], in one loop. X and T are the contiguous input
// and target.
template <class F> PointwiseBody elementwise(const float *X, const float *T, F f) {
  constexpr int64_t i0 = 0;
  constexpr bool indexed = requires { f.forward(0.f, 0.f, i0); }
  || requires { f.terms(0.f, 0.f, i0); };
  constexpr bool shared = requires { f.terms(0.f, 0.f); }
  || requires { f.terms(0.f, 0.f, i0); };
  return [X, T, f](int64_t b, int64_t e, float scale, float *loss, float *gx, float *gt) {
    const F el = f; // a local copy: its fields stay in registers through the loops
    // fn(x_i, t_i[, i])
    auto at = [&](int64_t i, auto &&fn) {
      if constexpr (indexed)
        return fn(X[i], T[i], i);
      else
        return fn(X[i], T[i]);
    };
    if constexpr (shared) {
      for (int64_t i = b; i < e; ++i) {
        const auto k = at(i, [&](auto... a) { return el.terms(a...); });
        loss[i - b] = el.forward(k);
        if (gx)
          gx[i] = el.backward_input(scale, k);
        if constexpr (requires { el.backward_target(scale, k); })
          if (gt)
            gt[i] = el.backward_target(scale, k);
      }
    } else {
      for (int64_t i = b; i < e; ++i)
        loss[i - b] = at(i, [&](auto... a) { return el.forward(a...); });
      if (gx)
        for (int64_t i = b; i < e; ++i)
          gx[i] = at(i, [&](auto... a) { return el.backward_input(scale, a...); });
      constexpr bool has_target = requires { el.backward_target(0.f, 0.f, 0.f); }
      || requires { el.backward_target(0.f, 0.f, 0.f, i0); };
      if constexpr (has_target)
        if (gt)
          for (int64_t i = b; i < e; ++i)
            gt[i] = at(i, [&](auto... a) { return el.backward_target(scale, a...); });
    }
  };
}

} // namespace polygrad::losses
