#!/usr/bin/python3
"""Spectral conditions across widths (docs/spectral.md): one column of panels per variant.

    /usr/bin/python3 tools/spectral_report.py SWEEP_DIR [SWEEP_DIR ...] [--out PNG] [--json PATH]
        [--params REGEX] [--label TEXT ...]

Each SWEEP_DIR is one variant (a `mutrain sweep --widths ...` folder, points width<W>_seed<S>;
scripts/spectral_experiments.sh makes four). From every run's metrics.h5 (docs/hdf5-layout.md) it
reads, for the hidden matrices (those with a w_spec_ratio that are neither embeddings nor the
readout, by name as tools/mtio.depth_key orders them; --params REGEX chooses others):
  w_spec_ratio  = ||W||_2  / sqrt(d_out/d_in)   (the spectral condition on the weights)
  dw_spec_ratio = ||dW||_2 / sqrt(d_out/d_in)   (on the update)
  act_rms, dep_rms, upd_rms of the modules owning them (forward, dependency, update stability)
and from metrics.h5 / summary.yaml the final validation loss, the time per training step
(train/elapsed_s over train/step: forward, backward, update and statistics) and the optimizer
update's ms per step (summary.yaml update_ms_per_step).

Per step and width it takes the median over the hidden matrices; the *spread across widths* at a
step is max over widths / min over widths of that median (1: the curves of all widths lie on each
other, the condition holds uniformly in width). It prints one table row per (variant, width) and
one spread line per variant (with act_rms, dep_rms and upd_rms at the last step, median over the
hidden modules, at the widest width over the narrowest), and draws PNG (default spectral.png in the first SWEEP_DIR):
  row 1  w_spec_ratio over training, one colour per width (median line, min..max band)
  row 2  dw_spec_ratio, likewise
  row 3  the spread across widths of both, per step (log y; 1 is perfect)
  row 4  act_rms, dep_rms, upd_rms (median over the hidden modules) at the widest and narrowest width
  row 5  final validation loss and time per step against width (all variants, the same two axes
         in every column so they can be compared)
--json writes the numbers behind the table. A missing directory or one without runs gives a
`spectral_report.py: ...` line on stderr and exit code 2.
"""
import argparse
import json
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtio  # noqa: E402
import numpy as np  # noqa: E402
from transfer import configured_steps, parse_point  # noqa: E402

RMS = ("act_rms", "dep_rms", "upd_rms")


class ReportError(Exception):
    pass


def is_hidden(name, pattern):
    if pattern is not None:
        return re.search(pattern, name) is not None
    return mtio.depth_key(name)[0] in (1, 2)  # blocks and what lies between them and the head


def summary_value(run_dir, key):
    path = os.path.join(run_dir, "summary.yaml")
    if not os.path.exists(path):
        return float("nan")
    m = re.search(rf"^{key}:\s*(\S+)", open(path).read(), re.M)
    try:
        return float(m.group(1)) if m else float("nan")
    except ValueError:
        return float("nan")


