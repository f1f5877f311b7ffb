"""Reading mutrain's HDF5 files (docs/hdf5-layout.md) with h5py: files, series, statistics groups,
layer order. The low layer under run.py, sweep.py, coord.py and checkpoint.py.

Errors are AnalysisError with a message meant for the user ("<path>: what is wrong").
"""
import os
import re
import time

# A live run keeps metrics.h5 open for writing; reading it must not wait for (or take) the lock.
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

import h5py  # noqa: E402
import numpy as np  # noqa: E402


class AnalysisError(Exception):
    """A missing, unreadable, truncated or foreign file (or folder)."""


MtioError = AnalysisError  # the name tools/mtio.py used


class UnreadableError(AnalysisError):
    """An HDF5 file that would not open or read through: truncated, corrupt, or a live run's file
    caught in the middle of a flush (mutrain writes without SWMR), which a second try reads."""


def retry_unreadable(fn, attempts=5, wait=0.2):
    """fn(), retried `attempts` times `wait` seconds apart while it raises UnreadableError (a live
    run's file caught mid-flush); the last error is raised when every try failed."""
    for attempt in range(attempts):
        try:
            return fn()
        except UnreadableError:
            if attempt == attempts - 1:
                raise
            time.sleep(wait)


def open_h5(path, kind=None):
    """Open a mutrain HDF5 file read-only without the file lock (a run may still be writing it);
    check its root `kind` attribute when given ("metrics", "checkpoint", "coord_check")."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise AnalysisError(f"{path}: no such file")
    if os.path.isdir(path):
        raise AnalysisError(f"{path}: is a directory, expected an HDF5 file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise UnreadableError(f"{path}: not a readable HDF5 file (truncated or corrupt?): {e}") from None
    if kind is not None:
        found = attr_str(f.attrs.get("kind"))
        if found is not None and found != kind:
            f.close()
            raise AnalysisError(f"{path}: kind is '{found}', expected '{kind}'")
    return f


def file_kind(path):
    """The root `kind` attribute of a mutrain file (None when it has none)."""
    with open_h5(path) as f:
        return attr_str(f.attrs.get("kind"))


def attr_str(value):
    """An attribute as str (h5py returns str for variable-length UTF-8, bytes for fixed)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.size == 1:
        return attr_str(value.reshape(-1)[0])
    return str(value)


def attr_value(value):
    """An attribute as a Python value: str, int, float, or a list for arrays."""
    if value is None or isinstance(value, (bytes, str)):
        return attr_str(value)
    if isinstance(value, np.ndarray):
        if value.size == 1:
            return attr_value(value.reshape(-1)[0])
        return [attr_value(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_1d(ds):
    """A 1-D dataset as a float64 array (rows written so far)."""
    return np.asarray(ds[()], dtype=np.float64).reshape(-1)


def series(f, group):
    """All 1-D numeric datasets of a group as {name: float64 array}; {} when the group is absent."""
    if group not in f or not isinstance(f[group], h5py.Group):
        return {}
    out = {}
    for name, obj in f[group].items():
        if isinstance(obj, h5py.Dataset) and obj.ndim == 1 and obj.dtype.kind in "fiu":
            out[name] = read_1d(obj)
    return out


def stat_groups(f, group):
    """/stats or /act as {param_or_module: {stat: array}} plus the shared step column.

    Returns (steps, table). Series are cut to the shortest common length so that a file read while
    the run appends still lines up with its step column.
    """
    if group not in f or not isinstance(f[group], h5py.Group):
        return None, {}
    g = f[group]
    steps = None
    if "step" in g and isinstance(g["step"], h5py.Dataset):
        steps = read_1d(g["step"])
    elif group != "stats" and "stats" in f and "step" in f["stats"]:
        steps = read_1d(f["stats"]["step"])  # /act rows follow /stats/step
    table = {}

    def visit(prefix, obj):
        values = {}
        for name, child in obj.items():
            if isinstance(child, h5py.Group):
                visit(f"{prefix}/{name}" if prefix else name, child)
            elif prefix and child.ndim == 1 and child.dtype.kind in "fiu":
                values[name] = read_1d(child)
        if values:
            table[prefix] = values

    visit("", g)
    if steps is not None:
        n = min([len(steps)] + [len(v) for stats in table.values() for v in stats.values()])
        steps = steps[:n]
        table = {k: {s: v[:n] for s, v in stats.items()} for k, stats in table.items()}
    return steps, table


_INT = re.compile(r"(\d+)")


def depth_key(name):
    """Sort key placing layers in model order: embeddings, numbered blocks, final norm, head."""
    first = name.split(".")[0].split("/")[0]
    parts = [int(p) if p.isdigit() else p for p in _INT.split(name)]
    m = _INT.search(name)
    if m is not None:
        return (1, int(m.group(1)), parts)
    if first in ("wte", "wpe", "embed", "embedding", "input", "tok_emb", "pos_emb"):
        return (0, 0, parts)
    if first in ("head", "lm_head", "readout", "output", "out"):
        return (3, 0, parts)
    return (2, 0, parts)  # final norm and anything else between the blocks and the head


def read_error(path, e):
    """The AnalysisError for a file that opened but could not be read through (truncated)."""
    return UnreadableError(f"{path}: cannot read (truncated or corrupt?): {e}")
