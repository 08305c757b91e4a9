"""Golden values for optim/ and nn::utils::clip_grad_norm_ (PyTorch 1.13).

Writes
  optim_steps.txt      a small MLP's parameters after 10 steps of each
                       optimizer configuration, and the final state buffers
  optim_schedules.txt  lr (and momentum) sequences of the lr schedulers
  optim_clip.txt       clip_grad_norm_ totals and clipped gradients
Random values come from rng(<fixture>): every configuration starts from the
same drawn MLP, every clip case clips the same drawn gradients.
Run: /usr/bin/python3 tools/gen_golden.py optim
"""
import torch

from golden_io import rng, write_fixture

STEPS = 10
PARAM_NAMES = ["W1", "b1", "W2", "b2", "unused"]


def _init():
    g = rng("optim_steps")
    t = {
        "x": torch.randn(8, 5, generator=g),
        "y": torch.randn(8, 3, generator=g),
        "W1": torch.randn(5, 6, generator=g) * 0.5,
        "b1": torch.randn(6, generator=g) * 0.1,
        "W2": torch.randn(6, 3, generator=g) * 0.5,
        "b2": torch.randn(3, generator=g) * 0.1,
        "unused": torch.randn(2, 2, generator=g),  # never gets a grad: must not move
    }
    return t


def _loss(x, y, W1, b1, W2, b2):
    # Must match tests/test_optim_golden.cpp's forward exactly.
    h = torch.tanh(x @ W1 + b1)
    d = h @ W2 + b2 - y
    return (d * d).mean()


# name -> (optimizer class, groups spec or None, kwargs). A groups spec is a
# list of (param names, per-group overrides).
CONFIGS = {
    "sgd": (torch.optim.SGD, None, dict(lr=0.1)),
    "sgd_momentum_dampening": (torch.optim.SGD, None, dict(lr=0.1, momentum=0.9, dampening=0.1)),
    "sgd_nesterov": (torch.optim.SGD, None, dict(lr=0.05, momentum=0.9, nesterov=True)),
    "sgd_weight_decay": (torch.optim.SGD, None, dict(lr=0.1, momentum=0.5, weight_decay=0.01)),
    "sgd_maximize": (torch.optim.SGD, None, dict(lr=0.01, momentum=0.9, maximize=True)),
    "sgd_groups": (torch.optim.SGD,
                   [(["W1", "b1"], {}), (["W2", "b2", "unused"], dict(lr=0.01, momentum=0.5))],
                   dict(lr=0.1, momentum=0.9, weight_decay=1e-3)),
    "adam": (torch.optim.Adam, None, dict(lr=0.01)),
    "adam_amsgrad_weight_decay": (torch.optim.Adam, None,
                                  dict(lr=0.01, betas=(0.8, 0.99), amsgrad=True, weight_decay=0.05)),
    "adam_maximize": (torch.optim.Adam, None, dict(lr=0.01, eps=1e-6, maximize=True)),
    "adam_groups": (torch.optim.Adam,
                    [(["W1", "b1"], {}), (["W2", "b2", "unused"], dict(lr=0.003, weight_decay=0.1))],
                    dict(lr=0.02)),
    "adamw": (torch.optim.AdamW, None, dict(lr=0.01)),
    "adamw_amsgrad": (torch.optim.AdamW, None,
                      dict(lr=0.01, weight_decay=0.1, amsgrad=True, eps=1e-6)),
}


def _steps():
    init = _init()
    out = {k: init[k] for k in ["x", "y"] + PARAM_NAMES}
    for name, (cls, groups, kwargs) in CONFIGS.items():
        P = {k: init[k].clone().requires_grad_(True) for k in PARAM_NAMES}
        if groups is None:
            opt = cls([P[k] for k in PARAM_NAMES], **kwargs)
            order = PARAM_NAMES
        else:
            opt = cls([dict(params=[P[k] for k in ks], **over) for ks, over in groups], **kwargs)
            order = [k for ks, _ in groups for k in ks]
        for _ in range(STEPS):
            opt.zero_grad(set_to_none=True)
            _loss(init["x"], init["y"], P["W1"], P["b1"], P["W2"], P["b2"]).backward()
            opt.step()
        for k in PARAM_NAMES:
            out[f"{name}.{k}"] = P[k].detach()
        # Final state, flattened like polygrad's Optimizer::state_dict().
        sd = opt.state_dict()
        assert sd["param_groups"][-1]["params"][-1] == len(order) - 1
        for i, st in sd["state"].items():
            for buf, v in st.items():
                if v is not None:
                    out[f"{name}.state.{i}.{buf}"] = v.reshape(v.shape)
    write_fixture("optim_steps.txt", out,
                  "10 optimizer steps on loss = mean((tanh(x W1 + b1) W2 + b2 - y)^2)\n"
                  "<config>.<param>: parameters after 10 steps; <config>.state.<i>.<buf>: final state")


