"""Golden values for autograd/ (PyTorch 1.13): composite graphs built from
primitives, their outputs and the gradients of every input.

Writes
  autograd_mlp.txt        a 2-layer MLP with softmax cross-entropy written from
                          primitives (matmul, add bias, relu, log_softmax,
                          gather / one_hot, mean)
  autograd_broadcast.txt  a broadcasting-heavy expression: (3,1), (1,4),
                          (2,3,4), (4) and 0-d inputs through + - * /, where,
                          maximum/minimum, pow with both args, sigmoid, tanh, exp
  autograd_reduce.txt     a reduction chain: sum/mean/max/min/logsumexp over
                          dims (keepdim or not), softmax, select, full max
Inputs are drawn in float32, each graph's from its own rng(<fixture>), and
stored as such; the graphs are evaluated in float64 so the fixtures hold the
exact answer for those inputs (the C++ tests compare float32 results to them
at 1e-5 relative).
The forwards must match tests/test_autograd_golden.cpp exactly.
Run: /usr/bin/python3 tools/gen_golden.py autograd
"""
import torch

from golden_io import rng, write_fixture


def _leaves(g, shapes, scale=1.0):
    """name -> float32 tensor drawn from g, and float64 leaf copies."""
    f32 = {k: (torch.randn(s, generator=g) * scale).float() for k, s in shapes.items()}
    f64 = {k: v.double().requires_grad_(True) for k, v in f32.items()}
    return f32, f64


def mlp(x, labels, W1, b1, W2, b2):
    h = torch.relu(x @ W1 + b1)
    logits = h @ W2 + b2
    logp = torch.log_softmax(logits, dim=1)
    loss = -torch.gather(logp, 1, labels.unsqueeze(1)).mean()
    return logits, loss


def broadcast(a, b, c, d, e):
    y = (a + b) * c                                    # (2,3,4)
    z = y / (d.abs() + 1.0)                            # (2,3,4)
    w = torch.where(z > 0, z, 0.1 * z)
    u = torch.maximum(w, a) - torch.minimum(c, b)
    p = torch.pow(c.abs() + 0.5, d)                    # base and exponent
    q = torch.sigmoid(u * p) * torch.tanh(e) + torch.exp(a - e) * 0.1 - b / (e * e + 1.0)
    return q, q.sum()


def reduce_chain(x):
    s1 = x.sum(dim=1, keepdim=True)                    # (3,1,5)
    m1 = (x * s1).mean(dim=(0, 2))                     # (4)
    mx = x.max(dim=2).values                           # (3,4)
    mn = x.min(dim=0, keepdim=True).values             # (1,4,5)
    lse = torch.logsumexp(x * 2.0, dim=1)              # (3,5)
    sm = torch.softmax(x, dim=-1).select(-1, 0)        # (3,4)
    out = (m1.sum() + (mx * sm).sum() + (mn.squeeze(0) ** 2).mean()
           + torch.logsumexp(lse, dim=0).sum() + x.max() + x.abs().mean(dim=(1,), keepdim=True).sum())
    return m1, mx, lse, out


def generate():
    # --- MLP with softmax cross-entropy ---
    g = rng("autograd_mlp")
    f32, t = _leaves(g, {"x": (8, 5), "W1": (5, 16), "b1": (16,), "W2": (16, 4), "b2": (4,)})
    f32["W1"] *= 0.5
    f32["W2"] *= 0.5
    t = {k: v.double().requires_grad_(True) for k, v in f32.items()}
    labels = torch.randint(0, 4, (8,), generator=g)
    logits, loss = mlp(t["x"], labels, t["W1"], t["b1"], t["W2"], t["b2"])
    loss.backward()
    out = dict(f32)
    out["labels"] = labels
    out["logits"] = logits
    out["loss"] = loss
    for k in ["x", "W1", "b1", "W2", "b2"]:
        out["grad_" + k] = t[k].grad
    write_fixture("autograd_mlp.txt", out,
                  "2-layer MLP, softmax cross-entropy from primitives (tools/golden/autograd.py)")

    # --- broadcasting-heavy expression ---
    f32, t = _leaves(rng("autograd_broadcast"),
                     {"a": (3, 1), "b": (1, 4), "c": (2, 3, 4), "d": (4,), "e": ()})
    q, total = broadcast(t["a"], t["b"], t["c"], t["d"], t["e"])
    total.backward()
    out = dict(f32)
    out["q"] = q
    out["total"] = total
    for k in ["a", "b", "c", "d", "e"]:
        out["grad_" + k] = t[k].grad
    write_fixture("autograd_broadcast.txt", out,
                  "broadcasting-heavy expression (tools/golden/autograd.py)")

    # --- reduction chain ---
    f32, t = _leaves(rng("autograd_reduce"), {"x": (3, 4, 5)})
    m1, mx, lse, total = reduce_chain(t["x"])
    total.backward()
    out = dict(f32)
    out.update(m1=m1, mx=mx, lse=lse, total=total, grad_x=t["x"].grad)
    write_fixture("autograd_reduce.txt", out, "reduction chain (tools/golden/autograd.py)")
