"""A coordinate check (`mutrain coord-check`: NAME-coord-check/coord_check.h5) as numpy and pandas.

    cc = open_coord_check("runs/coord_check_gpt-coord-check")
    cc.sizes, cc.layers, cc.arrays["mean_abs"]   # (sizes, steps, layers)
    cc.frame()      # long: run, width (or depth), step, layer, statistic, value
    cc.slopes()     # long: run, step (0: at init), layer, statistic, value
"""
import os

import numpy as np
import pandas as pd

from . import h5
from .h5 import AnalysisError

ARRAYS_3D = ("mean_abs", "rms", "mean_delta")  # (sizes, steps, layers)
SLOPES = ("slope", "delta_slope")  # (steps, layers)


class CoordCheck:
    """coord_check.h5, read whole on opening (it is small and written once)."""

    def __init__(self, path):
        path = os.fspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, "coord_check.h5")
        self.path = path
        self.name = os.path.basename(os.path.dirname(os.path.abspath(path)))
        with h5.open_h5(path, kind="coord_check") as f:
            try:
                self._read(f)
            except (OSError, KeyError, ValueError) as e:
                raise h5.read_error(path, e) from None

    def _read(self, f):
        self.axis = "depth" if "depths" in f else "width"
        for name in (self.axis + "s", "layers", "mean_abs"):
            if name not in f:
                raise AnalysisError(f"{self.path}: coord_check.h5 has no /{name}")
        self.sizes = h5.read_1d(f[self.axis + "s"]).astype(np.int64)
        self.layers = [h5.attr_str(x) for x in f["layers"][()]]
        self.arrays = {}
        for name in ARRAYS_3D + SLOPES + ("mean_abs_init", "init_slope"):
            if name in f:
                self.arrays[name] = np.asarray(f[name][()], dtype=np.float64)
        shape = self.arrays["mean_abs"].shape
        if len(shape) != 3 or shape[0] != len(self.sizes) or shape[2] != len(self.layers):
            raise AnalysisError(f"{self.path}: /mean_abs has shape {shape}, expected "
                                f"({self.axis}s, steps, layers)")
        self.steps = shape[1]
        self.seeds = h5.attr_value(f.attrs.get("seeds"))

    def __repr__(self):
        return (f"CoordCheck({self.name!r}, {self.axis}s {self.sizes.tolist()}, {self.steps} steps, "
                f"{len(self.layers)} layers)")

    def frame(self):
        """mean_abs, rms and mean_delta in long format: run, width (or depth), step (1-based),
        layer, statistic, value."""
        parts = []
        for stat in ARRAYS_3D:
            a = self.arrays.get(stat)
            if a is None or a.shape != self.arrays["mean_abs"].shape:
                continue
            size, step, layer = np.meshgrid(np.arange(a.shape[0]), np.arange(a.shape[1]),
                                            np.arange(a.shape[2]), indexing="ij")
            parts.append(pd.DataFrame({
                "run": self.name, self.axis: self.sizes[size.ravel()], "step": step.ravel() + 1,
                "layer": np.asarray(self.layers, dtype=object)[layer.ravel()], "statistic": stat,
                "value": a.ravel()}))
        return pd.concat(parts, ignore_index=True)

    def slopes(self):
        """The fitted slopes against log(width) in long format: run, step (0 = at init), layer,
        statistic (slope, delta_slope), value."""
        parts = []
        if "init_slope" in self.arrays:
            parts.append(pd.DataFrame({"run": self.name, "step": 0, "layer": self.layers,
                                       "statistic": "slope",
                                       "value": self.arrays["init_slope"].reshape(-1)}))
        for stat in SLOPES:
            a = self.arrays.get(stat)
            if a is None or a.ndim != 2:
                continue
            step, layer = np.meshgrid(np.arange(a.shape[0]), np.arange(a.shape[1]), indexing="ij")
            parts.append(pd.DataFrame({
                "run": self.name, "step": step.ravel() + 1,
                "layer": np.asarray(self.layers, dtype=object)[layer.ravel()], "statistic": stat,
                "value": a.ravel()}))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
