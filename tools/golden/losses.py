"""Golden values and gradients for the loss zoo (tests/test_losses_golden.cpp).

PyTorch's own losses where they exist (F.cross_entropy with weight / ignore_index /
label_smoothing / soft targets, F.nll_loss, F.binary_cross_entropy_with_logits,
F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.huber_loss, F.kl_div); the formulas of
issue 4 written with torch ops where they don't (Poly-1 in its three weighting
conventions, Poly-N, softmax focal, Poly-1 focal, and torchvision's sigmoid focal
loss written out, since torchvision is not installed). Everything is computed in
float64 from the float32 inputs, so the references are exact to float32 precision.

Every case writes <case>.x (input), <case>.y (target), optional <case>.w (class
weight / alpha / weight), <case>.pw (pos_weight), <case>.v (upstream gradient for
reduction none), and the results <case>.loss, <case>.gx (d loss / d x) and, where
the target is differentiable, <case>.gt. The options of each case are spelled out
in the C++ test next to the case name.
"""
import torch
import torch.nn.functional as F

from golden_io import rng, write_binary_fixture, write_fixture

D = torch.float64
IGN = -100


def _rand(g, *shape, scale=2.0):
    return (torch.randn(*shape, generator=g) * scale).float()


def _labels(g, n, c, ignore=0, ignore_index=IGN):
    y = torch.randint(0, c, (n,), generator=g)
    if ignore:
        y[torch.randperm(n, generator=g)[:ignore]] = ignore_index
    return y


def _mask(per, valid, masked):
    """Zeroes the ignored rows. masked=False multiplies by the 0/1 mask (the
    original fixtures); masked=True selects with torch.where, as F.cross_entropy
    does: an ignored row then gets gradient 0 even when the mean's denominator is
    0 (all weights zero, N = 0, all ignored), where 0 * inf would make it NaN."""
    return torch.where(valid > 0, per, torch.zeros_like(per)) if masked else per * valid


def _reduce(per, reduction, denom):
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    return per.sum() / denom


class Cases:
    def __init__(self):
        self.t = {}

    def add(self, name, x, y, fn, w=None, pw=None, target_grad=False, store_inputs=True):
        """fn(x64, y64_or_labels, w64, pw64) -> loss (0-d or per-row / per-element)."""
        xd = x.to(D).requires_grad_(True)
        if y.dtype == torch.int64:
            yd = y
        else:
            yd = y.to(D).requires_grad_(target_grad)
        wd = None if w is None else w.to(D)
        pwd = None if pw is None else pw.to(D)
        loss = fn(xd, yd, wd, pwd)
        if store_inputs:
            self.t[f"{name}.x"] = x
            self.t[f"{name}.y"] = y
        if w is not None:
            self.t[f"{name}.w"] = w
        if pw is not None:
            self.t[f"{name}.pw"] = pw
        if loss.dim() == 0:
            v = torch.ones(())
        else:
            v = torch.rand(loss.shape, generator=rng(name + ".v")).float() * 2 - 1
            self.t[f"{name}.v"] = v
        inputs = [xd] + ([yd] if target_grad else [])
        grads = torch.autograd.grad((loss * v.to(D)).sum(), inputs, allow_unused=True)
        self.t[f"{name}.loss"] = loss.detach().float()
        self.t[f"{name}.gx"] = grads[0].float()
        if target_grad:
            self.t[f"{name}.gt"] = grads[1].float()


# ----- softmax losses written with torch ops (issue 4's formulas) -----
def _hard_parts(x, y, w, ignore_index):
    """Per row (or per position of a K-dimensional x (N, C, d1, ..., dk) with
    labels (N, d1, ..., dk)): the 0/1 mask, log Pt and the label's weight."""
    valid = y != ignore_index
    yy = torch.where(valid, y, torch.zeros_like(y))
    lp = F.log_softmax(x, dim=1)
    logpt = lp.gather(1, yy.unsqueeze(1)).squeeze(1)
    wy = (w[yy] if w is not None else torch.ones_like(logpt)) * valid.to(D)
    return valid.to(D), logpt, wy


def poly1_ref(eps, weighting="both", reduction="mean", ls=0.0, ignore_index=IGN, masked=False):
    """Poly-1 CE: CE + eps (1 - Pt), Pt = sum_j t_j p_j; weighting as in issue 4."""

    def fn(x, y, w, _):
        # x (N, C) or (N, C, d1, ..., dk): class dimension 1, rows = the rest
        C = x.shape[1]
        rows = x.shape[:1] + x.shape[2:]
        cw = None if w is None else w.view((1, C) + (1,) * (x.dim() - 2))  # w along dim 1
        lp = F.log_softmax(x, dim=1)
        p = lp.exp()
        if y.dtype == torch.int64:
            valid = (y != ignore_index).to(D)
            yy = torch.where(y != ignore_index, y, torch.zeros_like(y))
            t = (1 - ls) * F.one_hot(yy, C).movedim(-1, 1).to(D) + ls / C
            ce = F.cross_entropy(x, y, weight=w, ignore_index=ignore_index, label_smoothing=ls,
                                 reduction="none")
            wrow = (w[yy] if w is not None else torch.ones(rows, dtype=D)) * valid
            n, W = valid.sum(), wrow.sum()
        else:
            t = (1 - ls) * y + ls / C
            valid = torch.ones(rows, dtype=D)
            ce = F.cross_entropy(x, y, weight=w, label_smoothing=ls, reduction="none")
            wrow = (cw * t).sum(1) if w is not None else torch.ones(rows, dtype=D)
            n = W = torch.tensor(float(valid.numel()), dtype=D)
        pt = (t * p).sum(1)
        m = w.mean() if w is not None else 1.0
        if weighting == "both":
            ceterm, polyterm, cden, pden = ce, eps * wrow * (1 - pt), W, W
        elif weighting == "ce_only":
            ceterm, polyterm, cden, pden = ce, eps * (1 - pt), n, n
        elif not masked:  # rescaled_pt
            ceterm, polyterm, cden, pden = ce, eps * (1 - pt * wrow / m), W, n
        else:  # rescaled_pt; an ignored row's w_y / mean(w) (0 / 0 when all weights are 0)
            # must not reach its gradient as 0 * NaN: select it out first, like _mask
            b = torch.where(valid > 0, wrow / m, torch.zeros_like(wrow))
            ceterm, polyterm, cden, pden = ce, eps * (1 - pt * b), W, n
        if y.dtype != torch.int64:  # soft targets: every mean is over N
            cden = pden = n
        polyterm = _mask(polyterm, valid, masked)
        if reduction == "none":
            return ceterm + polyterm
        if reduction == "sum":
            return ceterm.sum() + polyterm.sum()
        return ceterm.sum() / cden + polyterm.sum() / pden

    return fn


