#!/usr/bin/env python3
"""µTransfer report for a sweep made by `mutrain sweep`: reads SWEEP_DIR/<point>/metrics.h5.

Point names are the grid values joined by '_' (width256_lr0.001_seed1, depth4_lr0.002_seed0). For
every (width, lr) the metric is averaged over the other grid keys (seeds); a point whose run did
not finish (diverged, stopped, no final validation) makes its cell '-'. Prints the metric by lr
(rows) and width (columns), the best lr per width and how many grid points it moves across widths,
and draws transfer.png (metric against lr, one curve per width; bars span the seeds). --across
names the column key instead of width (--across depth for a depth sweep); points lacking the
column key or the row key (--key) are skipped.

--compare SP_DIR MUP_DIR compares a standard-parametrization sweep tuned at every width (SP_DIR:
a --key grid, e.g. lr, per width, with seeds) against one µP setting transferred across widths
(MUP_DIR: points width<W>_seed<S>, other keys constant; all points of one width are one cell). Per
width it prints SP's best lr (by the mean over seeds), SP's mean and seed range (min..max) at it,
µP's mean and seed range, and µP - SP; then whether µP is better than, within the seed spread of,
or worse than tuned SP at the widest width both finished (within: |µP - SP| <= the larger of the
two max - min seed spreads), and whether µP's metric improves monotonically with width. Draws
compare.png (metric against width, log2 x axis, bars spanning the seeds).

Metrics (docs/hdf5-layout.md): val_loss = last /val/loss row (the final validation over the whole
split), val_accuracy = last /val/accuracy row (higher is better), train_loss = last /train/loss row
(mean training loss over the last log interval).

Runs made by different code (docs/reproducibility.md: their /provenance names another git
revision, or another executable of a dirty tree) are not ranked together unless
--allow-mixed-revisions.

Usage: /usr/bin/python3 tools/transfer.py SWEEP_DIR [--key lr] [--across width]
       [--metric val_loss] [--out PNG] [--json PATH] [--allow-mixed-revisions]
       /usr/bin/python3 tools/transfer.py --compare SP_DIR MUP_DIR [--key lr] [--across width]
       [--metric val_loss] [--sp-label TEXT] [--mup-label TEXT] [--out PNG] [--json PATH]
       [--allow-mixed-revisions]
Exit code 2 (with a 'transfer.py: ...' line on stderr) for a missing directory, one without usable
runs, two compared sweeps that share no width, or finished runs made by different code.
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


def code_identity(f):
    """The code that trained a run, from /provenance (docs/reproducibility.md): per start the git
    revision when the tree was clean, else the revision and the executable's hash; 'unknown' for a
    file written before provenance was recorded. Matches `mutrain transfer`."""
    if "provenance" not in f or "git_revision" not in f["provenance"]:
        return "unknown (no provenance)"
    p = f["provenance"]
    ids = set()
    for rev, dirty, sha in zip(p["git_revision"].asstr()[()], p["git_dirty"][()],
                               p["binary_sha256"].asstr()[()]):
        ids.add(rev if dirty == 0 else f"{rev}{'-dirty' if dirty == 1 else ''}@sha256:{sha[:12]}")
    return " + ".join(sorted(ids))


def read_metric(path, metric, codes=None):
    """The metric of one run, or nan when the run did not finish (no final validation row).
    codes, a dict, receives {code identity: [path]} for a finished run."""
    group, name, _ = METRICS[metric]
    with mtio.open_h5(path, kind="metrics") as f:
        value = read_finished(f, group, name)
        if codes is not None and math.isfinite(value):
            codes.setdefault(code_identity(f), []).append(path)
        return value


def read_finished(f, group, name):
    """The last row of group/name when the run finished (else nan)."""
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


def number(text):
    """'256' -> 256, '0.5' -> 0.5, anything else -> None."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def collect(sweep_dir, key, metric, across="width", points_out=None, codes=None):
    """{column: {x: [value per seed/other point]}} from every point folder with a metrics.h5.

    column is the value of the `across` key (width), x the value of `key` (lr); key None puts every
    point of a column into one cell (x None). points_out, a dict, receives {column: [parsed point]}.
    """
    table = {}
    for point in sorted(os.listdir(sweep_dir)):
        path = os.path.join(sweep_dir, point, "metrics.h5")
        keys = parse_point(point)
        if not os.path.exists(path) or across not in keys or (key is not None and key not in keys):
            continue
        col = number(keys[across])
        try:
            x = None if key is None else float(keys[key])
        except ValueError:
            x = None
        if col is None or (key is not None and x is None):
            print(f"transfer.py: skipping {point}: {across} or {key} is not a number",
                  file=sys.stderr)
            continue
        try:
            value = read_metric(path, metric, codes)
        except mtio.MtioError as e:
            print(f"transfer.py: skipping {point}: {e}", file=sys.stderr)
            value = float("nan")
        table.setdefault(col, {}).setdefault(x, []).append(value)
        if points_out is not None:
            points_out.setdefault(col, []).append(keys)
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


