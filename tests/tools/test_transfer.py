"""tools/transfer.py: a tiny real `mutrain sweep` (2 widths x 2 lrs x 2 seeds) whose table, best lr
and picture are checked against values read independently from the runs' metrics.h5 with h5py;
and synthetic sweeps where the best lr per width is known by construction. Also --across depth on
a real depth sweep, and --compare (SP tuned per width vs µP transferred) on real and synthetic
sweeps, whose rows and verdicts are checked against numbers computed here."""
import json
import os
import re

import h5py
import numpy as np
import pytest
from conftest import PYTHON, SOURCE_DIR, STR, dataset, run

TRANSFER = os.path.join(SOURCE_DIR, "tools", "transfer.py")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def printed_table(stdout):
    """{lr: [cell per width column]} and the widths from transfer.py's printed table."""
    lines = stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.split()[:1] == ["lr"])
    widths = [int(w) for w in lines[head].split()[1:]]
    rows = {}
    for line in lines[head + 1:]:
        parts = line.split()
        if not parts or not re.match(r"^[0-9.e+-]+$", parts[0]):
            break
        rows[float(parts[0])] = [None if c == "-" else float(c) for c in parts[1:]]
    return widths, rows


def printed_best(stdout):
    line = next(line for line in stdout.splitlines() if line.startswith("best lr per width:"))
    return {int(w): float(x) for w, x in re.findall(r"(\d+): ([0-9.e+-]+)", line.split(":", 1)[1])}


def printed_moves(stdout):
    m = re.search(r"best lr moves by (\d+) grid point", stdout)
    return int(m.group(1)) if m else None


def check_png(path):
    with open(path, "rb") as fh:
        assert fh.read(8) == PNG_SIGNATURE, f"{path} is not a PNG"
    import matplotlib.image as mpimg
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100, img.shape