def poly_n_ref(epsilons, reduction="mean", ignore_index=IGN, masked=False):
    def fn(x, y, w, _):
        valid, logpt, wy = _hard_parts(x, y, w, ignore_index)
        q = 1 - logpt.exp()
        per = -logpt + sum(e * q ** (j + 1) for j, e in enumerate(epsilons))
        return _reduce(_mask(wy * per, valid, masked), reduction, wy.sum())

    return fn


def focal_ref(gamma, eps=0.0, reduction="mean", ignore_index=IGN, masked=False,
              alpha_on_poly=True):
    """Softmax focal: -alpha_y (1-Pt)^gamma log Pt (+ eps alpha_y (1-Pt)^(gamma+1));
    alpha_on_poly=False: the eps term without alpha_y and the mean over the count."""

    def fn(x, y, a, _):
        valid, logpt, ay = _hard_parts(x, y, a, ignore_index)
        q = 1 - logpt.exp()
        if not alpha_on_poly:
            per = ay * -(q ** gamma) * logpt + valid * eps * q ** (gamma + 1)
            return _reduce(_mask(per, valid, masked), reduction, valid.sum())
        per = -(q ** gamma) * logpt + eps * q ** (gamma + 1)
        return _reduce(_mask(ay * per, valid, masked), reduction, ay.sum())

    return fn


def sigmoid_focal_ref(alpha, gamma, eps=0.0, alpha_on_poly=False, reduction="mean"):
    """torchvision.ops.sigmoid_focal_loss written out (+ the Poly-1 term)."""

    def fn(x, t, _, pw):
        p = torch.sigmoid(x)
        ce = F.binary_cross_entropy_with_logits(x, t, reduction="none", pos_weight=pw)
        p_t = p * t + (1 - p) * (1 - t)
        loss = ce * ((1 - p_t) ** gamma)
        alpha_t = alpha * t + (1 - alpha) * (1 - t) if alpha >= 0 else torch.ones_like(t)
        loss = alpha_t * loss
        poly = eps * (1 - p_t) ** (gamma + 1)
        if alpha_on_poly:
            poly = alpha_t * poly
        per = loss + poly
        return _reduce(per, reduction, per.numel())

    return fn


def softmax_cases():
    c = Cases()
    N, C = 12, 6
    g = rng("softmax_cases")  # the inputs the cases below share
    x, y = _rand(g, N, C), _labels(g, N, C)
    yi = _labels(g, N, C, ignore=3)
    w = torch.rand(C, generator=g).float() + 0.25
    probs = torch.softmax(torch.randn(N, C, generator=g) * 2, 1).float()

    def ce(**kw):
        return lambda x, y, w, _: F.cross_entropy(x, y, weight=w, **kw)

    # cross_entropy: PyTorch's own
    c.add("ce_basic", x, y, ce())
    c.add("ce_weight", x, y, ce(), w=w)
    c.add("ce_weight_ignore", x, yi, ce(), w=w)
    y2 = y.clone()
    c.add("ce_ignore2_sum", x, y2, ce(ignore_index=2, reduction="sum"), w=w)
    c.add("ce_none", x, yi, ce(reduction="none"), w=w)
    c.add("ce_ls", x, y, ce(label_smoothing=0.1))
    c.add("ce_ls_weight_ignore", x, yi, ce(label_smoothing=0.2), w=w)
    c.add("ce_ls_none", x, yi, ce(label_smoothing=0.15, reduction="none"), w=w)
    c.add("ce_soft", x, probs, ce(), target_grad=True)
    c.add("ce_soft_weight_ls_sum", x, probs, ce(label_smoothing=0.1, reduction="sum"), w=w,
          target_grad=True)
    c.add("ce_soft_none", x, probs, ce(reduction="none"), w=w, target_grad=True)
    c.add("ce_all_ignored", x[:4], torch.full((4,), IGN), ce())
    c.add("ce_all_ignored_ls", x[:4], torch.full((4,), IGN), ce(label_smoothing=0.1))
    c.add("ce_n1", x[:1], y[:1], ce(), w=w)
    g2 = rng("ce_c2")
    c.add("ce_c2", _rand(g2, 7, 2), _labels(g2, 7, 2), ce())

    # nll_loss on log-probabilities
    lp = F.log_softmax(x.to(D), 1).float()
    c.add("nll_weight_ignore", lp, yi, lambda x, y, w, _: F.nll_loss(x, y, weight=w), w=w)
    c.add("nll_none", lp, yi, lambda x, y, w, _: F.nll_loss(x, y, weight=w, reduction="none"), w=w)
    c.add("nll_sum", lp, y, lambda x, y, w, _: F.nll_loss(x, y, reduction="sum"))

    # Poly-1 CE
    c.add("poly1_eps2", x, y, poly1_ref(2.0))
    c.add("poly1_epsm1", x, y, poly1_ref(-1.0))
    c.add("poly1_none", x, yi, poly1_ref(1.0, reduction="none"))
    for wt in ("both", "ce_only", "rescaled_pt"):
        c.add(f"poly1_w_{wt}", x, yi, poly1_ref(2.0, wt), w=w)
        c.add(f"poly1_w_{wt}_sum", x, yi, poly1_ref(-0.5, wt, reduction="sum"), w=w)
        c.add(f"poly1_w_{wt}_none", x, yi, poly1_ref(1.5, wt, reduction="none"), w=w)
        c.add(f"poly1_ls_{wt}", x, yi, poly1_ref(1.0, wt, ls=0.1), w=w)
        c.add(f"poly1_soft_{wt}", x, probs, poly1_ref(2.0, wt), w=w, target_grad=True)
    c.add("poly1_ls_now", x, y, poly1_ref(2.0, ls=0.2))
    c.add("poly1_soft_now_ls_none", x, probs, poly1_ref(1.0, ls=0.1, reduction="none"),
          target_grad=True)

    # Poly-N
    c.add("poly_default", x, y, poly_n_ref([1.0, 0.5]))
    c.add("poly_3_w_ignore", x, yi, poly_n_ref([2.0, -0.3, 0.1]), w=w)
    c.add("poly_2_none", x, yi, poly_n_ref([-1.0, 1.0], reduction="none"), w=w)

    # softmax focal and Poly-1 focal (alpha = per-class weights)
    for g in (0.0, 0.5, 2.0, 5.0):
        gs = str(g).replace(".", "p")
        c.add(f"focal_g{gs}", x, yi, focal_ref(g), w=w)
        c.add(f"poly1_focal_g{gs}", x, yi, focal_ref(g, eps=1.0), w=w)
    c.add("focal_none", x, yi, focal_ref(2.0, reduction="none"))
    c.add("focal_sum", x, y, focal_ref(1.0, reduction="sum"))
    c.add("poly1_focal_epsm1", x, y, focal_ref(2.0, eps=-1.0))
    c.add("poly1_focal_none", x, yi, focal_ref(0.5, eps=2.0, reduction="none"), w=w)
    write_fixture("losses_softmax.txt", c.t,
                  "Softmax-family losses vs PyTorch (tools/golden/losses.py)")


