#!/usr/bin/python3
"""PNG plots of one mutrain run: python3 tools/plot.py RUN_DIR [--out DIR]

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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtio  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

LEGEND_MAX = 10  # more lines than this: colour by depth with a colour bar instead of a legend


def positive(values):
    v = np.concatenate([np.asarray(a, dtype=float).ravel() for a in values] or [np.zeros(0)])
    v = v[np.isfinite(v)]
    return v.size > 0 and bool(np.all(v > 0))


def plot_loss(f, path):
    train = mtio.series(f, "train")
    val = mtio.series(f, "val")
    have_train = "step" in train and "loss" in train
    have_val = "step" in val and "loss" in val
    if not have_train and not have_val:
        return "no /train or /val loss series in metrics.h5"
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if have_train:
        n = min(len(train["step"]), len(train["loss"]))
        ax.plot(train["step"][:n], train["loss"][:n], label="train", lw=1.2)
    if have_val:
        n = min(len(val["step"]), len(val["loss"]))
        ax.plot(val["step"][:n], val["loss"][:n], "o-", label="val", ms=4, lw=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats)")
    ax.set_title("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None


def plot_per_layer(steps, table, stat, path, title, ylabel, only_2d=False):
    """One line per layer/param over the recorded steps; log-y when every value is positive."""
    if steps is None or len(steps) == 0:
        return "no rows in the statistics step column"
    names = [n for n, stats in table.items() if stat in stats]
    if only_2d:
        names = [n for n in names if "w_spec" in table[n]]
    if not names:
        return f"no '{stat}' series recorded"
    names.sort(key=mtio.depth_key)
    fig, ax = plt.subplots(figsize=(8, 5))
    many = len(names) > LEGEND_MAX
    cmap = plt.get_cmap("viridis")
    for i, name in enumerate(names):
        y = table[name][stat]
        n = min(len(steps), len(y))
        colour = cmap(i / max(1, len(names) - 1)) if many else None
        ax.plot(steps[:n], y[:n], color=colour, lw=1.0, label=name)
    if positive([table[n][stat] for n in names]):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    if many:
        sm = matplotlib.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, len(names) - 1))
        bar = fig.colorbar(sm, ax=ax)
        bar.set_label(f"depth: 0 = {names[0]}, {len(names) - 1} = {names[-1]}")
    else:
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None


PLOTS = [
    # file, caption, group, stat, y label, only 2-D params
    ("act_rms.png", "RMS of each layer's output on the fixed probe batch (/act/&lt;module&gt;/act_rms)",
     "act", "act_rms", "act_rms", False),
    ("upd_rms.png", "RMS change of each layer's output caused by one step's update "
     "(/act/&lt;module&gt;/upd_rms)", "act", "upd_rms", "upd_rms", False),
    ("w_spec_ratio.png", "Spectral norm of each weight matrix over sqrt(d_out/d_in) "
     "(/stats/&lt;param&gt;/w_spec_ratio)", "stats", "w_spec_ratio", "w_spec / sqrt(d_out/d_in)", True),
    ("dw_spec_ratio.png", "Spectral norm of each step's update over sqrt(d_out/d_in) "
     "(/stats/&lt;param&gt;/dw_spec_ratio)", "stats", "dw_spec_ratio", "dW_spec / sqrt(d_out/d_in)",
     True),
]


def plot_coord_check(f, path):
    """mean |x| of every layer output (and its change since init, when recorded) against width or
    depth (log-log), one panel per step shown."""
    axis = "depth" if "depths" in f else "width"
    for name in (axis + "s", "layers", "mean_abs"):
        if name not in f:
            return f"coord_check.h5 has no /{name}"
    widths = mtio.read_1d(f[axis + "s"])
    layers = [mtio.attr_str(x) for x in f["layers"][()]]
    mean_abs = np.asarray(f["mean_abs"][()], dtype=float)  # (width, step, layer)
    if mean_abs.ndim != 3 or mean_abs.shape[0] != len(widths) or mean_abs.shape[2] != len(layers):
        return f"/mean_abs has shape {mean_abs.shape}, expected ({axis}s, steps, layers)"
    slope = np.asarray(f["slope"][()], dtype=float) if "slope" in f else None
    rows = [(mean_abs, slope, "mean |x| of layer output")]
    if "mean_delta" in f:  # the change since init (files written since the depth check)
        delta = np.asarray(f["mean_delta"][()], dtype=float)
        if delta.shape == mean_abs.shape:
            dslope = np.asarray(f["delta_slope"][()], dtype=float) if "delta_slope" in f else None
            rows.append((delta, dslope, "mean |x - x_init|"))
    n_steps = mean_abs.shape[1]
    shown = sorted(set(np.linspace(0, n_steps - 1, min(4, n_steps)).round().astype(int).tolist()))
    order = sorted(range(len(layers)), key=lambda i: mtio.depth_key(layers[i]))
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(len(rows), len(shown), figsize=(3.6 * len(shown) + 1.5, 4 * len(rows)),
                             squeeze=False, sharey="row")
    for r, (values, fit, label) in enumerate(rows):
        for ax, s in zip(axes[r], shown):
            for rank, i in enumerate(order):
                y = np.where(values[:, s, i] > 0, values[:, s, i], np.nan)
                ax.plot(widths, y, "o-", ms=3, lw=1,
                        color=cmap(rank / max(1, len(order) - 1)), label=layers[i])
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel(axis)
            worst = (f", max |slope| {np.nanmax(np.abs(fit[s])):.2f}"
                     if fit is not None else "")
            ax.set_title(f"step {s + 1}{worst}", fontsize=9)
            ax.grid(alpha=0.3, which="both")
        axes[r][0].set_ylabel(label)
    if len(order) <= LEGEND_MAX:
        axes[0][-1].legend(fontsize=7)
    else:
        sm = matplotlib.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, len(order) - 1))
        bar = fig.colorbar(sm, ax=axes.ravel().tolist())
        bar.set_label(f"layer order: 0 = {layers[order[0]]}, {len(order) - 1} = "
                      f"{layers[order[-1]]}")
    fig.suptitle(f"coordinate check (flat lines: {axis}-independent activations)", fontsize=10)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return None


def plot_metrics(metrics_path, out_dir, made, skipped):
    with mtio.open_h5(metrics_path, kind="metrics") as f:
        try:
            why = plot_loss(f, os.path.join(out_dir, "loss.png"))
            if why is None:
                made.append(("loss.png", "training loss (mean over each log interval) and "
                                         "validation loss vs step (/train/loss, /val/loss)"))
            else:
                skipped.append(("loss.png", why))
            tables = {g: mtio.stat_groups(f, g) for g in ("act", "stats")}
            for name, caption, group, stat, ylabel, only_2d in PLOTS:
                steps, table = tables[group]
                if not table:
                    skipped.append((name, f"no /{group} group in metrics.h5 (statistics off: "
                                          "set stats.every in the config)"))
                    continue
                why = plot_per_layer(steps, table, stat, os.path.join(out_dir, name),
                                     stat, ylabel, only_2d)
                if why is None:
                    made.append((name, caption))
                else:
                    skipped.append((name, why))
        except (OSError, KeyError, ValueError) as e:
            raise mtio.MtioError(f"{metrics_path}: cannot read (truncated or corrupt?): {e}") from None


def plot_coord(coord_path, out_dir, made, skipped):
    with mtio.open_h5(coord_path, kind="coord_check") as f:
        try:
            why = plot_coord_check(f, os.path.join(out_dir, "coord_check.png"))
        except (OSError, KeyError, ValueError) as e:
            raise mtio.MtioError(f"{coord_path}: cannot read (truncated or corrupt?): {e}") from None
    if why is None:
        made.append(("coord_check.png", "coordinate check: mean |x| of each layer's output vs "
                                        "model width after the steps shown (/mean_abs)"))
    else:
        skipped.append(("coord_check.png", why))


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


def main(argv=None):
    ap = argparse.ArgumentParser(prog="plot.py", description="PNG plots of a mutrain run")
    ap.add_argument("run_dir", help="runs/NAME (or its metrics.h5 / coord_check.h5)")
    ap.add_argument("--out", help="output folder (default RUN_DIR/plots)")
    args = ap.parse_args(argv)
    if args.run_dir.endswith(".h5") and not os.path.isdir(args.run_dir):
        run_dir = os.path.dirname(os.path.abspath(args.run_dir))
        with mtio.open_h5(args.run_dir) as f:
            kind = mtio.attr_str(f.attrs.get("kind"))
        metrics_path = args.run_dir if kind != "coord_check" else None
        coord_path = args.run_dir if kind == "coord_check" else None
    else:
        run_dir = args.run_dir
        if not os.path.isdir(run_dir):
            raise mtio.MtioError(f"{run_dir}: no such run folder")
        metrics_path = os.path.join(run_dir, "metrics.h5")
        coord_path = os.path.join(run_dir, "coord_check.h5")
        if not os.path.exists(coord_path):
            coord_path = None
        elif not os.path.exists(metrics_path):
            metrics_path = None  # a coord-check folder
    out_dir = args.out or os.path.join(run_dir, "plots")
    made, skipped = [], []
    # Open (and so validate) the inputs before creating anything.
    for p in (metrics_path, coord_path):
        if p is not None:
            mtio.open_h5(p).close()
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise mtio.MtioError(f"{out_dir}: cannot create the output folder: {e.strerror}") from None
    if metrics_path is not None:
        plot_metrics(metrics_path, out_dir, made, skipped)
    if coord_path is not None:
        plot_coord(coord_path, out_dir, made, skipped)
    run_name = os.path.basename(os.path.normpath(os.path.abspath(run_dir)))
    write_index(out_dir, run_name, made, skipped)
    print(f"plot.py: {len(made)} plot(s) in {out_dir}/ (index.html)"
          + (f"; skipped {', '.join(n for n, _ in skipped)}" if skipped else ""))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except mtio.MtioError as e:
        print(f"plot.py: {e}", file=sys.stderr)
        sys.exit(2)
