// Negative log-likelihood on log-probabilities x (N, C), NllRows below:
//   forward   L_i = -w_y x_{i,y}                  (0 for an ignored row)
//   backward  dL_i/dx_{i,j} = -w_y [j == y]        (times scale and the upstream g_i)
// A K-dimensional x (N, C, d1, ..., dk) is read in place: row i = (n, s) of
// the labels (N, S), S = d1 ... dk, has x_{i,j} = x[(n C + j) S + s].
// The gradient is sparse, one entry per row, so it is built in backward rather
// than stored in the forward pass as the fused engines do.
#include <polygrad/losses/nll.h>

#include <polygrad/autograd/node.h>
#include <polygrad/core/kernels.h>
#include <polygrad/losses/loss_node.h>
#include <polygrad/losses/registry.h>

namespace polygrad::losses {

namespace {

// The labels and class weights (what backward keeps).
struct NllRows {
  Tensor y, w;             // contiguous labels (N) or (N, d1..dk), class weights (C) or undefined
  const float *pw;         // w's data, or null
  int64_t N, C, S, ignore; // S = d1 ... dk positions per sample (1 for (N, C))
  Shape shape;             // the input's
  float weight(int64_t yi) const { return pw ? pw[yi] : 1.f; }
  // forward: rows[i] = L_i = -w_y x_{i,y}; returns their sum
  double forward(const float *x, float *rows) const {
    const int64_t *py = y.data<int64_t>();
    double total = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t i = n * S + s, yi = py[i];
        rows[i] = yi == ignore ? 0.f : -weight(yi) * x[(n * C + yi) * S + s];
        total += rows[i];
      }
    return total;
  }
  // backward: dL/dx_{i,j} = -w_y scale g_i [j == y_i], g the upstream gradient
  // (one value when reduced, else one per row)
  Tensor backward(const Tensor &g, float scale, bool reduced) const {
    Tensor gc = kernel::contiguous(g);
    const float *pg = gc.data<float>();
    const int64_t *py = y.data<int64_t>();
    Tensor G = zeros(shape);
    float *pG = G.data<float>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t i = n * S + s, yi = py[i];
        if (yi != ignore)
          pG[(n * C + yi) * S + s] = -weight(yi) * scale * pg[reduced ? 0 : i];
      }
    return G;
  }
};

} // namespace

void check_options(const NLLLossOptions &o) { check_reduction("nll_loss", o.reduction); }

Tensor nll_loss(const Tensor &input, const Tensor &labels, const NLLLossOptions &o) {
  check_options(o);
  PG_CHECK(input.defined() && input.dtype() == DType::Float32 && input.dim() >= 2 &&
               input.size(1) >= 1,
           "nll_loss: input must be float32 log-probabilities of shape (N, C) or (N, C, d1, "
           "..., dk), got ",
           input.defined() ? shape_str(input.shape()) : "an undefined tensor");
  const int64_t N = input.size(0), C = input.size(1);
  check_class_vector("nll_loss", "weight", o.weight, C);
  const Tensor w = o.weight.defined() ? kernel::contiguous(o.weight) : Tensor();
  const float *pw = w.defined() ? w.data<float>() : nullptr;
  const LabelStats st = scan_labels("nll_loss", input, labels, pw, o.ignore_index);
  const NllRows nll{
      kernel::contiguous(labels), w, pw, N, C, positions(input), o.ignore_index, input.shape()};
  const Tensor x = kernel::contiguous(input);
  Tensor rows = Tensor::empty(labels.shape());
  const double total = nll.forward(x.data<float>(), rows.data<float>());
  const bool reduced = o.reduction != Reduction::None;
  const double D = st.weight_sum;
  Tensor out = !reduced                         ? rows
               : o.reduction == Reduction::Mean ? scalar_tensor((float)(total / D))
                                                : scalar_tensor((float)total);
  if (needs_grad({input})) {
    const float scale = o.reduction == Reduction::Mean ? (float)(1.0 / D) : 1.f;
    out = record("NllLossBackward", out, {input}, [nll, scale, reduced](const Tensor &g) {
      return grads{nll.backward(g, scale, reduced)};
    });
  }
  return out;
}

PG_REGISTER_LOSS(nll_loss, {.name = "nll",
                            .aliases = {"nll_loss"},
                            .kind = LossKind::LogProbabilities,
                            .formula = "-w_y x_y (x: log-probabilities)"});

} // namespace polygrad::losses
