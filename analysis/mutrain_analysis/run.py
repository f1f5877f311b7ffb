"""One training run (runs/NAME: metrics.h5, config.yaml, summary.yaml, checkpoints/) as pandas.

    run = open_run("runs/quickstart")
    run.metrics()          # long: run, group (train/val), step, statistic, value
    run.series("val")      # wide: one row per step, one column per statistic
    run.stats()            # long: run, group (stats/act), step, layer, statistic, value

Every read opens metrics.h5 afresh, without the file lock, and cuts the series to the rows written
so far: a run still training can be read again and again.
"""
import math
import os
import re

import numpy as np
import pandas as pd

from . import h5
from .h5 import AnalysisError

METRIC_COLUMNS = ["run", "group", "step", "statistic", "value"]
STAT_COLUMNS = ["run", "group", "step", "layer", "statistic", "value"]

# name -> (group, dataset, lower is better); the final metrics a sweep ranks by
METRICS = {
    "val_loss": ("val", "loss", True),
    "val_accuracy": ("val", "accuracy", False),
    "train_loss": ("train", "loss", True),
}


def _yaml_load(text):
    """YAML text as Python data (PyYAML when installed; None without it)."""
    try:
        import yaml
    except ImportError:
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def configured_steps(f):
    """train.steps from the resolved config stored in the file (None if it cannot be read)."""
    text = h5.attr_str(f.attrs.get("config")) or ""
    cfg = _yaml_load(text)
    try:
        return int(cfg["train"]["steps"])
    except (TypeError, KeyError, ValueError):
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


def read_finished(f, group, name):
    """The last row of group/name when the run finished (its final validation at train.steps),
    else nan (stopped early by a non-finite loss or a signal, or still running)."""
    train = h5.series(f, "train")
    val = h5.series(f, "val")
    if len(train.get("step", [])) == 0 or len(val.get("step", [])) == 0:
        return float("nan")
    last = train["step"][-1]
    steps = configured_steps(f)
    if val["step"][-1] != last or (steps is not None and last != steps):
        return float("nan")
    values = (train if group == "train" else val).get(name)
    if values is None or len(values) == 0:
        return float("nan")
    return float(values[-1])


