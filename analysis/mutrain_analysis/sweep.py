"""A sweep folder (`mutrain sweep`: SWEEP_DIR/<point>/metrics.h5) and the µTransfer tables.

Point names are the grid values joined by '_' (width256_lr0.001_seed1, depth4_lr0.002_seed0). The
transfer table averages a final metric per (column key, row key) - by default (width, lr) - over
the other keys (seeds); a cell with a run that did not finish is nan. `compare_rows` and the two
verdicts compare an SP sweep tuned at every width with one µP setting transferred across widths.
tools/transfer.py prints these tables; `Sweep` gives them as DataFrames.
"""
import math
import os
import re
import warnings

import pandas as pd

from . import h5
from .h5 import AnalysisError
from .run import METRICS, Run, code_identity, read_finished


def parse_point(name):
    """'width256_lr0.001_seed1' -> {'width': '256', 'lr': '0.001', 'seed': '1'}."""
    out = {}
    for token in name.split("_"):
        m = re.match(r"([A-Za-z]+)(.+)$", token)
        if m:
            out[m.group(1)] = m.group(2)
    return out


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


def read_metric(path, metric, codes=None):
    """The metric of one run's metrics.h5, or nan when the run did not finish (no final
    validation row). codes, a dict, receives {code identity: [path]} for a finished run."""
    group, name, _ = METRICS[metric]
    with h5.open_h5(path, kind="metrics") as f:
        value = read_finished(f, group, name)
        if codes is not None and math.isfinite(value):
            codes.setdefault(code_identity(f), []).append(path)
        return value


def _warn(message):
    warnings.warn(message, stacklevel=3)


def collect(sweep_dir, key, metric, across="width", points_out=None, codes=None, warn=_warn):
    """{column: {x: [value per seed/other point]}} from every point folder with a metrics.h5.

    column is the value of the `across` key (width), x the value of `key` (lr); key None puts every
    point of a column into one cell (x None). points_out, a dict, receives {column: [parsed point]}.
    warn(message) is told about points that are skipped or unreadable.
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
            warn(f"skipping {point}: {across} or {key} is not a number")
            continue
        try:
            value = read_metric(path, metric, codes)
        except AnalysisError as e:
            warn(f"skipping {point}: {e}")
            value = float("nan")
        table.setdefault(col, {}).setdefault(x, []).append(value)
        if points_out is not None:
            points_out.setdefault(col, []).append(keys)
    return table


def mean_or_nan(values):
    """The mean, or nan when a value is missing (a run that did not finish)."""
    if values and all(math.isfinite(v) for v in values):
        return sum(values) / len(values)
    return float("nan")


def best_per_width(means, lower_is_better):
    """{column: the x with the best finite mean}."""
    best = {}
    for w, row in means.items():
        finite = {x: v for x, v in row.items() if math.isfinite(v)}
        if finite:
            best[w] = (min if lower_is_better else max)(finite, key=finite.get)
    return best


def mixed_code(codes, allow, warn=_warn):
    """None when every finished run was made by the same code (or allow: then warn), else the
    refusal's text (docs/reproducibility.md)."""
    if len(codes) <= 1:
        return None
    parts = "; ".join(f"git {code}: {len(paths)} run(s), e.g. {paths[0]}"
                      for code, paths in sorted(codes.items()))
    if allow:
        warn(f"ranking runs made by different code (--allow-mixed-revisions): {parts}")
        return None
    return (f"the finished runs were made by different code, so their metrics are not comparable "
            f"as they stand: {parts}. Rank them together deliberately with "
            f"--allow-mixed-revisions (docs/reproducibility.md)")


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


def check_one_setting(mup_dir, mup_points, across):
    """None when every width of a µP sweep is one setting (only seeds differ), else the refusal."""
    for w, points in sorted(mup_points.items()):
        for k in sorted({k for p in points for k in p} - {across, "seed"}):
            values = sorted({p.get(k, "") for p in points})
            if len(values) > 1:
                return (f"'{mup_dir}' is not one setting per {across}: {across} {w} has "
                        f"{k} = {', '.join(v or '(none)' for v in values)}")
    return None