@pytest.fixture(scope="module")
def tiny_sweep(mutrain, tmp_path_factory):
    config = os.environ.get("MT_CONFIG")
    if not config:
        pytest.skip("MT_CONFIG not set (tests/tools/run_python_tests.sh sets it)")
    out = tmp_path_factory.mktemp("sweep")
    r = run([mutrain, "sweep", config, "--grid", "optimizer.adamw.lr=0.002,0.05",
             "--grid", "seed=1,2", "--widths", "16,32", "--set", "name=tsweep",
             "--set", "train.steps=4", "--set", "checkpoint.every=0", "--set", "stats.every=0",
             "--out", str(out)], env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stdout + r.stderr
    d = out / "sweeps" / "tsweep"
    points = sorted(p for p in os.listdir(d) if (d / p / "metrics.h5").exists())
    assert len(points) == 8, points
    return d


def independent(sweep_dir, group, name):
    """{width: {lr: mean over seeds}} read with h5py only, from the point folders' metrics.h5."""
    values = {}
    for point in os.listdir(sweep_dir):
        m = re.fullmatch(r"lr([0-9.e+-]+)_seed(\d+)_width(\d+)", point)
        if not m:
            continue
        with h5py.File(os.path.join(sweep_dir, point, "metrics.h5"), "r") as f:
            assert f["val/step"][-1] == f["train/step"][-1] == 4  # finished: final validation
            v = float(f[f"{group}/{name}"][-1])
        values.setdefault(int(m.group(3)), {}).setdefault(float(m.group(1)), []).append(v)
    for w in values:
        for lr in values[w]:
            assert len(values[w][lr]) == 2, (w, lr)  # two seeds
            values[w][lr] = float(np.mean(values[w][lr]))
    return values


@pytest.mark.parametrize("metric,group,name", [("val_loss", "val", "loss"),
                                               ("train_loss", "train", "loss")])
def test_real_sweep_table_best_and_picture(tiny_sweep, tmp_path, metric, group, name):
    png, js = tmp_path / "t.png", tmp_path / "t.json"
    r = run([PYTHON, TRANSFER, str(tiny_sweep), "--metric", metric, "--out", str(png),
             "--json", str(js)])
    assert r.returncode == 0, r.stderr
    want = independent(tiny_sweep, group, name)
    widths, rows = printed_table(r.stdout)
    assert widths == [16, 32]
    assert sorted(rows) == [0.002, 0.05]
    for lr, cells in rows.items():
        for w, cell in zip(widths, cells):
            assert cell == pytest.approx(want[w][lr], abs=6e-5), (w, lr)
    doc = json.load(open(js))
    for w in widths:
        for lr in rows:
            assert doc["mean"][str(w)][repr(lr)] == pytest.approx(want[w][lr], rel=1e-12)
            assert doc["runs"][str(w)][repr(lr)] == 2
    best = {w: min(want[w], key=want[w].get) for w in widths}
    assert printed_best(r.stdout) == best
    assert {int(k): v for k, v in doc["best"].items()} == best
    grid = sorted(rows)
    moves = abs(grid.index(best[16]) - grid.index(best[32]))
    assert printed_moves(r.stdout) == moves == doc["moves"]
    check_png(png)


def write_run(path, steps, val_loss, train_loss, finished=True):
    """A metrics.h5 as a run of `steps` steps writes it; unfinished: no final validation row."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs.create("kind", "metrics", dtype=STR)
        f.attrs.create("config", f"name: synth\ntrain: {{steps: {steps}, batch_size: 4}}\n", dtype=STR)
        last = steps if finished else steps // 2
        dataset(f, "/train/step", [last // 2, last], "step", "steps", np.int64)
        dataset(f, "/train/loss", [train_loss + 1.0, train_loss], "nats", "train loss")
        vsteps = [last] if finished else [last // 2]
        dataset(f, "/val/step", vsteps, "step", "val steps", np.int64)
        dataset(f, "/val/loss", [val_loss], "nats", "val loss")
        dataset(f, "/val/accuracy", [1.0 - val_loss], "1", "accuracy")


def test_synthetic_best_moves_and_unfinished_runs(tmp_path):
    lrs = [0.001, 0.002, 0.004, 0.008]
    # width 64: best at 0.002 only in the mean over the two seeds (seed 1 alone prefers 0.004);
    # width 256: best at 0.008, and 0.001 would be lower still but one of its seeds did not finish.
    losses = {64: {0: [0.50, 0.30, 0.45, 0.60], 1: [0.50, 0.36, 0.34, 0.60]},
              256: {0: [0.10, 0.40, 0.30, 0.20], 1: [0.10, 0.40, 0.30, 0.22]}}
    for w, seeds in losses.items():
        for s, row in seeds.items():
            for lr, v in zip(lrs, row):
                finished = not (w == 256 and lr == 0.001 and s == 1)
                write_run(str(tmp_path / f"lr{lr}_seed{s}_width{w}" / "metrics.h5"), 10, v, v + 0.01,
                          finished)
    os.makedirs(tmp_path / "not_a_point")  # ignored
    r = run([PYTHON, TRANSFER, str(tmp_path), "--json", str(tmp_path / "t.json")])
    assert r.returncode == 0, r.stderr
    widths, rows = printed_table(r.stdout)
    assert widths == [64, 256]
    assert rows[0.002][0] == pytest.approx(0.33, abs=1e-4)
    assert rows[0.001][1] is None  # an unfinished seed makes the cell '-'
    assert printed_best(r.stdout) == {64: 0.002, 256: 0.008}
    assert printed_moves(r.stdout) == 2
    doc = json.load(open(tmp_path / "t.json"))
    assert doc["mean"]["256"]["0.001"] is None and doc["moves"] == 2
    check_png(str(tmp_path / "transfer.png"))
    # accuracy: higher is better
    r = run([PYTHON, TRANSFER, str(tmp_path), "--metric", "val_accuracy", "--out",
             str(tmp_path / "acc.png")])
    assert r.returncode == 0, r.stderr
    assert printed_best(r.stdout) == {64: 0.002, 256: 0.008}


def test_empty_or_missing_directory(tmp_path):
    r = run([PYTHON, TRANSFER, str(tmp_path / "nope")])
    assert r.returncode == 2 and "no such directory" in r.stderr
    r = run([PYTHON, TRANSFER, str(tmp_path)])
    assert r.returncode == 2 and "no runs" in r.stderr


# --- --across: a depth-named sweep ---------------------------------------------------------------

def sweep(mutrain, out, name, args):
    """A tiny real `mutrain sweep` (4 steps, no stats or checkpoints) -> its folder."""
    config = os.environ.get("MT_CONFIG")
    if not config:
        pytest.skip("MT_CONFIG not set (tests/tools/run_python_tests.sh sets it)")
    r = run([mutrain, "sweep", config, *args, "--set", f"name={name}", "--set", "train.steps=4",
             "--set", "checkpoint.every=0", "--set", "stats.every=0", "--out", str(out)],
            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stdout + r.stderr
    return out / "sweeps" / name


def read_points(sweep_dir, group="val", name="loss"):
    """[(grid values of the point name, final metric)] read with h5py only; every run finished."""
    out = []
    for point in sorted(os.listdir(sweep_dir)):
        path = os.path.join(sweep_dir, point, "metrics.h5")
        if not os.path.exists(path):
            continue
        keys = {}
        for token in point.split("_"):
            m = re.fullmatch(r"([a-z]+)([0-9.e+-]+)", token)
            assert m, point
            keys[m.group(1)] = m.group(2)
        with h5py.File(path, "r") as f:
            assert f["val/step"][-1] == f["train/step"][-1] == 4
            out.append((keys, float(f[f"{group}/{name}"][-1])))
    return out


@pytest.fixture(scope="module")
def depth_sweep(mutrain, tmp_path_factory):
    d = sweep(mutrain, tmp_path_factory.mktemp("depth"), "tdepth",
              ["--grid", "model.depth=1,2", "--grid", "optimizer.adamw.lr=0.002,0.05",
               "--grid", "seed=1,2"])
    assert sorted(os.listdir(d))[0] == "depth1_lr0.002_seed1", os.listdir(d)
    return d


def test_across_depth_on_a_real_depth_sweep(depth_sweep, tmp_path):
    # the default column key is width: these points have none
    r = run([PYTHON, TRANSFER, str(depth_sweep), "--out", str(tmp_path / "w.png")])
    assert r.returncode == 2 and "no runs named width<N>_lr<X>" in r.stderr, r.stderr
    js, png = tmp_path / "d.json", tmp_path / "d.png"
    r = run([PYTHON, TRANSFER, str(depth_sweep), "--across", "depth", "--out", str(png),
             "--json", str(js)])
    assert r.returncode == 0, r.stderr
    want = {}
    for keys, v in read_points(depth_sweep):
        want.setdefault(int(keys["depth"]), {}).setdefault(float(keys["lr"]), []).append(v)
    assert all(len(seeds) == 2 for row in want.values() for seeds in row.values())
    assert "by lr (rows) and depth (columns)" in r.stdout
    depths, rows = printed_table(r.stdout)
    assert depths == [1, 2] and sorted(rows) == [0.002, 0.05]
    for lr, cells in rows.items():
        for dep, cell in zip(depths, cells):
            assert cell == pytest.approx(np.mean(want[dep][lr]), abs=6e-5), (dep, lr)
    line = next(line for line in r.stdout.splitlines() if line.startswith("best lr per depth:"))
    best = {int(k): float(x) for k, x in re.findall(r"(\d+): ([0-9.e+-]+)", line.split(":", 1)[1])}
    assert best == {dep: min(want[dep], key=lambda lr: np.mean(want[dep][lr])) for dep in want}
    assert "across depths" in r.stdout
    doc = json.load(open(js))
    assert doc["across"] == "depth" and doc["widths"] == [1, 2]
    check_png(png)


# --- --compare: SP tuned at each width against µP transferred ------------------------------------

@pytest.fixture(scope="module")
def mup_sweep(mutrain, tmp_path_factory):
    """One µP setting (fixed lr) at the tiny sweep's two widths, two seeds: width<W>_seed<S>."""
    d = sweep(mutrain, tmp_path_factory.mktemp("mup"), "tmup",
              ["--grid", "seed=1,2", "--widths", "16,32", "--set", "optimizer.adamw.lr=0.01",
               "--set", "parametrization.type=mup", "--set", "parametrization.base_width=16"])
    assert sorted(os.listdir(d)) == ["seed1_width16", "seed1_width32", "seed2_width16",
                                     "seed2_width32"]
    return d


NUM = r"([+-]?[0-9.]+)"


def printed_compare_rows(stdout):
    """{width: (sp best, sp mean, sp min, sp max, mup mean, mup min, mup max, diff)};
    None for '-'."""
    rows = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) != 7 or not parts[0].isdigit():
            continue
        vals = []
        for i, p in enumerate(parts[1:], 1):
            if i in (3, 5):  # min..max
                vals += [None, None] if p == "-" else [float(x) for x in p.split("..")]
            else:
                vals.append(None if p == "-" else float(p))
        rows[int(parts[0])] = tuple(vals)
    return rows