def large_cases():
    """C = 1000: one shared input c1000.x / c1000.y (keeps the fixture small)."""
    c = Cases()
    g = rng("large_cases")
    x, y = _rand(g, 2, 1000, scale=3.0), _labels(g, 2, 1000)
    c.t["c1000.x"], c.t["c1000.y"] = x, y
    c.add("ce_c1000", x, y, lambda x, y, w, _: F.cross_entropy(x, y), store_inputs=False)
    c.add("poly1_c1000", x, y, poly1_ref(2.0), store_inputs=False)
    c.add("focal_c1000", x, y, focal_ref(2.0), store_inputs=False)
    c.add("poly1_focal_c1000", x, y, focal_ref(1.5, eps=1.0), store_inputs=False)
    write_fixture("losses_large.txt", c.t, "C = 1000 softmax losses vs PyTorch (tools/golden/losses.py)")


# ----- N x C = 4096 x 64: the parallel, multi-block path (tests/test_losses_large.cpp) -----
# The inputs are not stored: C++ (tests/test_losses_large.cpp, hash_inputs) and
# this function build them from the same integer hash, so the fixture holds
# only the outputs. Every value is an integer times a power of two, hence exact
# in float32 on both sides.
BIG_N, BIG_C = 4096, 64


def _mix32(x):
    """Chris Wellons' lowbias32 integer hash on uint32 arrays (wrapping arithmetic)."""
    import numpy as np
    x = np.asarray(x, dtype=np.uint32)
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def _hash(stream, n):
    """hash(stream, i) = mix32(i + stream * 0x9E3779B9 mod 2^32) for i < n."""
    import numpy as np
    i = np.arange(n, dtype=np.uint64)
    return _mix32(((i + np.uint64(stream) * np.uint64(0x9E3779B9)) & np.uint64(0xFFFFFFFF))
                  .astype(np.uint32))


def hash_inputs(N=BIG_N, C=BIG_C):
    """x in [-8, 8) (multiples of 2^-20), labels with ~1/8 ignored (-100),
    class weights in (0, 2] (multiples of 1/128), upstream v in [-1, 1)."""
    import numpy as np
    top24 = lambda h: (h >> np.uint32(8)).astype(np.int64) - (1 << 23)  # [-2^23, 2^23)
    x = (top24(_hash(1, N * C)) * 2.0 ** -20).astype(np.float32).reshape(N, C)
    y = (_hash(2, N) % np.uint32(C)).astype(np.int64)
    y[_hash(3, N) % np.uint32(8) == 0] = IGN
    w = ((1 + _hash(4, C) % np.uint32(256)) / 128.0).astype(np.float32)
    v = (top24(_hash(5, N)) * 2.0 ** -23).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(w), torch.from_numpy(v)


def big_cases():
    """CE, Poly-1 (eps 2), focal (gamma 2), Poly-1 focal (eps 1, gamma 1.5), each
    with class weights / alpha and ignored labels, mean / sum / none. Stored: the
    losses, and the gradients of mean and of none (upstream v); the gradient of sum
    is D times that of mean (D = the weight sum, checked against sum / mean)."""
    x, y, w, v = hash_inputs()
    t = {"inputs.x_head": x.reshape(-1)[:16], "inputs.y_head": y[:16], "inputs.w": w,
         "inputs.v_head": v[:16]}
    refs = {
        "ce": lambda r: lambda x, y, w, _: F.cross_entropy(x, y, weight=w, reduction=r),
        "poly1": lambda r: poly1_ref(2.0, reduction=r),
        "focal": lambda r: focal_ref(2.0, reduction=r),
        "poly1_focal": lambda r: focal_ref(1.5, eps=1.0, reduction=r),
    }
    for name, ref in refs.items():
        for r in ("mean", "sum", "none"):
            xd = x.to(D).requires_grad_(True)
            loss = ref(r)(xd, y, w.to(D), None)
            up = v.to(D) if r == "none" else torch.ones((), dtype=D)
            (gx,) = torch.autograd.grad((loss * up).sum(), [xd])
            t[f"{name}.{r}.loss"] = loss.detach().float()
            if r != "sum":
                t[f"{name}.{r}.gx"] = gx.float()
    write_binary_fixture("losses_4096x64.bin", t,
                         "N x C = 4096 x 64 softmax losses vs PyTorch (tools/golden/losses.py big_cases)")


