#!/usr/bin/env python3
"""The µTransfer experiments of docs/mup.md, end to end, with µP as microsoft/mup defines it:
(a) the MNIST MLP, widths 128..2048, with a constant lr and with a cosine schedule to 0; (b) the
byte-level GPT on SOTU, widths 128..1024, AdamW
everywhere and Muon on the hidden matrices; (c) depth transfer on the GPT (CompleteP against
unscaled branches). Every cell has 2 seeds (0, 1).

  standard parametrization  its lr and init preset (torch or normal) tuned on a grid at every
                            width (lr in factors of 2); a best lr on the grid's edge extends the
                            grid past it until the best is inside (so SP is tuned, not clipped);
                            with Muon, the AdamW lr and init of SP-AdamW's best at that width
  µP                        tuned at the base width 128 only (lr on a factor-2 grid, with the init
                            preset, the readout's zero init (MLP) and the attention multiplier
                            (GPT) as grid axes), then transferred by `mutrain transfer` (its rules,
                            nothing re-tuned)

    /usr/bin/python3 scripts/transfer_experiments.py [--out runs/transfer]
        [--only mlp,mlp_cosine,gpt,depth]
        [--mutrain build/mutrain]

Sweeps land in OUT/sweeps/NAME and are skipped when OUT/sweeps/NAME/.done exists (a sweep cut
short is rerun whole), so the script resumes where it stopped. OUT/report.md gets every table of
docs/mup.md with the commands' provenance; the plots are drawn with tools/transfer.py --compare
(OUT/sweeps/<exp>_sp holds links to the SP runs of the tuned init preset). About 6 hours on
2 cores; --only runs a part.
"""
import argparse
import math
import os
import shutil
import subprocess
import time

import yaml

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SEEDS = "0,1"
BASE = 128


class Runner:
    def __init__(self, mutrain, out):
        self.mutrain, self.out = mutrain, out
        self.sweeps = os.path.join(out, "sweeps")
        os.makedirs(self.sweeps, exist_ok=True)
        self.log = open(os.path.join(out, "experiments.log"), "a")

    def say(self, *a):
        line = " ".join(str(x) for x in a)
        print(line, flush=True)
        self.log.write(time.strftime("%H:%M:%S ") + line + "\n")
        self.log.flush()

    def call(self, cmd):
        self.say("$", " ".join(cmd))
        with open(os.path.join(self.out, "commands.log"), "a") as f:
            f.write(" ".join(cmd) + "\n")
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            self.say(r.stdout[-3000:])
            raise SystemExit(f"[experiments] failed ({r.returncode}): {' '.join(cmd)}")

    def sweep(self, name, config, sets=(), grids=(), widths=None):
        """mutrain sweep into OUT/sweeps/NAME unless it is done; returns its folder."""
        d = os.path.join(self.sweeps, name)
        if os.path.exists(os.path.join(d, ".done")):
            return d
        shutil.rmtree(d, ignore_errors=True)
        cmd = [self.mutrain, "sweep", config, "--set", f"name={name}", "--out", self.out]
        for s in sets:
            cmd += ["--set", s]
        if widths:
            cmd += ["--widths", ",".join(str(w) for w in widths)]
        for k, values in grids:
            cmd += ["--grid", f"{k}={','.join(fmt(v) for v in values)}"]
        cmd += ["--grid", f"seed={SEEDS}"]
        self.call(cmd)
        open(os.path.join(d, ".done"), "w").close()
        return d

    def transfer(self, name, base_dirs, widths):
        """mutrain transfer: the best point of base_dirs (mean over seeds) at every width."""
        d = os.path.join(self.sweeps, name)
        if os.path.exists(os.path.join(d, ".done")):
            return d
        shutil.rmtree(d, ignore_errors=True)
        self.call([self.mutrain, "transfer", *base_dirs, "--name", name, "--out", self.out,
                   "--widths", ",".join(str(w) for w in widths), "--grid", f"seed={SEEDS}"])
        open(os.path.join(d, ".done"), "w").close()
        return d


class Report(list):
    """The report's sections, rewritten to OUT/report.md at every append (a run cut short keeps
    the tables of the parts it finished)."""

    def __init__(self, path, header):
        super().__init__()
        self.path = path
        self.append(header)

    def append(self, text):
        super().append(text)
        with open(self.path, "w") as f:
            f.write("\n".join(self))


def fmt(v):
    return v if isinstance(v, str) else f"{v:.6g}"