def _series_frame(run, group, cols):
    """Long rows of one /train or /val group ({name: array} with a step column). A live run's
    columns can be read while one row is half appended: every column is cut to the rows that
    all of them have."""
    steps = cols.get("step")
    if steps is None:
        return pd.DataFrame(columns=METRIC_COLUMNS)
    n = min(len(v) for v in cols.values())
    parts = []
    for name, values in cols.items():
        if name == "step":
            continue
        parts.append(pd.DataFrame({"run": run, "group": group, "step": steps[:n].astype(np.int64),
                                   "statistic": name, "value": values[:n]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=METRIC_COLUMNS)


def _stats_frame(run, group, steps, table):
    """Long rows of /stats or /act ({layer: {statistic: array}} on a shared step column)."""
    if steps is None or not table:
        return pd.DataFrame(columns=STAT_COLUMNS)
    step = steps.astype(np.int64)
    parts = [pd.DataFrame({"run": run, "group": group, "step": step, "layer": layer,
                           "statistic": stat, "value": values})
             for layer in sorted(table, key=h5.depth_key) for stat, values in table[layer].items()]
    return pd.concat(parts, ignore_index=True)


class Run:
    """A run folder (or a metrics.h5 path). `name` labels its rows in every DataFrame."""

    def __init__(self, path, name=None):
        path = os.fspath(path)
        if path.endswith(".h5") and not os.path.isdir(path):
            self.metrics_path, self.path = path, os.path.dirname(os.path.abspath(path))
        else:
            if not os.path.isdir(path):
                raise AnalysisError(f"{path}: no such run folder")
            self.path, self.metrics_path = path, os.path.join(path, "metrics.h5")
        self.name = name or os.path.basename(os.path.normpath(os.path.abspath(self.path)))
        # a clear error now, not later (retried: a live run's file may be caught mid-flush)
        h5.retry_unreadable(lambda: h5.open_h5(self.metrics_path, kind="metrics").close())

    def __repr__(self):
        return f"Run({self.name!r}, {self.metrics_path!r})"

    def _read(self, fn):
        """fn(open metrics.h5). A live run's file can be caught in the middle of a flush (HDF5
        without SWMR), so a file that does not open or read through is tried again from a fresh
        open (h5.retry_unreadable); one still unreadable then (cut short, corrupt) is an error."""
        def attempt():
            with h5.open_h5(self.metrics_path, kind="metrics") as f:
                try:
                    return fn(f)
                except (OSError, KeyError, ValueError) as e:
                    raise h5.read_error(self.metrics_path, e) from None
        return h5.retry_unreadable(attempt)

    def series(self, group="train"):
        """/train or /val as a wide DataFrame: one row per step, one column per statistic."""
        cols = self._read(lambda f: h5.series(f, group))
        if "step" not in cols:
            return pd.DataFrame()
        n = min(len(v) for v in cols.values())
        frame = pd.DataFrame({k: v[:n] for k, v in cols.items()})
        frame["step"] = frame["step"].astype(np.int64)
        return frame.set_index("step")

    def metrics(self, groups=("train", "val")):
        """/train and /val in long format: run, group, step, statistic, value."""
        def read(f):
            return [_series_frame(self.name, g, h5.series(f, g)) for g in groups]
        frames = [p for p in self._read(read) if len(p)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=METRIC_COLUMNS)

    def stats(self, groups=("stats", "act"), statistic=None):
        """Per-parameter (/stats) and per-module (/act) statistics in long format: run, group,
        step, layer, statistic, value (layers in model order). `statistic`: one name or a list."""
        if isinstance(groups, str):
            groups = (groups,)

        def read(f):
            return [_stats_frame(self.name, g, *h5.stat_groups(f, g)) for g in groups]
        frames = [p for p in self._read(read) if len(p)]
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=STAT_COLUMNS)
        if statistic is not None:
            wanted = [statistic] if isinstance(statistic, str) else list(statistic)
            out = out[out["statistic"].isin(wanted)].reset_index(drop=True)
        return out

    def final(self, metric="val_loss"):
        """The run's final metric (val_loss, val_accuracy, train_loss), nan when it did not
        finish all its train.steps with a final validation."""
        group, name, _ = METRICS[metric]
        return self._read(lambda f: read_finished(f, group, name))

    @property
    def finished(self):
        return math.isfinite(self.final("val_loss"))

    def code(self):
        """Which code trained it (git revision, with the executable's hash for a dirty tree)."""
        return self._read(code_identity)

    def groups(self):
        """The top-level groups of metrics.h5 (train, val, stats, act, provenance)."""
        return self._read(lambda f: sorted(k for k, v in f.items() if isinstance(v, h5.h5py.Group)))

    def attrs(self):
        """metrics.h5's root attributes (kind, config, provenance of the last start, ...)."""
        return self._read(lambda f: {k: h5.attr_value(v) for k, v in f.attrs.items()})

    @property
    def config(self):
        """The resolved config (dict; PyYAML needed) the run was trained with."""
        text = self.attrs().get("config") or ""
        return _yaml_load(text)

    def summary(self):
        """summary.yaml as a dict (None while the run has not finished, or without PyYAML)."""
        path = os.path.join(self.path, "summary.yaml")
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as fh:
            return _yaml_load(fh.read())

    def provenance(self):
        """/provenance: one row per start of the run (docs/reproducibility.md)."""
        def read(f):
            if "provenance" not in f:
                return pd.DataFrame()
            cols = {}
            for name, ds in f["provenance"].items():
                if isinstance(ds, h5.h5py.Dataset) and ds.ndim == 1:
                    cols[name] = ds.asstr()[()] if ds.dtype.kind in "OS" else ds[()]
            n = min((len(v) for v in cols.values()), default=0)
            return pd.DataFrame({k: v[:n] for k, v in cols.items()})
        return self._read(read)

    def checkpoints(self):
        """The run's checkpoint files, oldest first."""
        d = os.path.join(self.path, "checkpoints")
        if not os.path.isdir(d):
            return []
        return [os.path.join(d, n) for n in sorted(os.listdir(d))
                if re.fullmatch(r"step_\d{8}\.h5", n)]