def pointwise_cases():
    c = Cases()
    N, C = 6, 5
    g = rng("pointwise_cases")
    x = _rand(g, N, C)
    t01 = (torch.rand(N, C, generator=g) < 0.3).float()
    tsoft = torch.rand(N, C, generator=g).float()
    pw = torch.rand(C, generator=g).float() * 2 + 0.5
    wfull = torch.rand(N, C, generator=g).float() + 0.5

    c.add("sf_default", x, t01, sigmoid_focal_ref(0.25, 2.0))
    c.add("sf_noalpha_g0p5", x, t01, sigmoid_focal_ref(-1.0, 0.5))
    c.add("sf_soft_sum", x, tsoft, sigmoid_focal_ref(0.25, 2.0, reduction="sum"))
    c.add("sf_none", x, t01, sigmoid_focal_ref(0.4, 1.0, reduction="none"))
    c.add("sf_g0_noalpha", x, t01, sigmoid_focal_ref(-1.0, 0.0))
    c.add("p1sf_default", x, t01, sigmoid_focal_ref(0.25, 2.0, eps=1.0))
    c.add("p1sf_alpha_on_poly", x, t01, sigmoid_focal_ref(0.25, 2.0, eps=2.0, alpha_on_poly=True))
    c.add("p1sf_pw_none", x, t01, sigmoid_focal_ref(0.25, 1.5, eps=-1.0, reduction="none"), pw=pw)
    c.add("p1sf_soft_g5", x, tsoft, sigmoid_focal_ref(0.75, 5.0, eps=0.5))

    def bce(**kw):
        return lambda x, t, w, pw: F.binary_cross_entropy_with_logits(x, t, weight=w, pos_weight=pw,
                                                                      **kw)

    c.add("bce_basic", x, t01, bce(), target_grad=True)
    c.add("bce_w_pw", x, tsoft, bce(), w=wfull, pw=pw, target_grad=True)
    c.add("bce_pw_sum", x, t01, bce(reduction="sum"), pw=pw, target_grad=True)
    c.add("bce_none", x, tsoft, bce(reduction="none"), w=wfull, target_grad=True)

    g = rng("regression_cases")
    xr = _rand(g, N, C)
    tr = _rand(g, N, C)
    tr[0, :3] = xr[0, :3]  # d = 0 exactly: the kinks
    tr[1, 0] = xr[1, 0] - 0.5  # d = beta = 0.5 exactly
    for red in ("mean", "sum", "none"):
        c.add(f"mse_{red}", xr, tr, lambda x, t, w, _, r=red: F.mse_loss(x, t, reduction=r),
              target_grad=True)
        c.add(f"l1_{red}", xr, tr, lambda x, t, w, _, r=red: F.l1_loss(x, t, reduction=r),
              target_grad=True)
    for beta in (1.0, 0.5, 0.0):
        bs = str(beta).replace(".", "p")
        c.add(f"smooth_l1_b{bs}", xr, tr,
              lambda x, t, w, _, b=beta: F.smooth_l1_loss(x, t, beta=b), target_grad=True)
    c.add("smooth_l1_none", xr, tr, lambda x, t, w, _: F.smooth_l1_loss(x, t, reduction="none",
                                                                        beta=2.0),
          target_grad=True)
    for delta in (1.0, 2.5):
        ds = str(delta).replace(".", "p")
        c.add(f"huber_d{ds}", xr, tr, lambda x, t, w, _, d=delta: F.huber_loss(x, t, delta=d),
              target_grad=True)
    c.add("huber_none", xr, tr, lambda x, t, w, _: F.huber_loss(x, t, reduction="none", delta=0.5),
          target_grad=True)

    g = rng("kl_cases")
    lpx = F.log_softmax(_rand(g, N, C).to(D), 1).float()
    pt = torch.softmax(_rand(g, N, C), 1).float()
    lpt = F.log_softmax(_rand(g, N, C).to(D), 1).float()
    pt0 = pt.clone()
    pt0[0, 0] = 0.0  # t = 0: loss 0, target gradient NaN (as PyTorch)
    for red in ("mean", "batchmean", "sum", "none"):
        c.add(f"kl_{red}", lpx, pt, lambda x, t, w, _, r=red: F.kl_div(x, t, reduction=r),
              target_grad=True)
        c.add(f"kl_log_{red}", lpx, lpt,
              lambda x, t, w, _, r=red: F.kl_div(x, t, reduction=r, log_target=True),
              target_grad=True)
    c.add("kl_zero_sum", lpx, pt0, lambda x, t, w, _: F.kl_div(x, t, reduction="sum"),
          target_grad=True)
    write_fixture("losses_pointwise.txt", c.t,
                  "Element-wise losses vs PyTorch (tools/golden/losses.py)")


def paper_poly1_focal(logits, labels, alpha, epsilon, gamma, ignore_index=IGN):
    """The PolyLoss paper's poly1_focal_loss (its appendix code, TF), with the
    softmax Pt of eq. 4 in place of the sigmoid one and alpha as per-class
    weights, transcribed op by op into torch:
        FL = ce * (1 - pt)^gamma;  FL = alpha_t * FL;  Poly1 = FL + eps (1 - pt)^(gamma+1)
    Per example; the caller reduces (mean = a plain mean over the examples)."""
    keep = labels != ignore_index
    logits, labels = logits[keep], labels[keep]
    p = torch.softmax(logits, dim=-1)
    ce = F.cross_entropy(logits, labels, reduction="none")
    pt = p.gather(1, labels[:, None])[:, 0]
    FL = ce * torch.pow(1 - pt, gamma)
    if alpha is not None:
        FL = alpha[labels] * FL
    return FL + epsilon * torch.pow(1 - pt, gamma + 1)


