#!/usr/bin/env python3
"""End-to-end µP parity: the byte-level GPT (or the MNIST MLP) trained by mutrain and by PyTorch +
microsoft/mup on the same data windows (mutrain's Philox draws, mutrain_data.py), the same schedule
and the same hyperparameters, at several widths and seeds; prints both final validation losses per
width.

    git -C MUP_CHECKOUT archive HEAD mup | tar -x -C /tmp/mupref
    PYTHONPATH=/tmp/mupref /usr/bin/python3 tools/mup_reference/parity.py configs/transfer_gpt.yaml \\
        --widths 128,256,512,1024 --seeds 0,1 [--set KEY=VALUE ...] [--out runs/parity]

For every (width, seed) mutrain trains first (`mutrain train CONFIG --set model.width=W --set
seed=S ...`, skipped when its summary.yaml exists), then PyTorch trains from that run's resolved
config.yaml: the GPT of torch_models.py under mup.set_base_shapes (base: parametrization.base_width)
with the config's init preset, attention scale, output_mult and readout_zero_init; mup.MuAdamW with
the config's lr, betas, eps and weight decay; mutrain's schedule; bf16 products under
torch.autocast when train.precision is bf16. Validation: every consecutive window of the
validation split, as mutrain's final evaluation. The initial weights are drawn by each framework
from the seed with its own generator, so the two sides agree in distribution, not bitwise: the
comparison is against the seed spread. Results go to OUT/parity.tsv (one row per run, resumable).

Only what mutrain and mup share is compared: AdamW on every role, every per-role multiplier and
input_mult 1, no depth µP, one rank; anything else is refused. Under `type: sp` the PyTorch side
is plain PyTorch (nn.Linear readout, torch.optim.AdamW, no base shapes): the standard
parametrization both frameworks share.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mutrain_data as md  # noqa: E402
import torch_models as tm  # noqa: E402

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def refuse(cfg):
    """The settings parity covers; a reason string for anything else."""
    pz, opt = cfg["parametrization"], cfg["optimizer"]
    if any(v != "adamw" for v in opt["groups"].values()):
        return "optimizer.groups must put every role on adamw (microsoft/mup has no Muon)"
    for k in ("lr_mult", "init_std_mult"):
        if any(float(v) != 1.0 for v in pz[k].values()):
            return f"parametrization.{k} must be 1 for every role"
    if float(pz["input_mult"]) != 1.0 or float(pz["depth_alpha"]) != 0.0:
        return "input_mult 1 and depth_alpha 0 only"
    model, data = cfg["model"], cfg["data"]["name"]
    if (model["name"], data) not in (("gpt", "text"), ("mlp", "mnist")):
        return "the gpt on text or the mlp on mnist only"
    if model["name"] == "gpt" and (model.get("bias") or float(model.get("mlp_ratio", 4)) != 4.0):
        return "model.bias false and mlp_ratio 4 only"
    if model["name"] == "mlp" and (model.get("activation", "relu") != "relu" or
                                   not model.get("bias", True)):
        return "the mlp with relu and biases only"
    return None


def run_mutrain(exe, config, width, seed, sets, out):
    name = f"mutrain_w{width}_s{seed}"
    run = os.path.join(out, name)
    if not os.path.exists(os.path.join(run, "summary.yaml")):
        cmd = [exe, "train", config, "--set", f"model.width={width}", "--set", f"seed={seed}",
               "--set", f"name={name}", "--out", out]
        for s in sets:
            cmd += ["--set", s]
        with open(os.path.join(out, name + ".log"), "w") as log:
            subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=True)
    return run


class Data:
    """mutrain's batches of the config's dataset: text windows or MNIST draws."""

    def __init__(self, cfg):
        d = cfg["data"]
        # (a relative data.path is relative to the working directory, as for mutrain)
        self.text = d["name"] == "text"
        self.src = md.TextWindows(d["path"], float(d["val_fraction"])) if self.text \
            else md.Mnist(d["path"])
        self.seq = int(cfg["model"]["context"]) if self.text else 1

    def train(self, seed, step, batch):
        a = self.src.train_batch(seed, step, batch, self.seq) if self.text \
            else self.src.train_batch(seed, step, batch)
        return tuple(torch.from_numpy(x) for x in a)

    def val(self):
        return self.src.val_windows(self.seq) if self.text else (self.src.test_x, self.src.test_y)


def evaluate(model, data, batch, bf16):
    x_all, y_all = data.val()
    total, count = 0.0, 0
    model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for i in range(0, len(x_all), batch):
            x = torch.from_numpy(x_all[i:i + batch])
            y = torch.from_numpy(y_all[i:i + batch])
            logits = model(x).float()
            total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                           reduction="sum"))
            count += y.numel()
    model.train()
    return total / count


def make_model(cfg):
    m, pz = cfg["model"], cfg["parametrization"]
    width = int(m["width"])
    mup_on = pz["type"] == "mup"  # sp: plain PyTorch (nn.Linear readout, no base shapes)
    common = dict(preset=pz["init"], output_mult=float(pz["output_mult"]),
                  readout_zero_init=bool(pz["readout_zero_init"]) and mup_on, mup_on=mup_on)
    if m["name"] == "mlp":
        return tm.build("mlp", width, int(pz["base_width"]) or width, depth=int(m["depth"]),
                        **common)
    model = tm.build("gpt", width, int(pz["base_width"]) or width, depth=int(m["depth"]),
                     heads=int(m["heads"]), context=int(m["context"]), vocab=256,
                     attn_scale=pz["attn_scale"], attn_mult=float(pz["attn_mult"]), **common)
    if pz["query_zero_init"] and mup_on:
        for block in model.blocks:
            torch.nn.init.zeros_(block.attn.q.weight)
    return model


def train_torch(cfg, data):
    """Train the reference on mutrain's batches; returns (final val loss, mean of the last 10
    training losses)."""
    tr, sc, adamw = cfg["train"], cfg["schedule"], cfg["optimizer"]["adamw"]
    seed = int(cfg["seed"])
    torch.manual_seed(seed)
    model = make_model(cfg)
    make = tm.mup.MuAdamW if cfg["parametrization"]["type"] == "mup" else torch.optim.AdamW
    opt = make(model.parameters(), lr=float(adamw["lr"]),
                         betas=tuple(float(b) for b in adamw["betas"]), eps=float(adamw["eps"]),
                         weight_decay=float(adamw["weight_decay"]))
    base_lrs = [g["lr"] for g in opt.param_groups]
    steps, batch = int(tr["steps"]), int(tr["batch_size"])
    bf16 = tr["precision"] == "bf16"
    losses = []
    for step in range(steps):
        f = md.lr_factor(step, steps, int(sc.get("warmup_steps", 0)), sc["name"],
                         float(sc.get("min_lr_ratio", 0.1)), float(sc.get("decay_fraction", 0.2)))
        for g, lr in zip(opt.param_groups, base_lrs):
            g["lr"] = lr * f
        x, y = data.train(seed, step, batch)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return evaluate(model, data, batch, bf16), float(np.mean(losses[-10:]))


def load_rows(path):
    rows = {}
    if os.path.exists(path):
        for line in open(path).read().splitlines()[1:]:
            w, s, a, b, t = line.split("\t")
            rows[(int(w), int(s))] = (float(a), float(b), float(t))
    return rows


def report(rows, widths):
    ref = "PyTorch (+ microsoft/mup) val (seeds)"
    print(f"{'width':>6} | {'mutrain val (seeds)':>34} | {ref:>34} | diff")
    for w in widths:
        a = [rows[k][0] for k in sorted(rows) if k[0] == w]
        b = [rows[k][1] for k in sorted(rows) if k[0] == w]
        if not a:
            continue
        fa = ", ".join(f"{v:.4f}" for v in a)
        fb = ", ".join(f"{v:.4f}" for v in b)
        print(f"{w:>6} | {np.mean(a):.4f} ({fa:>24}) | {np.mean(b):.4f} ({fb:>24}) | "
              f"{np.mean(a) - np.mean(b):+.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config")
    ap.add_argument("--widths", default="128,256,512,1024")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--set", action="append", default=[], dest="sets", metavar="KEY=VALUE")
    ap.add_argument("--out", default="runs/parity")
    ap.add_argument("--mutrain", default=os.path.join(SRC, "build", "mutrain"))
    ap.add_argument("--threads", type=int, default=2, help="PyTorch's intra-op threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    widths = [int(w) for w in args.widths.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    tsv = os.path.join(args.out, "parity.tsv")
    rows = load_rows(tsv)
    for width in widths:
        for seed in seeds:
            if (width, seed) in rows:
                continue
            run = run_mutrain(args.mutrain, args.config, width, seed, args.sets, args.out)
            cfg = yaml.safe_load(open(os.path.join(run, "config.yaml")))
            why = refuse(cfg)
            if why:
                sys.exit(f"[parity] {why}")
            mutrain_val = float(yaml.safe_load(open(os.path.join(run, "summary.yaml")))["val_loss"])
            t0 = time.time()
            torch_val, torch_train = train_torch(cfg, Data(cfg))
            rows[(width, seed)] = (mutrain_val, torch_val, time.time() - t0)
            print(json.dumps({"width": width, "seed": seed, "mutrain_val": mutrain_val,
                              "torch_val": torch_val, "torch_train_last10": torch_train,
                              "torch_seconds": round(time.time() - t0, 1)}), flush=True)
            with open(tsv, "w") as f:
                f.write("width\tseed\tmutrain_val\ttorch_val\ttorch_seconds\n")
                for (w, s), (a, b, t) in sorted(rows.items()):
                    f.write(f"{w}\t{s}\t{a:.6f}\t{b:.6f}\t{t:.1f}\n")
    report(rows, widths)


if __name__ == "__main__":
    main()
