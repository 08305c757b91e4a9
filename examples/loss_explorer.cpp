// loss_explorer: what a classification loss does as a function of the
// probability Pt it assigns to the true class.
//
//   loss_explorer [--loss SPEC]... [--out PREFIX] [--points N] [--title T]
//
// For every loss spec (losses::make syntax, e.g. "poly1:epsilon=2"; default:
// CE, Poly-1 with eps = -1, 1, 2, focal gamma = 2 and Poly-1 focal) it writes
//   PREFIX.png         the loss and -dL/dPt against Pt (two panels)
//   PREFIX.csv         pt, then loss and -dL/dPt per spec
//   PREFIX_coeffs.csv  the leading coefficients of the loss's expansion in (1-Pt)
// and prints the coefficients.
//
// Everything comes from the real loss nodes, through autograd:
//  * losses the registry marks softmax (cross_entropy, poly1, poly, focal,
//    poly1_focal, gce, ...): two-class logits z = (log Pt, log(1 - Pt)) with
//    label 0, so softmax(z)_0 = Pt;
//  * losses it marks sigmoid (sigmoid_focal, poly1_sigmoid_focal,
//    bce_with_logits, ...): one logit x = log(Pt / (1 - Pt)) with target 1, so
//    sigmoid(x) = Pt.
// In both cases dPt/dz_0 (dPt/dx) = Pt (1 - Pt), so the chain rule gives
// dL/dPt = (dL/dz_0) / (Pt (1 - Pt)) from the gradient autograd returns.
//
// Coefficients (numerical, from the loss values): with q = 1 - Pt the losses
// behave as L = sum_{j>=1} a_j q^(p + j - 1) near q = 0 (p = 1 for the CE family,
// 1 + gamma for focal losses, one more per vanishing leading coefficient, e.g.
// 2 for Poly-1 with eps = -1). p is measured from the slope of log L against
// log q between q = 0.005 and 0.01 (rounded to 1/20); a_1.. are then fitted by
// least squares (QR in double, 200 points on q in (0, 0.15], 6 terms), each
// point weighted by the float32 noise of L (see expand()). a_1..a_3 are printed
// next to the values each loss's registered series gives (the PolyLoss paper's
// view: CE: 1/j, Poly-1: 1 + eps then 1/j, Poly-N: 1/j + eps_j, focal: 1/j at
// powers j + gamma, sigmoid focal: alpha/j, ...); a_1, a_2 come out to ~1e-4,
// a_3 to ~1e-2.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "common/flags.h"
#include "common/plot.h"
#include "common/program.h"
#include <polygrad/losses/losses.h>
#include <polygrad/polygrad.h>

namespace pg = polygrad;
namespace L = polygrad::losses;
namespace ex = polygrad::examples;

namespace {

// The registry says what each loss takes: softmax losses get two-class
// logits and a label, sigmoid losses one logit and a target of 1.
bool supported(const L::Loss &l) {
  return l.kind == L::LossKind::Softmax || l.kind == L::LossKind::Sigmoid;
}
std::string supported_names() {
  return ex::loss_names(L::LossKind::Softmax) + ", " + ex::loss_names(L::LossKind::Sigmoid);
}

// Loss, dL/dPt and the exact Pt at one Pt, from the loss node and autograd.
// The logits are float32, so the Pt they encode is recomputed from them in
// double: the coefficient fit below needs 1 - Pt to full precision.
struct Point {
  double loss, dl_dpt, pt;
};
Point at(const L::Loss &loss, double pt) {
  pg::Tensor in, target;
  double q; // 1 - Pt implied by the float logits
  if (loss.kind == L::LossKind::Softmax) {
    const float z0 = (float)std::log(pt), z1 = (float)std::log1p(-pt);
    in = pg::from_vector({z0, z1}, {1, 2});
    target = pg::from_labels({0});
    q = 1 / (1 + std::exp((double)z0 - (double)z1));
  } else {
    const float x = (float)(std::log(pt) - std::log1p(-pt));
    in = pg::from_vector({x}, {1, 1});
    target = pg::ones({1, 1});
    q = 1 / (1 + std::exp((double)x));
  }
  in.requires_grad_(true);
  pg::Tensor l = loss(in, target);
  if (l.numel() != 1)
    l = l.sum(); // reduction=none in the spec: one sample anyway
  l.backward();
  const double dz = in.grad().to_vector()[0], p = 1 - q;
  return {l.item(), dz / (p * q), p};
}

// Least-squares fit of y(x) = sum_{i<=d} c_i x^(p+i), in double: QR (modified
// Gram-Schmidt) of the basis (x/xmax)^(p+i). Fitting y itself rather than
// y / x^p keeps the float32 rounding of tiny losses near x = 0 from dominating.
std::vector<double> polyfit(const std::vector<double> &x, const std::vector<double> &y, int d,
                            double xmax, double p) {
  const size_t m = x.size();
  const int n = d + 1;
  std::vector<std::vector<double>> Q(n, std::vector<double>(m));
  std::vector<double> R(n * n, 0.0);
  for (size_t k = 0; k < m; ++k) {
    double u = std::pow(x[k] / xmax, p); // basis (x/xmax)^(p+i): fits y itself
    for (int i = 0; i < n; ++i, u *= x[k] / xmax)
      Q[i][k] = u;
  }
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < i; ++j) {
      double dot = 0;
      for (size_t k = 0; k < m; ++k)
        dot += Q[j][k] * Q[i][k];
      R[j * n + i] = dot;
      for (size_t k = 0; k < m; ++k)
        Q[i][k] -= dot * Q[j][k];
    }
    double nrm = 0;
    for (size_t k = 0; k < m; ++k)
      nrm += Q[i][k] * Q[i][k];
    nrm = std::sqrt(nrm);
    R[i * n + i] = nrm;
    for (size_t k = 0; k < m; ++k)
      Q[i][k] /= nrm;
  }
  std::vector<double> qty(n, 0.0), coef(n);
  for (int i = 0; i < n; ++i)
    for (size_t k = 0; k < m; ++k)
      qty[i] += Q[i][k] * y[k];
  for (int i = n - 1; i >= 0; --i) {
    double s = qty[i];
    for (int j = i + 1; j < n; ++j)
      s -= R[i * n + j] * coef[j];
    coef[i] = s / R[i * n + i];
  }
  for (int i = 0; i < n; ++i) // back to powers of x
    coef[i] /= std::pow(xmax, p + i);
  return coef;
}

