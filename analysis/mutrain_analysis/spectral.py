"""The spectral conditions across widths (docs/spectral.md), as tools/spectral_report.py reports.

Each variant is a `mutrain sweep --widths ...` folder (points width<W> or width<W>_seed<S>; the
first seed of a width is used). For the hidden matrices (a w_spec_ratio, neither embeddings nor
the readout; `params`, a regex, chooses others) it reads w_spec_ratio = ||W||_2 / sqrt(d_out/d_in),
dw_spec_ratio (the same for the step's update), act_rms, dep_rms, upd_rms of the modules owning
them, the final validation loss, the time per step and the update's ms per step (summary.yaml).
The spread across widths at a step is max over widths / min over widths of the median over the
matrices (1: the curves of all widths coincide).
"""
import os
import re

import numpy as np
import pandas as pd

from . import h5
from .h5 import AnalysisError
from .run import configured_steps
from .sweep import parse_point

RMS = ("act_rms", "dep_rms", "upd_rms")


def is_hidden(name, pattern):
    if pattern is not None:
        return re.search(pattern, name) is not None
    return h5.depth_key(name)[0] in (1, 2)  # blocks and what lies between them and the head


def summary_value(run_dir, key):
    path = os.path.join(run_dir, "summary.yaml")
    if not os.path.exists(path):
        return float("nan")
    with open(path, encoding="utf-8") as fh:
        m = re.search(rf"^{key}:\s*(\S+)", fh.read(), re.M)
    try:
        return float(m.group(1)) if m else float("nan")
    except ValueError:
        return float("nan")


def _rms_rows(f, hidden):
    """{stat: (steps, modules x steps)} of the modules owning the hidden matrices."""
    act_steps, act = h5.stat_groups(f, "act")
    modules = [n[: -len(".weight")] if n.endswith(".weight") else n for n in hidden]
    rms = {}
    for stat in RMS:
        rows = [act[m][stat] for m in modules if m in act and stat in act[m]]
        if rows and act_steps is not None:
            n = min(len(r) for r in rows)
            rms[stat] = (act_steps[:n], np.array([r[:n] for r in rows]))
    return rms


def _finish(f):
    """(finished, final val loss, seconds per step) of a metrics file."""
    train = h5.series(f, "train")
    val = h5.series(f, "val")
    total = configured_steps(f)
    last = train["step"][-1] if len(train.get("step", [])) else 0
    finished = (len(val.get("step", [])) > 0 and val["step"][-1] == last
                and (total is None or last == total))
    val_loss = float(val["loss"][-1]) if finished else float("nan")
    step_s = (float(train["elapsed_s"][-1] / last)
              if last > 0 and len(train.get("elapsed_s", [])) else float("nan"))
    return finished, val_loss, step_s


def read_run(run_dir, pattern=None):
    """One run: {'steps', 'hidden', 'w', 'dw' (matrices x steps), 'rms': {stat: (steps, modules x
    steps)}, 'val_loss', 'finished', 'step_s', 'update_ms'}."""
    path = os.path.join(run_dir, "metrics.h5")
    with h5.open_h5(path, kind="metrics") as f:
        steps, table = h5.stat_groups(f, "stats")
        if steps is None or len(steps) == 0:
            raise AnalysisError(f"{path}: no statistics recorded (stats.every: 0?)")
        hidden = sorted((n for n, s in table.items() if "w_spec_ratio" in s and is_hidden(n, pattern)),
                        key=h5.depth_key)
        if not hidden:
            raise AnalysisError(f"{path}: no hidden matrix with a w_spec_ratio"
                                + (f" matches --params '{pattern}'" if pattern else ""))
        w = np.array([table[n]["w_spec_ratio"] for n in hidden])
        dw = np.array([table[n].get("dw_spec_ratio", np.full(len(steps), np.nan)) for n in hidden])
        rms = _rms_rows(f, hidden)
        finished, val_loss, step_s = _finish(f)
    return {"steps": steps, "hidden": hidden, "w": w, "dw": dw, "rms": rms, "val_loss": val_loss,
            "finished": finished, "step_s": step_s,
            "update_ms": summary_value(run_dir, "update_ms_per_step")}


