// Negative log-likelihood: L_i = -w_y x_{i,y}. The gradient is sparse, one
// entry per row, -w_y / D at (i, y) (times the upstream gradient), so it is
// built in backward rather than stored.
#include <polygrad/losses/nll.h>

#include <polygrad/autograd/node.h>
#include <polygrad/core/kernels.h>
#include <polygrad/losses/loss_node.h>
#include <polygrad/losses/registry.h>

namespace polygrad::losses {

void check_options(const NLLLossOptions &o) { check_reduction("nll_loss", o.reduction); }

Tensor nll_loss(const Tensor &input, const Tensor &labels, const NLLLossOptions &o) {
  check_options(o);
  PG_CHECK(input.defined() && input.dtype() == DType::Float32 && input.dim() == 2 &&
               input.size(1) >= 1,
           "nll_loss: input must be float32 log-probabilities of shape (N, C), got ",
           input.defined() ? shape_str(input.shape()) : "an undefined tensor");
  const int64_t N = input.size(0), C = input.size(1);
  check_class_vector("nll_loss", "weight", o.weight, C);
  const Tensor w = o.weight.defined() ? kernel::contiguous(o.weight) : Tensor();
  const float *pw = w.defined() ? w.data<float>() : nullptr;
  const LabelStats st = scan_labels("nll_loss", input, labels, pw, o.ignore_index);
  const Tensor x = kernel::contiguous(input), y = kernel::contiguous(labels);
  const float *px = x.data<float>();
  const int64_t *py = y.data<int64_t>();
  Tensor rows = Tensor::empty({N});
  float *pr = rows.data<float>();
  double total = 0;
  for (int64_t i = 0; i < N; ++i) {
    const int64_t yi = py[i];
    pr[i] = yi == o.ignore_index ? 0.f : -(pw ? pw[yi] : 1.f) * px[i * C + yi];
    total += pr[i];
  }
  const bool reduced = o.reduction != Reduction::None;
  const double D = st.weight_sum;
  Tensor out = !reduced                         ? rows
               : o.reduction == Reduction::Mean ? scalar_tensor((float)(total / D))
                                                : scalar_tensor((float)total);
  if (needs_grad({input})) {
    const float scale = o.reduction == Reduction::Mean ? (float)(1.0 / D) : 1.f;
    out = record("NllLossBackward", out, {input},
                 [y, w, N, C, scale, reduced, ignore = o.ignore_index](const Tensor &g) {
                   // dL/dx_{i,j} = -w_y scale g_i [j == y_i]
                   Tensor gc = kernel::contiguous(g);
                   const float *pg = gc.data<float>();
                   const int64_t *py = y.data<int64_t>();
                   const float *pw = w.defined() ? w.data<float>() : nullptr;
                   Tensor G = zeros({N, C});
                   float *pG = G.data<float>();
                   for (int64_t i = 0; i < N; ++i) {
                     const int64_t yi = py[i];
                     if (yi != ignore)
                       pG[i * C + yi] = -(pw ? pw[yi] : 1.f) * scale * pg[reduced ? 0 : i];
                   }
                   return grads{G};
                 });
  }
  return out;
}

PG_REGISTER_LOSS(nll_loss, {.name = "nll",
                            .aliases = {"nll_loss"},
                            .kind = LossKind::LogProbabilities,
                            .formula = "-w_y x_y (x: log-probabilities)"});

} // namespace polygrad::losses