def plot(table, means, widths, key, metric, title, out, across="width"):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for w in widths:
        xs = [x for x in sorted(means[w]) if math.isfinite(means[w][x])]
        ys = [means[w][x] for x in xs]
        lo = [ys[i] - min(table[w][x]) for i, x in enumerate(xs)]
        hi = [max(table[w][x]) - ys[i] for i, x in enumerate(xs)]
        ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=2, label=f"{across} {w}")
    ax.set_xscale("log")
    ax.set_xlabel(key)
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def fmt(v, spec="9.4f"):
    width = spec.split(".")[0].lstrip("+")
    return format(v, spec) if v is not None and math.isfinite(v) else format("-", ">" + width)


def finite_or_none(v):
    return v if v is not None and math.isfinite(v) else None


def compare_rows(sp_table, mup_table, lower):
    """One row per width of either side: SP's best x by the mean over seeds and its seed range
    there, µP's mean and seed range (nan where a seed did not finish), and µP - SP."""
    sp_means = {w: {x: mean_or_nan(v) for x, v in sp_table[w].items()} for w in sp_table}
    sp_best = best_per_width(sp_means, lower)
    nan = float("nan")
    rows = []
    for w in sorted(set(sp_table) | set(mup_table)):
        row = {"width": w, "sp_best": sp_best.get(w), "sp_mean": nan, "sp_min": nan, "sp_max": nan,
               "sp_seeds": 0, "mup_mean": nan, "mup_min": nan, "mup_max": nan, "mup_seeds": 0,
               "diff": nan}
        if w in sp_best:
            seeds = sp_table[w][sp_best[w]]
            row.update(sp_mean=sp_means[w][sp_best[w]], sp_min=min(seeds), sp_max=max(seeds),
                       sp_seeds=len(seeds))
        if w in mup_table:
            seeds = [v for cell in mup_table[w].values() for v in cell]
            row["mup_seeds"] = len(seeds)
            m = mean_or_nan(seeds)
            if math.isfinite(m):
                row.update(mup_mean=m, mup_min=min(seeds), mup_max=max(seeds))
        if math.isfinite(row["sp_mean"]) and math.isfinite(row["mup_mean"]):
            row["diff"] = row["mup_mean"] - row["sp_mean"]
        rows.append(row)
    return rows


def widest_verdict(rows, shared, lower, across):
    """The comparison at the widest width where both sides finished: (line, dict)."""
    both = [r for r in rows if r["width"] in shared and math.isfinite(r["diff"])]
    if not both:
        return (f"at the widest {across}: no {across} where both sides finished; no comparison",
                {"result": None})
    r = both[-1]
    x, y = r["mup_mean"], r["sp_mean"]
    tol = max(r["sp_max"] - r["sp_min"], r["mup_max"] - r["mup_min"])
    d = x - y
    if abs(d) <= tol:
        result, text = "within", (f"within the seed spread (|µP - SP| = {abs(d):.4f} <= "
                                  f"{tol:.4f})")
    else:
        better = d < 0 if lower else d > 0
        result = "better" if better else "worse"
        text = f"µP is {result} (µP - SP = {d:+.4f}, beyond the seed spread {tol:.4f})"
    line = (f"at the widest {across} {r['width']}: µP transferred {x:.4f} vs SP tuned {y:.4f}: "
            f"{text}")
    wider = [w for w in sorted(shared) if w > r["width"]]
    if wider:
        line += f" ({across} {', '.join(str(w) for w in wider)}: a run did not finish)"
    return line, {across: r["width"], "mup": x, "sp": y, "spread": tol, "difference": d,
                  "result": result}


def monotonic_verdict(rows, metric, lower, across):
    """Whether µP's metric improves with every step in width: (line, dict)."""
    mup = [r for r in rows if r["mup_seeds"] > 0]
    what = f"µP {'loss' if metric.endswith('loss') else metric} {'falls' if lower else 'rises'}"
    head = f"{what} monotonically with {across}: "
    unfinished = [r["width"] for r in mup if not math.isfinite(r["mup_mean"])]
    done = [r for r in mup if math.isfinite(r["mup_mean"])]
    violations = []
    for a, b in zip(done, done[1:]):
        step = b["mup_mean"] - a["mup_mean"]
        if (step > 0) if lower else (step < 0):
            violations.append((a["width"], b["width"], abs(step)))
    word = "rises" if lower else "falls"
    notes = [f"{a} -> {b} {word} by {d:.4f}" for a, b, d in violations]
    notes += [f"{w}: a run did not finish" for w in unfinished]
    if notes:
        result, line = "no", head + "no (" + ", ".join(notes) + ")"
    elif len(done) < 2:
        result, line = None, head + f"n/a (fewer than 2 {across}s)"
    else:
        result, line = "yes", head + "yes"
    return line, {"result": result,
                  "violations": [{"from": a, "to": b, "by": d} for a, b, d in violations],
                  "unfinished": unfinished}


