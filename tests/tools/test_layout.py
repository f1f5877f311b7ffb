"""The files of a real tiny run (MT_RUN_DIR, made by run_python_tests.sh with stats every 2 steps and
checkpoints every 2 steps, keep_last 2) follow docs/hdf5-layout.md."""
import os
import re

import h5py
import numpy as np
import pytest
import yaml

COMMON_ATTRS = ["kind", "mutrain_version", "git_revision", "config", "world_size", "created"]
TRAIN = ["step", "loss", "lr", "grad_norm", "tokens_per_s", "elapsed_s"]
PARAM_STATS = ["w_rms", "dw_rms", "grad_rms", "momentum_rms"]
MATRIX_STATS = ["w_spec", "dw_spec", "w_spec_ratio", "dw_spec_ratio"]
ACT_STATS = ["act_rms", "act_rms_max", "dep_rms", "upd_rms"]
OPTIM_STATES = {"muon": ["momentum"], "adamw": ["exp_avg", "exp_avg_sq"], "sgd": ["momentum_buffer"]}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture(scope="module")
def metrics(run_dir):
    with h5py.File(os.path.join(run_dir, "metrics.h5"), "r") as f:
        yield f


@pytest.fixture(scope="module")
def checkpoint_name(run_dir):
    with open(os.path.join(run_dir, "checkpoints", "latest"), encoding="utf-8") as fh:
        return fh.read().strip()


@pytest.fixture(scope="module")
def checkpoint(run_dir, checkpoint_name):
    with h5py.File(os.path.join(run_dir, "checkpoints", checkpoint_name), "r") as f:
        yield f