def poly1_focal_convention_cases():
    """softmax Poly-1 focal, both places for alpha, against the paper's code
    (alpha_on_poly = false) and with alpha on the eps term as well (alpha_on_poly
    = true: alpha_y times the paper's unweighted expression, mean over sum alpha_y).
    Own generator (rng), so adding these rewrites no other fixture."""
    g = rng("poly1_focal_convention_cases")
    c = Cases()
    N, C = 16, 7
    x = (torch.randn(N, C, generator=g) * 2).float()
    y = torch.randint(0, C, (N,), generator=g)
    y[torch.randperm(N, generator=g)[:3]] = IGN
    w = (torch.rand(C, generator=g) * 1.5 + 0.25).float()

    def paper(eps, gamma, reduction, on_poly):
        def fn(x, y, a, _):
            keep = y != IGN
            if on_poly:  # alpha_y x (the paper's expression without alpha)
                per = a[y[keep]] * paper_poly1_focal(x, y, None, eps, gamma)
                denom = a[y[keep]].sum()
            else:
                per = paper_poly1_focal(x, y, a, eps, gamma)
                denom = torch.tensor(float(keep.sum()), dtype=D)
            if reduction == "none":  # ignored rows are 0, as F.cross_entropy's
                full = torch.zeros(len(y), dtype=D)
                full[keep] = per
                return full
            return per.sum() if reduction == "sum" else per.sum() / denom
        return fn

    for on_poly in (False, True):
        tag = "on" if on_poly else "off"
        for eps, gamma in ((1.0, 2.0), (-1.0, 2.0), (2.0, 0.5), (0.5, 0.0)):
            es, gs = str(eps).replace(".", "p").replace("-", "m"), str(gamma).replace(".", "p")
            for red in ("mean", "sum", "none"):
                c.add(f"p1f_{tag}_e{es}_g{gs}_{red}", x, y, paper(eps, gamma, red, on_poly), w=w,
                      store_inputs=False)
    c.t["p1f.x"], c.t["p1f.y"], c.t["p1f.w"] = x, y, w
    for k in [k for k in c.t if k.endswith(".w") and k != "p1f.w"]:
        del c.t[k]
    write_fixture("losses_poly1_focal_alpha.txt", c.t,
                  "Softmax Poly-1 focal: alpha on / off the eps term vs the PolyLoss paper's code "
                  "(tools/golden/losses.py)")
# ----- degenerate inputs and layouts for every loss (tests/test_losses_degenerate.cpp) -----
# Each loss runs on inputs of its kind ("hard": logits + int64 labels + class
# weights, "soft": logits + target distributions + class weights, "elem":
# element-wise input + target + element weights) in every scenario that applies:
#   empty           N = 0
#   nonfinite       rows / elements with NaN, +inf and -inf logits (at and off the label)
#   nonfinite_wide  the same with C = 40 (the engine's long-row path, C >= 32)
#   zero_weight     all class weights (bce: element weights) zero
#   ls1             label_smoothing = 1
#   layout          transposed input and target, step-2 slices of labels, weights and v
#   expand          stride-0 input (expanded from one row), target, weights and v
# The C++ test builds the same views from the stored bases (<kind>.<scenario>.x/y/w,
# vr / ve: the upstream gradient of reduction none per row / per element) and
# compares <loss>.<scenario>.<reduction>.loss / .gx / .gt (the gradients w.r.t.
# the bases, so a stride-0 input's gradient is summed over its copies).
#
# Losses PyTorch lacks are composed with masked=True: ignored rows are selected
# out with torch.where as F.cross_entropy does, so the composition inherits
# PyTorch's own degenerate behaviour; check_degenerate_refs asserts that at
# gamma = 0 / eps = 0 they equal F.cross_entropy on every one of these inputs,
# NaN for NaN.
DEGENERATE_SCENARIOS = ("empty", "nonfinite", "nonfinite_wide", "zero_weight", "ls1", "layout",
                        "expand")


def _ce(x, y, w, r, ls):
    return F.cross_entropy(x, y, weight=w, reduction=r, label_smoothing=ls)


def _adapt(ref_maker):
    """ref_maker(reduction, ls) -> fn(x, y, w, pw) becomes fn(x, y, w, r, ls)."""
    return lambda x, y, w, r, ls: ref_maker(r, ls)(x, y, w, None)


# id -> (kind, default label smoothing or None, target_grad, fn(x, t, w, r, ls))
DEGENERATE_LOSSES = {
    "ce": ("hard", 0.0, False, _ce),
    "ce_ls": ("hard", 0.2, False, _ce),
    "nll": ("hard", None, False, lambda x, y, w, r, ls: F.nll_loss(x, y, weight=w, reduction=r)),
    "poly1": ("hard", 0.0, False, _adapt(lambda r, ls: poly1_ref(2.0, "both", r, ls, masked=True))),
    "poly1_ce_only": ("hard", 0.0, False,
                      _adapt(lambda r, ls: poly1_ref(2.0, "ce_only", r, ls, masked=True))),
    "poly1_rescaled_pt": ("hard", 0.0, False,
                          _adapt(lambda r, ls: poly1_ref(2.0, "rescaled_pt", r, ls, masked=True))),
    "poly1_ls": ("hard", 0.2, False, _adapt(lambda r, ls: poly1_ref(2.0, "both", r, ls, masked=True))),
    "poly": ("hard", None, False, _adapt(lambda r, ls: poly_n_ref([1.0, 0.5], r, masked=True))),
    "focal": ("hard", None, False, _adapt(lambda r, ls: focal_ref(2.0, 0.0, r, masked=True))),
    "poly1_focal": ("hard", None, False, _adapt(lambda r, ls: focal_ref(2.0, 1.0, r, masked=True))),
    "ce_soft": ("soft", 0.0, True, _ce),
    "poly1_soft": ("soft", 0.0, True, _adapt(lambda r, ls: poly1_ref(2.0, "both", r, ls))),
    "kl_div": ("soft", None, True, lambda x, t, w, r, ls: F.kl_div(x, t, reduction=r)),
    "kl_div_log": ("soft", None, True,
                   lambda x, t, w, r, ls: F.kl_div(x, t, reduction=r, log_target=True)),
    "sigmoid_focal": ("elem", None, False,
                      lambda x, t, w, r, ls: sigmoid_focal_ref(0.25, 2.0, reduction=r)(x, t, w, None)),
    "poly1_sigmoid_focal": ("elem", None, False,
                            lambda x, t, w, r, ls: sigmoid_focal_ref(0.25, 2.0, eps=1.0, reduction=r)(
                                x, t, w, None)),
    "bce": ("elem", None, True,
            lambda x, t, w, r, ls: F.binary_cross_entropy_with_logits(x, t, weight=w, reduction=r)),
    "mse": ("elem", None, True, lambda x, t, w, r, ls: F.mse_loss(x, t, reduction=r)),
    "l1": ("elem", None, True, lambda x, t, w, r, ls: F.l1_loss(x, t, reduction=r)),
    "smooth_l1": ("elem", None, True, lambda x, t, w, r, ls: F.smooth_l1_loss(x, t, reduction=r)),
    "huber": ("elem", None, True, lambda x, t, w, r, ls: F.huber_loss(x, t, reduction=r)),
}
# losses whose options hold a class (or element) weight
DEGENERATE_WEIGHTED = {"ce", "ce_ls", "nll", "poly1", "poly1_ce_only", "poly1_rescaled_pt",
                       "poly1_ls", "poly", "focal", "poly1_focal", "ce_soft", "poly1_soft", "bce"}


