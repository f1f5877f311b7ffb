#!/usr/bin/env python3
"""µTransfer report for a sweep made by `mutrain sweep`: reads SWEEP_DIR/<point>/summary.yaml
(point names like width256_lr0.001), prints final validation loss by lr (rows) and width
(columns), the best lr per width, and draws transfer.png (loss against lr, one curve per width).
Usage: /usr/bin/python3 tools/transfer.py SWEEP_DIR [--key lr] [--metric val_loss] [--out PNG]"""
import argparse
import math
import os
import re
import sys


def parse_point(name):
    out = {}
    for token in name.split("_"):
        m = re.match(r"([A-Za-z]+)(.+)$", token)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def read_summary(path):
    values = {}
    with open(path) as f:
        for line in f:
            if ":" in line:
                k, v = line.split(":", 1)
                try:
                    values[k.strip()] = float(v)
                except ValueError:
                    pass
    return values


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep_dir")
    ap.add_argument("--key", default="lr", help="grid key on the x axis (default lr)")
    ap.add_argument("--metric", default="val_loss", help="summary.yaml field to compare")
    ap.add_argument("--out", default=None, help="PNG path (default SWEEP_DIR/transfer.png)")
    a = ap.parse_args()
    if not os.path.isdir(a.sweep_dir):
        print(f"transfer.py: no such directory '{a.sweep_dir}'", file=sys.stderr)
        return 2
    table = {}  # width -> {x: loss}
    for point in sorted(os.listdir(a.sweep_dir)):
        summary = os.path.join(a.sweep_dir, point, "summary.yaml")
        keys = parse_point(point)
        if not os.path.exists(summary) or "width" not in keys or a.key not in keys:
            continue
        s = read_summary(summary)
        loss = s.get(a.metric, float("nan"))
        if s.get("steps_done", 0) == 0 or not math.isfinite(loss):
            loss = float("nan")  # diverged or failed
        table.setdefault(int(keys["width"]), {})[float(keys[a.key])] = loss
    if not table:
        print(f"transfer.py: no finished runs named width<W>_{a.key}<X> in '{a.sweep_dir}'", file=sys.stderr)
        return 2
    widths = sorted(table)
    xs = sorted({x for w in widths for x in table[w]})
    print(f"{a.metric} by {a.key} (rows) and width (columns)")
    print(f"{a.key:>10} " + " ".join(f"{w:>9}" for w in widths))
    for x in xs:
        cells = []
        for w in widths:
            v = table[w].get(x, float("nan"))
            cells.append(f"{v:9.4f}" if math.isfinite(v) else f"{'-':>9}")
        print(f"{x:10.3g} " + " ".join(cells))
    best = {}
    for w in widths:
        finite = {x: v for x, v in table[w].items() if math.isfinite(v)}
        if finite:
            best[w] = min(finite, key=finite.get)
    print("best " + a.key + " per width: " + ", ".join(f"{w}: {best[w]:.3g}" for w in widths if w in best))
    if len(best) > 1:
        idx = [xs.index(best[w]) for w in widths if w in best]
        print(f"best {a.key} moves by {max(idx) - min(idx)} grid point(s) across widths")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for w in widths:
        pts = sorted(table[w].items())
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"width {w}")
    ax.set_xscale("log")
    ax.set_xlabel(a.key)
    ax.set_ylabel(a.metric)
    ax.set_title(os.path.basename(os.path.normpath(a.sweep_dir)))
    ax.legend()
    fig.tight_layout()
    out = a.out or os.path.join(a.sweep_dir, "transfer.png")
    fig.savefig(out, dpi=100)
    print("wrote", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
