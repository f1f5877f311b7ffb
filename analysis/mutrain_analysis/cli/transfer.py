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
import sys

from .. import plots
from ..h5 import AnalysisError
from ..run import METRICS
from ..sweep import (best_per_width, check_one_setting, collect, compare_rows, mean_or_nan,
                     mixed_code, monotonic_verdict, widest_verdict)


class Refused(Exception):
    """Bad input: printed as 'transfer.py: MESSAGE', exit code 2."""


def warn(message):
    print(f"transfer.py: {message}", file=sys.stderr)


def fmt(v, spec="9.4f"):
    width = spec.split(".")[0].lstrip("+")
    return format(v, spec) if v is not None and math.isfinite(v) else format("-", ">" + width)


def finite_or_none(v):
    return v if v is not None and math.isfinite(v) else None


def save(fig, out):
    import matplotlib.pyplot as plt
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print("wrote", out)


def write_json(path, doc):
    with open(path, "w") as fh:
        json.dump(doc, fh, indent=1)
    print("wrote", path)


def read_compare(a):
    """The two tables of --compare, refused (Refused) as the tool documents."""
    sp_dir, mup_dir = a.compare
    for d in (sp_dir, mup_dir):
        if not os.path.isdir(d):
            raise Refused(f"no such directory '{d}'")
    codes = {}
    sp_table = collect(sp_dir, a.key, a.metric, a.across, codes=codes, warn=warn)
    if not sp_table:
        raise Refused(f"no runs named {a.across}<N>_{a.key}<X> with a metrics.h5 in '{sp_dir}'")
    mup_points = {}
    mup_table = collect(mup_dir, None, a.metric, a.across, mup_points, codes, warn=warn)
    if not mup_table:
        raise Refused(f"no runs named {a.across}<N> with a metrics.h5 in '{mup_dir}'")
    refusal = check_one_setting(mup_dir, mup_points, a.across)
    if refusal:
        raise Refused(refusal)
    for d, table in ((sp_dir, sp_table), (mup_dir, mup_table)):
        values = [v for row in table.values() for cell in row.values() for v in cell]
        if not any(math.isfinite(v) for v in values):
            raise Refused(f"no run in '{d}' finished (no final validation at train.steps)")
    refusal = mixed_code(codes, a.allow_mixed_revisions, warn)
    if refusal:
        raise Refused(refusal)
    if not set(sp_table) & set(mup_table):
        raise Refused(f"'{sp_dir}' ({a.across} {', '.join(map(str, sorted(sp_table)))}) and "
                      f"'{mup_dir}' ({a.across} {', '.join(map(str, sorted(mup_table)))}) share "
                      f"no {a.across}")
    return sp_table, mup_table


def print_compare_rows(a, rows):
    sp_dir, mup_dir = a.compare
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


def main_compare(a):
    sp_dir, mup_dir = a.compare
    lower = METRICS[a.metric][2]
    sp_table, mup_table = read_compare(a)
    rows = compare_rows(sp_table, mup_table, lower)
    print_compare_rows(a, rows)
    line1, widest = widest_verdict(rows, set(sp_table) & set(mup_table), lower, a.across)
    line2, mono = monotonic_verdict(rows, a.metric, lower, a.across)
    print(line1)
    print(line2)
    title = (f"{os.path.basename(os.path.normpath(sp_dir))} vs "
             f"{os.path.basename(os.path.normpath(mup_dir))}")
    save(plots.compare(rows, a.metric, a.across, a.sp_label, a.mup_label, title),
         a.out or os.path.join(mup_dir, "compare.png"))
    if a.json:
        write_json(a.json, {
            "metric": a.metric, "key": a.key, "across": a.across, "sp_dir": sp_dir,
            "mup_dir": mup_dir, "sp_label": a.sp_label, "mup_label": a.mup_label,
            "rows": [{(a.across if k == "width" else k):
                      finite_or_none(v) if isinstance(v, float) else v for k, v in r.items()}
                     for r in rows],
            "widest": widest, "monotonic": mono, "verdicts": [line1, line2]})
    return 0


def print_table(a, table, means, widths, xs):
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


def main_table(a):
    if not os.path.isdir(a.sweep_dir):
        raise Refused(f"no such directory '{a.sweep_dir}'")
    codes = {}
    table = collect(a.sweep_dir, a.key, a.metric, a.across, codes=codes, warn=warn)
    if not table:
        raise Refused(f"no runs named {a.across}<N>_{a.key}<X> with a metrics.h5 in "
                      f"'{a.sweep_dir}'")
    refusal = mixed_code(codes, a.allow_mixed_revisions, warn)
    if refusal:
        raise Refused(refusal)
    widths = sorted(table)
    xs = sorted({x for w in widths for x in table[w]})
    means = {w: {x: mean_or_nan(v) for x, v in table[w].items()} for w in widths}
    print_table(a, table, means, widths, xs)
    best = best_per_width(means, METRICS[a.metric][2])
    print(f"best {a.key} per {a.across}: "
          + ", ".join(f"{w}: {best[w]:.4g}" for w in widths if w in best))
    moves = None
    if len(best) > 1:
        idx = [xs.index(best[w]) for w in widths if w in best]
        moves = max(idx) - min(idx)
        print(f"best {a.key} moves by {moves} grid point(s) across {a.across}s")
    title = os.path.basename(os.path.normpath(a.sweep_dir))
    save(plots.transfer(table, a.key, a.metric, title, a.across),
         a.out or os.path.join(a.sweep_dir, "transfer.png"))
    if a.json:
        write_json(a.json, {
            "metric": a.metric, "key": a.key, "across": a.across, "widths": widths, "grid": xs,
            "mean": {str(w): {repr(x): (means[w][x] if math.isfinite(means[w][x]) else None)
                              for x in sorted(means[w])} for w in widths},
            "runs": {str(w): {repr(x): len(table[w][x]) for x in sorted(table[w])} for w in widths},
            "best": {str(w): best[w] for w in widths if w in best}, "moves": moves})
    return 0


def parser():
    ap = argparse.ArgumentParser(prog="transfer.py", description=__doc__.splitlines()[0])
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
    return ap


def main(argv=None):
    ap = parser()
    a = ap.parse_args(argv)
    if (a.sweep_dir is None) == (a.compare is None):
        ap.error("give either SWEEP_DIR or --compare SP_DIR MUP_DIR")
    import matplotlib
    matplotlib.use("Agg")
    return main_compare(a) if a.compare is not None else main_table(a)


def entry(argv=None):
    """The command (tools/transfer.py, mutrain-transfer): exit 2 with a 'transfer.py: ...' line
    on bad input."""
    try:
        return main(argv)
    except (Refused, AnalysisError) as e:
        print(f"transfer.py: {e}", file=sys.stderr)
        return 2