def widest_line(stdout):
    line = next(line for line in stdout.splitlines() if line.startswith("at the widest"))
    m = re.match(rf"at the widest width (\d+): µP transferred {NUM} vs SP tuned {NUM}: (.*)$", line)
    assert m, line
    return int(m.group(1)), float(m.group(2)), float(m.group(3)), m.group(4)


def monotonic_line(stdout):
    return next(line for line in stdout.splitlines() if "monotonically with" in line)


def expected_verdict(x, y, spread, lower=True):
    if abs(x - y) <= spread:
        return "within the seed spread"
    return "µP is better" if (x < y) == lower else "µP is worse"


def test_compare_real_sweeps(tiny_sweep, mup_sweep, tmp_path):
    png, js = tmp_path / "c.png", tmp_path / "c.json"
    r = run([PYTHON, TRANSFER, "--compare", str(tiny_sweep), str(mup_sweep), "--out", str(png),
             "--json", str(js)])
    assert r.returncode == 0, r.stderr
    sp, mup = {}, {}
    for keys, v in read_points(tiny_sweep):
        sp.setdefault(int(keys["width"]), {}).setdefault(float(keys["lr"]), []).append(v)
    for keys, v in read_points(mup_sweep):
        mup.setdefault(int(keys["width"]), []).append(v)
    rows = printed_compare_rows(r.stdout)
    assert sorted(rows) == [16, 32]
    want = {}
    for w in (16, 32):
        best = min(sp[w], key=lambda lr: np.mean(sp[w][lr]))
        s, m = sp[w][best], mup[w]
        assert len(s) == len(m) == 2
        want[w] = (np.mean(s), min(s), max(s), np.mean(m), min(m), max(m))
        got = rows[w]
        assert got[0] == best, (w, got)
        assert got[1:8] == pytest.approx(list(want[w]) + [np.mean(m) - np.mean(s)], abs=6e-5), w
    doc = json.load(open(js))
    assert [row["width"] for row in doc["rows"]] == [16, 32]
    assert doc["rows"][1]["mup_mean"] == pytest.approx(np.mean(mup[32]), rel=1e-12)
    # verdicts follow from the numbers
    sm, smin, smax, mm, mmin, mmax = want[32]
    w, x, y, text = widest_line(r.stdout)
    assert (w, x, y) == (32, pytest.approx(mm, abs=6e-5), pytest.approx(sm, abs=6e-5))
    assert text.startswith(expected_verdict(mm, sm, max(smax - smin, mmax - mmin))), text
    rise = np.mean(mup[32]) - np.mean(mup[16])
    line = monotonic_line(r.stdout)
    if rise <= 0:
        assert line == "µP loss falls monotonically with width: yes"
    else:
        m = re.fullmatch(rf"µP loss falls monotonically with width: no \(16 -> 32 rises by {NUM}\)",
                         line)
        assert m and float(m.group(1)) == pytest.approx(rise, abs=6e-5), line
    first = next(x for x in r.stdout.splitlines() if x.startswith("at the widest"))
    assert doc["verdicts"] == [first, line]
    check_png(png)


