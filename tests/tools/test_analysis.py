"""mutrain_analysis (analysis/): its DataFrames and arrays checked against what h5py reads directly
from the files of real tiny runs (the run and coordinate check of run_python_tests.sh, a sweep with
statistics made here, a run read while it trains) and of synthetic sweeps with known answers; clear
AnalysisErrors for foreign, truncated and missing files."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from conftest import SOURCE_DIR, STR, run, write_synthetic_metrics
from test_transfer import write_side

sys.path.insert(0, os.path.join(SOURCE_DIR, "analysis"))
import mutrain_analysis as ma  # noqa: E402

LONG = ["run", "group", "step", "statistic", "value"]
STATS_LONG = ["run", "group", "step", "layer", "statistic", "value"]


def h5_series(path, group):
    with h5py.File(path, "r") as f:
        return {k: f[group][k][()] for k in f[group]}


def test_run_metrics_and_series_equal_the_file(run_dir):
    r = ma.open_run(run_dir)
    assert r.name == os.path.basename(run_dir)
    m = r.metrics()
    assert list(m.columns) == LONG
    assert set(m["run"]) == {r.name} and set(m["group"]) == {"train", "val"}
    for group in ("train", "val"):
        raw = h5_series(os.path.join(run_dir, "metrics.h5"), group)
        stats = sorted(k for k in raw if k != "step")
        assert sorted(set(m.loc[m["group"] == group, "statistic"])) == stats
        for stat in stats:
            rows = m[(m["group"] == group) & (m["statistic"] == stat)]
            assert rows["step"].tolist() == raw["step"].tolist()
            np.testing.assert_array_equal(rows["value"].to_numpy(), raw[stat].astype(np.float64))
        wide = r.series(group)
        assert wide.index.tolist() == raw["step"].tolist()
        np.testing.assert_array_equal(wide["loss"].to_numpy(), raw["loss"])
    assert r.final("val_loss") == float(raw["loss"][-1]) and r.finished


def test_run_stats_long_format(run_dir):
    r = ma.open_run(run_dir)
    s = r.stats()
    assert list(s.columns) == STATS_LONG
    with h5py.File(os.path.join(run_dir, "metrics.h5"), "r") as f:
        steps = f["stats/step"][()]
        expected = 0
        for group in ("stats", "act"):
            for layer in f[group]:
                if not isinstance(f[group][layer], h5py.Group):
                    continue
                for stat in f[group][layer]:
                    want = f[group][layer][stat][()]
                    rows = s[(s["group"] == group) & (s["layer"] == layer) & (s["statistic"] == stat)]
                    assert rows["step"].tolist() == steps.tolist(), (group, layer, stat)
                    np.testing.assert_array_equal(rows["value"].to_numpy(), want)
                    expected += len(want)
        assert len(s) == expected
        ratio = r.stats("stats", statistic="w_spec_ratio")
        matrices = [p for p in f["stats"] if isinstance(f["stats"][p], h5py.Group)
                    and "w_spec_ratio" in f["stats"][p]]
    assert set(ratio["statistic"]) == {"w_spec_ratio"} and set(ratio["layer"]) == set(matrices)
    order = list(dict.fromkeys(s.loc[s["group"] == "stats", "layer"]))
    assert order == sorted(order, key=ma.depth_key)  # model order: embeddings, blocks, head


def test_checkpoint_tensors_and_roles(run_dir):
    name = open(os.path.join(run_dir, "checkpoints", "latest")).read().strip()
    path = os.path.join(run_dir, "checkpoints", name)
    ck = ma.open_checkpoint(path)
    assert ck.step == int(re.search(r"(\d+)", name).group(1))
    with h5py.File(path, "r") as f:
        assert list(ck.params) == list(f["shard_plan/names"].asstr()[()])  # model order
        for p, ds in f["params"].items():
            np.testing.assert_array_equal(ck.params[p], ds[()])
            assert ck.roles[p] == ds.attrs["role"]
            states = ck.optimizer_state(p)
            assert sorted(states) == sorted(f["optim"][p])
            for st, arr in states.items():
                np.testing.assert_array_equal(arr, f["optim"][p][st][()])
    t = ck.tensors()
    assert t["name"].tolist() == list(ck.params)
    assert t["numel"].tolist() == [v.size for v in ck.params.values()]
    assert set(t["role"]) <= {"input", "hidden", "output", "vector"} and "hidden" in set(t["role"])
    with pytest.raises(KeyError):
        ck.optimizer_state("no.such.param")


def test_coord_check_frames(coord_dir):
    cc = ma.open_coord_check(coord_dir)
    with h5py.File(os.path.join(coord_dir, "coord_check.h5"), "r") as f:
        widths, mean_abs = f["widths"][()], f["mean_abs"][()]
        layers = list(f["layers"].asstr()[()])
        init_slope, slope = f["init_slope"][()], f["slope"][()]
    assert cc.axis == "width" and cc.sizes.tolist() == widths.astype(int).tolist()
    fr = cc.frame()
    ma_rows = fr[fr["statistic"] == "mean_abs"]
    assert len(ma_rows) == mean_abs.size
    for (wi, s, li) in [(0, 0, 0), (len(widths) - 1, mean_abs.shape[1] - 1, len(layers) - 1)]:
        row = ma_rows[(ma_rows["width"] == widths[wi]) & (ma_rows["step"] == s + 1)
                      & (ma_rows["layer"] == layers[li])]
        assert row["value"].tolist() == [pytest.approx(float(mean_abs[wi, s, li]), rel=1e-7)]
    sl = cc.slopes()
    at_init = sl[sl["step"] == 0]
    np.testing.assert_allclose(at_init["value"].to_numpy(), init_slope.reshape(-1), rtol=1e-7)
    first = sl[(sl["step"] == 1) & (sl["statistic"] == "slope")]
    np.testing.assert_allclose(first["value"].to_numpy(), slope[0], rtol=1e-7)


@pytest.fixture(scope="module")
def stats_sweep(mutrain, tmp_path_factory):
    """2 widths x 2 lrs, statistics every 2 steps: lr<X>_width<W>."""
    config = os.environ.get("MT_CONFIG")
    if not config:
        pytest.skip("MT_CONFIG not set (tests/tools/run_python_tests.sh sets it)")
    out = tmp_path_factory.mktemp("asweep")
    r = run([mutrain, "sweep", config, "--grid", "optimizer.adamw.lr=0.002,0.02", "--widths", "16,32",
             "--set", "name=asw", "--set", "train.steps=4", "--set", "stats.every=2",
             "--set", "checkpoint.every=0", "--out", str(out)],
            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stdout + r.stderr
    return out / "sweeps" / "asw"


def test_sweep_points_and_transfer_table(stats_sweep):
    sw = ma.open_sweep(stats_sweep)
    want = {}
    for point in os.listdir(stats_sweep):
        lr, width = re.fullmatch(r"lr([0-9.]+)_width(\d+)", point).groups()
        with h5py.File(stats_sweep / point / "metrics.h5", "r") as f:
            want[(float(lr), int(width))] = float(f["val/loss"][-1])
    pts = sw.points()
    assert sorted(pts["run"]) == sorted(os.listdir(stats_sweep)) and pts["finished"].all()
    assert pts["width"].dtype.kind == "i" and pts["lr"].dtype.kind == "f"
    for _, row in pts.iterrows():
        assert row["val_loss"] == want[(row["lr"], row["width"])]
    table = sw.transfer_table("val_loss", key="lr", across="width")
    assert table.index.tolist() == [0.002, 0.02] and table.columns.tolist() == [16, 32]
    for (lr, width), v in want.items():
        assert table.loc[lr, width] == pytest.approx(v, abs=1e-12)
    best = sw.best("val_loss")
    for width in (16, 32):
        assert best[width] == min((0.002, 0.02), key=lambda lr: want[(lr, width)])
    m = sw.metrics()
    assert set(m["run"]) == set(pts["run"]) and list(m.columns) == LONG


def test_spectral_summary_against_h5py(stats_sweep):
    rows, lines, spread = ma.spectral_summary([ma.open_sweep(stats_sweep)], labels=["v"],
                                              params=r"^blocks\..*weight$")
    assert rows["width"].tolist() == [16, 32] and rows["variant"].tolist() == ["v", "v"]
    medians = {}
    for width, row in rows.set_index("width").iterrows():
        point = next(p for p in sorted(os.listdir(stats_sweep)) if p.endswith(f"width{width}"))
        with h5py.File(stats_sweep / point / "metrics.h5", "r") as f:
            names = [n for n in f["stats"] if re.search(r"^blocks\..*weight$", n)
                     and "w_spec_ratio" in f["stats"][n]]
            w = np.array([f["stats"][n]["w_spec_ratio"][()] for n in names])
        assert row["matrices"] == len(names)
        assert row["w_last"] == pytest.approx(float(np.median(w[:, -1])), rel=1e-12)
        medians[width] = np.median(w, axis=0)
    ws = spread[spread["statistic"] == "w_spread"]["value"].to_numpy()
    np.testing.assert_allclose(ws, np.maximum(medians[16], medians[32])
                               / np.minimum(medians[16], medians[32]), rtol=1e-12)
    assert lines["w_spread_last"].tolist() == [pytest.approx(ws[-1])]


def test_compare_on_synthetic_sweeps(tmp_path):
    """SP: 64 best at 0.002 (mean 0.51), 256 best at 0.004 (0.42; 0.001 has an unfinished seed);
    µP transferred: 0.525 at 64, 0.355 at 256: better at the widest width, falls with width."""
    sp = tmp_path / "sp"
    write_side(sp, {64: [0.60, 0.62], 256: [0.30, None]}, lr=0.001)
    write_side(sp, {64: [0.50, 0.52], 256: [0.45, 0.47]}, lr=0.002)
    write_side(sp, {64: [0.55, 0.57], 256: [0.40, 0.44]}, lr=0.004)
    write_side(tmp_path / "mup", {64: [0.52, 0.53], 256: [0.35, 0.36]})
    frame, verdicts = ma.compare(sp, tmp_path / "mup")
    assert frame.index.tolist() == [64, 256]
    assert frame["sp_best"].tolist() == [0.002, 0.004]
    assert frame["sp_mean"].tolist() == pytest.approx([0.51, 0.42])
    assert frame["mup_mean"].tolist() == pytest.approx([0.525, 0.355])
    assert frame["diff"].tolist() == pytest.approx([0.015, -0.065])
    assert verdicts["widest"]["result"] == "better" and verdicts["monotonic"]["result"] == "yes"


def test_open_dispatches_on_what_the_path_is(run_dir, coord_dir, stats_sweep):
    assert isinstance(ma.open(run_dir), ma.Run)
    assert isinstance(ma.open(os.path.join(run_dir, "metrics.h5")), ma.Run)
    assert isinstance(ma.open(coord_dir), ma.CoordCheck)
    assert isinstance(ma.open(stats_sweep), ma.Sweep)
    ck = ma.open(ma.open_run(run_dir).checkpoints()[-1])
    assert isinstance(ck, ma.Checkpoint)


def test_foreign_truncated_and_missing_files(tmp_path, run_dir):
    good = write_synthetic_metrics(str(tmp_path / "good.h5"))
    data = open(good, "rb").read()
    (tmp_path / "trunc").mkdir()
    (tmp_path / "trunc" / "metrics.h5").write_bytes(data[: len(data) // 3])
    (tmp_path / "text.h5").write_text("name: not hdf5\n")
    (tmp_path / "empty").mkdir()
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs.create("kind", "something_else", dtype=STR)
    ck = ma.open_run(run_dir).checkpoints()[-1]
    cases = [(lambda: ma.open_run(tmp_path / "trunc").metrics(), "truncated or corrupt"),
             (lambda: ma.open(tmp_path / "text.h5"), "not a readable HDF5 file"),
             (lambda: ma.open(tmp_path / "other.h5"), "not a mutrain file"),
             (lambda: ma.open_run(ck), "kind is 'checkpoint', expected 'metrics'"),
             (lambda: ma.open_checkpoint(os.path.join(run_dir, "metrics.h5")), "expected 'checkpoint'"),
             (lambda: ma.open_run(tmp_path / "nowhere"), "no such run folder"),
             (lambda: ma.open_sweep(tmp_path / "trunc" / "x"), "no such sweep folder"),
             (lambda: ma.open_sweep(tmp_path), "none of its 1 run(s) can be read"),
             (lambda: ma.open_sweep(tmp_path / "empty"), "no run folders with a metrics.h5")]
    for make, words in cases:
        with pytest.raises(ma.AnalysisError) as e:
            make()
        assert words in str(e.value), (words, str(e.value))


def test_plots_return_figures_with_one_line_per_layer(run_dir):
    import matplotlib
    matplotlib.use("Agg")
    r = ma.open_run(run_dir)
    fig = ma.plots.per_layer(r, "w_spec_ratio")
    with h5py.File(os.path.join(run_dir, "metrics.h5"), "r") as f:
        matrices = [p for p in f["stats"] if isinstance(f["stats"][p], h5py.Group)
                    and "w_spec" in f["stats"][p]]
    assert len(fig.axes[0].lines) == len(matrices)
    fig = ma.plots.loss([r, r])
    assert len(fig.axes[0].lines) == 4  # train and val of each run
    with pytest.raises(ma.plots.NoData):
        ma.plots.per_layer(r, "no_such_statistic")


def test_reads_a_run_while_it_trains(mutrain, tmp_path):
    """A run still training: metrics.h5 is open for writing in mutrain; every read gives series
    cut to the rows written so far (each statistic as long as its step column), not finished."""
    config = os.environ.get("MT_CONFIG")
    if not config:
        pytest.skip("MT_CONFIG not set (tests/tools/run_python_tests.sh sets it)")
    proc = subprocess.Popen([mutrain, "train", config, "--set", "name=live", "--set", "train.steps=100000",
                             "--set", "train.log_every=1", "--set", "stats.every=1",
                             "--set", "checkpoint.every=0", "--out", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        path = tmp_path / "live" / "metrics.h5"
        reads = []
        deadline = time.time() + 90
        while time.time() < deadline and len(reads) < 3:
            time.sleep(0.5)
            if not path.exists():
                continue
            m = ma.open_run(tmp_path / "live").metrics()
            s = ma.open_run(tmp_path / "live").stats("stats")
            if len(m) == 0 or len(s) == 0:
                continue
            train = m[m["group"] == "train"]
            counts = train.groupby("statistic")["step"].count()
            assert counts.nunique() == 1, counts  # every series cut to the same rows
            assert s.groupby(["layer", "statistic"])["step"].count().nunique() == 1
            reads.append(int(train["step"].max()))
        assert proc.poll() is None, "the run ended before it could be read while training"
        assert len(reads) == 3, reads
        assert not ma.open_run(tmp_path / "live").finished
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    shutil.rmtree(tmp_path / "live", ignore_errors=True)


def test_tools_mtio_keeps_its_names(run_dir):
    """Scripts that put tools/ on sys.path and import mtio still get its helpers."""
    sys.path.insert(0, os.path.join(SOURCE_DIR, "tools"))
    try:
        import mtio
    finally:
        sys.path.pop(0)
    with mtio.open_h5(os.path.join(run_dir, "metrics.h5"), kind="metrics") as f:
        train = mtio.series(f, "train")
        steps, table = mtio.stat_groups(f, "stats")
        np.testing.assert_array_equal(train["loss"], f["train/loss"][()])
        assert len(steps) == len(f["stats/step"]) and set(table) == {
            p for p in f["stats"] if isinstance(f["stats"][p], h5py.Group)}
    with pytest.raises(mtio.MtioError):
        mtio.open_h5(os.path.join(run_dir, "nowhere.h5"))


def test_retry_unreadable_tries_again_only_for_unreadable_files():
    """A live file caught mid-flush reads on a later try; a foreign file fails at once."""
    from mutrain_analysis import h5 as mah5
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise mah5.UnreadableError("caught mid-flush")
        return "read"
    assert mah5.retry_unreadable(flaky, wait=0) == "read" and len(calls) == 3

    def broken():
        calls.append(1)
        raise mah5.UnreadableError("truncated")
    calls.clear()
    with pytest.raises(mah5.UnreadableError):
        mah5.retry_unreadable(broken, attempts=4, wait=0)
    assert len(calls) == 4

    def foreign():
        calls.append(1)
        raise ma.AnalysisError("kind is 'checkpoint', expected 'metrics'")
    calls.clear()
    with pytest.raises(ma.AnalysisError):
        mah5.retry_unreadable(foreign, wait=0)
    assert len(calls) == 1
