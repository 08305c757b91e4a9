"""Golden values for nn/ layers (PyTorch 1.13): forward outputs and the
gradients of the input and of every parameter, for a fixed upstream gradient
gy (so every output element is weighted differently).

Writes
  nn_linear.txt      Linear with a 3-D input (leading dims flattened)
  nn_conv2d.txt      Conv2d: 3x3 padded; strided + rectangular padding/kernel;
                     dilated; grouped; depthwise; 1x1 (direct path); strided
                     1x1 without bias
  nn_pooling.txt     MaxPool2d (2x2 fast path even/odd sizes, ties, overlapping
                     3x3 s2 p1, dilated + ceil_mode), AvgPool2d
                     (count_include_pad on/off, ceil_mode, divisor_override),
                     AdaptiveAvgPool2d (1x1, 3x2, 4x4 from 5x7)
  nn_batchnorm.txt   BatchNorm2d train (running stats after the step) and
                     eval; BatchNorm1d on (N, C) and (N, C, L); no affine /
                     no running stats; momentum=None over two steps
  nn_activation.txt  relu, leaky_relu, gelu (none, tanh), silu, sigmoid,
                     tanh, softmax, log_softmax
  nn_fused.txt       relu then max-pool (polygrad's fused relu_max_pool2d and
                     what nn.Sequential(ReLU, MaxPool2d) runs as): 2x2 fast
                     path even/odd sizes, windows that are all <= 0 with ties
                     at zero, overlapping 3x3 s2 p1; conv2d then relu then
                     max-pool (conv2d_relu_max_pool2d): padded 3x3 + 2x2,
                     strided/dilated/grouped conv + overlapping ceil_mode
                     pool, 1x1 conv without bias
  nn_resblock.txt    a residual block (conv-bn-relu-conv-bn + 1x1 conv-bn
                     shortcut, relu) in train mode: output, input gradient,
                     every parameter's gradient (state_dict names) and the
                     running statistics after the step
Inputs and weights are drawn in float32 and stored, each case from its own
rng("<fixture>.<case>") (cases sharing an input draw it from one named
stream first), so adding a case changes no other; the layers are evaluated
in float64 from those values (so the fixtures hold the exact answer for the
stored inputs) and the tests load the same weights into polygrad's layers.
Run: /usr/bin/python3 tools/gen_golden.py nn
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from golden_io import rng, write_fixture


def _f32(g, *shape, scale=1.0):
    return (torch.randn(*shape, generator=g) * scale).float()


def _run(fn, inputs, g, prefix, out):
    """inputs: name -> float32 tensor (requires grad). Evaluates fn in float64,
    backpropagates gy (drawn from the case's generator g) and stores inputs, y,
    gy and the gradients."""
    leaves = {k: v.double().requires_grad_(True) for k, v in inputs.items()}
    y = fn(**leaves)
    gy = torch.randn(*y.shape, generator=g).float()
    y.backward(gy.double())
    for k, v in inputs.items():
        out[f"{prefix}.{k}"] = v
    out[f"{prefix}.y"] = y.detach()
    out[f"{prefix}.gy"] = gy
    for k, v in leaves.items():
        out[f"{prefix}.d{k}"] = v.grad


def _unary(fixture, cases, out):
    """cases: (name, x or the shape to draw it with, fn); a shape is drawn from
    the case's own generator, a tensor is an input several cases share."""
    for name, x, fn in cases:
        g = rng(f"{fixture}.{name}")
        x = _f32(g, *x) if isinstance(x, tuple) else x
        _run(lambda x, fn=fn: fn(x), {"x": x}, g, name, out)


def _conv_inputs(g, xs, ws, bias):
    ins = {"x": _f32(g, *xs), "w": _f32(g, *ws)}
    if bias:
        ins["b"] = _f32(g, ws[0])
    return ins


def gen_linear():
    out = {}
    g = rng("nn_linear.lin")
    _run(lambda x, w, b: F.linear(x, w, b),
         {"x": _f32(g, 2, 3, 5), "w": _f32(g, 4, 5), "b": _f32(g, 4)}, g, "lin", out)
    g = rng("nn_linear.nobias")
    _run(lambda x, w: F.linear(x, w), {"x": _f32(g, 6, 3), "w": _f32(g, 2, 3)}, g, "nobias", out)
    # Linear then ReLU as one node (F::linear_relu): about half the outputs cut.
    g = rng("nn_linear.relu")
    _run(lambda x, w, b: F.relu(F.linear(x, w, b)),
         {"x": _f32(g, 3, 4, 6), "w": _f32(g, 5, 6), "b": _f32(g, 5)}, g, "relu", out)
    write_fixture("nn_linear.txt", out, "nn.Linear / F.linear, float64 reference (tools/golden/nn.py)")


CONV_CASES = [
    # name, x shape, w shape, bias, stride, padding, dilation, groups
    ("pad", (2, 3, 7, 6), (4, 3, 3, 3), True, (1, 1), (1, 1), (1, 1), 1),
    ("stride", (2, 2, 8, 7), (3, 2, 3, 2), True, (2, 3), (1, 2), (1, 1), 1),
    ("dilate", (1, 2, 9, 8), (3, 2, 3, 3), True, (1, 1), (2, 1), (2, 3), 1),
    ("group", (2, 4, 6, 6), (6, 2, 3, 3), True, (2, 1), (1, 1), (1, 1), 2),
    ("depthwise", (2, 3, 5, 5), (3, 1, 3, 3), False, (1, 1), (1, 1), (1, 1), 3),
    ("pointwise", (2, 5, 4, 3), (3, 5, 1, 1), True, (1, 1), (0, 0), (1, 1), 1),
    ("pointwise_s2", (2, 4, 5, 6), (3, 4, 1, 1), False, (2, 2), (0, 0), (1, 1), 1),
]


def gen_conv():
    out = {}
    for name, xs, ws, bias, st, pad, dil, grp in CONV_CASES:
        g = rng(f"nn_conv2d.{name}")
        ins = _conv_inputs(g, xs, ws, bias)
        fn = (lambda st, pad, dil, grp: lambda x, w, b=None: F.conv2d(x, w, b, st, pad, dil, grp))(
            st, pad, dil, grp)
        _run(fn, ins, g, name, out)
    write_fixture("nn_conv2d.txt", out,
                  "F.conv2d, float64 reference; cases and arguments: see CONV_CASES in tools/golden/nn.py")


def gen_pooling():
    out = {}
    ties = torch.randint(-2, 3, (2, 2, 6, 6), generator=rng("nn_pooling.ties")).float()
    _unary("nn_pooling", [
        ("mp2", (2, 3, 6, 8), lambda x: F.max_pool2d(x, 2)),
        ("mp2odd", (1, 2, 7, 9), lambda x: F.max_pool2d(x, 2)),
        ("mpties", ties, lambda x: F.max_pool2d(x, 2)),
        ("mptiesov", ties, lambda x: F.max_pool2d(x, 3, 2, 1)),
        ("mp3s2p1", (2, 2, 7, 7), lambda x: F.max_pool2d(x, 3, 2, 1)),
        ("mpdilceil", (1, 2, 8, 9),
         lambda x: F.max_pool2d(x, (3, 2), (2, 1), (1, 0), (1, 2), ceil_mode=True)),
        ("ap3s2p1", (2, 2, 7, 6), lambda x: F.avg_pool2d(x, 3, 2, 1)),
        ("apnopad", (1, 2, 7, 6),
         lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
        ("apceil", (1, 2, 7, 6), lambda x: F.avg_pool2d(x, (2, 3), (2, 2), (1, 1), ceil_mode=True)),
        ("apdiv", (1, 2, 6, 6), lambda x: F.avg_pool2d(x, 2, 2, 1, divisor_override=3)),
        ("aap1", (2, 3, 5, 7), lambda x: F.adaptive_avg_pool2d(x, 1)),
        ("aap32", (2, 2, 7, 5), lambda x: F.adaptive_avg_pool2d(x, (3, 2))),
        ("aap44", (1, 2, 5, 7), lambda x: F.adaptive_avg_pool2d(x, 4)),
    ], out)
    write_fixture("nn_pooling.txt", out, "F.max_pool2d / avg_pool2d / adaptive_avg_pool2d, float64 reference;"
                  " arguments: see gen_pooling in tools/golden/nn.py")


def _bn_case(out, prefix, module, shape, scale=1.0, shift=0.0, steps=1, relu=False):
    """Draws x (shape, scaled and shifted), loads random affine params / running
    stats, runs `steps` forward passes (backprop of the last one), stores
    everything. With relu, y = F.relu(module(x)) (polygrad's batch_norm_relu),
    and beta drawn 10x smaller, so the ReLU cuts about half of every channel."""
    g = rng(f"nn_batchnorm.{prefix}")
    x = _f32(g, *shape, scale=scale) + shift
    m = module.double()
    with torch.no_grad():
        if m.affine:
            m.weight.copy_(_f32(g, m.num_features).double() * 0.5 + 1.0)
            m.bias.copy_(_f32(g, m.num_features).double() * (0.1 if relu else 1.0))
            out[f"{prefix}.weight"] = m.weight.float()
            out[f"{prefix}.bias"] = m.bias.float()
        if m.track_running_stats:
            m.running_mean.copy_(_f32(g, m.num_features).double() * 0.2)
            m.running_var.copy_(_f32(g, m.num_features).double().abs() + 0.5)
            out[f"{prefix}.running_mean0"] = m.running_mean.float()
            out[f"{prefix}.running_var0"] = m.running_var.float()
    out[f"{prefix}.x"] = x
    xd = x.double().requires_grad_(True)
    for _ in range(steps - 1):
        m(xd * 0.5 + 0.25)  # an earlier step on other data (same for polygrad)
    y = F.relu(m(xd)) if relu else m(xd)
    gy = torch.randn(*y.shape, generator=g).float()
    y.backward(gy.double())
    out[f"{prefix}.y"] = y.detach()
    out[f"{prefix}.gy"] = gy
    out[f"{prefix}.dx"] = xd.grad
    if m.affine:
        out[f"{prefix}.dweight"] = m.weight.grad
        out[f"{prefix}.dbias"] = m.bias.grad
    if m.track_running_stats:
        out[f"{prefix}.running_mean"] = m.running_mean
        out[f"{prefix}.running_var"] = m.running_var
        out[f"{prefix}.num_batches_tracked"] = m.num_batches_tracked.reshape(())


def gen_batchnorm():
    out = {}
    _bn_case(out, "bn2d_train", nn.BatchNorm2d(3).train(), (4, 3, 5, 5), scale=2.0, shift=1.0)
    _bn_case(out, "bn2d_eval", nn.BatchNorm2d(3).eval(), (4, 3, 5, 5), scale=2.0, shift=1.0)
    _bn_case(out, "bn1d_nc", nn.BatchNorm1d(5).train(), (6, 5), shift=-0.5)
    _bn_case(out, "bn1d_ncl", nn.BatchNorm1d(3).train(), (4, 3, 7))
    _bn_case(out, "bn2d_plain", nn.BatchNorm2d(2, affine=False, track_running_stats=False).eval(),
             (3, 2, 4, 4))
    _bn_case(out, "bn2d_cma", nn.BatchNorm2d(3, momentum=None).train(), (2, 3, 3, 4), steps=2)
    _bn_case(out, "bn2d_m03", nn.BatchNorm2d(3, momentum=0.3, eps=1e-3).train(), (2, 3, 3, 4))
    # relu(batch_norm(x)) as one node (polygrad's BatchNorm*.forward_relu)
    _bn_case(out, "bnrelu2d_train", nn.BatchNorm2d(3).train(), (4, 3, 5, 5), scale=2.0, shift=0.3,
             relu=True)
    _bn_case(out, "bnrelu2d_eval", nn.BatchNorm2d(3).eval(), (4, 3, 5, 5), scale=2.0, shift=0.3,
             relu=True)
    _bn_case(out, "bnrelu1d_nc", nn.BatchNorm1d(5).train(), (6, 5), relu=True)
    write_fixture("nn_batchnorm.txt", out,
                  "nn.BatchNorm1d/2d, float64 reference; cases: see gen_batchnorm in tools/golden/nn.py")


def gen_activation():
    out = {}
    x = _f32(rng("nn_activation.x"), 5, 7, scale=2.0)  # one input for all
    _unary("nn_activation", [
        ("relu", x, lambda x: F.relu(x)),
        ("leaky", x, lambda x: F.leaky_relu(x, 0.2)),
        ("gelu", x, lambda x: F.gelu(x)),
        ("gelu_tanh", x, lambda x: F.gelu(x, approximate="tanh")),
        ("silu", x, lambda x: F.silu(x)),
        ("sigmoid", x, lambda x: torch.sigmoid(x)),
        ("tanh", x, lambda x: torch.tanh(x)),
        ("softmax1", x, lambda x: F.softmax(x, dim=1)),
        ("logsoftmax0", x, lambda x: F.log_softmax(x, dim=0)),
    ], out)
    write_fixture("nn_activation.txt", out, "activations, float64 reference (tools/golden/nn.py)")


class ResBlock(nn.Module):
    """The block tests/test_nn_layers.cpp builds from polygrad layers."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + self.shortcut(x))


def gen_resblock():
    out = {}
    g = rng("nn_resblock")
    m = ResBlock(4, 6, 2).double().train()
    with torch.no_grad():  # every parameter drawn from g: torch's init does not matter
        for k, v in m.named_parameters():
            v.copy_(_f32(g, *v.shape).double() * (0.3 if v.dim() > 1 else 1.0) + (1.0 if k.endswith("bn1.weight") else 0.0))
    for k, v in m.state_dict().items():
        if v.dtype == torch.float64:
            out[f"init.{k}"] = v.float()
    x = _f32(g, 2, 4, 8, 8)
    xd = x.double().requires_grad_(True)
    y = m(xd)
    gy = torch.randn(*y.shape, generator=g).float()
    y.backward(gy.double())
    out["x"] = x
    out["y"] = y.detach()
    out["gy"] = gy
    out["dx"] = xd.grad
    for k, v in m.named_parameters():
        out[f"grad.{k}"] = v.grad
    for k, v in m.state_dict().items():
        if "running" in k:
            out[f"after.{k}"] = v
    write_fixture("nn_resblock.txt", out,
                  "ResBlock(4, 6, stride 2) of tools/golden/nn.py in train mode, float64 reference")


def gen_fused():
    out = {}
    # many windows max <= 0
    ties = torch.randint(-3, 2, (2, 2, 6, 6), generator=rng("nn_fused.ties")).float()
    _unary("nn_fused", [
        ("rmp2", (2, 3, 6, 8), lambda x: F.max_pool2d(F.relu(x), 2)),
        ("rmp2odd", (1, 2, 7, 9), lambda x: F.max_pool2d(F.relu(x), 2)),
        ("rmpties", ties, lambda x: F.max_pool2d(F.relu(x), 2)),
        ("rmp3s2p1", (2, 2, 7, 7), lambda x: F.max_pool2d(F.relu(x), 3, 2, 1)),
        ("rmptiesov", ties, lambda x: F.max_pool2d(F.relu(x), 3, 2, 1)),
    ], out)
    # conv2d, relu, max-pool (polygrad's conv2d_relu_max_pool2d / Sequential(Conv2d, ReLU, MaxPool2d))
    crp = [
        # name, x shape, w shape, bias, conv stride, padding, dilation, groups, pool k, s, p, ceil
        ("crp", (2, 2, 8, 7), (3, 2, 3, 3), True, 1, 1, 1, 1, 2, 2, 0, False),
        ("crpstrided", (2, 4, 9, 8), (6, 2, 3, 2), True, (2, 1), (1, 0), (1, 2), 2, 3, 2, 1, True),
        ("crpnobias", (1, 3, 6, 6), (2, 3, 1, 1), False, 1, 0, 1, 1, 2, 2, 0, False),
    ]
    for name, xs, ws, bias, st, pad, dil, grp, pk, ps, pp, ceil in crp:
        g = rng(f"nn_fused.{name}")
        ins = _conv_inputs(g, xs, ws, bias)
        fn = (lambda st, pad, dil, grp, pk, ps, pp, ceil: lambda x, w, b=None: F.max_pool2d(
            F.relu(F.conv2d(x, w, b, st, pad, dil, grp)), pk, ps, pp, ceil_mode=ceil))(
                st, pad, dil, grp, pk, ps, pp, ceil)
        _run(fn, ins, g, name, out)
    write_fixture("nn_fused.txt", out, "F.max_pool2d(F.relu(x), ...) and F.max_pool2d(F.relu(F.conv2d(...)), ...),"
                  " float64 reference;"
                  " arguments: see gen_fused in tools/golden/nn.py")


def generate():
    gen_linear()
    gen_conv()
    gen_pooling()
    gen_batchnorm()
    gen_activation()
    gen_resblock()
    gen_fused()
