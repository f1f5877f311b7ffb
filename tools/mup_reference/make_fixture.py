#!/usr/bin/env python3
"""Writes tests/data/mup_reference.h5: microsoft/mup's µP, parameter by parameter, for mutrain's
GPT and MLP at widths 64..1024 around base width 128, which tests/mup/test_mup_reference.cpp
compares mutrain's rules with (CI reads the committed file and needs neither torch nor mup).

Rerun (Debian's python3-torch 1.13 and python3-yaml; microsoft/mup from a checkout of
github.com/microsoft/mup, pure Python):
    git -C MUP_CHECKOUT archive HEAD mup | tar -x -C /tmp/mupref
    PYTHONPATH=/tmp/mupref:tools/mup_reference /usr/bin/python3 \\
        tools/mup_reference/make_fixture.py --mup-commit $(git -C MUP_CHECKOUT rev-parse HEAD)

Layout (every number float64):
  /                     attrs: mup_commit, torch_version, base_width, widths, seeds, command
  /<model>/input        the fixed input the logits are measured on (gpt: tokens (4, 64); mlp:
                        features (32, 784) ~ N(0, 1), like normalised MNIST pixels)
  /<model>/<preset>/w<W>              attrs: width, base_width, width_mult, logits_std (mean over
                                      the seeds of the std of all logits at init), logits_std_sem
  /<model>/<preset>/w<W>/<parameter>  attrs: shape, width_dims (mup's InfShape.ninf()),
        rescale (the factor set_base_shapes multiplied the drawn init by: the ratio of the
        parameter's values after and before, 1 for parameters drawn as zeros or ones),
        preset_std (the preset's std before the rescale), init_std (= preset_std x rescale),
        sampled_std (the values' std after the rescale, seed 0), adamw_lr, adamw_wd (MuAdamW's lr
        and weight decay for lr 1, weight decay 1), sgd_lr, sgd_wd (MuSGD's), forward_mult
  models: gpt (depth 2, 4 heads, context 64, vocab 256, attention attn_mult / d_head) and mlp
  (784 -> w -> w -> w -> 10, ReLU, biases); presets: torch and normal (torch_models.py).
  /coord/<model>        microsoft/mup's coordinate check with a random readout, as
                        tests/mup/slow_coord_check.cpp runs mutrain's (base width 64, widths
                        64..512, MuAdamW lr 0.003, 5 steps, the normal preset, fp32; gpt: depth 2,
                        context 32, batch 8 of SOTU text, 3 seeds; mlp: depth 3, batch 64 of
                        MNIST, 16 seeds; each seed's batches are mutrain's windows for that seed,
                        the probe is seed 0's first batch): layers (names), mean_abs (width,
                        step, layer; step 0 = init) and slope (step, layer) of log(mean |x|)
                        against log(width). Needs data/sotu and data/mnist
                        (scripts/install_data.sh).
"""
import argparse
import math
import sys

import h5py
import numpy as np
import torch

import mutrain_data as md
import torch_models as tm

BASE = 128
WIDTHS = [64, 128, 256, 512, 1024]
SEEDS = 16


def preset_std(model, name, param, preset):
    """The std the preset draws a parameter with, before µP's rescale."""
    module = model.get_submodule(name.rsplit(".", 1)[0])
    if isinstance(module, torch.nn.Embedding):
        return 1.0
    if isinstance(module, torch.nn.Linear):
        if getattr(module, "readout_zero_init", False):
            return 0.0
        fan_in = module.in_features
        if preset == "torch":  # U(+-1/sqrt(fan_in)) for weight and bias
            return 1.0 / math.sqrt(3.0 * fan_in)
        return 1.0 / math.sqrt(fan_in) if name.endswith(".weight") else 0.0
    return 0.0  # norm gains: ones


def rescale_factor(before, after):
    b = before.double().flatten()
    if torch.count_nonzero(b) == 0 or torch.all(b == b[0]):
        return 1.0  # zeros and ones are not rescaled by a factor one can read; mup leaves them
    return float(after.double().flatten().dot(b) / b.dot(b))


def parameter_table(kind, preset, width, kw):
    """Per parameter: mup's rescale, stds, optimizer multipliers and forward multiplier."""
    torch.manual_seed(0)
    cls = tm.GPT if kind == "gpt" else tm.MLP
    model = cls(width, mup_readout=True, **kw)
    if preset == "normal":
        tm.apply_normal_preset(model)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    base = cls(BASE, mup_readout=True, **kw)
    delta = cls(2 * BASE, mup_readout=True, **kw)
    tm.mup.set_base_shapes(model, base, delta=delta)
    adamw = tm.optimizer_multipliers(model, "adamw")
    sgd = tm.optimizer_multipliers(model, "sgd")
    rows = {}
    for name, p in model.named_parameters():
        rescale = rescale_factor(before[name], p.detach())
        std0 = preset_std(model, name, p, preset)
        rows[name] = dict(shape=np.array(p.shape, dtype=np.int64), width_dims=p.infshape.ninf(),
                          rescale=rescale, preset_std=std0, init_std=std0 * rescale,
                          sampled_std=float(p.detach().double().std(unbiased=False)),
                          adamw_lr=adamw[name][0], adamw_wd=adamw[name][1], sgd_lr=sgd[name][0],
                          sgd_wd=sgd[name][1], forward_mult=tm.forward_multiplier(model, name))
    return rows