def plot_compare(rows, metric, across, sp_label, mup_label, title, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for side, label, marker in (("sp", sp_label, "o"), ("mup", mup_label, "s")):
        pts = [r for r in rows if math.isfinite(r[f"{side}_mean"])]
        if not pts:
            continue
        xs = [r["width"] for r in pts]
        ys = [r[f"{side}_mean"] for r in pts]
        lo = [r[f"{side}_mean"] - r[f"{side}_min"] for r in pts]
        hi = [r[f"{side}_max"] - r[f"{side}_mean"] for r in pts]
        ax.errorbar(xs, ys, yerr=[lo, hi], marker=marker, capsize=3, label=label)
    ax.set_xscale("log", base=2)
    ticks = sorted({r["width"] for r in rows})
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(w) for w in ticks])
    ax.minorticks_off()
    ax.set_xlabel(across)
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def fail(message):
    print(f"transfer.py: {message}", file=sys.stderr)
    return 2


def mixed_code(codes, allow):
    """None when every finished run was made by the same code (or allow), else the refusal."""
    if len(codes) <= 1:
        return None
    parts = "; ".join(f"git {code}: {len(paths)} run(s), e.g. {paths[0]}"
                      for code, paths in sorted(codes.items()))
    if allow:
        print(f"transfer.py: ranking runs made by different code (--allow-mixed-revisions): {parts}",
              file=sys.stderr)
        return None
    return (f"the finished runs were made by different code, so their metrics are not comparable "
            f"as they stand: {parts}. Rank them together deliberately with "
            f"--allow-mixed-revisions (docs/reproducibility.md)")