def degenerate_applies(loss, scenario):
    kind, ls, _, _ = DEGENERATE_LOSSES[loss]
    if scenario == "nonfinite_wide":
        return kind == "hard"
    if scenario == "zero_weight":
        return loss in DEGENERATE_WEIGHTED
    if scenario == "ls1":  # once per loss with a label_smoothing option (not the _ls twins)
        return ls == 0.0
    return True


def degenerate_inputs(g):
    """kind -> scenario -> dict of base tensors (float32 / int64)."""
    inf, nan = float("inf"), float("nan")

    def randn(*s, scale=2.0):
        return (torch.randn(*s, generator=g) * scale).float()

    def rand(*s):
        return torch.rand(*s, generator=g).float()

    def probs(n, c):
        return torch.softmax(torch.randn(n, c, generator=g) * 2, 1).float()

    def nonfinite_hard(C):
        x = randn(8, C)
        y = torch.tensor([0, 1, 2, 3, 0, 1, IGN, IGN])
        x[1, 0] = nan  # NaN off the label
        x[2, 0] = inf  # +inf off the label
        x[3, 3] = inf  # +inf at the label
        x[4, 1] = -inf  # -inf off the label: p = 0 there, the row stays finite
        x[5, 1] = -inf  # -inf at the label: L = inf
        x[7, 2] = nan  # an ignored row with a NaN
        return {"x": x, "y": y, "w": rand(C) + 0.25, "vr": rand(8) * 2 - 1}

    d = {"hard": {}, "soft": {}, "elem": {}}
    C = 4
    lab6 = torch.tensor([0, 1, 2, 3, IGN, 1])
    d["hard"]["empty"] = {"x": randn(0, C), "y": torch.zeros(0, dtype=torch.int64),
                          "w": rand(C) + 0.25, "vr": rand(0)}
    d["hard"]["nonfinite"] = nonfinite_hard(C)
    d["hard"]["nonfinite_wide"] = nonfinite_hard(40)
    d["hard"]["zero_weight"] = {"x": randn(6, C), "y": lab6, "w": torch.zeros(C),
                                "vr": rand(6) * 2 - 1}
    d["hard"]["ls1"] = {"x": randn(6, C), "y": lab6, "w": rand(C) + 0.25, "vr": rand(6) * 2 - 1}
    d["hard"]["layout"] = {"x": randn(C, 6), "y": torch.tensor([0, 5, 1, 5, 2, 5, 3, 5, IGN, 5, 1, 5]),
                           "w": rand(2 * C) + 0.25, "vr": rand(12) * 2 - 1}
    d["hard"]["expand"] = {"x": randn(1, C), "y": lab6, "w": rand(1) + 0.25, "vr": rand(1) * 2 - 1}

    def soft_base(n):
        return {"x": randn(n, C), "y": probs(n, C), "w": rand(C) + 0.25, "vr": rand(n) * 2 - 1,
                "ve": rand(n, C) * 2 - 1}

    d["soft"]["empty"] = {"x": randn(0, C), "y": probs(0, C), "w": rand(C) + 0.25, "vr": rand(0),
                          "ve": rand(0, C)}
    s = soft_base(6)
    s["x"][1, 2] = nan
    s["x"][2, 0] = inf
    s["x"][3, 1] = -inf  # target > 0 there: L = inf
    s["x"][4, 3] = -inf
    s["y"][4, 3] = 0.0  # 0 * log 0: NaN in PyTorch's soft cross-entropy (no xlogy)
    s["y"][4] /= s["y"][4].sum()
    s["y"][5, 0] = 0.0  # a zero target on a finite row (kl_div's xlogy(0, 0) = 0)
    s["y"][5] /= s["y"][5].sum()
    d["soft"]["nonfinite"] = s
    s = soft_base(6)
    s["w"] = torch.zeros(C)
    d["soft"]["zero_weight"] = s
    d["soft"]["ls1"] = soft_base(6)
    d["soft"]["layout"] = {"x": randn(C, 6), "y": probs(C, 6), "w": rand(2 * C) + 0.25,
                           "vr": rand(12) * 2 - 1, "ve": rand(C, 6) * 2 - 1}
    d["soft"]["expand"] = {"x": randn(1, C), "y": rand(6, 1) * 0.5, "w": rand(1) + 0.25,
                           "vr": rand(1) * 2 - 1, "ve": rand(1, C) * 2 - 1}

    def elem_base(n):
        t = rand(n, C)
        t[t < 0.3] = 0.0
        t[t > 0.8] = 1.0
        return {"x": randn(n, C), "y": t, "w": rand(n, C) + 0.5, "ve": rand(n, C) * 2 - 1}

    d["elem"]["empty"] = {"x": randn(0, C), "y": rand(0, C), "w": rand(0, C), "ve": rand(0, C)}
    e = elem_base(6)
    e["y"][0:3] = torch.tensor([0.0, 1.0, 0.3, 0.5])
    e["x"][0, :3] = inf  # against t = 0, 1, 0.3
    e["x"][1, :3] = -inf
    e["x"][2, :3] = nan
    d["elem"]["nonfinite"] = e
    e = elem_base(6)
    e["w"] = torch.zeros(6, C)
    d["elem"]["zero_weight"] = e
    d["elem"]["layout"] = {"x": randn(C, 6), "y": elem_base(C)["y"][:, :].repeat(1, 2)[:, :6],
                           "w": rand(C, 6) + 0.5, "ve": rand(C, 6) * 2 - 1}
    d["elem"]["expand"] = {"x": randn(1, C), "y": rand(6, 1), "w": rand(1, 1) + 0.5,
                           "ve": rand(1, C) * 2 - 1}
    return d


