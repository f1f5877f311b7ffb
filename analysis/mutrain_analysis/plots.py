"""The plots of tools/plot.py, tools/transfer.py and tools/spectral_report.py as functions that
return a matplotlib Figure (shown inline in a notebook; the tools save them as PNG).

A plot without data raises NoData (an AnalysisError) with the reason, which plot.py writes into
index.html as a skipped plot.
"""
import math

import numpy as np

from . import h5
from .h5 import AnalysisError

LEGEND_MAX = 10  # more lines than this: colour by depth with a colour bar instead of a legend


class NoData(AnalysisError):
    """Nothing to draw (statistics off, a series not recorded)."""


def _plt():
    import matplotlib.pyplot as plt
    return plt


def positive(values):
    v = np.concatenate([np.asarray(a, dtype=float).ravel() for a in values] or [np.zeros(0)])
    v = v[np.isfinite(v)]
    return v.size > 0 and bool(np.all(v > 0))


def loss(runs, title="loss"):
    """Train loss (mean over each log interval) and validation loss against step, for one Run or
    several (one colour per run)."""
    runs = runs if isinstance(runs, (list, tuple)) else [runs]
    frames = [(r, r.metrics()) for r in runs]
    if all(len(m[m["statistic"] == "loss"]) == 0 for _, m in frames):
        raise NoData("no /train or /val loss series in metrics.h5")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (r, m) in enumerate(frames):
        colour = f"C{i}" if len(runs) > 1 else None
        prefix = f"{r.name} " if len(runs) > 1 else ""
        train = m[(m["group"] == "train") & (m["statistic"] == "loss")]
        val = m[(m["group"] == "val") & (m["statistic"] == "loss")]
        if len(train):
            ax.plot(train["step"], train["value"], color=colour, label=prefix + "train", lw=1.2)
        if len(val):
            ax.plot(val["step"], val["value"], "o--" if len(runs) > 1 else "o-", color=colour,
                    label=prefix + "val", ms=4, lw=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7 if len(runs) > 2 else None)
    fig.tight_layout()
    return fig


def per_layer(run, statistic, group=None, title=None, ylabel=None, only_2d=None):
    """One line per layer (or parameter) of `statistic` over the recorded steps; log y when every
    value is positive; with more than 10 lines coloured by depth with a colour bar."""
    group = group or ("act" if statistic in ("act_rms", "act_rms_max", "dep_rms", "upd_rms")
                      else "stats")
    only_2d = statistic.startswith(("w_spec", "dw_spec")) if only_2d is None else only_2d
    frame = run.stats(group)
    if len(frame) == 0 and group in run.groups():
        raise NoData("no rows in the statistics step column")
    if len(frame) == 0:
        raise NoData(f"no /{group} group in metrics.h5 (statistics off: set stats.every in the "
                     "config)")
    rows = frame[frame["statistic"] == statistic]
    names = sorted(set(rows["layer"]), key=h5.depth_key)
    if only_2d:
        matrices = set(frame.loc[frame["statistic"] == "w_spec", "layer"])
        names = [n for n in names if n in matrices]
    if not names:
        raise NoData(f"no '{statistic}' series recorded")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5))
    many = len(names) > LEGEND_MAX
    cmap = plt.get_cmap("viridis")
    for i, name in enumerate(names):
        d = rows[rows["layer"] == name]
        colour = cmap(i / max(1, len(names) - 1)) if many else None
        ax.plot(d["step"], d["value"], color=colour, lw=1.0, label=name)
    if positive([rows["value"].to_numpy()]):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel or statistic)
    ax.set_title(title or statistic)
    ax.grid(alpha=0.3, which="both")
    _legend_or_bar(fig, ax, cmap, names, many, "depth")
    fig.tight_layout()
    return fig


def _legend_or_bar(fig, ax, cmap, names, many, what):
    if many:
        import matplotlib
        sm = matplotlib.cm.ScalarMappable(cmap=cmap, norm=_plt().Normalize(0, len(names) - 1))
        bar = fig.colorbar(sm, ax=ax)
        bar.set_label(f"{what}: 0 = {names[0]}, {len(names) - 1} = {names[-1]}")
    else:
        ax.legend(fontsize=7, loc="best")


def coord_check(cc):
    """mean |x| of every layer output (and its change since init, when recorded) against width
    or depth (log-log), one panel per step shown (up to 4)."""
    mean_abs = cc.arrays["mean_abs"]
    rows = [(mean_abs, cc.arrays.get("slope"), "mean |x| of layer output")]
    delta = cc.arrays.get("mean_delta")
    if delta is not None and delta.shape == mean_abs.shape:
        rows.append((delta, cc.arrays.get("delta_slope"), "mean |x - x_init|"))
    n_steps = mean_abs.shape[1]
    shown = sorted(set(np.linspace(0, n_steps - 1, min(4, n_steps)).round().astype(int).tolist()))
    order = sorted(range(len(cc.layers)), key=lambda i: h5.depth_key(cc.layers[i]))
    plt = _plt()
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(len(rows), len(shown), figsize=(3.6 * len(shown) + 1.5, 4 * len(rows)),
                             squeeze=False, sharey="row")
    for r, (values, fit, label) in enumerate(rows):
        for ax, s in zip(axes[r], shown):
            for rank, i in enumerate(order):
                y = np.where(values[:, s, i] > 0, values[:, s, i], np.nan)
                ax.plot(cc.sizes, y, "o-", ms=3, lw=1,
                        color=cmap(rank / max(1, len(order) - 1)), label=cc.layers[i])
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel(cc.axis)
            worst = (f", max |slope| {np.nanmax(np.abs(fit[s])):.2f}" if fit is not None else "")
            ax.set_title(f"step {s + 1}{worst}", fontsize=9)
            ax.grid(alpha=0.3, which="both")
        axes[r][0].set_ylabel(label)
    if len(order) <= LEGEND_MAX:
        axes[0][-1].legend(fontsize=7)
    else:
        import matplotlib
        sm = matplotlib.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, len(order) - 1))
        bar = fig.colorbar(sm, ax=axes.ravel().tolist())
        bar.set_label(f"layer order: 0 = {cc.layers[order[0]]}, {len(order) - 1} = "
                      f"{cc.layers[order[-1]]}")
    fig.suptitle(f"coordinate check (flat lines: {cc.axis}-independent activations)", fontsize=10)
    return fig


