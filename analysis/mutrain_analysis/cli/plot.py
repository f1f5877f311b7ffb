"""PNG plots of one mutrain run: python3 tools/plot.py RUN_DIR [--out DIR] (or mutrain-plot).

Reads RUN_DIR/metrics.h5 (docs/hdf5-layout.md) and writes into RUN_DIR/plots/ (or DIR):
loss.png, act_rms.png, upd_rms.png, w_spec_ratio.png, dw_spec_ratio.png and index.html showing
them. Groups the run did not record (statistics off) are skipped with a note in index.html.
A folder written by `mutrain coord-check` (coord_check.h5) gets coord_check.png.
Exit code 2 with a "plot.py: ..." message for a missing or unreadable file.
"""
import argparse
import html
import os
import sys

from .. import h5, plots
from ..coord import CoordCheck
from ..h5 import AnalysisError
from ..run import Run

PLOTS = [
    # file, caption, statistic, y label
    ("act_rms.png", "RMS of each layer's output on the fixed probe batch (/act/&lt;module&gt;/act_rms)",
     "act_rms", "act_rms"),
    ("upd_rms.png", "RMS change of each layer's output caused by one step's update "
     "(/act/&lt;module&gt;/upd_rms)", "upd_rms", "upd_rms"),
    ("w_spec_ratio.png", "Spectral norm of each weight matrix over sqrt(d_out/d_in) "
     "(/stats/&lt;param&gt;/w_spec_ratio)", "w_spec_ratio", "w_spec / sqrt(d_out/d_in)"),
    ("dw_spec_ratio.png", "Spectral norm of each step's update over sqrt(d_out/d_in) "
     "(/stats/&lt;param&gt;/dw_spec_ratio)", "dw_spec_ratio", "dW_spec / sqrt(d_out/d_in)"),
]
LOSS_CAPTION = ("training loss (mean over each log interval) and validation loss vs step "
                "(/train/loss, /val/loss)")
COORD_CAPTION = ("coordinate check: mean |x| of each layer's output vs model width after the "
                 "steps shown (/mean_abs)")


def save(make, out_dir, name, caption, made, skipped):
    """Draws one figure with make() into out_dir/name; NoData becomes a skipped note."""
    import matplotlib.pyplot as plt
    try:
        fig = make()
    except plots.NoData as e:
        skipped.append((name, str(e)))
        return
    fig.savefig(os.path.join(out_dir, name), dpi=100, bbox_inches="tight" if name ==
                "coord_check.png" else None)
    plt.close(fig)
    made.append((name, caption))


def plot_metrics(metrics_path, out_dir, made, skipped):
    run = Run(metrics_path)
    save(lambda: plots.loss(run), out_dir, "loss.png", LOSS_CAPTION, made, skipped)
    for name, caption, stat, ylabel in PLOTS:
        save(lambda: plots.per_layer(run, stat, ylabel=ylabel), out_dir, name, caption, made,
             skipped)


def write_index(out_dir, run_name, made, skipped):
    lines = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>mutrain run {html.escape(run_name)}</title>",
        "<style>body{font-family:sans-serif;max-width:900px;margin:2em auto}"
        "figure{margin:1.5em 0}img{max-width:100%}.note{color:#a60}</style>",
        "</head><body>",
        f"<h1>mutrain run {html.escape(run_name)}</h1>",
    ]
    for name, caption in made:
        lines.append(f'<figure><img src="{name}" alt="{name}">'
                     f"<figcaption>{name}: {caption}</figcaption></figure>")
    for name, reason in skipped:
        lines.append(f'<p class="note">{name} skipped: {html.escape(reason)}</p>')
    lines.append("</body></html>")
    with open(os.path.join(out_dir, "index.html"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def inputs(path):
    """(run folder, metrics.h5 or None, coord_check.h5 or None) of the argument."""
    if path.endswith(".h5") and not os.path.isdir(path):
        kind = h5.file_kind(path)
        return (os.path.dirname(os.path.abspath(path)), path if kind != "coord_check" else None,
                path if kind == "coord_check" else None)
    if not os.path.isdir(path):
        raise AnalysisError(f"{path}: no such run folder")
    metrics_path = os.path.join(path, "metrics.h5")
    coord_path = os.path.join(path, "coord_check.h5")
    if not os.path.exists(coord_path):
        coord_path = None
    elif not os.path.exists(metrics_path):
        metrics_path = None  # a coord-check folder
    return path, metrics_path, coord_path


def main(argv=None):
    ap = argparse.ArgumentParser(prog="plot.py", description="PNG plots of a mutrain run")
    ap.add_argument("run_dir", help="runs/NAME (or its metrics.h5 / coord_check.h5)")
    ap.add_argument("--out", help="output folder (default RUN_DIR/plots)")
    args = ap.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    run_dir, metrics_path, coord_path = inputs(args.run_dir)
    out_dir = args.out or os.path.join(run_dir, "plots")
    made, skipped = [], []
    # Open (and so validate) the inputs before creating anything.
    for p in (metrics_path, coord_path):
        if p is not None:
            h5.open_h5(p).close()
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise AnalysisError(f"{out_dir}: cannot create the output folder: {e.strerror}") from None
    if metrics_path is not None:
        plot_metrics(metrics_path, out_dir, made, skipped)
    if coord_path is not None:
        cc = CoordCheck(coord_path)
        save(lambda: plots.coord_check(cc), out_dir, "coord_check.png", COORD_CAPTION, made,
             skipped)
    run_name = os.path.basename(os.path.normpath(os.path.abspath(run_dir)))
    write_index(out_dir, run_name, made, skipped)
    print(f"plot.py: {len(made)} plot(s) in {out_dir}/ (index.html)"
          + (f"; skipped {', '.join(n for n, _ in skipped)}" if skipped else ""))
    return 0


def entry(argv=None):
    """The command (tools/plot.py, mutrain-plot): exit 2 with a 'plot.py: ...' line on bad input."""
    try:
        return main(argv)
    except AnalysisError as e:
        print(f"plot.py: {e}", file=sys.stderr)
        return 2