@pytest.fixture(scope="module")
def config(run_dir):
    with open(os.path.join(run_dir, "config.yaml"), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def datasets(f):
    out = []
    f.visititems(lambda name, obj: out.append((name, obj)) if isinstance(obj, h5py.Dataset) else None)
    return out


def check_common_attrs(f, kind, config):
    for a in COMMON_ATTRS:
        assert a in f.attrs, f"root attribute '{a}' missing"
    assert f.attrs["kind"] == kind
    for a in ["kind", "mutrain_version", "git_revision", "config", "created"]:
        assert isinstance(f.attrs[a], str), f"root attribute '{a}' is not a UTF-8 string"
    assert f.attrs["mutrain_version"] and f.attrs["git_revision"]
    assert int(f.attrs["world_size"]) == 1
    assert ISO_UTC.match(f.attrs["created"]), f.attrs["created"]
    assert yaml.safe_load(f.attrs["config"]) == config, "config attribute differs from config.yaml"


PROVENANCE_STRINGS = ["started", "version", "git_revision", "build", "binary", "binary_sha256",
                      "command_line", "hosts", "slurm_job_id", "slurm_array_job_id",
                      "slurm_array_task_id", "slurm_restart_count"]
PROVENANCE_INTS = ["step", "git_dirty", "ranks", "threads", "binary_change_allowed"]


def check_provenance(f):
    """Root attributes of the start that wrote the file and the /provenance table (one row per
    start of the run; a fresh run has one, at step 0)."""
    for a in ["build", "binary", "binary_sha256", "command_line", "hosts", "started"]:
        assert isinstance(f.attrs.get(a), str) and f.attrs[a], f"root attribute '{a}'"
    assert int(f.attrs["git_dirty"]) in (-1, 0, 1) and int(f.attrs["threads"]) >= 1
    assert re.fullmatch(r"[0-9a-f]{64}", f.attrs["binary_sha256"])
    assert ISO_UTC.match(f.attrs["started"])
    p = f["provenance"]
    for k in PROVENANCE_STRINGS:
        assert p[k].dtype.kind == "O" and p[k].shape == (1,), k
    for k in PROVENANCE_INTS:
        assert p[k].dtype == np.int64 and p[k].shape == (1,), k
    assert p["step"][0] == 0 and p["ranks"][0] == int(f.attrs["world_size"])
    for k in ["git_revision", "binary_sha256", "command_line", "hosts", "build", "started"]:
        assert p[k].asstr()[0] == f.attrs[k], k
    assert "changes" not in p, "a fresh run has no config changes"


def test_provenance(metrics, checkpoint):
    check_provenance(metrics)
    check_provenance(checkpoint)
    assert metrics.attrs["binary_sha256"] == checkpoint.attrs["binary_sha256"]


def check_units_description(f):
    missing = [name for name, d in datasets(f)
               if not isinstance(d.attrs.get("units"), str) or not isinstance(d.attrs.get("description"), str)
               or not d.attrs["description"]]
    assert not missing, f"datasets without string units/description: {missing}"


# metrics.h5

def test_metrics_root_attrs(metrics, config):
    check_common_attrs(metrics, "metrics", config)


def test_metrics_units_and_description(metrics):
    check_units_description(metrics)


def test_series_are_extendible_1d(metrics):
    for name, d in datasets(metrics):
        if name.startswith("provenance/"):
            continue  # a table of the run's starts, rewritten at each start (test_provenance)
        assert d.ndim == 1, name
        assert d.maxshape == (None,) and d.chunks is not None, f"{name} is not chunked/extendible"
        want = np.int64 if name.split("/")[-1] in ("step", "nonfinite_skipped") else np.float64
        assert d.dtype == want, f"{name}: {d.dtype}, expected {np.dtype(want)}"


def test_train_series(metrics, config):
    g = metrics["train"]
    for s in TRAIN:
        assert s in g, f"/train/{s} missing"
    n = len(g["step"])
    assert n >= 2
    for s in TRAIN:
        assert len(g[s]) == n, f"/train/{s} has {len(g[s])} rows, /train/step {n}"
    step = g["step"][()]
    assert np.all(np.diff(step) > 0), f"/train/step not increasing: {step}"
    assert step[-1] == config["train"]["steps"]
    assert np.all(np.isfinite(g["loss"][()])) and np.all(g["loss"][()] > 0)
    assert g["loss"].attrs["units"] == "nats"


def test_val_series(metrics):
    g = metrics["val"]
    for s in ["step", "loss", "accuracy"]:
        assert s in g, f"/val/{s} missing"
    n = len(g["step"])
    assert n >= 1
    assert len(g["loss"]) == n and len(g["accuracy"]) == n
    assert np.all(np.diff(g["step"][()]) >= 0)
    acc = g["accuracy"][()]
    assert np.all((acc >= 0) & (acc <= 1))


def test_stats_per_parameter(metrics, checkpoint):
    assert "stats" in metrics and "step" in metrics["stats"], "/stats/step missing (stats.every: 2)"
    steps = metrics["stats/step"][()]
    assert len(steps) >= 2 and np.all(np.diff(steps) > 0), steps
    params = checkpoint["params"]
    for name, p in params.items():
        assert name in metrics["stats"], f"/stats/{name} missing"
        g = metrics["stats"][name]
        want = list(PARAM_STATS)
        if p.ndim == 2:
            want += MATRIX_STATS
            if p.attrs["optimizer"] == "muon":
                want.append("ns_orth_err")
        for s in want:
            assert s in g, f"/stats/{name}/{s} missing"
            assert len(g[s]) == len(steps), f"/stats/{name}/{s}: {len(g[s])} rows, {len(steps)} steps"
        if p.ndim == 2:
            for s in MATRIX_STATS:
                v = g[s][()]
                assert np.all(np.isfinite(v)) and np.all(v > 0), f"/stats/{name}/{s} = {v}"


def test_act_per_module(metrics):
    assert "act" in metrics, "/act missing (stats.every: 2)"
    steps = metrics["stats/step"][()]
    modules = list(metrics["act"].keys())
    assert modules, "/act has no modules"
    for m in modules:
        g = metrics["act"][m]
        for s in ACT_STATS:
            assert s in g, f"/act/{m}/{s} missing"
            assert len(g[s]) == len(steps), f"/act/{m}/{s}: {len(g[s])} rows, {len(steps)} steps"
        assert np.all(g["act_rms"][()] > 0)
        assert np.all(g["act_rms_max"][()] >= g["act_rms"][()] * (1 - 1e-6))


# checkpoints

def test_latest_names_existing_checkpoint(run_dir, checkpoint_name, config):
    folder = os.path.join(run_dir, "checkpoints")
    assert re.match(r"^step_\d{8}\.h5$", checkpoint_name), checkpoint_name
    assert os.path.isfile(os.path.join(folder, checkpoint_name))
    files = sorted(f for f in os.listdir(folder) if f.endswith(".h5"))
    assert files[-1] == checkpoint_name, f"latest is {checkpoint_name}, newest file {files[-1]}"
    assert len(files) <= config["checkpoint"]["keep_last"], f"keep_last not honoured: {files}"
    assert not [f for f in os.listdir(folder) if f.endswith(".tmp")], "temporary files left behind"


def test_checkpoint_root_attrs(checkpoint, checkpoint_name, config):
    check_common_attrs(checkpoint, "checkpoint", config)
    for a in ["model", "parametrization", "base_width", "step"]:
        assert a in checkpoint.attrs, f"checkpoint root attribute '{a}' missing"
    assert checkpoint.attrs["model"] == config["model"]["name"]
    assert int(checkpoint.attrs["step"]) == int(checkpoint_name[5:13]) == config["train"]["steps"]


def test_checkpoint_units_and_description(checkpoint):
    check_units_description(checkpoint)


def expected_gpt_shapes(model, vocab=256):
    w, t = model["width"], model["context"]
    hidden = int(model.get("mlp_ratio", 4) * w)
    shapes = {"wte.weight": (vocab, w), "wpe.weight": (t, w), "ln_f.weight": (w,),
              "head.weight": (vocab, w)}
    for b in range(model["depth"]):
        p = f"blocks.{b}."
        shapes.update({p + "ln1.weight": (w,), p + "ln2.weight": (w,),
                       p + "mlp.fc.weight": (hidden, w), p + "mlp.proj.weight": (w, hidden)})
        for x in "qkvo":
            shapes[p + f"attn.{x}.weight"] = (w, w)
    return shapes


def test_checkpoint_params_match_model(checkpoint, config):
    model = config["model"]
    assert model["name"] == "gpt"
    want = expected_gpt_shapes(model)
    got = {name: tuple(d.shape) for name, d in checkpoint["params"].items()}
    if model.get("bias"):
        got = {k: v for k, v in got.items() if not k.endswith(".bias")}
    assert got == want
    for name, d in checkpoint["params"].items():
        assert d.dtype == np.float32, name
        assert d.attrs["role"] in ("input", "hidden", "output", "vector"), name
        for a in ["fan_in", "fan_out", "lr_mult", "wd_mult", "init_std", "optimizer"]:
            assert a in d.attrs, f"/params/{name} lacks attribute {a}"
        assert np.all(np.isfinite(d[()])), name


def test_checkpoint_optimizer_state(checkpoint, config):
    optim = checkpoint["optim"]
    used = set()
    for name, p in checkpoint["params"].items():
        opt = p.attrs["optimizer"]
        used.add(opt)
        assert name in optim, f"/optim/{name} missing"
        for s in OPTIM_STATES[opt]:
            assert s in optim[name], f"/optim/{name}/{s} missing"
            assert optim[name][s].shape == p.shape and optim[name][s].dtype == np.float32
    for opt in used:
        assert int(optim.attrs[f"steps_{opt}"]) == config["train"]["steps"]


def test_checkpoint_state_and_shard_plan(checkpoint, config):
    st = checkpoint["state"].attrs
    assert int(st["step"]) == config["train"]["steps"]
    assert int(st["seed"]) == config["seed"]
    assert "schedule_step" in st and isinstance(st["rng"], str)
    names = [n.decode() if isinstance(n, bytes) else n for n in checkpoint["shard_plan/names"][()]]
    assert sorted(names) == sorted(checkpoint["params"].keys())
    owner = checkpoint["shard_plan/owner"]
    assert owner.dtype == np.int32 and owner.shape == (len(names),)
    assert np.all(owner[()] == 0)  # one rank
    cost = checkpoint["shard_plan/rank_cost"]
    assert cost.dtype == np.float64 and cost.shape == (1,)