def write_side(root, cells, lr=None):
    """cells {width: [loss per seed; None: that seed did not finish]}
    -> points width<W>[_lr<X>]_seed<S>."""
    for w, seeds in cells.items():
        for s, v in enumerate(seeds):
            name = f"width{w}" + (f"_lr{lr}" if lr is not None else "") + f"_seed{s}"
            write_run(str(root / name / "metrics.h5"), 10, 0.9 if v is None else v,
                      0.0 if v is None else v + 0.01, finished=v is not None)


@pytest.fixture
def sp_synth(tmp_path):
    """SP: width 64 best at lr 0.002 (mean 0.51, seeds 0.50..0.52); width 256 best at 0.004 (0.42,
    0.40..0.44): 0.001 would be lower but one of its seeds did not finish."""
    root = tmp_path / "sp"
    write_side(root, {64: [0.60, 0.62], 256: [0.30, None]}, lr=0.001)
    write_side(root, {64: [0.50, 0.52], 256: [0.45, 0.47]}, lr=0.002)
    write_side(root, {64: [0.55, 0.57], 256: [0.40, 0.44]}, lr=0.004)
    return root


def compare(sp, mup, tmp_path, *extra):
    r = run([PYTHON, TRANSFER, "--compare", str(sp), str(mup), "--out", str(tmp_path / "c.png"),
             *extra])
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("mup_cells,verdict,mono", [
    # 256: µP 0.355 vs SP 0.42, spread max(0.04, 0.01): better
    ({64: [0.52, 0.53], 256: [0.35, 0.36]}, "µP is better", "yes"),
    # 256: µP 0.405 vs 0.42: |d| = 0.015 <= 0.04
    ({64: [0.52, 0.53], 256: [0.40, 0.41]}, "within the seed spread", "yes"),
    # 256: µP 0.35 vs 0.42: |d| = 0.07 beyond SP's spread 0.04 but within µP's own 0.10
    ({64: [0.52, 0.53], 256: [0.30, 0.40]}, "within the seed spread", "yes"),
    # 256: µP 0.51 vs 0.42: worse; 64 -> 256 rises by 0.105; 1024 only in µP: not the widest shared
    ({64: [0.40, 0.41], 256: [0.50, 0.52], 1024: [0.45, 0.46]}, "µP is worse",
     "no (64 -> 256 rises by 0.1050)"),
])
def test_compare_synthetic_verdicts(sp_synth, tmp_path, mup_cells, verdict, mono):
    write_side(tmp_path / "mup", mup_cells)
    out = compare(sp_synth, tmp_path / "mup", tmp_path, "--json", str(tmp_path / "c.json"),
                  "--sp-label", "SP grid", "--mup-label", "muP one lr")
    rows = printed_compare_rows(out)
    assert sorted(rows) == sorted(set(mup_cells) | {64, 256})
    assert rows[64][:4] == pytest.approx((0.002, 0.51, 0.50, 0.52), abs=1e-9)
    assert rows[256][:4] == pytest.approx((0.004, 0.42, 0.40, 0.44), abs=1e-9)
    m256 = mup_cells[256]
    assert rows[256][4:] == pytest.approx((np.mean(m256), min(m256), max(m256),
                                           np.mean(m256) - 0.42), abs=6e-5)
    if 1024 in mup_cells:
        assert rows[1024][:4] == (None, None, None, None) and rows[1024][7] is None
    w, x, y, text = widest_line(out)
    assert (w, x, y) == (256, pytest.approx(np.mean(m256), abs=6e-5), 0.42)
    assert text.startswith(verdict), text
    assert monotonic_line(out) == f"µP loss falls monotonically with width: {mono}"
    assert "SP grid" in out and "muP one lr" in out
    doc = json.load(open(tmp_path / "c.json"))
    assert doc["widest"]["result"] == verdict.split()[-1].replace("spread", "within")
    assert doc["sp_label"] == "SP grid" and doc["monotonic"]["result"] == mono.split()[0]
    check_png(str(tmp_path / "c.png"))


