"""`mutrain inspect` on the real run's files, synthetic files and broken ones."""
import os

import pytest
from conftest import run, write_synthetic_checkpoint, write_synthetic_metrics


def inspect(mutrain, *args):
    return run([mutrain, "inspect", *map(str, args)])


def test_real_metrics(mutrain, run_dir):
    r = inspect(mutrain, os.path.join(run_dir, "metrics.h5"))
    assert r.returncode == 0, r.stderr
    assert "kind             metrics" in r.stdout
    assert "/train/loss" in r.stdout and "nats" in r.stdout
    assert "/val/loss" in r.stdout
    assert "/stats:" in r.stdout and "w_spec_ratio" in r.stdout and "head.weight" in r.stdout
    assert "/act:" in r.stdout and "act_rms" in r.stdout


def test_real_checkpoint(mutrain, run_dir):
    name = open(os.path.join(run_dir, "checkpoints", "latest")).read().strip()
    r = inspect(mutrain, os.path.join(run_dir, "checkpoints", name))
    assert r.returncode == 0, r.stderr
    assert "kind             checkpoint" in r.stdout
    assert "blocks.0.mlp.fc.weight" in r.stdout and "hidden" in r.stdout
    assert "momentum" in r.stdout and "exp_avg_sq" in r.stdout
    assert "config" in r.stdout and "lines" in r.stdout
    full = inspect(mutrain, os.path.join(run_dir, "checkpoints", name), "--config")
    assert full.returncode == 0 and "model: {name: gpt" in full.stdout


def test_synthetic_files(mutrain, tmp_path):
    m = write_synthetic_metrics(str(tmp_path / "m.h5"))
    r = inspect(mutrain, m)
    assert r.returncode == 0, r.stderr
    assert "/train/loss" in r.stdout and "40 rows" in r.stdout and "last" in r.stdout
    assert "blocks.2.mlp.fc.weight" in r.stdout
    c = write_synthetic_checkpoint(str(tmp_path / "c.h5"))
    r = inspect(mutrain, c)
    assert r.returncode == 0, r.stderr
    assert "kind             checkpoint" in r.stdout and "wte.weight" in r.stdout


def test_generic_file(mutrain, tmp_path):
    import h5py
    import numpy as np
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("a/b", data=np.zeros((3, 4), np.float32))
    r = inspect(mutrain, p)
    assert r.returncode == 0, r.stderr
    assert "generic walk" in r.stdout and "/a/b" in r.stdout and "3x4" in r.stdout
    assert "float32" in r.stdout


def test_bad_files(mutrain, tmp_path):
    good = write_synthetic_metrics(str(tmp_path / "good.h5"))
    data = open(good, "rb").read()
    (tmp_path / "trunc.h5").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.h5").write_bytes(b"hello\n")
    damaged = bytearray(data)
    for i in range(2048, len(damaged), 97):
        damaged[i] ^= 0xFF
    (tmp_path / "damaged.h5").write_bytes(bytes(damaged))
    for name in ["missing.h5", "trunc.h5", "text.h5", "damaged.h5"]:
        r = inspect(mutrain, tmp_path / name)
        assert r.returncode == 2, (name, r.returncode, r.stderr)
        assert r.stderr.startswith("[inspect]"), (name, r.stderr)
        assert name in r.stderr.splitlines()[0]
    r = inspect(mutrain)
    assert r.returncode == 2


@pytest.mark.parametrize("seed", range(3))
def test_random_damage_never_crashes(mutrain, tmp_path, seed):
    import random
    rng = random.Random(seed)
    data = bytearray(open(write_synthetic_checkpoint(str(tmp_path / "c.h5")), "rb").read())
    for _ in range(30):
        i = rng.randrange(8, len(data))
        data[i] = rng.randrange(256)
    (tmp_path / "x.h5").write_bytes(bytes(data))
    r = inspect(mutrain, tmp_path / "x.h5")
    assert r.returncode in (0, 2), r.stderr
    if r.returncode == 2:
        assert r.stderr.startswith("[inspect]"), r.stderr


def test_coord_check_file(mutrain, coord_dir):
    r = inspect(mutrain, os.path.join(coord_dir, "coord_check.h5"))
    assert r.returncode == 0, r.stderr
    assert "kind             coord_check" in r.stdout and "/mean_abs" in r.stdout
