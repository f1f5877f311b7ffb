"""tools/spectral_report.py: synthetic sweeps whose spectral ratios, spreads across widths, losses
and times are known by construction, checked against the printed table and --json; the picture; a
tiny real sweep whose numbers are read back independently with h5py; and bad input (exit 2)."""
import json
import os
import re

import h5py
import numpy as np
import pytest
from conftest import PYTHON, SOURCE_DIR, STR, dataset, run
from test_transfer import check_png

REPORT = os.path.join(SOURCE_DIR, "tools", "spectral_report.py")
HIDDEN = ["blocks.0.attn.q.weight", "blocks.0.mlp.fc.weight", "blocks.1.attn.q.weight"]


def write_run(d, w_hidden, dw_hidden, steps=20, every=5, val_loss=2.0, seconds=4.0, update_ms=7.5,
              act_scale=1.0):
    """A width<W> point: w_hidden / dw_hidden are {param: per-stats-step values}; the embedding
    and the readout get ratios far outside (10 and 100) so that including them would show."""
    os.makedirs(d, exist_ok=True)
    ss = np.arange(every, steps + 1, every)
    with h5py.File(os.path.join(d, "metrics.h5"), "w") as f:
        f.attrs.create("kind", "metrics", dtype=STR)
        f.attrs.create("config", f"name: synth\ntrain: {{steps: {steps}, batch_size: 4}}\n", dtype=STR)
        dataset(f, "/train/step", [steps // 2, steps], "step", "steps", np.int64)
        dataset(f, "/train/loss", [val_loss + 1, val_loss], "nats", "train loss")
        dataset(f, "/train/elapsed_s", [seconds / 2, seconds], "s", "wall time")
        dataset(f, "/val/step", [steps], "step", "val steps", np.int64)
        dataset(f, "/val/loss", [val_loss], "nats", "val loss")
        dataset(f, "/stats/step", ss, "step", "stats steps", np.int64)
        for name in HIDDEN:
            dataset(f, f"/stats/{name}/w_spec_ratio", w_hidden[name], "1", "w")
            dataset(f, f"/stats/{name}/dw_spec_ratio", dw_hidden[name], "1", "dw")
            module = name[: -len(".weight")]
            for k, stat in enumerate(("act_rms", "dep_rms", "upd_rms")):
                scale = act_scale if stat == "act_rms" else 1.0
                dataset(f, f"/act/{module}/{stat}", np.full(len(ss), (0.5 + k) * scale), "1", stat)
        for name, v in (("wte.weight", 10.0), ("head.weight", 100.0)):
            dataset(f, f"/stats/{name}/w_spec_ratio", np.full(len(ss), v), "1", "w")
            dataset(f, f"/stats/{name}/dw_spec_ratio", np.full(len(ss), v), "1", "dw")
        dataset(f, "/stats/ln_f.weight/w_rms", np.ones(len(ss)), "1", "gain")
    with open(os.path.join(d, "summary.yaml"), "w") as fh:
        fh.write(f"steps_done: {steps}\nval_loss: {val_loss}\nupdate_ms_per_step: {update_ms}\n")


def ramp(a, b, n=4):
    return np.linspace(a, b, n)


@pytest.fixture()
def synthetic(tmp_path):
    """Variant 'steady': both widths' medians 1.0 -> 1.0 (spread 1); variant 'drift': width 64's
    median rises 1 -> 3 while width 16's stays 1 (spread 3 at the last step)."""
    steady, drift = tmp_path / "steady", tmp_path / "drift"
    for width in (16, 64):
        w = {HIDDEN[0]: ramp(0.9, 0.9), HIDDEN[1]: ramp(1.0, 1.0), HIDDEN[2]: ramp(1.2, 1.4)}
        dw = {HIDDEN[0]: ramp(0.1, 0.1), HIDDEN[1]: ramp(0.2, 0.2), HIDDEN[2]: ramp(0.3, 0.3)}
        write_run(steady / f"width{width}", w, dw, val_loss=2.0 - 0.1 * (width == 64),
                  seconds=2.0 * width / 16, update_ms=width / 16)
        grow = ramp(1.0, 3.0) if width == 64 else ramp(1.0, 1.0)
        w = {HIDDEN[0]: grow * 0.5, HIDDEN[1]: grow, HIDDEN[2]: grow * 2}
        dwd = {HIDDEN[0]: ramp(0.1, 0.1), HIDDEN[1]: ramp(0.1, 0.1) * (2 if width == 64 else 1),
               HIDDEN[2]: ramp(0.5, 0.5)}
        write_run(drift / f"width{width}", w, dwd, val_loss=3.0, act_scale=2.0 if width == 64 else 1.0)
    os.makedirs(drift / "not_a_point")  # ignored
    return tmp_path, steady, drift


def table_rows(stdout):
    rows = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 11 and parts[1].isdigit():
            rows[(parts[0], int(parts[1]))] = [None if p == "-" else float(p) for p in parts[2:]]
    return rows


def spread_lines(stdout):
    out = {}
    for line in stdout.splitlines():
        m = re.match(r"(\S+)\s+w: max (\S+), last (\S+)\s+dw: max (\S+), last (\S+)", line)
        if m:
            out[m.group(1)] = [float(x) for x in m.groups()[1:]]
    return out


def test_synthetic_table_spreads_json_and_picture(synthetic):
    tmp, steady, drift = synthetic
    png, js = tmp / "s.png", tmp / "s.json"
    r = run([PYTHON, REPORT, str(steady), str(drift), "--out", str(png), "--json", str(js)])
    assert r.returncode == 0, r.stderr
    rows = table_rows(r.stdout)
    assert sorted(rows) == [("drift", 16), ("drift", 64), ("steady", 16), ("steady", 64)]
    # columns: val_loss, ms/step, upd ms, w first, w last, w min, w max, dw med, dw max
    v = rows[("steady", 64)]
    assert v[0] == pytest.approx(1.9, abs=1e-4)
    assert v[1] == pytest.approx(1e3 * 8.0 / 20, abs=0.05)  # elapsed 8 s over 20 steps
    assert v[2] == pytest.approx(4.0, abs=0.05)
    assert v[3] == pytest.approx(1.0, abs=1e-3) and v[4] == pytest.approx(1.0, abs=1e-3)
    assert v[5] == pytest.approx(0.9, abs=1e-3)
    assert v[6] == pytest.approx(1.4, abs=1e-3)  # the readout's 100 and embedding's 10 left out
    assert v[7] == pytest.approx(0.2, abs=1e-4) and v[8] == pytest.approx(0.3, abs=1e-4)
    d = rows[("drift", 64)]
    assert d[3] == pytest.approx(1.0, abs=1e-3) and d[4] == pytest.approx(3.0, abs=1e-3)
    assert d[6] == pytest.approx(6.0, abs=1e-3)
    spreads = spread_lines(r.stdout)
    assert spreads["steady"] == pytest.approx([1.0, 1.0, 1.0, 1.0], abs=1e-3)
    assert spreads["drift"] == pytest.approx([3.0, 3.0, 2.0, 2.0], abs=1e-3)
    doc = json.load(open(js))
    series = {s["variant"]: s for s in doc["spread_series"]}
    assert series["drift"]["step"] == [5, 10, 15, 20]
    assert series["drift"]["w"] == pytest.approx(list(np.linspace(1, 3, 4)), abs=1e-9)
    assert {(row["variant"], row["width"]) for row in doc["rows"]} == set(rows)
    ratios = {line["variant"]: line["rms_ratio"] for line in doc["spread"]}
    assert ratios["steady"] == pytest.approx({"act_rms": 1.0, "dep_rms": 1.0, "upd_rms": 1.0})
    assert ratios["drift"] == pytest.approx({"act_rms": 2.0, "dep_rms": 1.0, "upd_rms": 1.0})
    assert "act_rms 2.000" in r.stdout
    check_png(png)


def test_params_regex_chooses_the_matrices(synthetic):
    tmp, steady, _ = synthetic
    r = run([PYTHON, REPORT, str(steady), "--params", r"^head\.", "--out", str(tmp / "h.png")])
    assert r.returncode == 0, r.stderr
    assert table_rows(r.stdout)[("steady", 16)][6] == pytest.approx(100.0)
    r = run([PYTHON, REPORT, str(steady), "--params", "nothing_matches", "--out", str(tmp / "n.png")])
    assert r.returncode == 2 and "no hidden matrix" in r.stderr and "nothing_matches" in r.stderr


def test_bad_input_is_exit_2(tmp_path):
    r = run([PYTHON, REPORT, str(tmp_path / "missing")])
    assert r.returncode == 2 and r.stderr.startswith("spectral_report.py: no such directory")
    os.makedirs(tmp_path / "empty")
    r = run([PYTHON, REPORT, str(tmp_path / "empty")])
    assert r.returncode == 2 and "no runs named width" in r.stderr
    os.makedirs(tmp_path / "nostats" / "width16")
    with h5py.File(tmp_path / "nostats" / "width16" / "metrics.h5", "w") as f:
        f.attrs.create("kind", "metrics", dtype=STR)
    r = run([PYTHON, REPORT, str(tmp_path / "nostats")])
    assert r.returncode == 2 and "no statistics recorded" in r.stderr
    os.makedirs(tmp_path / "bad" / "width16")
    (tmp_path / "bad" / "width16" / "metrics.h5").write_bytes(b"not hdf5")
    r = run([PYTHON, REPORT, str(tmp_path / "bad")])
    assert r.returncode == 2 and "not a readable HDF5 file" in r.stderr
    r = run([PYTHON, REPORT, str(tmp_path / "empty"), "--label", "a", "b"])
    assert r.returncode == 2 and "--label" in r.stderr
    assert "Traceback" not in r.stderr


def test_real_sweep_read_back_with_h5py(mutrain, tmp_path):
    config = os.environ.get("MT_CONFIG")
    if not config:
        pytest.skip("MT_CONFIG not set (tests/tools/run_python_tests.sh sets it)")
    out = tmp_path / "out"
    r = run([mutrain, "sweep", config, "--widths", "16,32", "--set", "name=spec",
             "--set", "train.steps=6", "--set", "stats.every=2", "--set", "checkpoint.every=0",
             "--set", "optimizer.groups.hidden=muon", "--out", str(out)],
            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stdout + r.stderr
    sweep = out / "sweeps" / "spec"
    js = tmp_path / "r.json"
    r = run([PYTHON, REPORT, str(sweep), "--json", str(js)])
    assert r.returncode == 0, r.stderr
    assert os.path.exists(sweep / "spectral.png")
    doc = json.load(open(js))
    for row in doc["rows"]:
        point = next(p for p in os.listdir(sweep) if re.match(rf"width{row['width']}(_|$)", p))
        with h5py.File(sweep / point / "metrics.h5", "r") as f:
            names = [n for n in f["stats"] if n.startswith("blocks.") and "w_spec_ratio" in f["stats"][n]]
            assert names, list(f["stats"])
            w = np.array([f["stats"][n]["w_spec_ratio"][()] for n in names])
            assert row["matrices"] == len(names)
            assert row["w_last"] == pytest.approx(float(np.median(w[:, -1])), rel=1e-9)
            assert row["w_max"] == pytest.approx(float(w.max()), rel=1e-9)
            assert row["val_loss"] == pytest.approx(float(f["val/loss"][-1]), rel=1e-9)
            last = f["train/step"][-1]
            assert row["step_s"] == pytest.approx(float(f["train/elapsed_s"][-1]) / last, rel=1e-9)