def test_compare_accuracy_is_higher_is_better(sp_synth, tmp_path):
    # accuracy = 1 - loss: SP 256 best at 0.004 (0.58), µP 0.645 -> better, and rises with width
    write_side(tmp_path / "mup", {64: [0.52, 0.53], 256: [0.35, 0.36]})
    out = compare(sp_synth, tmp_path / "mup", tmp_path, "--metric", "val_accuracy")
    rows = printed_compare_rows(out)
    assert rows[256][:2] == pytest.approx((0.004, 0.58))
    w, x, y, text = widest_line(out)
    assert (w, x, y) == (256, 0.645, 0.58) and text.startswith("µP is better"), text
    assert monotonic_line(out) == "µP val_accuracy rises monotonically with width: yes"


def test_compare_unfinished_mup_cell(sp_synth, tmp_path):
    # µP at 256: one seed did not finish -> '-', the verdict falls back to width 64
    write_side(tmp_path / "mup", {64: [0.52, 0.53], 256: [0.35, None]})
    out = compare(sp_synth, tmp_path / "mup", tmp_path)
    rows = printed_compare_rows(out)
    assert rows[256][4:] == (None, None, None, None)
    w, x, y, text = widest_line(out)
    assert (w, x, y) == (64, 0.525, 0.51)
    assert text.startswith("within the seed spread") and "width 256: a run did not finish" in text
    assert (monotonic_line(out)
            == "µP loss falls monotonically with width: no (256: a run did not finish)")