def get(cfg, key):
    for k in key.split("."):
        cfg = cfg[k]
    return cfg


def results(dirs, keys):
    """{(value of each key...): [val_loss per seed]} over the finished runs of the sweeps (a run
    that did not finish all its steps, or diverged, counts as +inf)."""
    out = {}
    for d in dirs:
        for run in sorted(os.listdir(d)):
            p = os.path.join(d, run)
            if not os.path.isfile(os.path.join(p, "config.yaml")):
                continue
            cfg = yaml.safe_load(open(os.path.join(p, "config.yaml")))
            s = os.path.join(p, "summary.yaml")
            summary = yaml.safe_load(open(s)) if os.path.exists(s) else {}
            ok = summary.get("steps_done") == cfg["train"]["steps"] and \
                math.isfinite(float(summary.get("val_loss", math.inf)))
            key = tuple(get(cfg, k) for k in keys)
            out.setdefault(key, []).append(float(summary["val_loss"]) if ok else math.inf)
    return out


def mean(v):
    return sum(v) / len(v)


def best_of(res):
    return min(res, key=lambda k: mean(res[k]))


def tune_sp(r, name, config, sets, key, widths, start, extra_axes=()):
    """SP's `key` tuned per width on a factor-2 grid (start[w]), extended past an edge best.
    extra_axes: [(config key, values)] tuned jointly (the init preset). Returns {width: (best
    values, mean)} and links the best extra-axis runs of every width into OUT/sweeps/NAME."""
    best = {}
    combined = os.path.join(r.sweeps, name)
    os.makedirs(combined, exist_ok=True)
    for w in widths:
        dirs, grid = [], list(start[w])
        dirs.append(r.sweep(f"{name}_w{w}", config, sets, [(key, grid), *extra_axes], [w]))
        for ext in range(3):
            res = results(dirs, [key] + [k for k, _ in extra_axes])
            b = best_of(res)
            lo, hi = min(grid), max(grid)
            if b[0] == lo and len(grid) > 1:
                nxt = lo / 2
            elif b[0] == hi and len(grid) > 1:
                nxt = hi * 2
            else:
                break
            grid.append(nxt)
            dirs.append(r.sweep(f"{name}_w{w}_ext{ext + 1}", config, sets,
                                [(key, [nxt]), *extra_axes], [w]))
        res = results(dirs, [key] + [k for k, _ in extra_axes])
        b = best_of(res)
        best[w] = (b, mean(res[b]), res[b])
        r.say(f"[{name}] width {w}: best {b} {mean(res[b]):.4f} (seeds {res[b]})")
        for d in dirs:  # the runs of the best extra-axis values, for tools/transfer.py
            for run in os.listdir(d):
                p = os.path.join(d, run)
                if not os.path.isfile(os.path.join(p, "config.yaml")):
                    continue
                cfg = yaml.safe_load(open(os.path.join(p, "config.yaml")))
                if all(get(cfg, k) == v for (k, _), v in zip(extra_axes, b[1:])):
                    link = os.path.join(combined, f"width{w}_lr{fmt(get(cfg, key))}_"
                                                  f"seed{cfg['seed']}")
                    if not os.path.lexists(link):
                        os.symlink(os.path.relpath(p, combined), link)
    return best


def tune_base(r, name, config, sets, axes, key):
    """µP at the base width: the grid of axes (key first, factor 2), extended past an edge best
    of `key`; returns the sweep folders (for mutrain transfer) and the best point."""
    dirs = [r.sweep(name, config, sets, axes, [BASE])]
    grid = list(axes[0][1])
    for ext in range(3):
        res = results(dirs, [k for k, _ in axes])
        b = best_of(res)
        if b[0] == min(grid):
            nxt = min(grid) / 2
        elif b[0] == max(grid):
            nxt = max(grid) * 2
        else:
            break
        grid.append(nxt)
        dirs.append(r.sweep(f"{name}_ext{ext + 1}", config, sets, [(key, [nxt]), *axes[1:]],
                            [BASE]))
    res = results(dirs, [k for k, _ in axes])
    b = best_of(res)
    r.say(f"[{name}] best at width {BASE}: {b} {mean(res[b]):.4f}")
    return dirs, b, res