class Sweep:
    """A sweep folder: one run per point folder holding a metrics.h5."""

    def __init__(self, path):
        self.path = os.fspath(path)
        if not os.path.isdir(self.path):
            raise AnalysisError(f"{self.path}: no such sweep folder")
        self.name = os.path.basename(os.path.normpath(os.path.abspath(self.path)))
        names = sorted(p for p in os.listdir(self.path)
                       if os.path.exists(os.path.join(self.path, p, "metrics.h5")))
        if not names:
            raise AnalysisError(f"{self.path}: no run folders with a metrics.h5 (a `mutrain "
                                "sweep` folder holds one per grid point)")
        self.runs, problems = {}, []
        for n in names:
            try:
                self.runs[n] = Run(os.path.join(self.path, n), name=n)
            except AnalysisError as e:
                problems.append(str(e))
                warnings.warn(f"skipping {n}: {e}", stacklevel=2)
        if not self.runs:
            raise AnalysisError(f"{self.path}: none of its {len(names)} run(s) can be read: "
                                f"{problems[0]}")

    def __repr__(self):
        return f"Sweep({self.name!r}, {len(self.runs)} runs)"

    def points(self):
        """One row per run: point (its folder), the grid keys parsed from its name (numbers where
        they are numbers), finished, the three final metrics and the code that trained it."""
        rows = []
        for name, run in self.runs.items():
            row = {"run": name}
            row.update({k: (number(v) if number(v) is not None else v)
                        for k, v in parse_point(name).items()})
            for metric in METRICS:
                row[metric] = run.final(metric)
            row["finished"] = math.isfinite(row["val_loss"])
            row["code"] = run.code()
            rows.append(row)
        return pd.DataFrame(rows)

    def metrics(self):
        """Every run's /train and /val in long format (run = the point's name)."""
        return pd.concat([r.metrics() for r in self.runs.values()], ignore_index=True)

    def stats(self, groups=("stats", "act"), statistic=None):
        """Every run's statistics in long format (run = the point's name)."""
        return pd.concat([r.stats(groups, statistic) for r in self.runs.values()],
                         ignore_index=True)

    def table(self, metric="val_loss", key="lr", across="width"):
        """{column: {x: [value per seed]}} as tools/transfer.py reads it."""
        return collect(self.path, key, metric, across)

    def transfer_table(self, metric="val_loss", key="lr", across="width"):
        """Mean of the final metric over seeds: rows `key` (lr), columns `across` (width); nan
        where a run did not finish."""
        table = self.table(metric, key, across)
        means = {w: {x: mean_or_nan(v) for x, v in table[w].items()} for w in sorted(table)}
        frame = pd.DataFrame(means).sort_index()
        frame.index.name, frame.columns.name = key, across
        return frame

    def best(self, metric="val_loss", key="lr", across="width"):
        """The best `key` per `across` value (a Series), by the mean over seeds."""
        means = self.transfer_table(metric, key, across)
        lower = METRICS[metric][2]
        best = best_per_width({w: means[w].to_dict() for w in means.columns}, lower)
        return pd.Series(best, name=f"best {key}").rename_axis(across)


def compare(sp, mup, metric="val_loss", key="lr", across="width"):
    """SP tuned at every width against µP transferred (two sweeps or their folders): a DataFrame
    with one row per width and the two verdicts (dicts) as tools/transfer.py --compare prints."""
    sp_dir = sp.path if isinstance(sp, Sweep) else os.fspath(sp)
    mup_dir = mup.path if isinstance(mup, Sweep) else os.fspath(mup)
    lower = METRICS[metric][2]
    sp_table = collect(sp_dir, key, metric, across)
    mup_points = {}
    mup_table = collect(mup_dir, None, metric, across, mup_points)
    refusal = check_one_setting(mup_dir, mup_points, across)
    if refusal:
        raise AnalysisError(refusal)
    rows = compare_rows(sp_table, mup_table, lower)
    shared = set(sp_table) & set(mup_table)
    _, widest = widest_verdict(rows, shared, lower, across)
    _, mono = monotonic_verdict(rows, metric, lower, across)
    frame = pd.DataFrame(rows).rename(columns={"width": across}).set_index(across)
    return frame, {"widest": widest, "monotonic": mono}