def degenerate_views(kind, scenario, b):
    """The views the C++ test builds: (x, t, w, vr, ve) from the bases b (any dtype)."""
    x, t, w = b["x"], b["y"], b["w"]
    vr, ve = b.get("vr"), b.get("ve")
    if scenario == "layout":
        x = x.t()
        if kind == "hard":
            t, w, vr = t[::2], w[::2], vr[::2]
        elif kind == "soft":
            t, w, vr, ve = t.t(), w[::2], vr[::2], ve.t()
        else:
            t, w, ve = t.t(), w.t(), ve.t()
    elif scenario == "expand":
        n = t.shape[0]
        c = x.shape[1]
        x = x.expand(n, c)
        if kind == "hard":
            w, vr = w.expand(c), vr.expand(n)
        elif kind == "soft":
            t, w, vr, ve = t.expand(n, c), w.expand(c), vr.expand(n), ve.expand(n, c)
        else:
            t, w, ve = t.expand(n, c), w.expand(n, c), ve.expand(n, c)
    return x, t, w, vr, ve


def _reductions(loss):
    return ("mean", "sum", "none", "batchmean") if loss.startswith("kl_div") else ("mean", "sum",
                                                                                   "none")


def _run_degenerate(defn, weighted, scenario, b, r):
    """defn: a DEGENERATE_LOSSES value. (loss, dL/dx_base, dL/dt_base or None), float64."""
    kind, ls0, target_grad, fn = defn
    ls = 0.0 if ls0 is None else 1.0 if scenario == "ls1" else ls0
    xb = b["x"].to(D).requires_grad_(True)
    tb = b["y"] if b["y"].dtype == torch.int64 else b["y"].to(D).requires_grad_(target_grad)
    x, t, w, vr, ve = degenerate_views(kind, scenario, {**b, "x": xb, "y": tb,
                                                        "w": b["w"].to(D)})
    if not weighted:
        w = None
    loss_v = fn(x, t, w, r, ls)
    if r == "none":
        v = (vr if loss_v.dim() == 1 else ve).to(D)
    else:
        v = torch.ones((), dtype=D)
    leaves = [xb] + ([tb] if target_grad else [])
    grads = torch.autograd.grad((loss_v * v).sum(), leaves, allow_unused=True)
    return loss_v.detach(), grads[0], (grads[1] if target_grad else None)


def check_degenerate_refs(inputs):
    """The composed losses at gamma = 0 / eps = 0 are F.cross_entropy on every
    hard-label input here (values and gradients, NaN where it has NaN)."""
    composed = {
        "poly1 eps=0": lambda x, y, w, r, ls: poly1_ref(0.0, "both", r, ls, masked=True)(x, y, w, None),
        "poly eps=0": lambda x, y, w, r, ls: poly_n_ref([0.0], r, masked=True)(x, y, w, None),
        "focal gamma=0": lambda x, y, w, r, ls: focal_ref(0.0, 0.0, r, masked=True)(x, y, w, None),
    }
    for scenario, b in inputs["hard"].items():
        for r in ("mean", "sum", "none"):
            for name, fn in composed.items():
                if name == "focal gamma=0" and scenario.startswith("nonfinite"):
                    continue  # d(q^0)/dq = 0 * q^-1 is NaN at q = 0 in the composition
                ls0 = 0.0 if name.startswith("poly1") else None  # only poly1 has smoothing
                got = _run_degenerate(("hard", ls0, False, fn), True, scenario, b, r)
                want = _run_degenerate(("hard", ls0, False, _ce), True, scenario, b, r)
                for a, e in zip(got[:2], want[:2]):
                    assert torch.allclose(a, e, rtol=1e-12, atol=1e-15, equal_nan=True), (
                        name, scenario, r, a, e)


def degenerate_cases():
    g = rng("degenerate_cases")
    inputs = degenerate_inputs(g)
    check_degenerate_refs(inputs)
    t = {}
    for kind, scen in inputs.items():
        for scenario, b in scen.items():
            for k, v in b.items():
                t[f"{kind}.{scenario}.{k}"] = v
    for loss, defn in DEGENERATE_LOSSES.items():
        kind = defn[0]
        for scenario in DEGENERATE_SCENARIOS:
            if not degenerate_applies(loss, scenario):
                continue
            for r in _reductions(loss):
                lv, gx, gt = _run_degenerate(defn, loss in DEGENERATE_WEIGHTED, scenario,
                                             inputs[kind][scenario], r)
                key = f"{loss}.{scenario}.{r}"
                t[f"{key}.loss"] = lv.float()
                t[f"{key}.gx"] = gx.float()
                if gt is not None:
                    t[f"{key}.gt"] = gt.float()
    write_fixture("losses_degenerate.txt", t,
                  "Degenerate inputs and layouts for every loss vs PyTorch "
                  "(tools/golden/losses.py degenerate_cases)")


# [doc:golden]
def gce_ref(q, reduction="mean", ignore_index=IGN):
    """Generalized cross-entropy (Zhang & Sabuncu 2018): w_y (1 - Pt^q) / q, the
    mean over sum w_y (F.cross_entropy's weighted mean)."""

    def fn(x, y, w, _):
        valid, logpt, wy = _hard_parts(x, y, w, ignore_index)
        per = wy * (1 - torch.exp(logpt) ** q) / q
        return _reduce(per, reduction, wy.sum())

    return fn


def gce_cases():
    c = Cases()
    g = rng("gce_cases")
    N, C = 12, 6
    x, y, yi = _rand(g, N, C), _labels(g, N, C), _labels(g, N, C, ignore=3)
    w = torch.rand(C, generator=g).float() + 0.25
    c.add("gce_q0p7", x, y, gce_ref(0.7))
    c.add("gce_q0p7_w_ignore", x, yi, gce_ref(0.7), w=w)
    c.add("gce_q1_sum", x, yi, gce_ref(1.0, reduction="sum"), w=w)
    c.add("gce_q0p05_none", x, yi, gce_ref(0.05, reduction="none"), w=w)
    c.add("gce_q0p3_ignore2", x, y, gce_ref(0.3, ignore_index=2))
    write_fixture("losses_gce.txt", c.t, "Generalized cross-entropy vs its formula in torch "
                  "(tools/golden/losses.py gce_ref)")