def table_base(res, axes):
    """Markdown: every base-width point, mean and seeds, best first."""
    lines = ["| " + " | ".join(k.split(".")[-1] for k, _ in axes) + " | val loss (seeds) |",
             "|" + "---|" * (len(axes) + 1)]
    for k in sorted(res, key=lambda k: mean(res[k])):
        seeds = ", ".join(f"{v:.4f}" for v in res[k])
        lines.append("| " + " | ".join(fmt(v) if not isinstance(v, bool) else str(v).lower()
                                       for v in k) + f" | {mean(res[k]):.4f} ({seeds}) |")
    return "\n".join(lines)


def table_compare(sp, mup_dir, widths, sp_label):
    res = results([mup_dir], ["model.width"])
    lines = [f"| width | SP tuned at the width: {sp_label}, val loss (seeds) | µP tuned at "
             f"{BASE}, transferred: val loss (seeds) | µP - SP |", "|---|---|---|---|"]
    for w in widths:
        b, m, seeds = sp[w]
        mu = res.get((w,), [math.inf])
        lines.append(f"| {w} | {', '.join(fmt(v) for v in b)}: {m:.4f} "
                     f"({', '.join(f'{v:.4f}' for v in seeds)}) | {mean(mu):.4f} "
                     f"({', '.join(f'{v:.4f}' for v in mu)}) | {mean(mu) - m:+.4f} |")
    return "\n".join(lines)


def plot(r, sp_name, mup_dir, title):
    out = os.path.join(r.out, f"{sp_name}_compare.png")
    subprocess.run(["/usr/bin/python3", os.path.join(SRC, "tools", "transfer.py"), "--compare",
                    os.path.join(r.sweeps, sp_name), mup_dir, "--out", out],
                   stdout=subprocess.DEVNULL, env={**os.environ, "MPLBACKEND": "Agg"})
    r.say(f"plot {out} ({title})")


def lr_grid(center, n_below=2, n_above=2):
    return [center * 2.0 ** k for k in range(-n_below, n_above + 1)]


def mlp(r, report, cosine=False):
    """(a) with the config's constant lr, or (cosine) the lr annealed to 0 by a cosine."""
    cfg = "configs/transfer_mlp.yaml"
    tag = "mlp_cos" if cosine else "mlp"
    sched = ["schedule.name=cosine", "schedule.min_lr_ratio=0"] if cosine else []
    widths = [128, 256, 512, 1024, 2048]
    sp_start = {128: lr_grid(0.001), 256: lr_grid(0.0005), 512: lr_grid(0.00025),
                1024: lr_grid(0.00025), 2048: lr_grid(0.000125)}
    sp = tune_sp(r, f"{tag}_sp", cfg, ["parametrization.type=sp"] + sched, "optimizer.adamw.lr",
                 widths, sp_start, [("parametrization.init", ["torch", "normal"])])
    axes = [("optimizer.adamw.lr", lr_grid(0.001, 3, 3)),
            ("parametrization.readout_zero_init", ["false", "true"]),
            ("parametrization.init", ["normal", "torch"])]
    dirs, b, res = tune_base(r, f"{tag}_mup_base", cfg, sched, axes, "optimizer.adamw.lr")
    mup = r.transfer(f"{tag}_mup_transfer", dirs, widths)
    title = "MNIST MLP, cosine schedule to 0" if cosine else "MNIST MLP, constant lr"
    report.append(f"## (a) {title}\n\nµP at the base width:\n\n" + table_base(res, axes) +
                  "\n\n" + table_compare(sp, mup, widths, "lr, init") + "\n")
    plot(r, f"{tag}_sp", mup, title)


