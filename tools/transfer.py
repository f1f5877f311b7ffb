#!/usr/bin/env python3
"""µTransfer report for a sweep made by `mutrain sweep`: reads SWEEP_DIR/<point>/metrics.h5.

Point names are the grid values joined by '_' (width256_lr0.001_seed1). For every (width, lr) the
metric is averaged over the other grid keys (seeds); a point whose run did not finish (diverged,
stopped, no final validation) makes its cell '-'. Prints the metric by lr (rows) and width
(columns), the best lr per width and how many grid points it moves across widths, and draws
transfer.png (metric against lr, one curve per width; bars span the seeds).

Metrics (docs/hdf5-layout.md): val_loss = last /val/loss row (the final validation over the whole
split), val_accuracy = last /val/accuracy row, train_loss = last /train/loss row (mean training
loss over the last log interval).

Usage: /usr/bin/python3 tools/transfer.py SWEEP_DIR [--key lr] [--metric val_loss] [--out PNG]
       [--json PATH]
"""
import argparse
import json
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtio  # noqa: E402

METRICS = {  # name -> (group, dataset, lower is better)
    "val_loss": ("val", "loss", True),
    "val_accuracy": ("val", "accuracy", False),
    "train_loss": ("train", "loss", True),
}


def parse_point(name):
    """'width256_lr0.001_seed1' -> {'width': '256', 'lr': '0.001', 'seed': '1'}."""
    out = {}
    for token in name.split("_"):
        m = re.match(r"([A-Za-z]+)(.+)$", token)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def configured_steps(f):
    """train.steps from the resolved config stored in the file (None if it cannot be read)."""
    text = mtio.attr_str(f.attrs.get("config")) or ""
    try:
        import yaml
        cfg = yaml.safe_load(text) or {}
        return int(cfg["train"]["steps"])
    except Exception:  # noqa: BLE001 - no yaml module or an unexpected config: skip the check
        m = re.search(r"\bsteps:\s*(\d+)", text)
        return int(m.group(1)) if m else None


def read_metric(path, metric):
    """The metric of one run, or nan when the run did not finish (no final validation row)."""
    group, name, _ = METRICS[metric]
    with mtio.open_h5(path, kind="metrics") as f:
        train = mtio.series(f, "train")
        val = mtio.series(f, "val")
        if len(train.get("step", [])) == 0 or len(val.get("step", [])) == 0:
            return float("nan")
        last = train["step"][-1]
        steps = configured_steps(f)
        if val["step"][-1] != last or (steps is not None and last != steps):
            return float("nan")  # stopped early (non-finite loss, signal) or still running
        series = (train if group == "train" else val).get(name)
        if series is None or len(series) == 0:
            return float("nan")
        return float(series[-1])


def collect(sweep_dir, key, metric):
    """{width: {x: [value per seed/other point]}} from every point folder with a metrics.h5."""
    table = {}
    for point in sorted(os.listdir(sweep_dir)):
        path = os.path.join(sweep_dir, point, "metrics.h5")
        keys = parse_point(point)
        if not os.path.exists(path) or "width" not in keys or key not in keys:
            continue
        try:
            value = read_metric(path, metric)
        except mtio.MtioError as e:
            print(f"transfer.py: skipping {point}: {e}", file=sys.stderr)
            value = float("nan")
        table.setdefault(int(keys["width"]), {}).setdefault(float(keys[key]), []).append(value)
    return table


def mean_or_nan(values):
    return sum(values) / len(values) if values and all(math.isfinite(v) for v in values) else float("nan")


def best_per_width(means, lower_is_better):
    best = {}
    for w, row in means.items():
        finite = {x: v for x, v in row.items() if math.isfinite(v)}
        if finite:
            best[w] = (min if lower_is_better else max)(finite, key=finite.get)
    return best


def plot(table, means, widths, key, metric, title, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for w in widths:
        xs = [x for x in sorted(means[w]) if math.isfinite(means[w][x])]
        ys = [means[w][x] for x in xs]
        lo = [ys[i] - min(table[w][x]) for i, x in enumerate(xs)]
        hi = [max(table[w][x]) - ys[i] for i, x in enumerate(xs)]
        ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=2, label=f"width {w}")
    ax.set_xscale("log")
    ax.set_xlabel(key)
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep_dir")
    ap.add_argument("--key", default="lr", help="grid key on the x axis (default lr)")
    ap.add_argument("--metric", default="val_loss", choices=sorted(METRICS))
    ap.add_argument("--out", default=None, help="PNG path (default SWEEP_DIR/transfer.png)")
    ap.add_argument("--json", default=None, help="also write the table and best values as JSON")
    a = ap.parse_args()
    if not os.path.isdir(a.sweep_dir):
        print(f"transfer.py: no such directory '{a.sweep_dir}'", file=sys.stderr)
        return 2
    table = collect(a.sweep_dir, a.key, a.metric)
    if not table:
        print(f"transfer.py: no runs named width<W>_{a.key}<X> with a metrics.h5 in '{a.sweep_dir}'",
              file=sys.stderr)
        return 2
    lower = METRICS[a.metric][2]
    widths = sorted(table)
    xs = sorted({x for w in widths for x in table[w]})
    means = {w: {x: mean_or_nan(v) for x, v in table[w].items()} for w in widths}
    n = sorted({len(v) for w in widths for v in table[w].values()})
    runs = "/".join(str(k) for k in n)
    print(f"{a.metric} by {a.key} (rows) and width (columns), mean over {runs} run(s) per cell"
          f" ('-': a run did not finish)")
    print(f"{a.key:>10} " + " ".join(f"{w:>9}" for w in widths))
    for x in xs:
        cells = []
        for w in widths:
            v = means[w].get(x, float("nan"))
            cells.append(f"{v:9.4f}" if math.isfinite(v) else f"{'-':>9}")
        print(f"{x:10.4g} " + " ".join(cells))
    best = best_per_width(means, lower)
    print(f"best {a.key} per width: " + ", ".join(f"{w}: {best[w]:.4g}" for w in widths if w in best))
    moves = None
    if len(best) > 1:
        idx = [xs.index(best[w]) for w in widths if w in best]
        moves = max(idx) - min(idx)
        print(f"best {a.key} moves by {moves} grid point(s) across widths")
    out = a.out or os.path.join(a.sweep_dir, "transfer.png")
    plot(table, means, widths, a.key, a.metric, os.path.basename(os.path.normpath(a.sweep_dir)), out)
    print("wrote", out)
    if a.json:
        doc = {"metric": a.metric, "key": a.key, "widths": widths, "grid": xs,
               "mean": {str(w): {repr(x): (means[w][x] if math.isfinite(means[w][x]) else None)
                                 for x in sorted(means[w])} for w in widths},
               "runs": {str(w): {repr(x): len(table[w][x]) for x in sorted(table[w])} for w in widths},
               "best": {str(w): best[w] for w in widths if w in best}, "moves": moves}
        with open(a.json, "w") as fh:
            json.dump(doc, fh, indent=1)
        print("wrote", a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