def main_compare(a):
    sp_dir, mup_dir = a.compare
    for d in (sp_dir, mup_dir):
        if not os.path.isdir(d):
            return fail(f"no such directory '{d}'")
    lower = METRICS[a.metric][2]
    codes = {}
    sp_table = collect(sp_dir, a.key, a.metric, a.across, codes=codes)
    if not sp_table:
        return fail(f"no runs named {a.across}<N>_{a.key}<X> with a metrics.h5 in '{sp_dir}'")
    mup_points = {}
    mup_table = collect(mup_dir, None, a.metric, a.across, mup_points, codes)
    if not mup_table:
        return fail(f"no runs named {a.across}<N> with a metrics.h5 in '{mup_dir}'")
    for w, points in sorted(mup_points.items()):
        for k in sorted({k for p in points for k in p} - {a.across, "seed"}):
            values = sorted({p.get(k, "") for p in points})
            if len(values) > 1:
                return fail(f"'{mup_dir}' is not one setting per {a.across}: {a.across} {w} has "
                            f"{k} = {', '.join(v or '(none)' for v in values)}")
    for d, table in ((sp_dir, sp_table), (mup_dir, mup_table)):
        values = [v for row in table.values() for cell in row.values() for v in cell]
        if not any(math.isfinite(v) for v in values):
            return fail(f"no run in '{d}' finished (no final validation at train.steps)")
    refusal = mixed_code(codes, a.allow_mixed_revisions)
    if refusal:
        return fail(refusal)
    shared = set(sp_table) & set(mup_table)
    if not shared:
        return fail(f"'{sp_dir}' ({a.across} {', '.join(map(str, sorted(sp_table)))}) and "
                    f"'{mup_dir}' ({a.across} {', '.join(map(str, sorted(mup_table)))}) share no "
                    f"{a.across}")
    rows = compare_rows(sp_table, mup_table, lower)
    print(f"{a.metric}: SP = {a.sp_label} ({sp_dir}, best {a.key} per {a.across} by the mean over "
          f"seeds), µP = {a.mup_label} ({mup_dir}); seeds min..max ('-': a run did not finish)")
    print(f"{a.across:>8} {'SP ' + a.key:>10} {'SP mean':>9} {'SP seeds':>17} {'µP mean':>9} "
          f"{'µP seeds':>17} {'µP - SP':>9}")
    for r in rows:
        best = f"{r['sp_best']:10.4g}" if r["sp_best"] is not None else f"{'-':>10}"
        spread = {}
        for side in ("sp", "mup"):
            lo, hi = r[f"{side}_min"], r[f"{side}_max"]
            spread[side] = f"{lo:.4f}..{hi:.4f}" if math.isfinite(lo) else "-"
        print(f"{r['width']:>8} {best} {fmt(r['sp_mean'])} {spread['sp']:>17} {fmt(r['mup_mean'])} "
              f"{spread['mup']:>17} {fmt(r['diff'], '+9.4f')}")
    line1, widest = widest_verdict(rows, shared, lower, a.across)
    line2, mono = monotonic_verdict(rows, a.metric, lower, a.across)
    print(line1)
    print(line2)
    out = a.out or os.path.join(mup_dir, "compare.png")
    title = (f"{os.path.basename(os.path.normpath(sp_dir))} vs "
             f"{os.path.basename(os.path.normpath(mup_dir))}")
    plot_compare(rows, a.metric, a.across, a.sp_label, a.mup_label, title, out)
    print("wrote", out)
    if a.json:
        doc = {"metric": a.metric, "key": a.key, "across": a.across, "sp_dir": sp_dir,
               "mup_dir": mup_dir, "sp_label": a.sp_label, "mup_label": a.mup_label,
               "rows": [{(a.across if k == "width" else k):
                         finite_or_none(v) if isinstance(v, float) else v for k, v in r.items()}
                        for r in rows],
               "widest": widest, "monotonic": mono, "verdicts": [line1, line2]}
        with open(a.json, "w") as fh:
            json.dump(doc, fh, indent=1)
        print("wrote", a.json)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep_dir", nargs="?")
    ap.add_argument("--compare", nargs=2, metavar=("SP_DIR", "MUP_DIR"), default=None,
                    help="compare SP tuned at each width (SP_DIR) with µP transferred (MUP_DIR)")
    ap.add_argument("--key", default="lr", help="grid key on the x axis (default lr)")
    ap.add_argument("--across", default="width",
                    help="grid key of the columns / the compared axis (default width)")
    ap.add_argument("--metric", default="val_loss", choices=sorted(METRICS))
    ap.add_argument("--sp-label", default="SP tuned at each width", help="--compare: SP's label")
    ap.add_argument("--mup-label", default="µP transferred", help="--compare: µP's label")
    ap.add_argument("--out", default=None, help="PNG path (default SWEEP_DIR/transfer.png, "
                    "with --compare MUP_DIR/compare.png)")
    ap.add_argument("--json", default=None, help="also write the table and best values as JSON")
    ap.add_argument("--allow-mixed-revisions", action="store_true",
                    help="rank runs made by different code (git revision, or executable when "
                    "the tree was dirty) together")
    a = ap.parse_args()
    if (a.sweep_dir is None) == (a.compare is None):
        ap.error("give either SWEEP_DIR or --compare SP_DIR MUP_DIR")
    if a.compare is not None:
        return main_compare(a)
    if not os.path.isdir(a.sweep_dir):
        print(f"transfer.py: no such directory '{a.sweep_dir}'", file=sys.stderr)
        return 2
    codes = {}
    table = collect(a.sweep_dir, a.key, a.metric, a.across, codes=codes)
    if not table:
        print(f"transfer.py: no runs named {a.across}<N>_{a.key}<X> with a metrics.h5 in "
              f"'{a.sweep_dir}'", file=sys.stderr)
        return 2
    refusal = mixed_code(codes, a.allow_mixed_revisions)
    if refusal:
        return fail(refusal)
    lower = METRICS[a.metric][2]
    widths = sorted(table)
    xs = sorted({x for w in widths for x in table[w]})
    means = {w: {x: mean_or_nan(v) for x, v in table[w].items()} for w in widths}
    n = sorted({len(v) for w in widths for v in table[w].values()})
    runs = "/".join(str(k) for k in n)
    print(f"{a.metric} by {a.key} (rows) and {a.across} (columns), mean over {runs} run(s) per cell"
          f" ('-': a run did not finish)")
    print(f"{a.key:>10} " + " ".join(f"{w:>9}" for w in widths))
    for x in xs:
        cells = []
        for w in widths:
            v = means[w].get(x, float("nan"))
            cells.append(f"{v:9.4f}" if math.isfinite(v) else f"{'-':>9}")
        print(f"{x:10.4g} " + " ".join(cells))
    best = best_per_width(means, lower)
    print(f"best {a.key} per {a.across}: "
          + ", ".join(f"{w}: {best[w]:.4g}" for w in widths if w in best))
    moves = None
    if len(best) > 1:
        idx = [xs.index(best[w]) for w in widths if w in best]
        moves = max(idx) - min(idx)
        print(f"best {a.key} moves by {moves} grid point(s) across {a.across}s")
    out = a.out or os.path.join(a.sweep_dir, "transfer.png")
    title = os.path.basename(os.path.normpath(a.sweep_dir))
    plot(table, means, widths, a.key, a.metric, title, out, a.across)
    print("wrote", out)
    if a.json:
        doc = {"metric": a.metric, "key": a.key, "across": a.across, "widths": widths, "grid": xs,
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