def transfer(table, key="lr", metric="val_loss", title="", across="width"):
    """The metric against `key` (log x), one curve per column (width); bars span the seeds.
    `table`: {column: {x: [value per seed]}} (Sweep.table)."""
    from .sweep import mean_or_nan
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for w in sorted(table):
        means = {x: mean_or_nan(v) for x, v in table[w].items()}
        xs = [x for x in sorted(means) if math.isfinite(means[x])]
        ys = [means[x] for x in xs]
        lo = [ys[i] - min(table[w][x]) for i, x in enumerate(xs)]
        hi = [max(table[w][x]) - ys[i] for i, x in enumerate(xs)]
        ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=2, label=f"{across} {w}")
    ax.set_xscale("log")
    ax.set_xlabel(key)
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def compare(rows, metric, across, sp_label, mup_label, title):
    """SP tuned per width and µP transferred: the metric against width (log2 x), bars spanning
    the seeds. `rows`: sweep.compare_rows."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for side, label, marker in (("sp", sp_label, "o"), ("mup", mup_label, "s")):
        pts = [r for r in rows if math.isfinite(r[f"{side}_mean"])]
        if not pts:
            continue
        ys = [r[f"{side}_mean"] for r in pts]
        lo = [r[f"{side}_mean"] - r[f"{side}_min"] for r in pts]
        hi = [r[f"{side}_max"] - r[f"{side}_mean"] for r in pts]
        ax.errorbar([r["width"] for r in pts], ys, yerr=[lo, hi], marker=marker, capsize=3,
                    label=label)
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
    return fig


def _spectral_ratio_panel(ax, runs, key, colour, title):
    for w in sorted(runs):
        r = runs[w]
        ax.plot(r["steps"], np.nanmedian(r[key], axis=0), color=colour[w], lw=1.4,
                label=f"width {w}")
        ax.fill_between(r["steps"], np.nanmin(r[key], axis=0), np.nanmax(r[key], axis=0),
                        color=colour[w], alpha=0.15, lw=0)
    ax.set_yscale("log")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)


def _spread_panel(ax, spread):
    steps, ws, dws = spread
    ax.plot(steps, ws, "k-", lw=1.4, label="W")
    ax.plot(steps, dws, "k--", lw=1.2, label="dW")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_yscale("log")
    ax.set_title("spread across widths (max/min of the medians)", fontsize=9)
    ax.grid(alpha=0.3)


def _rms_panel(ax, runs, colour):
    from .spectral import RMS
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


def _loss_time_panel(ax, rows, label, widths):
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


def spectral(variants, labels, spreads, rows):
    """The spectral report: one column per variant ({width: run} of spectral.read_variant); rows
    w_spec_ratio and dw_spec_ratio over training (median line, min..max band per width), their
    spread across widths, the stability RMS at the narrowest and widest width, and final loss and
    time per step against width. The same y range per row across columns."""
    plt = _plt()
    widths = sorted({w for runs in variants for w in runs})
    cmap = plt.get_cmap("viridis")
    colour = {w: cmap(i / max(1, len(widths) - 1)) for i, w in enumerate(widths)}
    fig, axes = plt.subplots(5, len(variants), figsize=(4.2 * len(variants), 16), squeeze=False)
    for c, (runs, label) in enumerate(zip(variants, labels)):
        _spectral_ratio_panel(axes[0][c], runs, "w", colour,
                              f"{label}\n||W||_2 / sqrt(d_out/d_in)")
        _spectral_ratio_panel(axes[1][c], runs, "dw", colour, "||dW||_2 / sqrt(d_out/d_in)")
        _spread_panel(axes[2][c], spreads[c])
        _rms_panel(axes[3][c], runs, colour)
        _loss_time_panel(axes[4][c], rows, label, widths)
    for row in range(3):  # same y range across variants: columns compare at a glance
        lo = min(a.get_ylim()[0] for a in axes[row])
        hi = max(a.get_ylim()[1] for a in axes[row])
        for a in axes[row]:
            a.set_ylim(lo, hi)
    for a in axes[2]:
        a.set_xlabel("step")
    axes[0][0].legend(fontsize=7)
    axes[2][0].legend(fontsize=7)
    fig.tight_layout()
    return fig