def gpt(r, report):
    cfg = "configs/transfer_gpt.yaml"
    widths = [128, 256, 512, 1024]
    sp_sets = ["parametrization.type=sp", "parametrization.attn_scale=inv_sqrt_d"]
    sp_start = {128: lr_grid(0.008, 2, 1), 256: lr_grid(0.004, 2, 1), 512: lr_grid(0.002, 2, 1),
                1024: lr_grid(0.001, 2, 1)}
    sp = tune_sp(r, "gpt_adamw_sp", cfg, sp_sets, "optimizer.adamw.lr", widths, sp_start,
                 [("parametrization.init", ["torch", "normal"])])
    axes = [("optimizer.adamw.lr", lr_grid(0.008, 2, 3)),
            ("parametrization.attn_mult", [1.0, 5.657]),
            ("parametrization.init", ["normal", "torch"])]
    dirs, b, res = tune_base(r, "gpt_adamw_mup_base", cfg,
                             ["parametrization.readout_zero_init=false"], axes,
                             "optimizer.adamw.lr")
    mup = r.transfer("gpt_adamw_mup_transfer", dirs, widths)
    report.append("## (b) GPT, AdamW everywhere\n\nµP at the base width:\n\n" +
                  table_base(res, axes) + "\n\n" + table_compare(sp, mup, widths, "lr, init") +
                  "\n")
    plot(r, "gpt_adamw_sp", mup, "GPT AdamW")
    adamw_lr, _, init = b
    # Muon on the hidden matrices. SP: Keller Jordan's scale (adjust_lr original), AdamW (the rest)
    # at SP-AdamW's tuned lr of the width, the Muon lr on a grid per width.
    muon = ["optimizer.groups.hidden=muon"]
    sp_muon = {}
    for w in widths:
        sets = sp_sets + muon + ["optimizer.muon.adjust_lr=original",
                                 f"optimizer.adamw.lr={fmt(sp[w][0][0])}",
                                 f"parametrization.init={sp[w][0][1]}"]
        sp_muon.update(tune_sp(r, "gpt_muon_sp", cfg, sets, "optimizer.muon.lr", [w],
                               {w: lr_grid(0.02)}))
    axes = [("optimizer.muon.lr", lr_grid(0.02, 2, 2)), ("parametrization.attn_mult", [1.0, 5.657])]
    sets = muon + ["parametrization.readout_zero_init=false", f"optimizer.adamw.lr={fmt(adamw_lr)}",
                   f"parametrization.init={init}"]
    dirs, b, res = tune_base(r, "gpt_muon_mup_base", cfg, sets, axes, "optimizer.muon.lr")
    mup = r.transfer("gpt_muon_mup_transfer", dirs, widths)
    report.append("## (b) GPT, Muon on the hidden matrices\n\nµP at the base width (AdamW lr "
                  f"{fmt(adamw_lr)}, init {init}):\n\n" + table_base(res, axes) + "\n\n" +
                  table_compare(sp_muon, mup, widths, "Muon lr") + "\n")
    plot(r, "gpt_muon_sp", mup, "GPT Muon")
    return adamw_lr, init


def depth(r, report, adamw_lr, init):
    cfg = "configs/transfer_gpt_depth.yaml"
    sets = ["parametrization.readout_zero_init=false", f"parametrization.init={init}"]
    lines = []
    for alpha in (1, 0):
        d = r.sweep(f"gpt_depth_alpha{alpha}", cfg, sets + [f"parametrization.depth_alpha={alpha}"],
                    [("model.depth", [2, 4, 8]),
                     ("optimizer.adamw.lr", lr_grid(adamw_lr, 2, 2))])
        res = results([d], ["model.depth", "optimizer.adamw.lr"])
        lines.append(f"\ndepth_alpha {alpha}:\n\n| lr | d=2 | d=4 | d=8 |\n|---|---|---|---|")
        for lr in sorted({k[1] for k in res}):
            cells = [f"{mean(res[(dd, lr)]):.4f}" if (dd, lr) in res else "-" for dd in (2, 4, 8)]
            lines.append(f"| {fmt(lr)} | " + " | ".join(cells) + " |")
        for dd in (2, 4, 8):
            b = min((k for k in res if k[0] == dd), key=lambda k: mean(res[k]))
            lines.append(f"best lr at depth {dd}: {fmt(b[1])} ({mean(res[b]):.4f})")
    report.append("## (c) Depth, width 128\n" + "\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="runs/transfer")
    ap.add_argument("--only", default="mlp,mlp_cosine,gpt,depth")
    ap.add_argument("--mutrain", default=os.path.join(SRC, "build", "mutrain"))
    a = ap.parse_args()
    os.chdir(SRC)
    r = Runner(os.path.abspath(a.mutrain), os.path.abspath(a.out))
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    report = Report(os.path.join(r.out, "report.md"),
                    f"# µTransfer experiments ({time.strftime('%Y-%m-%d')}, mutrain {rev}, "
                    f"{a.mutrain})\n")
    parts = a.only.split(",")
    if "mlp" in parts:
        mlp(r, report)
    if "mlp_cosine" in parts:
        mlp(r, report, cosine=True)
    adamw_lr, init = 0.008, "normal"
    if "gpt" in parts:
        adamw_lr, init = gpt(r, report)
    if "depth" in parts:
        depth(r, report, adamw_lr, init)
    print("\n".join(report))


if __name__ == "__main__":
    main()