def read_run(run_dir, pattern):
    """One run: {'steps', 'w', 'dw' (matrices x steps), 'rms': {stat: modules x steps}, ...}."""
    path = os.path.join(run_dir, "metrics.h5")
    with mtio.open_h5(path, kind="metrics") as f:
        steps, table = mtio.stat_groups(f, "stats")
        if steps is None or len(steps) == 0:
            raise ReportError(f"{path}: no statistics recorded (stats.every: 0?)")
        hidden = sorted((n for n, s in table.items() if "w_spec_ratio" in s and is_hidden(n, pattern)),
                        key=mtio.depth_key)
        if not hidden:
            raise ReportError(f"{path}: no hidden matrix with a w_spec_ratio"
                              + (f" matches --params '{pattern}'" if pattern else ""))
        w = np.array([table[n]["w_spec_ratio"] for n in hidden])
        dw = np.array([table[n].get("dw_spec_ratio", np.full(len(steps), np.nan)) for n in hidden])
        act_steps, act = mtio.stat_groups(f, "act")
        modules = [n[: -len(".weight")] if n.endswith(".weight") else n for n in hidden]
        rms = {}
        for stat in RMS:
            rows = [act[m][stat] for m in modules if m in act and stat in act[m]]
            if rows and act_steps is not None:
                n = min(len(r) for r in rows)
                rms[stat] = (act_steps[:n], np.array([r[:n] for r in rows]))
        train = mtio.series(f, "train")
        val = mtio.series(f, "val")
        total = configured_steps(f)
        last = train["step"][-1] if len(train.get("step", [])) else 0
        finished = (len(val.get("step", [])) > 0 and val["step"][-1] == last
                    and (total is None or last == total))
        val_loss = float(val["loss"][-1]) if finished else float("nan")
        step_s = (float(train["elapsed_s"][-1] / last)
                  if last > 0 and len(train.get("elapsed_s", [])) else float("nan"))
    return {"steps": steps, "hidden": hidden, "w": w, "dw": dw, "rms": rms, "val_loss": val_loss,
            "finished": finished, "step_s": step_s,
            "update_ms": summary_value(run_dir, "update_ms_per_step")}


def read_variant(sweep_dir, pattern):
    """{width: run} of one sweep folder (the first seed of each width)."""
    if not os.path.isdir(sweep_dir):
        raise ReportError(f"no such directory '{sweep_dir}'")
    runs = {}
    for point in sorted(os.listdir(sweep_dir)):
        keys = parse_point(point)
        if "width" not in keys or not os.path.exists(os.path.join(sweep_dir, point, "metrics.h5")):
            continue
        width = int(keys["width"])
        if width not in runs:
            runs[width] = read_run(os.path.join(sweep_dir, point), pattern)
    if not runs:
        raise ReportError(f"no runs named width<W>_... with a metrics.h5 in '{sweep_dir}'")
    return runs


def medians(runs, key):
    """{width: (steps, median over matrices per step)} for 'w' or 'dw'."""
    return {w: (r["steps"], np.nanmedian(r[key], axis=0)) for w, r in runs.items()}