def _schedules():
    import warnings
    # SequentialLR restarts a scheduler with the deprecated step(epoch): quiet.
    warnings.filterwarnings("ignore", category=UserWarning, module="torch.optim.lr_scheduler")
    out = {}

    def run(name, make, steps, opt_cls=torch.optim.SGD, momentum=False):
        w1 = torch.zeros(2, requires_grad=True)
        w2 = torch.zeros(2, requires_grad=True)
        if opt_cls is torch.optim.SGD:
            opt = opt_cls([dict(params=[w1]), dict(params=[w2], lr=0.01)], lr=0.1, momentum=0.9)
        else:
            opt = opt_cls([dict(params=[w1]), dict(params=[w2], lr=0.01)], lr=0.1)
        sched = make(opt)
        lrs, moms = [sched.get_last_lr()], []

        def mom():
            return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]

        moms.append(mom())
        for _ in range(steps):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
            moms.append(mom())
        out[f"{name}.lr"] = torch.tensor(lrs, dtype=torch.float64).float()
        if momentum:
            out[f"{name}.momentum"] = torch.tensor(moms, dtype=torch.float64).float()

    S = torch.optim.lr_scheduler
    run("step", lambda o: S.StepLR(o, step_size=3, gamma=0.5), 20)
    run("multistep", lambda o: S.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3), 15)
    run("cosine", lambda o: S.CosineAnnealingLR(o, T_max=7, eta_min=0.001), 30)
    run("linear", lambda o: S.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=6), 10)
    run("onecycle", lambda o: S.OneCycleLR(o, max_lr=[1.0, 0.1], total_steps=25), 25, momentum=True)
    run("onecycle_adam_linear",
        lambda o: S.OneCycleLR(o, max_lr=0.01, epochs=4, steps_per_epoch=5, pct_start=0.25,
                               anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0),
        20, opt_cls=torch.optim.Adam, momentum=True)
    run("onecycle_three_phase", lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=20, three_phase=True),
        20, momentum=True)
    run("warmup_cosine",
        lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=4),
                                     S.CosineAnnealingLR(o, T_max=10)], milestones=[4]), 20)
    run("warmup_step",
        lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.2, total_iters=3),
                                     S.StepLR(o, step_size=4, gamma=0.5)], milestones=[3]), 15)
    run("warmup_multistep",
        lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.5, total_iters=5),
                                     S.MultiStepLR(o, milestones=[3, 6], gamma=0.1)], milestones=[5]),
        15)
    run("warmup_onecycle",
        lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                                     S.OneCycleLR(o, max_lr=0.5, total_steps=20)], milestones=[5]),
        25, momentum=True)
    write_fixture("optim_schedules.txt", out,
                  "lr schedules on SGD(momentum 0.9) / Adam with two groups (lr 0.1 and 0.01):\n"
                  "<name>.lr[k][g] = get_last_lr() after construction (k = 0) and after k steps;\n"
                  "<name>.momentum: SGD momentum / Adam beta1 per group")


def _clip():
    g = rng("optim_clip")
    grads = [torch.randn(3, 4, generator=g), torch.randn(5, generator=g) * 3,
             torch.randn(2, 2, 2, generator=g) * 0.1]
    out = {f"g{i}": x for i, x in enumerate(grads)}
    for tag, max_norm, norm_type in [("l2", 1.0, 2.0), ("l1", 2.0, 1.0), ("linf", 0.5, float("inf")),
                                     ("l3", 1.5, 3.0), ("l2_noclip", 100.0, 2.0)]:
        ps = [torch.zeros_like(x, requires_grad=True) for x in grads]
        for p, x in zip(ps, grads):
            p.grad = x.clone()
        extra = torch.zeros(3, requires_grad=True)  # no grad: ignored
        total = torch.nn.utils.clip_grad_norm_(ps + [extra], max_norm, norm_type)
        out[f"{tag}.total"] = total.reshape(1)
        for i, p in enumerate(ps):
            out[f"{tag}.g{i}"] = p.grad
    write_fixture("optim_clip.txt", out,
                  "torch.nn.utils.clip_grad_norm_ on gradients g0, g1, g2 (+ a param without grad):\n"
                  "<case>.total and the clipped <case>.g<i>; cases: l2 (max 1), l1 (max 2), linf (max 0.5),\n"
                  "l3 (max 1.5), l2_noclip (max 100)")


def generate():
    _steps()
    _schedules()
    _clip()