# [/doc:golden]


# ----- K-dimensional inputs (N, C, d1, ..., dk), tests/test_losses_dense.cpp -----
DENSE_SHAPES = {1: (3, 5, 7), 2: (2, 4, 3, 5), 3: (2, 3, 2, 3, 4)}


def dense_cases():
    """Every softmax-family loss on logits (N, C, d1, ..., dk), k = 1, 2, 3, with
    labels (N, d1, ..., dk): F.cross_entropy / F.nll_loss on the K-dimensional
    tensors themselves (PyTorch's semantics), the other losses' formulas written
    per position with torch ops. Per k one shared set of inputs dK.x (logits),
    dK.lp (log-probabilities, for nll), dK.y (labels), dK.yi (labels with ignored
    positions), dK.w (class weights), dK.p (probabilities shaped like x); the
    C++ test names each case's inputs and options."""
    c = Cases()
    for k, shape in DENSE_SHAPES.items():
        g = rng(f"dense_cases_k{k}")
        N, C = shape[0], shape[1]
        rows = (N,) + shape[2:]
        x = _rand(g, *shape)
        y = torch.randint(0, C, rows, generator=g)
        yi = y.clone().view(-1)
        yi[torch.randperm(yi.numel(), generator=g)[: yi.numel() // 4]] = IGN
        yi = yi.view(rows)
        w = torch.rand(C, generator=g).float() + 0.25
        probs = torch.softmax(torch.randn(*shape, generator=g) * 2, 1).float()
        lp = F.log_softmax(x.to(D), 1).float()
        p = f"d{k}"
        c.t.update({f"{p}.x": x, f"{p}.lp": lp, f"{p}.y": y, f"{p}.yi": yi, f"{p}.w": w,
                    f"{p}.p": probs})

        def add(name, inp, tgt, fn, weighted=False, target_grad=False):
            c.add(f"{p}_{name}", inp, tgt, fn, w=w if weighted else None,
                  target_grad=target_grad, store_inputs=False)

        def ce(**kw):
            return lambda x, y, w, _: F.cross_entropy(x, y, weight=w, **kw)

        def nll(**kw):
            return lambda x, y, w, _: F.nll_loss(x, y, weight=w, **kw)

        add("ce", x, y, ce())
        add("ce_w_ignore", x, yi, ce(), True)
        add("ce_w_ignore_sum", x, yi, ce(reduction="sum"), True)
        add("ce_w_ignore_none", x, yi, ce(reduction="none"), True)
        add("ce_ignore2_sum", x, y, ce(ignore_index=2, reduction="sum"))
        add("ce_ls_w_ignore", x, yi, ce(label_smoothing=0.1), True)
        add("ce_ls_none", x, yi, ce(label_smoothing=0.2, reduction="none"), True)
        add("ce_soft", x, probs, ce(), target_grad=True)
        add("ce_soft_w_ls_sum", x, probs, ce(label_smoothing=0.1, reduction="sum"), True, True)
        add("ce_soft_none", x, probs, ce(reduction="none"), True, True)
        add("nll_w_ignore", lp, yi, nll(), True)
        add("nll_w_ignore_none", lp, yi, nll(reduction="none"), True)
        add("nll_sum", lp, y, nll(reduction="sum"))
        add("poly1_eps2", x, y, poly1_ref(2.0))
        add("poly1_w_ignore", x, yi, poly1_ref(1.0), True)
        add("poly1_ce_only_sum", x, yi, poly1_ref(-0.5, "ce_only", reduction="sum"), True)
        add("poly1_ce_only", x, yi, poly1_ref(2.0, "ce_only"), True)
        add("poly1_rescaled_none", x, yi, poly1_ref(1.5, "rescaled_pt", reduction="none"), True)
        add("poly1_rescaled", x, yi, poly1_ref(2.0, "rescaled_pt"), True)
        add("poly1_ls_w_ignore", x, yi, poly1_ref(1.0, ls=0.1), True)
        add("poly1_soft_w", x, probs, poly1_ref(2.0), True, True)
        add("poly1_soft_none", x, probs, poly1_ref(1.0, ls=0.1, reduction="none"),
            target_grad=True)
        add("poly_w_ignore", x, yi, poly_n_ref([2.0, -0.3, 0.1]), True)
        add("poly_none", x, yi, poly_n_ref([-1.0, 1.0], reduction="none"), True)
        add("poly_sum", x, y, poly_n_ref([1.0, 0.5], reduction="sum"))
        add("focal_w_ignore", x, yi, focal_ref(2.0), True)
        add("focal_g0p5_none", x, yi, focal_ref(0.5, reduction="none"), True)
        add("focal_sum", x, y, focal_ref(1.0, reduction="sum"))
        add("poly1_focal_w_ignore", x, yi, focal_ref(2.0, eps=1.0), True)
        add("poly1_focal_none", x, yi, focal_ref(0.5, eps=2.0, reduction="none"), True)
        add("poly1_focal_off_sum", x, yi, focal_ref(2.0, eps=1.0, reduction="sum",
                                                    alpha_on_poly=False), True)
        add("poly1_focal_off", x, yi, focal_ref(1.5, eps=-0.5, alpha_on_poly=False), True)
        add("gce_w_ignore", x, yi, gce_ref(0.7), True)
        add("gce_none", x, yi, gce_ref(0.3, reduction="none"), True)
        add("gce_sum", x, y, gce_ref(1.0, reduction="sum"))
    for key in [key for key in c.t if key.endswith(".w") and key.count("_")]:
        del c.t[key]  # every weighted case uses its dK.w
    write_fixture("losses_dense.txt", c.t,
                  "Softmax-family losses on K-dimensional inputs (N, C, d1, ..., dk) vs PyTorch "
                  "(tools/golden/losses.py dense_cases)")


def generate():
    import warnings
    warnings.filterwarnings("ignore", message="reduction: 'mean' divides")  # kl_div's notice
    softmax_cases()
    large_cases()
    pointwise_cases()
    poly1_focal_convention_cases()
    big_cases()  # no torch RNG: its inputs come from hash_inputs
    degenerate_cases()
    gce_cases()
    dense_cases()