def spread(runs, key):
    """(steps, max/min over widths of the per-width median) on the steps every width recorded."""
    med = medians(runs, key)
    common = None
    for steps, _ in med.values():
        common = set(steps.tolist()) if common is None else common & set(steps.tolist())
    common = np.array(sorted(common or []))
    if len(runs) < 2 or len(common) == 0:
        return common, np.full(len(common), np.nan)
    rows = []
    for steps, m in med.values():
        index = {s: i for i, s in enumerate(steps.tolist())}
        rows.append([m[index[s]] for s in common])
    rows = np.array(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        return common, np.nanmax(rows, axis=0) / np.nanmin(rows, axis=0)


def summarise(name, runs):
    rows = []
    for width in sorted(runs):
        r = runs[width]
        rows.append({"variant": name, "width": width, "val_loss": r["val_loss"],
                     "finished": bool(r["finished"]), "step_s": r["step_s"], "update_ms": r["update_ms"],
                     "w_first": float(np.nanmedian(r["w"][:, 0])),
                     "w_last": float(np.nanmedian(r["w"][:, -1])),
                     "w_min": float(np.nanmin(r["w"])), "w_max": float(np.nanmax(r["w"])),
                     "dw_median": float(np.nanmedian(r["dw"])),
                     "dw_max": float(np.nanmax(r["dw"])), "matrices": len(r["hidden"])})
    steps, ws = spread(runs, "w")
    _, dws = spread(runs, "dw")
    finite = np.isfinite(ws)
    lo, hi = min(runs), max(runs)
    rms_ratio = {}
    for stat in RMS:  # the three stability RMS at the last step, widest over narrowest width
        if stat in runs[lo]["rms"] and stat in runs[hi]["rms"]:
            a = float(np.nanmedian(runs[lo]["rms"][stat][1][:, -1]))
            b = float(np.nanmedian(runs[hi]["rms"][stat][1][:, -1]))
            rms_ratio[stat] = b / a if a > 0 else float("nan")
    line = {"variant": name, "widths": [int(w) for w in sorted(runs)], "rms_ratio": rms_ratio,
            "w_spread_max": float(np.nanmax(ws)) if finite.any() else float("nan"),
            "w_spread_last": float(ws[-1]) if len(ws) else float("nan"),
            "dw_spread_max": float(np.nanmax(dws)) if np.isfinite(dws).any() else float("nan"),
            "dw_spread_last": float(dws[-1]) if len(dws) else float("nan")}
    return rows, line, (steps, ws, dws)


def fmt(v, spec=".3f"):
    return format(v, spec) if isinstance(v, (int, float)) and math.isfinite(v) else "-"


def plot(variants, labels, spreads, rows, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    widths = sorted({w for runs in variants for w in runs})
    cmap = plt.get_cmap("viridis")
    colour = {w: cmap(i / max(1, len(widths) - 1)) for i, w in enumerate(widths)}
    ncol = len(variants)
    fig, axes = plt.subplots(5, ncol, figsize=(4.2 * ncol, 16), squeeze=False)
    share = {0: [], 1: [], 2: []}
    for c, (runs, label) in enumerate(zip(variants, labels)):
        for row, key, title in ((0, "w", "||W||_2 / sqrt(d_out/d_in)"),
                                (1, "dw", "||dW||_2 / sqrt(d_out/d_in)")):
            ax = axes[row][c]
            for w in sorted(runs):
                r = runs[w]
                ax.plot(r["steps"], np.nanmedian(r[key], axis=0), color=colour[w], lw=1.4,
                        label=f"width {w}")
                ax.fill_between(r["steps"], np.nanmin(r[key], axis=0), np.nanmax(r[key], axis=0),
                                color=colour[w], alpha=0.15, lw=0)
            ax.set_yscale("log")
            ax.set_title(f"{label}\n{title}" if row == 0 else title, fontsize=9)
            ax.grid(alpha=0.3)
            share[row].append(ax)
        ax = axes[2][c]
        steps, ws, dws = spreads[c]
        ax.plot(steps, ws, "k-", lw=1.4, label="W")
        ax.plot(steps, dws, "k--", lw=1.2, label="dW")
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_yscale("log")
        ax.set_title("spread across widths (max/min of the medians)", fontsize=9)
        ax.grid(alpha=0.3)
        share[2].append(ax)
        ax = axes[3][c]
        for w in (min(runs), max(runs)) if len(runs) > 1 else (min(runs),):
            for stat, style in zip(RMS, ("-", "--", ":")):
                if stat in runs[w]["rms"]:
                    s, v = runs[w]["rms"][stat]
                    ax.plot(s, np.nanmedian(v, axis=0), style, color=colour[w], lw=1.2,
                            label=f"{stat} w{w}")
        ax.set_yscale("log")
        ax.set_title("stability RMS (median over hidden modules)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, ncol=2)
        ax = axes[4][c]
        mine = [r for r in rows if r["variant"] == label]
        xs = [r["width"] for r in mine]
        ax.plot(xs, [r["val_loss"] for r in mine], "o-", color="C0", label="val loss")
        ax.set_xscale("log", base=2)
        ax.set_xticks(widths, [str(w) for w in widths])
        ax.set_xlabel("width")
        ax.set_ylabel("final val loss", color="C0")
        losses = [r["val_loss"] for r in rows if math.isfinite(r["val_loss"])]
        if losses:
            pad = 0.05 * (max(losses) - min(losses) + 1e-9)
            ax.set_ylim(min(losses) - pad, max(losses) + pad)
        twin = ax.twinx()
        twin.plot(xs, [1e3 * r["step_s"] for r in mine], "s--", color="C3")
        times = [1e3 * r["step_s"] for r in rows if math.isfinite(r["step_s"])]
        if times:
            twin.set_yscale("log")
            twin.set_ylim(min(times) / 1.3, max(times) * 1.3)
        twin.set_ylabel("ms per step", color="C3")
        ax.set_title("final val loss, time per step", fontsize=9)
        ax.grid(alpha=0.3)
    for row, axs in share.items():  # same y range across variants: columns compare at a glance
        lo = min(a.get_ylim()[0] for a in axs)
        hi = max(a.get_ylim()[1] for a in axs)
        for a in axs:
            a.set_ylim(lo, hi)
    for a in axes[2]:
        a.set_xlabel("step")
    axes[0][0].legend(fontsize=7)
    axes[2][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("sweeps", nargs="+", help="one mutrain sweep folder per variant")
    p.add_argument("--label", nargs="*", help="one label per sweep (default: the folder name)")
    p.add_argument("--params", help="regex choosing the matrices (default: the hidden ones)")
    p.add_argument("--out", help="PNG path (default: spectral.png in the first sweep folder)")
    p.add_argument("--json", help="write the table and spreads as JSON here")
    a = p.parse_args(argv)
    labels = a.label or [os.path.basename(os.path.normpath(s)) for s in a.sweeps]
    if len(labels) != len(a.sweeps):
        print("spectral_report.py: --label needs one label per sweep folder", file=sys.stderr)
        return 2
    try:
        if a.params is not None:
            re.compile(a.params)
        variants = [read_variant(s, a.params) for s in a.sweeps]
    except (ReportError, mtio.MtioError) as e:
        print(f"spectral_report.py: {e}", file=sys.stderr)
        return 2
    except re.error as e:
        print(f"spectral_report.py: --params is not a regex: {e}", file=sys.stderr)
        return 2
    rows, lines, spreads = [], [], []
    for label, runs in zip(labels, variants):
        r, line, s = summarise(label, runs)
        rows += r
        lines.append(line)
        spreads.append(s)
    print("hidden matrices: w = ||W||_2/sqrt(d_out/d_in), dw = ||dW||_2/sqrt(d_out/d_in); median "
          "over matrices (w first/last step), min/max over matrices and steps")
    print(f"{'variant':<27} {'width':>5} {'val_loss':>8} {'ms/step':>8} {'upd ms':>7} {'w first':>7} "
          f"{'w last':>7} {'w min':>6} {'w max':>6} {'dw med':>7} {'dw max':>7}")
    for r in rows:  # columns always separated by a space, whatever the widths of the values
        print(f"{r['variant']:<27} {r['width']:>5} {fmt(r['val_loss'], '.4f'):>8} "
              f"{fmt(1e3 * r['step_s'], '.1f'):>8} {fmt(r['update_ms'], '.1f'):>7} "
              f"{fmt(r['w_first']):>7} {fmt(r['w_last']):>7} {fmt(r['w_min']):>6} "
              f"{fmt(r['w_max']):>6} {fmt(r['dw_median'], '.4f'):>7} {fmt(r['dw_max'], '.4f'):>7}")
    print("spread across widths (max/min over widths of the median over matrices; 1 = the widths "
          "coincide); stability RMS at the last step, widest / narrowest width")
    for line in lines:
        print(f"{line['variant']:<28} w: max {fmt(line['w_spread_max'])}, last "
              f"{fmt(line['w_spread_last'])}   dw: max {fmt(line['dw_spread_max'])}, last "
              f"{fmt(line['dw_spread_last'])}   widths {','.join(map(str, line['widths']))}"
              + "".join(f"   {k} {fmt(v)}" for k, v in line["rms_ratio"].items()))
    out = a.out or os.path.join(a.sweeps[0], "spectral.png")
    plot(variants, labels, spreads, rows, out)
    print(f"wrote {out}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"rows": rows, "spread": lines,
                       "spread_series": [{"variant": l, "step": s.tolist(), "w": ws.tolist(),
                                          "dw": dws.tolist()}
                                         for l, (s, ws, dws) in zip(labels, spreads)]},
                      fh, indent=1, allow_nan=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
