"""A checkpoint written by PyTorch's side, for test_checkpoint_interop.cpp.

A model of real nn.Linear / nn.BatchNorm1d layers (make_model) whose
parameters are random (BatchNorm's gamma and beta too, so a loader that
ignores them fails) and whose running statistics come from 40 train-mode
forwards (num_batches_tracked = 40, int64). The first Linear's row 0 is
scaled by 0.05, so BatchNorm channel 0 has a small running variance (~0.02)
and eps (1e-5) moves its output by ~2e-4 relative: a wrong eps is visible.

Writes
  checkpoint_torch_model.safetensors  model.state_dict(), written like the
                    safetensors package does (tools/safetensors_check.py's
                    writer), metadata {"format": "pt"}
  checkpoint_torch_model.txt
    sd.<name>       every tensor of that state_dict (to compare after loading)
    order.<name>    its position in torch's state_dict order (int64 scalar)
    x, y            an input (6, 4) and the eval-mode output, the model
                    evaluated in float64 from the stored float32 values
    xb, yt          a batch (8, 4) and the train-mode output (BatchNorm uses
                    the batch statistics), float64 as above
    after.<name>    features.1's running_mean / running_var /
                    num_batches_tracked after that train-mode forward
Run: /usr/bin/python3 tools/gen_golden.py checkpoint
"""
import copy

import torch
import torch.nn as nn

import safetensors_check
from golden_io import fixture_path, read_fixture, rng, write_fixture

NAME = "checkpoint_torch_model"
TORCH_DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def make_model():
    """The architecture (mirrored by test_checkpoint_interop.cpp's Net)."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(),
                                          nn.Linear(3, 5))
            self.head = nn.Linear(5, 2)

        def forward(self, x):
            return self.head(self.features(x))

    return Net()


def reference_io():
    """The committed fixture's eval input and output (for safetensors_check.py --torch)."""
    f = read_fixture(NAME + ".txt")
    return f["x"], f["y"]


def generate():
    g = rng(NAME)
    model = make_model()
    with torch.no_grad():  # every parameter drawn from g: torch's init does not matter
        for name, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        bn = model.features[1]
        bn.weight.copy_(torch.rand(3, generator=g) + 0.5)  # gamma in [0.5, 1.5)
        bn.bias.copy_(torch.rand(3, generator=g) * 0.6)  # beta >= 0: most ReLUs pass
        model.features[0].weight[0] *= 0.05  # channel 0: small variance, eps matters
        model.train()
        # Running statistics: 40 updates of momentum 0.1 leave 0.9^40 = 1.5 %
        # of the initial (0, 1), so channel 0's running_var is its own (~0.01).
        for _ in range(40):
            model(torch.randn(16, 4, generator=g) * 2 + 1)
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    # Drawn like the training batches, so that the running statistics fit.
    x = torch.randn(6, 4, generator=g) * 2 + 1
    xb = torch.randn(8, 4, generator=g) * 2 + 1

    # float64 references from the stored float32 values.
    with torch.no_grad():
        m64 = copy.deepcopy(model).double().eval()
        y = m64(x.double())
        m64.train()
        yt = m64(xb.double())
    out = {"x": x, "y": y, "xb": xb, "yt": yt}
    out.update({"sd." + k: v for k, v in sd.items()})
    out.update({"order." + k: torch.tensor(i) for i, k in enumerate(sd)})
    bn64 = m64.features[1]
    out.update({"after.features.1." + k: getattr(bn64, k)
                for k in ("running_mean", "running_var", "num_batches_tracked")})
    assert out["after.features.1.num_batches_tracked"].item() == 41
    assert bn.running_var[0] < 0.05, "channel 0 should have a small variance"

    path = fixture_path(NAME + ".safetensors")
    safetensors_check.write(
        path, [(k, TORCH_DTYPES[v.dtype], list(v.shape), v.contiguous().numpy().tobytes())
               for k, v in sd.items()], {"format": "pt"})
    # The pure-Python reader gives back exactly what was written.
    back = safetensors_check.read(path)
    assert sorted(e.name for e in back.entries) == sorted(sd)
    for e in back.entries:
        assert back.raw(e) == sd[e.name].numpy().tobytes(), e.name
    write_fixture(NAME + ".txt", out,
                  "tools/golden/checkpoint.py: the state_dict in checkpoint_torch_model.safetensors\n"
                  "(sd.<name>, order.<name> = its position), eval-mode x -> y, train-mode xb -> yt\n"
                  "and features.1's running statistics after it (after.<name>); float64 references")