struct Expansion {
  double power = 1;            // p: the leading power of q
  std::vector<double> numeric; // a_1.. from the fit
  std::vector<double> paper;   // the PolyLoss paper's a_j, empty if unknown
};

Expansion expand(const L::Loss &loss) {
  Expansion e;
  const Point pa = at(loss, 1 - 5e-3), pb = at(loss, 1 - 1e-2);
  const double p = std::log(pa.loss / pb.loss) / std::log((1 - pa.pt) / (1 - pb.pt));
  e.power = std::round(p * 20) / 20;
  std::vector<double> qs, ys;
  for (int k = 1; k <= 200; ++k) {
    const Point pt = at(loss, 1 - 0.15 * k / 200);
    const double q = 1 - pt.pt;
    qs.push_back(q);
    ys.push_back(pt.loss);
  }
  // The fit weighs each point by the float32 noise of L. Computed as a
  // product (q^gamma (-log Pt), ...) L is exact to a few ulp: fit L / q^p.
  // When leading terms cancel (Poly-1 with eps = -1: -log Pt - (1 - Pt)) the
  // noise is a few ulp of the terms, ~ q^p0 with p0 the family's nominal
  // power (1, or 1 + gamma for focal losses): fit L / q^p0 on q^(p - p0 + i).
  // The registry's series (where the family has one) gives the nominal power
  // and the paper's coefficients (alpha = 1 / w = 1).
  const L::Series series = loss.series ? loss.series(6) : L::Series{};
  const double p0 = std::min(e.power, series.power);
  std::vector<double> yr(ys.size());
  for (size_t k = 0; k < ys.size(); ++k)
    yr[k] = ys[k] / std::pow(qs[k], p0);
  const auto c = polyfit(qs, yr, 5, 0.15, e.power - p0);
  e.numeric.assign(c.begin(), c.begin() + 3);
  e.paper = series.coefficients;
  // Poly-1 with eps = -1 (or Poly-N with a_1 = 0) starts one power later
  while (!e.paper.empty() && std::fabs(e.paper[0]) < 1e-12)
    e.paper.erase(e.paper.begin());
  if (!e.paper.empty())
    e.paper.resize(3);
  return e;
}

} // namespace