def read_variant(sweep_dir, pattern=None):
    """{width: run} of one sweep folder (the first seed of each width)."""
    sweep_dir = os.fspath(sweep_dir)
    if not os.path.isdir(sweep_dir):
        raise AnalysisError(f"no such directory '{sweep_dir}'")
    runs = {}
    for point in sorted(os.listdir(sweep_dir)):
        keys = parse_point(point)
        if "width" not in keys or not os.path.exists(os.path.join(sweep_dir, point, "metrics.h5")):
            continue
        width = int(keys["width"])
        if width not in runs:
            runs[width] = read_run(os.path.join(sweep_dir, point), pattern)
    if not runs:
        raise AnalysisError(f"no runs named width<W>_... with a metrics.h5 in '{sweep_dir}'")
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


def _width_row(name, width, r):
    return {"variant": name, "width": width, "val_loss": r["val_loss"],
            "finished": bool(r["finished"]), "step_s": r["step_s"], "update_ms": r["update_ms"],
            "w_first": float(np.nanmedian(r["w"][:, 0])),
            "w_last": float(np.nanmedian(r["w"][:, -1])),
            "w_min": float(np.nanmin(r["w"])), "w_max": float(np.nanmax(r["w"])),
            "dw_median": float(np.nanmedian(r["dw"])),
            "dw_max": float(np.nanmax(r["dw"])), "matrices": len(r["hidden"])}


def summarise(name, runs):
    """(rows: one per width, line: the variant's spreads and RMS ratios, (steps, w, dw spread))."""
    rows = [_width_row(name, width, runs[width]) for width in sorted(runs)]
    steps, ws = spread(runs, "w")
    _, dws = spread(runs, "dw")
    lo, hi = min(runs), max(runs)
    rms_ratio = {}
    for stat in RMS:  # the three stability RMS at the last step, widest over narrowest width
        if stat in runs[lo]["rms"] and stat in runs[hi]["rms"]:
            a = float(np.nanmedian(runs[lo]["rms"][stat][1][:, -1]))
            b = float(np.nanmedian(runs[hi]["rms"][stat][1][:, -1]))
            rms_ratio[stat] = b / a if a > 0 else float("nan")
    line = {"variant": name, "widths": [int(w) for w in sorted(runs)], "rms_ratio": rms_ratio,
            "w_spread_max": float(np.nanmax(ws)) if np.isfinite(ws).any() else float("nan"),
            "w_spread_last": float(ws[-1]) if len(ws) else float("nan"),
            "dw_spread_max": float(np.nanmax(dws)) if np.isfinite(dws).any() else float("nan"),
            "dw_spread_last": float(dws[-1]) if len(dws) else float("nan")}
    return rows, line, (steps, ws, dws)


def _label(sweep):
    path = getattr(sweep, "path", sweep)
    return os.path.basename(os.path.normpath(os.fspath(path)))


def spectral_summary(sweeps, labels=None, params=None):
    """The report's numbers as DataFrames: (one row per (variant, width), one row per variant
    with its spreads across widths, the spread series in long format: variant, step, statistic
    (w_spread, dw_spread), value). `sweeps`: Sweep objects or folders."""
    if not isinstance(sweeps, (list, tuple)):
        sweeps = [sweeps]
    labels = labels or [_label(s) for s in sweeps]
    rows, lines, series = [], [], []
    for label, s in zip(labels, sweeps):
        r, line, (steps, ws, dws) = summarise(label, read_variant(getattr(s, "path", s), params))
        rows += r
        lines.append({k: v for k, v in line.items() if k != "rms_ratio"}
                     | {f"{k}_ratio": v for k, v in line["rms_ratio"].items()})
        for stat, values in (("w_spread", ws), ("dw_spread", dws)):
            series.append(pd.DataFrame({"variant": label, "step": steps.astype(np.int64),
                                        "statistic": stat, "value": values}))
    return pd.DataFrame(rows), pd.DataFrame(lines), pd.concat(series, ignore_index=True)