def logits_std(kind, preset, width, kw, x):
    """Mean and standard error over SEEDS of the std of every logit at init on input x."""
    stds = []
    with torch.no_grad():
        for seed in range(SEEDS):
            torch.manual_seed(seed)
            model = tm.build(kind, width, BASE, preset=preset, **kw)
            stds.append(float(model(x).double().std(unbiased=False)))
    return float(np.mean(stds)), float(np.std(stds, ddof=1) / math.sqrt(SEEDS))


COORD_WIDTHS = [64, 128, 256, 512]


def coord_check(kind, data, seeds, steps=5):
    """The reference's mean |x| per (width, step, layer) and slopes (step, layer)."""
    if kind == "gpt":
        kw, batch = dict(depth=2, heads=4, context=32, vocab=256), 8
        draw = lambda seed, step: tuple(torch.from_numpy(a) for a in
                                        data.train_batch(seed, step, batch, 32))
    else:
        kw, batch = dict(depth=3), 64
        draw = lambda seed, step: tuple(torch.from_numpy(a) for a in
                                        data.train_batch(seed, step, batch))
    probe = draw(0, 0)[0]
    names, table = None, []
    for width in COORD_WIDTHS:
        acc = None
        for seed in range(seeds):
            torch.manual_seed(seed)
            model = tm.build(kind, width, 64, preset="normal", **kw)
            opt = tm.mup.MuAdamW(model.parameters(), lr=0.003)
            modules = [(n, m) for n, m in model.named_modules() if n]
            rows = []
            for step in range(steps + 1):
                if step > 0:
                    x, y = draw(seed, step - 1)
                    logits = model(x)
                    loss = torch.nn.functional.cross_entropy(
                        logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                out = {}
                hooks = [m.register_forward_hook(
                    lambda m, i, o, n=n: out.__setitem__(n, float(o.abs().mean())))
                    for n, m in modules if n not in ("blocks", "hidden")]
                with torch.no_grad():
                    model(probe)
                for h in hooks:
                    h.remove()
                names = names or sorted(out)
                rows.append([out[n] for n in names])
            a = np.array(rows) / seeds
            acc = a if acc is None else acc + a
        table.append(acc)
    table = np.array(table)  # (width, step, layer)
    lw = np.log(COORD_WIDTHS)
    slope = np.array([[np.polyfit(lw, np.log(table[:, s, l]), 1)[0] for l in range(len(names))]
                      for s in range(steps + 1)])
    return names, table, slope


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mup-commit", required=True, help="the microsoft/mup commit on PYTHONPATH")
    ap.add_argument("--out", default="tests/data/mup_reference.h5")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(27)
    inputs = {"gpt": rng.integers(0, 256, size=(4, 64)).astype(np.int64),
              "mlp": rng.standard_normal((32, 784)).astype(np.float32)}
    configs = {"gpt": dict(depth=2, heads=4, context=64, vocab=256), "mlp": dict(depth=3)}
    with h5py.File(args.out, "w") as f:
        f.attrs["mup_commit"] = args.mup_commit
        f.attrs["torch_version"] = str(torch.__version__)
        f.attrs["base_width"] = BASE
        f.attrs["widths"] = np.array(WIDTHS, dtype=np.int64)
        f.attrs["seeds"] = SEEDS
        f.attrs["command"] = " ".join(["tools/mup_reference/make_fixture.py"] + sys.argv[1:])
        for kind, kw in configs.items():
            f[f"{kind}/input"] = inputs[kind]
            x = torch.from_numpy(inputs[kind])
            for preset in ("torch", "normal"):
                for width in WIDTHS:
                    g = f.create_group(f"{kind}/{preset}/w{width}")
                    g.attrs["width"], g.attrs["base_width"] = width, BASE
                    g.attrs["width_mult"] = width / BASE
                    mean, sem = logits_std(kind, preset, width, kw, x)
                    g.attrs["logits_std"], g.attrs["logits_std_sem"] = mean, sem
                    for name, row in parameter_table(kind, preset, width, kw).items():
                        d = g.create_group(name)
                        for k, v in row.items():
                            d.attrs[k] = v
                    print(f"{kind} {preset} w{width}: logits std {mean:.4f} +- {sem:.4f}")
        coord = {"gpt": (md.TextWindows("data/sotu", 0.1), 3), "mlp": (md.Mnist("data/mnist"), 16)}
        for kind, (data, seeds) in coord.items():
            names, table, slope = coord_check(kind, data, seeds)
            f[f"coord/{kind}/layers"] = np.array(names, dtype=h5py.string_dtype())
            f[f"coord/{kind}/mean_abs"] = table
            f[f"coord/{kind}/slope"] = slope
            for n, row in zip(names, slope.T):
                print(f"coord {kind} {n:20s}", " ".join(f"{v:+.3f}" for v in row))


if __name__ == "__main__":
    main()