int explore(int argc, char **argv) {
  ex::Flags flags("loss_explorer",
                  "Plots classification losses and -dL/dPt against Pt (the probability of the "
                  "true class),\nand prints the leading coefficients of each loss's expansion in "
                  "(1 - Pt).");
  flags
      .add("loss", "",
           "a loss spec for losses::make, e.g. poly1:epsilon=2 (default: ce, poly1 with "
           "eps -1/1/2, focal:gamma=2, poly1_focal)",
           {}, true)
      .add("out", "loss_explorer", "output prefix: PREFIX.png, PREFIX.csv, PREFIX_coeffs.csv")
      .add("points", "400", "number of Pt values in (0, 1)")
      .add("title", "", "figure title (default: none)")
      .add("width", "1400", "PNG width in pixels")
      .add("height", "560", "PNG height in pixels");
  flags.parse(argc, argv);
  const long points = flags.integer("points", 10, 100000);
  const int width = (int)flags.integer("width", 400, 6000),
            height = (int)flags.integer("height", 300, 4000);
  std::vector<std::string> specs = flags.list("loss");
  if (specs.empty())
    specs = {"cross_entropy",   "poly1:epsilon=-1", "poly1:epsilon=1",
             "poly1:epsilon=2", "focal:gamma=2",    "poly1_focal:epsilon=1,gamma=2"};
  std::vector<L::Loss> losses;
  for (const auto &s : specs) {
    try {
      L::Loss l = L::make(s);
      if (!supported(l))
        flags.fail("--loss " + s + ": '" + l.name +
                   "' is not a classification loss of Pt; valid: " + supported_names());
      losses.push_back(l);
    } catch (const pg::Error &e) {
      flags.fail(std::string("--loss ") + s + ": " + e.what());
    }
  }

  // Pt in (0, 1): the grid avoids the end points, where log Pt or the chain
  // rule's Pt (1 - Pt) vanish; 1 - 1e-4 stands in for Pt = 1.
  const std::string out = flags.str("out");
  // Before the work: the files go to PREFIX.png, .csv, _coeffs.csv.
  ex::check_writable_file("out", out + ".csv");

  std::vector<double> pts;
  for (long k = 1; k <= points; ++k)
    pts.push_back(k == points ? 1 - 1e-4 : double(k) / points);
  std::vector<std::vector<double>> val(losses.size()), grad(losses.size());
  for (size_t i = 0; i < losses.size(); ++i)
    for (double pt : pts) {
      const Point p = at(losses[i], pt);
      val[i].push_back(p.loss);
      grad[i].push_back(-p.dl_dpt);
    }

  {
    std::ofstream csv(out + ".csv");
    if (!csv)
      flags.fail("cannot write " + out + ".csv");
    csv << "pt";
    for (const auto &s : specs)
      csv << ",loss[" << s << "],neg_dL_dPt[" << s << "]";
    csv << "\n";
    for (size_t k = 0; k < pts.size(); ++k) {
      csv << pts[k];
      for (size_t i = 0; i < losses.size(); ++i)
        csv << "," << val[i][k] << "," << grad[i][k];
      csv << "\n";
    }
  }

  ex::Figure fig(2, 1, width / 2, height);
  if (flags.has("title"))
    fig.title(flags.str("title"));
  ex::Plot &pl = fig.panel(0), &pg_ = fig.panel(1);
  pl.title("loss L(Pt)").xlabel("Pt (probability of the true class)").ylabel("loss");
  pl.xlim(0, 1).ylim(0, 5);
  pg_.title("-dL/dPt (log scale)").xlabel("Pt").ylabel("-dL/dPt").log_y();
  pg_.xlim(0, 1).ylim(1e-3, 100);
  for (size_t i = 0; i < losses.size(); ++i) {
    pl.add_series(specs[i], pts, val[i]);
    pg_.add_series(specs[i], pts, grad[i]);
  }
  fig.save_png(out + ".png");

  std::ofstream cc(out + "_coeffs.csv");
  cc << "spec,leading_power,a1,a2,a3,paper_a1,paper_a2,paper_a3\n";
  std::printf("Expansion L = sum_j a_j (1-Pt)^(p+j-1) near Pt = 1 (numerical fit; paper values "
              "in brackets)\n");
  for (size_t i = 0; i < losses.size(); ++i) {
    const Expansion e = expand(losses[i]);
    std::printf("%-40s p = %-5g", specs[i].c_str(), e.power);
    cc << '"' << specs[i] << "\"," << e.power;
    for (int j = 0; j < 3; ++j) {
      std::printf("  a%d = %7.4f", j + 1, e.numeric[j]);
      if (!e.paper.empty() && std::isfinite(e.paper[j]))
        std::printf(" [%.4f]", e.paper[j]);
      cc << "," << e.numeric[j];
    }
    for (int j = 0; j < 3; ++j)
      cc << "," << (e.paper.empty() ? NAN : e.paper[j]);
    cc << "\n";
    std::printf("\n");
  }
  std::printf("wrote %s.png, %s.csv, %s_coeffs.csv\n", out.c_str(), out.c_str(), out.c_str());
  return 0;
}

int main(int argc, char **argv) {
  return ex::run_program("loss_explorer", [&] { return explore(argc, argv); });
}
