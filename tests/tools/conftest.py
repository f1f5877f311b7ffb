"""Fixtures for the tools tests: paths, the real run (MT_RUN_DIR) and synthetic files built per
docs/hdf5-layout.md with h5py, so plotting and inspect are testable without a training run."""
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

SOURCE_DIR = os.environ.get("MT_SOURCE_DIR",
                            os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
PLOT = os.path.join(SOURCE_DIR, "tools", "plot.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

STR = h5py.string_dtype("utf-8")
PARAM_STATS = ["w_rms", "dw_rms", "grad_rms", "momentum_rms"]
MATRIX_STATS = ["w_spec", "dw_spec", "w_spec_ratio", "dw_spec_ratio"]
ACT_STATS = ["act_rms", "act_rms_max", "dep_rms", "upd_rms"]


def root_attrs(f, kind):
    f.attrs.create("kind", kind, dtype=STR)
    f.attrs.create("mutrain_version", "0.0.0-test", dtype=STR)
    f.attrs.create("git_revision", "synthetic", dtype=STR)
    f.attrs.create("config", "name: synth\nseed: 1\nmodel: {name: gpt, width: 16}\n", dtype=STR)
    f.attrs["world_size"] = np.int64(1)
    f.attrs.create("created", "2026-01-01T00:00:00Z", dtype=STR)


def dataset(f, path, data, units, description, dtype=np.float64):
    d = f.create_dataset(path, data=np.asarray(data, dtype=dtype), maxshape=(None,), chunks=True)
    d.attrs.create("units", units, dtype=STR)
    d.attrs.create("description", description, dtype=STR)
    return d


def write_synthetic_metrics(path, depth=3, stats=True, steps=40):
    """A metrics.h5 like a gpt run of `depth` blocks; stats=False leaves out /stats and /act."""
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        root_attrs(f, "metrics")
        s = np.arange(1, steps + 1) * 2
        loss = 5.5 * np.exp(-s / 40) + 1.5 + 0.05 * rng.standard_normal(len(s))
        dataset(f, "/train/step", s, "step", "steps completed", np.int64)
        dataset(f, "/train/loss", loss, "nats", "mean training loss")
        dataset(f, "/train/lr", np.full(len(s), 0.02), "1", "lr")
        dataset(f, "/train/grad_norm", 1 / np.sqrt(s), "1", "grad norm")
        dataset(f, "/train/tokens_per_s", np.full(len(s), 1e4), "tokens/s", "throughput")
        dataset(f, "/train/elapsed_s", s * 0.01, "s", "wall time")
        vs = s[::5]
        dataset(f, "/val/step", vs, "step", "eval steps", np.int64)
        dataset(f, "/val/loss", 5.5 * np.exp(-vs / 40) + 1.6, "nats", "val loss")
        dataset(f, "/val/accuracy", np.linspace(0.1, 0.5, len(vs)), "1", "accuracy")
        if not stats:
            return path
        ss = s[::2]
        dataset(f, "/stats/step", ss, "step", "stats steps", np.int64)
        params = {"wte.weight": 2, "wpe.weight": 2, "head.weight": 2, "ln_f.weight": 1}
        for b in range(depth):
            params[f"blocks.{b}.attn.qkv.weight"] = 2
            params[f"blocks.{b}.mlp.fc.weight"] = 2
            params[f"blocks.{b}.ln1.weight"] = 1
        for p, ndim in params.items():
            names = PARAM_STATS + (MATRIX_STATS + ["ns_orth_err"] if ndim == 2 else [])
            for st in names:
                dataset(f, f"/stats/{p}/{st}", 0.1 + rng.random(len(ss)), "1", st)
        modules = ["wte"] + [f"blocks.{b}" for b in range(depth)] + ["head"]
        for m in modules:
            for st in ACT_STATS:
                dataset(f, f"/act/{m}/{st}", 0.5 + rng.random(len(ss)), "1", st)
    return path


def write_synthetic_checkpoint(path, step=4):
    with h5py.File(path, "w") as f:
        root_attrs(f, "checkpoint")
        f.attrs.create("model", "gpt", dtype=STR)
        f.attrs.create("parametrization", "mup", dtype=STR)
        f.attrs["base_width"] = np.int64(16)
        f.attrs["step"] = np.int64(step)
        shapes = {"wte.weight": (256, 16), "blocks.0.attn.qkv.weight": (48, 16),
                  "ln_f.weight": (16,), "head.weight": (256, 16)}
        roles = {"wte.weight": "input", "blocks.0.attn.qkv.weight": "hidden",
                 "ln_f.weight": "vector", "head.weight": "output"}
        for name, shape in shapes.items():
            d = f.create_dataset(f"/params/{name}", data=np.zeros(shape, np.float32))
            d.attrs.create("role", roles[name], dtype=STR)
            d.attrs.create("optimizer", "muon" if roles[name] == "hidden" else "adamw", dtype=STR)
            d.attrs.create("units", "1", dtype=STR)
            d.attrs.create("description", "value", dtype=STR)
            states = ["momentum"] if roles[name] == "hidden" else ["exp_avg", "exp_avg_sq"]
            for st in states:
                o = f.create_dataset(f"/optim/{name}/{st}", data=np.zeros(shape, np.float32))
                o.attrs.create("units", "1", dtype=STR)
                o.attrs.create("description", st, dtype=STR)
        f["optim"].attrs["steps_muon"] = np.int64(step)
        f["optim"].attrs["steps_adamw"] = np.int64(step)
        st = f.create_group("state")
        st.attrs["step"] = np.int64(step)
        st.attrs["seed"] = np.int64(1)
        st.attrs["schedule_step"] = np.int64(step)
        st.attrs.create("rng", "counter-based (seed, step)", dtype=STR)
    return path


def write_synthetic_coord_check(path, widths=(16, 32, 64), steps=3, layers=14):
    names = ["wte", "wpe"] + [f"blocks.{i}" for i in range(layers - 4)] + ["ln_f", "head"]
    w = np.asarray(widths, dtype=float)
    mean_abs = np.ones((len(w), steps, len(names)), np.float32)
    for i in range(len(names)):
        mean_abs[:, :, i] = (0.5 + 0.1 * i) * (w[:, None] / w[0]) ** (0.05 * (i % 3))
    with h5py.File(path, "w") as f:
        root_attrs(f, "coord_check")
        f.create_dataset("widths", data=w)
        f.create_dataset("layers", data=np.array(names, dtype=object), dtype=STR)
        f.create_dataset("mean_abs", data=mean_abs)
        f.create_dataset("rms", data=mean_abs * 1.2)
        f.create_dataset("slope", data=np.zeros((steps, len(names)), np.float32))
        for d in f.values():
            d.attrs.create("units", "1", dtype=STR)
            d.attrs.create("description", "synthetic", dtype=STR)
    return path


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


@pytest.fixture(scope="session")
def run_dir():
    d = os.environ.get("MT_RUN_DIR")
    if not d:
        pytest.skip("MT_RUN_DIR not set (tests/tools/run_python_tests.sh sets it)")
    return d


@pytest.fixture(scope="session")
def coord_dir():
    d = os.environ.get("MT_COORD_DIR")
    if not d:
        pytest.skip("MT_COORD_DIR not set (tests/tools/run_python_tests.sh sets it)")
    return d


@pytest.fixture(scope="session")
def mutrain():
    exe = os.environ.get("MT_MUTRAIN")
    if not exe:
        pytest.skip("MT_MUTRAIN not set (tests/tools/run_python_tests.sh sets it)")
    return exe