def test_compare_exit_2(sp_synth, tmp_path):
    def fails(sp, mup, words):
        r = run([PYTHON, TRANSFER, "--compare", str(sp), str(mup), "--out",
                 str(tmp_path / "x.png")])
        assert r.returncode == 2 and "transfer.py: " in r.stderr and words in r.stderr, r.stderr
        assert not (tmp_path / "x.png").exists()

    good = tmp_path / "good"
    write_side(good, {64: [0.5, 0.5]})
    fails(tmp_path / "nope", good, "no such directory")
    fails(sp_synth, tmp_path / "nope", "no such directory")
    os.makedirs(tmp_path / "empty")
    fails(tmp_path / "empty", good, "no runs")
    fails(sp_synth, tmp_path / "empty", "no runs")
    write_side(tmp_path / "other", {128: [0.5, 0.5]})
    fails(sp_synth, tmp_path / "other", "share no width")
    write_side(tmp_path / "unfinished", {64: [None, None]})
    fails(sp_synth, tmp_path / "unfinished", "finished")
    write_side(tmp_path / "mixed", {64: [0.5, 0.5]}, lr=0.001)
    write_side(tmp_path / "mixed", {64: [0.4, 0.4]}, lr=0.002)
    fails(sp_synth, tmp_path / "mixed", "not one setting")
    for args in ([], [str(good), "--compare", str(sp_synth), str(good)]):
        r = run([PYTHON, TRANSFER, *args])
        assert r.returncode == 2 and "SWEEP_DIR or --compare" in r.stderr, r.stderr
