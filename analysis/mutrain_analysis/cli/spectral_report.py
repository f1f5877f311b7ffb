"""Spectral conditions across widths (docs/spectral.md): one column of panels per variant.

    /usr/bin/python3 tools/spectral_report.py SWEEP_DIR [SWEEP_DIR ...] [--out PNG] [--json PATH]
        [--params REGEX] [--label TEXT ...]

Each SWEEP_DIR is one variant (a `mutrain sweep --widths ...` folder, points width<W>_seed<S>;
scripts/spectral_experiments.sh makes four). From every run's metrics.h5 (docs/hdf5-layout.md) it
reads, for the hidden matrices (those with a w_spec_ratio that are neither embeddings nor the
readout, by name as depth_key orders them; --params REGEX chooses others):
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

from .. import plots
from ..h5 import AnalysisError
from ..spectral import read_variant, summarise


def fmt(v, spec=".3f"):
    return format(v, spec) if isinstance(v, (int, float)) and math.isfinite(v) else "-"


def print_report(rows, lines):
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


def parser():
    p = argparse.ArgumentParser(prog="spectral_report.py", description=__doc__.split("\n")[0])
    p.add_argument("sweeps", nargs="+", help="one mutrain sweep folder per variant")
    p.add_argument("--label", nargs="*", help="one label per sweep (default: the folder name)")
    p.add_argument("--params", help="regex choosing the matrices (default: the hidden ones)")
    p.add_argument("--out", help="PNG path (default: spectral.png in the first sweep folder)")
    p.add_argument("--json", help="write the table and spreads as JSON here")
    return p


def main(argv=None):
    a = parser().parse_args(argv)
    labels = a.label or [os.path.basename(os.path.normpath(s)) for s in a.sweeps]
    if len(labels) != len(a.sweeps):
        raise AnalysisError("--label needs one label per sweep folder")
    try:
        if a.params is not None:
            re.compile(a.params)
    except re.error as e:
        raise AnalysisError(f"--params is not a regex: {e}") from None
    variants = [read_variant(s, a.params) for s in a.sweeps]
    rows, lines, spreads = [], [], []
    for label, runs in zip(labels, variants):
        r, line, s = summarise(label, runs)
        rows += r
        lines.append(line)
        spreads.append(s)
    print_report(rows, lines)
    out = a.out or os.path.join(a.sweeps[0], "spectral.png")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plots.spectral(variants, labels, spreads, rows)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    print(f"wrote {out}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"rows": rows, "spread": lines,
                       "spread_series": [{"variant": lab, "step": s.tolist(), "w": ws.tolist(),
                                          "dw": dws.tolist()}
                                         for lab, (s, ws, dws) in zip(labels, spreads)]},
                      fh, indent=1, allow_nan=True)
    return 0


def entry(argv=None):
    """The command (tools/spectral_report.py, mutrain-spectral-report): exit 2 with a
    'spectral_report.py: ...' line on bad input."""
    try:
        return main(argv)
    except AnalysisError as e:
        print(f"spectral_report.py: {e}", file=sys.stderr)
        return 2
