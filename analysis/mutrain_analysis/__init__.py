"""mutrain's outputs in pandas and numpy (docs/analysis.md).

    import mutrain_analysis as ma
    run = ma.open_run("runs/quickstart")           # a run folder or its metrics.h5
    run.metrics()        # /train, /val: long DataFrame (run, group, step, statistic, value)
    run.stats()          # /stats, /act: long DataFrame (run, group, step, layer, statistic, value)
    sweep = ma.open_sweep("runs/sweeps/transfer_mlp")
    sweep.transfer_table("val_loss", key="lr")     # mean over seeds, lr rows x width columns
    cc = ma.open_coord_check("runs/coord_check_gpt-coord-check")
    ck = ma.open_checkpoint("runs/quickstart/checkpoints/step_00000300.h5")
    ma.open(PATH)        # any of them, by what PATH is

Files are read without the HDF5 file lock and series are cut to the rows written so far, so a run
still training can be read; a missing, truncated or foreign file raises AnalysisError with a
message naming it.
"""
import os as _os

from . import plots
from .checkpoint import Checkpoint
from .coord import CoordCheck
from .h5 import AnalysisError, depth_key, file_kind
from .run import METRICS, Run
from .spectral import spectral_summary
from .sweep import Sweep, compare, parse_point

__version__ = "0.1.0"

__all__ = ["AnalysisError", "Checkpoint", "CoordCheck", "METRICS", "Run", "Sweep", "compare",
           "depth_key", "open", "open_checkpoint", "open_coord_check", "open_run", "open_sweep",
           "parse_point", "plots", "spectral_summary"]


def open_run(path, name=None):
    """A run folder (runs/NAME) or its metrics.h5."""
    return Run(path, name)


def open_sweep(path):
    """A sweep folder (runs/sweeps/NAME): one run per point folder."""
    return Sweep(path)


def open_coord_check(path):
    """A coordinate-check folder (NAME-coord-check) or its coord_check.h5."""
    return CoordCheck(path)


def open_checkpoint(path):
    """A checkpoint file (checkpoints/step_NNNNNNNN.h5)."""
    return Checkpoint(path)


def open(path):  # noqa: A001 - the package's one entry point by design
    """Whatever PATH is: a .h5 file by its `kind` attribute, a folder by what it holds (a run's
    metrics.h5, a coordinate check's coord_check.h5, else a sweep's point folders)."""
    path = _os.fspath(path)
    if _os.path.isdir(path):
        if _os.path.exists(_os.path.join(path, "metrics.h5")):
            return Run(path)
        if _os.path.exists(_os.path.join(path, "coord_check.h5")):
            return CoordCheck(path)
        return Sweep(path)
    kind = file_kind(path)
    opener = {"metrics": Run, "checkpoint": Checkpoint, "coord_check": CoordCheck}.get(kind)
    if opener is None:
        raise AnalysisError(f"{path}: not a mutrain file (its kind attribute is {kind!r}; "
                            "expected metrics, checkpoint or coord_check)")
    return opener(path)
