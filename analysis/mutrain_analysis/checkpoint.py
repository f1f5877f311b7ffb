"""A checkpoint (runs/NAME/checkpoints/step_NNNNNNNN.h5) as numpy arrays with their roles.

    ck = open_checkpoint("runs/quickstart/checkpoints/step_00000300.h5")
    ck.params["blocks.0.attn.q.weight"]   # float32 numpy array
    ck.roles["head.weight"]               # input, hidden, output or vector
    ck.tensors()                          # one row per parameter: name, shape, role, optimizer, ...
    ck.optimizer_state("blocks.0.attn.q.weight")   # {"momentum": array} (Muon), AdamW's moments
"""
import os

import numpy as np
import pandas as pd

from . import h5
from .h5 import AnalysisError

PARAM_ATTRS = ("role", "optimizer", "fan_in", "fan_out", "lr_mult", "wd_mult", "init_std")


class Checkpoint:
    """Every parameter and optimizer state of a checkpoint, read on opening."""

    def __init__(self, path):
        self.path = os.fspath(path)
        with h5.open_h5(self.path, kind="checkpoint") as f:
            try:
                self._read(f)
            except (OSError, KeyError, ValueError) as e:
                raise h5.read_error(self.path, e) from None

    def _read(self, f):
        if "params" not in f:
            raise AnalysisError(f"{self.path}: no /params group (not a mutrain checkpoint?)")
        self.attrs = {k: h5.attr_value(v) for k, v in f.attrs.items()}
        self.step = int(f["state"].attrs["step"]) if "state" in f else self.attrs.get("step")
        order = []
        if "shard_plan" in f and "names" in f["shard_plan"]:
            order = list(f["shard_plan"]["names"].asstr()[()])
        names = sorted(f["params"], key=lambda n: (order.index(n) if n in order else len(order),
                                                   h5.depth_key(n)))
        self.params, self.info, self._optim = {}, {}, {}
        for name in names:
            ds = f["params"][name]
            self.params[name] = np.asarray(ds[()])
            self.info[name] = {a: h5.attr_value(ds.attrs.get(a)) for a in PARAM_ATTRS}
            if "optim" in f and name in f["optim"]:
                g = f["optim"][name]
                self._optim[name] = {s: np.asarray(g[s][()]) for s in g}
        self.roles = {n: i["role"] for n, i in self.info.items()}

    def __repr__(self):
        return f"Checkpoint({self.path!r}, step {self.step}, {len(self.params)} parameters)"

    @property
    def config(self):
        """The config in force when the checkpoint was written (YAML text)."""
        return self.attrs.get("config")

    def optimizer_state(self, name):
        """{state: array} of one parameter ({} for one without state)."""
        if name not in self.params:
            raise KeyError(f"{self.path}: no parameter '{name}'")
        return dict(self._optim.get(name, {}))

    def tensors(self):
        """One row per parameter in model order: name, shape, numel, role, optimizer, fan_in,
        fan_out, lr_mult, wd_mult, init_std, optimizer states, rms of the value."""
        rows = []
        for name, value in self.params.items():
            row = {"name": name, "shape": tuple(value.shape), "numel": int(value.size)}
            row.update(self.info[name])
            row["states"] = ", ".join(sorted(self._optim.get(name, {})))
            row["rms"] = float(np.sqrt(np.mean(np.square(value, dtype=np.float64))))
            rows.append(row)
        return pd.DataFrame(rows)
