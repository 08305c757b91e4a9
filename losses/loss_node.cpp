#include <polygrad/losses/loss_node.h>

#include <polygrad/core/elementwise.h>
#include <polygrad/core/kernels.h>

namespace polygrad::losses {

GradScale grad_scale_for(bool reduced, bool per_row) {
  return reduced ? GradScale::Scalar : per_row ? GradScale::Rows : GradScale::Elementwise;
}

grads LossNode::apply(const Tensor &g) {
  grads out(grads_.size());
  for (size_t k = 0; k < grads_.size(); ++k) {
    const Tensor &G = grads_[k];
    if (!G.defined())
      continue;
    switch (scale_) {
    case GradScale::Scalar: {
      const float s = g.item();
      // d(s * L)/dx = s * dL/dx; the common s == 1 needs no pass over G.
      out[k] = s == 1.f ? G : kernel::map(G, "loss backward", [s](float v) { return v * s; });
      break;
    }
    case GradScale::Rows: {
      // row i of the per-sample losses only touches row i of the input
      const Tensor gc = kernel::contiguous(g);
      const float *pg = gc.data<float>(), *pG = G.data<float>();
      const int64_t N = G.size(0), inner = N ? G.numel() / N : 0;
      Tensor r = Tensor::empty(G.shape());
      float *pr = r.data<float>();
      kernel::parallel_range(N, G.numel(), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const float s = pg[i];
          for (int64_t j = 0; j < inner; ++j)
            pr[i * inner + j] = pG[i * inner + j] * s;
        }
      });
      out[k] = r;
      break;
    }
    case GradScale::Positions: {
      // the loss at position s of sample n only touches the C logits
      // x[n, :, s]: each (n, c) plane of S values is scaled by g[n, :]
      const Tensor gc = kernel::contiguous(g);
      const float *pg = gc.data<float>(), *pG = G.data<float>();
      const int64_t N = G.size(0), C = G.size(1), S = N * C > 0 ? G.numel() / (N * C) : 0;
      Tensor r = Tensor::empty(G.shape());
      float *pr = r.data<float>();
      kernel::parallel_range(N * C, G.numel(), [&](int64_t b, int64_t e) {
        for (int64_t q = b; q < e; ++q) {
          const float *gs = pg + (q / C) * S;
          for (int64_t s = 0; s < S; ++s)
            pr[q * S + s] = pG[q * S + s] * gs[s];
        }
      });
      out[k] = r;
      break;
    }
    case GradScale::Elementwise:
      out[k] = kernel::zip(G, g, "loss backward", [](float a, float b) { return a * b; });
      break;
    }
  }
  return out;
}

Tensor record_loss(const char *name, Tensor out, const std::vector<Tensor> &inputs, GradScale scale,
                   std::vector<Tensor> grads) {
  return record_node(std::make_shared<LossNode>(name, scale, std::move(grads)), std::move(out),
                     inputs);
}

} // namespace polygrad::losses
